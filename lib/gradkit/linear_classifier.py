"""Linear classifiers on a weight matrix W: SVM and softmax losses, and minibatch-SGD training.

Every name here is re-exported by :mod:`gradkit.linear`; import from there.

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

from abc import ABC, abstractmethod

import numpy as np

from ._validation import as_array, check_labels, check_ndim, check_positive, check_shape, get_rng

__all__ = [
    "svm_loss_naive",
    "svm_loss_vectorized",
    "softmax_loss_naive",
    "softmax_loss_vectorized",
    "LinearClassifier",
    "LinearSVM",
    "Softmax",
]


def _check_problem(W, X, y, reg, where: str):
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


def svm_loss_naive(W, X, y, reg):
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
    loss = loss / n + 0.5 * reg * np.sum(W * W)
    dW = dW / n + reg * W
    return float(loss), dW


def svm_loss_vectorized(W, X, y, reg):
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
    scores = X @ W
    margins = scores - scores[rows, y][:, None] + 1
    margins[rows, y] = 0
    active = (margins > 0).astype(W.dtype)
    loss = np.sum(margins * active) / n + 0.5 * reg * np.sum(W * W)
    dscores = active
    dscores[rows, y] -= np.sum(active, axis=1)
    dW = (dscores.T @ X).T / n + reg * W  # = Xᵀ dS; this operand order streams X faster through BLAS
    return float(loss), dW


def softmax_loss_naive(W, X, y, reg):
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
    loss = loss / n + 0.5 * reg * np.sum(W * W)
    dW = dW / n + reg * W
    return float(loss), dW


def softmax_loss_vectorized(W, X, y, reg):
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
    scores = X @ W
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = np.sum(exp, axis=1, keepdims=True)
    loss = np.sum(np.log(sum_exp[:, 0]) - shifted[rows, y]) / n + 0.5 * reg * np.sum(W * W)
    dscores = exp / sum_exp
    dscores[rows, y] -= 1
    dW = (dscores.T @ X).T / n + reg * W  # = Xᵀ dS; this operand order streams X faster through BLAS
    return float(loss), dW


def _count(name: str, value, minimum: int, where: str) -> int:
    """Validate an integer count ≥ ``minimum``."""
    if isinstance(value, bool) or not float(value).is_integer() or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


class LinearClassifier(ABC):
    """A linear classifier ``scores = X @ W`` trained by minibatch SGD.

    ``X`` must already carry the bias column (:func:`gradkit.linear.add_bias_column`),
    so the bias is the last row of ``W``. ``W`` is public: it is created at the
    first :meth:`train` call as ``0.001 · randn(D, C)`` from the instance's
    generator (``np.random.default_rng(seed)``), and every later call continues
    from it. It is abstract: subclasses define :meth:`loss`.

    Shapes: X (N, D) with the bias column, y (N,) -> W (D, C).
    Taught in assignment 01.
    """

    def __init__(self, seed=None):
        self.W = None
        self.rng = get_rng(seed=seed)

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200,
              verbose=False):
        """Minibatch SGD: ``num_iters`` steps ``W −= learning_rate · dW`` on resampled batches.

        Each step samples ``batch_size`` rows of X uniformly with replacement
        (from the instance's generator) and follows the gradient of
        :meth:`loss` on them. The number of classes is ``max(y) + 1`` at the
        first call. ``reg`` uses the ½·reg·ΣW² convention over the whole W,
        the bias-trick row included. Returns the loss of every step.

        Shapes: X (N, D) with the bias column, y (N,) labels
        -> loss_history (list of num_iters floats).
        """
        where = f"{type(self).__name__}.train"
        X = as_array("X", X, where)
        check_ndim("X", X, 2, where)
        n, d = X.shape
        if n == 0:
            raise ValueError(
                f"{where}: X must hold at least one example (row); got shape {X.shape}"
            )
        learning_rate = check_positive("learning_rate", learning_rate, where)
        reg = check_positive("reg", reg, where, allow_zero=True)
        num_iters = _count("num_iters", num_iters, 0, where)
        batch_size = _count("batch_size", batch_size, 1, where)
        if self.W is None:
            y = np.asarray(y)
            guess = int(np.max(y)) + 1 if y.size and y.dtype.kind in "iuf" else 1
            y = check_labels(y, n, max(guess, 1), where)
            num_classes = int(np.max(y)) + 1
            self.W = (0.001 * self.rng.standard_normal((d, num_classes))).astype(X.dtype)
        else:
            check_shape("X", X, (None, self.W.shape[0]), where,
                        f"to match the trained W with {self.W.shape[0]} rows")
            y = check_labels(y, n, self.W.shape[1], where)

        loss_history = []
        for it in range(num_iters):
            idx = self.rng.integers(0, n, size=batch_size)
            loss, grad = self.loss(X[idx], y[idx], reg)
            self.W = self.W - learning_rate * grad
            loss_history.append(float(loss))
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
        return loss_history

    def predict(self, X):
        """Predicted class of each row: the index of its highest score.

        Shapes: X (N, D) with the bias column -> y_pred (N,) integers.
        """
        where = f"{type(self).__name__}.predict"
        if self.W is None:
            raise ValueError(f"{where}: the classifier has no weights yet; call train first")
        X = as_array("X", X, where)
        check_ndim("X", X, 2, where)
        check_shape("X", X, (None, self.W.shape[0]), where,
                    f"to match the trained W with {self.W.shape[0]} rows")
        return np.argmax(X @ self.W, axis=1)

    @abstractmethod
    def loss(self, X_batch, y_batch, reg):
        """Loss and gradient on a minibatch; defined by each subclass.

        Shapes: X_batch (B, D), y_batch (B,) -> loss float, dW (D, C).
        """


class LinearSVM(LinearClassifier):
    """Linear classifier trained on the multiclass SVM loss (:func:`svm_loss_vectorized`).

    Taught in assignment 01.
    """

    def loss(self, X_batch, y_batch, reg):
        """SVM loss and gradient on a minibatch (½·reg·ΣW², whole W incl. the bias row)."""
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """Linear classifier trained on the softmax cross-entropy (:func:`softmax_loss_vectorized`).

    Taught in assignment 01.
    """

    def loss(self, X_batch, y_batch, reg):
        """Softmax loss and gradient on a minibatch (½·reg·ΣW², whole W incl. the bias row)."""
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)
