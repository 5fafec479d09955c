"""Regression on a linear model: the bias trick, least squares, ridge and logistic regression.

Closed forms solve the normal equations with ``np.linalg.solve``, never an inverse.
Taught in assignment 01.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_ndim, check_positive, check_shape
from ..losses import _sigmoid, _softplus
from ..regularization import l2_penalty

__all__ = ["add_bias_column", "least_squares", "ridge", "logistic_regression_loss"]


def add_bias_column(X: npt.ArrayLike) -> np.ndarray:
    """Append a constant-1 feature as the last column (the bias trick).

    X1 = [X | 1], so ``X1 @ W`` with ``W`` of shape (D + 1, C) equals
    ``X @ W[:-1] + W[-1]``: the bias becomes the last row of ``W``.

    Shapes: X (N, D) -> X1 (N, D + 1).
    Taught in assignment 01.
    """
    where = "add_bias_column"
    X = as_array("X", X, where)
    check_ndim("X", X, 2, where)
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def _design(X: npt.ArrayLike, y: npt.ArrayLike, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a design matrix X (N, D) and targets y (N,) or (N, K)."""
    X = as_array("X", X, where)
    check_ndim("X", X, 2, where)
    y = as_array("y", y, where)
    check_ndim("y", y, (1, 2), where)
    n = X.shape[0]
    if y.shape[0] != n:
        want = (n,) if y.ndim == 1 else (n, None)
        check_shape("y", y, want, where, f"(one target per row of X, which has {n} rows)")
    dtype = np.result_type(X.dtype, y.dtype)
    return X.astype(dtype, copy=False), y.astype(dtype, copy=False)


def _solve_normal(A: np.ndarray, b: np.ndarray, where: str, hint: str) -> np.ndarray:
    """Solve the symmetric system A w = b, refusing a (numerically) singular A."""
    d = A.shape[0]
    rank = np.linalg.matrix_rank(A)
    if rank < d:
        raise ValueError(
            f"{where}: the {d}x{d} matrix of the normal equations is singular "
            f"(rank {rank} < {d}: fewer independent rows than features, or linearly "
            f"dependent features); {hint}"
        )
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError as err:  # pragma: no cover - rank test catches this first
        raise ValueError(f"{where}: the normal equations cannot be solved ({err}); {hint}") from err


def least_squares(X: npt.ArrayLike, y: npt.ArrayLike) -> np.ndarray:
    """Least-squares weights from the normal equations XᵀX w = Xᵀy (solved, never inverted).

    w* = argmin_w ‖y − Xw‖² = (XᵀX)⁻¹Xᵀy, the maximum-likelihood weights of a
    linear neuron with Gaussian noise. Add a bias column first
    (:func:`add_bias_column`) to fit an intercept. A singular XᵀX (fewer
    independent rows than features, or duplicated features) raises
    ``ValueError``; :func:`ridge` with a positive ``reg`` fixes it.

    Shapes: X (N, D), y (N,) or (N, K) -> w (D,) or (D, K).
    Taught in assignment 01.
    """
    where = "least_squares"
    X, y = _design(X, y, where)
    hint = "use ridge(X, y, reg) with reg > 0 instead"
    return _solve_normal(X.T @ X, X.T @ y, where, hint)


def ridge(X: npt.ArrayLike, y: npt.ArrayLike, reg: float, bias_last: bool = False) -> np.ndarray:
    """Ridge-regression weights from (XᵀX + reg·P) w = Xᵀy (solved, never inverted).

    Minimizes ½‖y − Xw‖² + ½·reg·‖Pw‖², whose minimizer is
    w* = (XᵀX + reg·P)⁻¹Xᵀy. With P = I this is the course's
    ‖y − Xw‖² + λ‖w‖² with λ = reg (twice the same objective, so the same
    minimizer): the MAP weights under a zero-mean Gaussian prior.

    Regularization convention ½·reg·Σw², biases not regularized: P = I,
    except P[-1, -1] = 0 when ``bias_last`` is true, so the bias-trick column
    (:func:`add_bias_column`) is left unpenalized. The default ``bias_last=False``
    penalizes every entry of w — pass ``bias_last=True`` when X carries the bias
    column. Any ``reg > 0`` makes the system solvable even when XᵀX is singular
    (as long as the unpenalized bias column is not all zeros).

    Shapes: X (N, D), y (N,) or (N, K), reg ≥ 0 -> w (D,) or (D, K).
    Taught in assignment 01.
    """
    where = "ridge"
    X, y = _design(X, y, where)
    reg = check_positive("reg", reg, where, allow_zero=True)
    penalty = np.ones(X.shape[1], dtype=X.dtype)
    if bias_last:
        penalty[-1] = 0
    A = X.T @ X + reg * np.diag(penalty)
    hint = "use a larger reg" if reg > 0 else "use reg > 0"
    return _solve_normal(A, X.T @ y, where, hint)


def logistic_regression_loss(
    w: npt.ArrayLike, X: npt.ArrayLike, y: npt.ArrayLike, reg: float = 0.0, bias_last: bool = False
) -> tuple[float, np.ndarray]:
    """Binary logistic-regression loss and gradient: mean cross-entropy of σ(Xw) plus L2.

    L = 1/N · Σ_i [softplus(s_i) − y_i s_i] + ½·reg·‖Pw‖²,  s = Xw;
    dw = Xᵀ(σ(s) − y)/N + reg·Pw.

    softplus(s) − y·s equals −y log σ(s) − (1 − y) log(1 − σ(s)) but is
    computed without logs of probabilities, so it stays finite for |Xw| ~ 1e4.

    Regularization convention ½·reg·Σw², biases not regularized: P = I,
    except that ``bias_last=True`` drops the last entry of w (the weight of the
    bias-trick column from :func:`add_bias_column`) from the penalty. With the
    default ``bias_last=False`` the penalty touches every entry of w,
    including a bias entry if X carries one.

    Shapes: w (D,), X (N, D), y (N,) with entries 0 or 1 -> loss float, dw (D,).
    Taught in assignment 01.
    """
    where = "logistic_regression_loss"
    w = as_array("w", w, where)
    check_ndim("w", w, 1, where)
    X = as_array("X", X, where)
    check_ndim("X", X, 2, where)
    d = w.shape[0]
    check_shape("X", X, (None, d), where, f"to match w with {d} entries")
    n = X.shape[0]
    if n == 0:
        raise ValueError(f"{where}: X must hold at least one example (row); got shape {X.shape}")
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{where}: y must be a numeric array of 0/1 labels; got dtype {y.dtype}")
    check_shape("y", y, (n,), where, f"(one 0/1 label per row of X, which has {n} rows)")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{where}: y entries must be 0 or 1; got {y[(y != 0) & (y != 1)][0]}")
    reg = check_positive("reg", reg, where, allow_zero=True)

    dtype = np.result_type(w.dtype, X.dtype)
    w, X, y = w.astype(dtype, copy=False), X.astype(dtype, copy=False), y.astype(dtype)
    s = X @ w
    penalized = w.copy()
    if bias_last:
        penalized[-1] = 0
    reg_loss, reg_grad = l2_penalty(penalized, reg)
    loss = np.sum(_softplus(s) - y * s) / n + reg_loss
    dw = X.T @ (_sigmoid(s) - y) / n + reg_grad
    return float(loss), dw
