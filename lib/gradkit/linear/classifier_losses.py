"""The multiclass SVM and softmax losses of a linear classifier, on a weight matrix W.

The scores of a linear classifier are ``X @ W`` with ``X`` already carrying
the bias column (:func:`gradkit.linear.add_bias_column`), so the bias is the
last row of ``W``. Each loss comes twice: a naive version with explicit
Python loops (what the formula says, one term at a time) and a vectorized
version with none; both return the same numbers.

Regularization: ½·reg·ΣW² over the *whole* W, including the bias-trick row.
This is the classic convention for these W-losses (the bias row is a small
part of W and penalizing it hardly matters); with a separate bias vector, as
in the layers of assignment 02, biases are not regularized.

Taught in assignment 01.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_labels, check_ndim, check_positive, check_shape
from ..regularization import l2_penalty

__all__ = [
    "svm_loss_naive",
    "svm_loss_vectorized",
    "softmax_loss_naive",
    "softmax_loss_vectorized",
]


def _check_problem(
    W: npt.ArrayLike, X: npt.ArrayLike, y: npt.ArrayLike, reg: float, where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Validate W (D, C), X (N, D), labels y (N,) and reg ≥ 0; return them in a common dtype."""
    W = as_array("W", W, where)
    check_ndim("W", W, 2, where)
    X = as_array("X", X, where)
    check_ndim("X", X, 2, where)
    d, c = W.shape
    check_shape("X", X, (None, d), where, f"to match W with {d} rows (features incl. bias)")
    n = X.shape[0]
    if n == 0:
        raise ValueError(f"{where}: X must hold at least one example (row); got shape {X.shape}")
    y = check_labels(y, n, c, where)
    reg = check_positive("reg", reg, where, allow_zero=True)
    dtype = np.result_type(W.dtype, X.dtype)
    return W.astype(dtype, copy=False), X.astype(dtype, copy=False), y, reg


def svm_loss_naive(
    W: npt.ArrayLike, X: npt.ArrayLike, y: npt.ArrayLike, reg: float
) -> tuple[float, np.ndarray]:
    """Multiclass SVM loss and gradient with explicit loops over examples and classes.

    L = 1/N · Σ_i Σ_{j≠y_i} max(0, s_ij − s_{i,y_i} + 1) + ½·reg·ΣW²,  s_i = x_i W.
    Every active margin adds x_i to column j of dW and subtracts it from column y_i.

    Regularization convention ½·reg·ΣW² (gradient reg·W) over the whole W,
    the bias-trick row included (the classic convention for this loss).

    Shapes: W (D, C), X (N, D) with the bias column, y (N,) labels in [0, C)
    -> loss float, dW (D, C).
    Taught in assignment 01.
    """
    W, X, y, reg = _check_problem(W, X, y, reg, "svm_loss_naive")
    n, c = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(n):
        scores = X[i] @ W
        correct = scores[y[i]]
        for j in range(c):
            if j == y[i]:
                continue
            margin = scores[j] - correct + 1
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    reg_loss, reg_grad = l2_penalty(W, reg)
    loss = loss / n + reg_loss
    dW = dW / n + reg_grad
    return float(loss), dW


def svm_loss_vectorized(
    W: npt.ArrayLike, X: npt.ArrayLike, y: npt.ArrayLike, reg: float
) -> tuple[float, np.ndarray]:
    """Multiclass SVM loss and gradient without Python loops.

    L = 1/N · Σ_i Σ_{j≠y_i} max(0, s_ij − s_{i,y_i} + 1) + ½·reg·ΣW²,  S = XW;
    dW = Xᵀ dS + reg·W with dS_ij = 1[margin_ij > 0]/N and dS_{i,y_i} = −(active count)/N.

    Regularization convention ½·reg·ΣW² (gradient reg·W) over the whole W,
    the bias-trick row included (the classic convention for this loss).

    Shapes: W (D, C), X (N, D) with the bias column, y (N,) labels in [0, C)
    -> loss float, dW (D, C).
    Taught in assignment 01.
    """
    W, X, y, reg = _check_problem(W, X, y, reg, "svm_loss_vectorized")
    n = X.shape[0]
    rows = np.arange(n)
    reg_loss, reg_grad = l2_penalty(W, reg)
    scores = X @ W
    margins = scores - scores[rows, y][:, None] + 1
    margins[rows, y] = 0
    active = (margins > 0).astype(W.dtype)
    loss = np.sum(margins * active) / n + reg_loss
    dscores = active
    dscores[rows, y] -= np.sum(active, axis=1)
    dW = (
        dscores.T @ X
    ).T / n + reg_grad  # = Xᵀ dS; this operand order streams X faster through BLAS
    return float(loss), dW


def softmax_loss_naive(
    W: npt.ArrayLike, X: npt.ArrayLike, y: npt.ArrayLike, reg: float
) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy loss and gradient with explicit loops, stable per example.

    L = 1/N · Σ_i (log Σ_j e^{s_ij} − s_{i,y_i}) + ½·reg·ΣW²,  s_i = x_i W;
    column j of dW gets (p_ij − 1[j = y_i]) x_i / N. Each example's scores are
    shifted by their maximum first, so no exponential overflows.

    Regularization convention ½·reg·ΣW² (gradient reg·W) over the whole W,
    the bias-trick row included (the classic convention for this loss).

    Shapes: W (D, C), X (N, D) with the bias column, y (N,) labels in [0, C)
    -> loss float, dW (D, C).
    Taught in assignment 01.
    """
    W, X, y, reg = _check_problem(W, X, y, reg, "softmax_loss_naive")
    n, c = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(n):
        scores = X[i] @ W
        scores = scores - np.max(scores)  # largest exponent is now e^0 = 1
        sum_exp = 0.0
        for j in range(c):
            sum_exp += np.exp(scores[j])
        loss += np.log(sum_exp) - scores[y[i]]
        for j in range(c):
            p = np.exp(scores[j]) / sum_exp
            dW[:, j] += (p - (j == y[i])) * X[i]
    reg_loss, reg_grad = l2_penalty(W, reg)
    loss = loss / n + reg_loss
    dW = dW / n + reg_grad
    return float(loss), dW


def softmax_loss_vectorized(
    W: npt.ArrayLike, X: npt.ArrayLike, y: npt.ArrayLike, reg: float
) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy loss and gradient without Python loops, stable by row-max shift.

    L = 1/N · Σ_i (log Σ_j e^{s_ij} − s_{i,y_i}) + ½·reg·ΣW²,  S = XW;
    dW = Xᵀ (P − Y)/N + reg·W with P the row-wise softmax and Y the one-hot labels.

    Regularization convention ½·reg·ΣW² (gradient reg·W) over the whole W,
    the bias-trick row included (the classic convention for this loss).

    Shapes: W (D, C), X (N, D) with the bias column, y (N,) labels in [0, C)
    -> loss float, dW (D, C).
    Taught in assignment 01.
    """
    W, X, y, reg = _check_problem(W, X, y, reg, "softmax_loss_vectorized")
    n = X.shape[0]
    rows = np.arange(n)
    reg_loss, reg_grad = l2_penalty(W, reg)
    scores = X @ W
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = np.sum(exp, axis=1, keepdims=True)
    loss = np.sum(np.log(sum_exp[:, 0]) - shifted[rows, y]) / n + reg_loss
    dscores = exp / sum_exp
    dscores[rows, y] -= 1
    dW = (
        dscores.T @ X
    ).T / n + reg_grad  # = Xᵀ dS; this operand order streams X faster through BLAS
    return float(loss), dW
