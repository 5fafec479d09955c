"""Loss functions on scores: each returns ``(loss, dx)``.

Every loss is averaged over the N examples (the rows of ``x``), so ``dx``
carries a factor ``1/N``. Every loss is numerically stable: finite and free
of floating-point warnings for scores of magnitude 1e4 (exponentials only
ever see non-positive arguments). The loss is a Python float; ``dx`` has the
shape and floating dtype of ``x`` (float32 in -> float32 out). Inputs are
never modified.

Subgradients at kinks: a hinge that is exactly at 0 and an L1 residual that
is exactly 0 contribute a zero gradient.

The multiclass losses are taught in assignment 01; the losses for other tasks
(squared hinge, multi-label, regression) in assignment 04.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from ._validation import as_array, check_labels, check_ndim, check_same_shape

__all__ = [
    "svm_loss",
    "softmax_loss",
    "squared_hinge_loss",
    "multilabel_hinge_loss",
    "sigmoid_cross_entropy_loss",
    "l2_regression_loss",
    "l1_regression_loss",
]


# --------------------------------------------------------------------------- helpers


def _scores(x: npt.ArrayLike, where: str, ndim: int | Iterable[int] = 2) -> np.ndarray:
    """Validate scores: a floating array with the allowed ndim and at least one row."""
    x = as_array("x", x, where)
    check_ndim("x", x, ndim, where)
    if x.shape[0] == 0:
        raise ValueError(f"{where}: x must hold at least one example (row); got shape {x.shape}")
    return x


def _targets(
    name: str, y: npt.ArrayLike, x: np.ndarray, allowed: tuple[int, ...], where: str
) -> np.ndarray:
    """Validate targets shaped like ``x`` with entries in ``allowed``; return them in x's dtype."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{where}: {name} must be a numeric array; got dtype {y.dtype}")
    check_same_shape("x", x, name, y, where)
    if not np.all(np.isin(y, allowed)):
        bad = y[~np.isin(y, allowed)].flat[0]
        raise ValueError(
            f"{where}: {name} entries must be {' or '.join(str(a) for a in allowed)}; got {bad}"
        )
    return y.astype(x.dtype)


def _sigmoid(s: np.ndarray) -> np.ndarray:
    """σ(s) = 1 / (1 + e^{−s}) without overflow: only e^{−|s|} ≤ 1 is evaluated."""
    z = np.exp(-np.abs(s))
    return np.where(s >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(s.dtype, copy=False)


def _softplus(s: np.ndarray) -> np.ndarray:
    """softplus(s) = log(1 + e^s), stable for large |s| (equals s for s ≫ 0)."""
    return np.logaddexp(0, s).astype(s.dtype, copy=False)


# --------------------------------------------------------------------------- assignment 01


def svm_loss(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, np.ndarray]:
    """Multiclass SVM (Weston-Watkins) hinge loss with margin 1, averaged over N.

    L = 1/N · Σ_i Σ_{j≠y_i} max(0, x_ij − x_{i,y_i} + 1).

    Shapes: x (N, C) scores, y (N,) integer labels in [0, C) -> loss float, dx (N, C).
    Taught in assignment 01.
    """
    where = "svm_loss"
    x = _scores(x, where)
    n, c = x.shape
    y = check_labels(y, n, c, where)
    rows = np.arange(n)
    margins = x - x[rows, y][:, None] + 1
    margins[rows, y] = 0  # the correct class is not compared with itself
    active = (margins > 0).astype(x.dtype)
    loss = np.sum(margins * active) / n
    dx = active
    dx[rows, y] -= np.sum(active, axis=1)  # the correct score appears in every active margin
    dx /= n
    return float(loss), dx


def softmax_loss(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy loss, averaged over N, stable by subtracting the row maximum.

    L = 1/N · Σ_i (log Σ_j e^{x_ij} − x_{i,y_i});  dx = (softmax(x) − onehot(y)) / N.

    The log-sum-exp is taken of the shifted scores ``x − max_j x_ij`` (every
    exponent ≤ 0, the largest is exactly e^0 = 1), so the loss never needs the
    log of a probability that may have underflowed to 0.

    Shapes: x (N, C) scores, y (N,) integer labels in [0, C) -> loss float, dx (N, C).
    Taught in assignment 01.
    """
    where = "softmax_loss"
    x = _scores(x, where)
    n, c = x.shape
    y = check_labels(y, n, c, where)
    rows = np.arange(n)
    shifted = x - np.max(x, axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = np.sum(exp, axis=1, keepdims=True)  # ≥ 1, so its log is safe
    log_probs = shifted - np.log(sum_exp)
    loss = -np.sum(log_probs[rows, y]) / n
    dx = exp / sum_exp
    dx[rows, y] -= 1
    dx /= n
    return float(loss), dx


# --------------------------------------------------------------------------- assignment 04


def squared_hinge_loss(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, np.ndarray]:
    """Squared multiclass hinge loss (margin 1), averaged over N.

    L = 1/N · Σ_i Σ_{j≠y_i} max(0, x_ij − x_{i,y_i} + 1)².

    Shapes: x (N, C) scores, y (N,) integer labels in [0, C) -> loss float, dx (N, C).
    Taught in assignment 04 (met in the discussion of assignment 01).
    """
    where = "squared_hinge_loss"
    x = _scores(x, where)
    n, c = x.shape
    y = check_labels(y, n, c, where)
    rows = np.arange(n)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1)
    margins[rows, y] = 0
    loss = np.sum(margins * margins) / n
    dx = 2 * margins
    dx[rows, y] -= np.sum(dx, axis=1)
    dx /= n
    return float(loss), dx


def multilabel_hinge_loss(x: npt.ArrayLike, ypm1: npt.ArrayLike) -> tuple[float, np.ndarray]:
    """Independent binary hinge per attribute (multi-label), labels ±1, averaged over N.

    L = 1/N · Σ_i Σ_j max(0, 1 − y_ij x_ij).

    Shapes: x (N, C) scores (or (N,) for one attribute), ypm1 same shape with
    entries −1 or +1 -> loss float, dx (same as x).
    Taught in assignment 04.
    """
    where = "multilabel_hinge_loss"
    x = _scores(x, where, ndim=(1, 2))
    y = _targets("ypm1", ypm1, x, (-1, 1), where)
    n = x.shape[0]
    margins = 1 - y * x
    active = margins > 0
    loss = np.sum(margins[active]) / n
    dx = np.where(active, -y, 0).astype(x.dtype) / n
    return float(loss), dx


def sigmoid_cross_entropy_loss(x: npt.ArrayLike, y01: npt.ArrayLike) -> tuple[float, np.ndarray]:
    """Sigmoid cross-entropy: an independent logistic regression per column, averaged over N.

    L = 1/N · Σ_i Σ_j [softplus(x_ij) − y_ij x_ij]
      (= −y log σ(x) − (1 − y) log(1 − σ(x)), summed and averaged);
    dx = (σ(x) − y) / N.

    softplus(s) = log(1 + e^s) is evaluated with ``np.logaddexp`` and σ from
    e^{−|s|}, so nothing overflows and no log of an underflowed probability is
    taken.

    Shapes: x (N, C) scores (multi-label), or (N,) / (N, 1) for the binary
    case; y01 the same shape as x with entries 0 or 1 -> loss float, dx (same as x).
    Taught in assignment 04 (the binary case is logistic regression, assignment 01).
    """
    where = "sigmoid_cross_entropy_loss"
    x = _scores(x, where, ndim=(1, 2))
    y = _targets("y01", y01, x, (0, 1), where)
    n = x.shape[0]
    loss = np.sum(_softplus(x) - y * x) / n
    dx = (_sigmoid(x) - y) / n
    return float(loss), dx


def _residual(x: npt.ArrayLike, y: npt.ArrayLike, where: str) -> tuple[np.ndarray, int]:
    """Validated prediction error ``δ = x − y`` (in x's dtype) and the batch size N."""
    x = _scores(x, where, ndim=(1, 2))
    y = as_array("y", y, where)
    check_same_shape("x", x, "y", y, where)
    return x - y.astype(x.dtype, copy=False), x.shape[0]


def l2_regression_loss(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, np.ndarray]:
    """Squared-error regression loss, half the squared L2 norm per example, averaged over N.

    L = 1/N · Σ_i ½‖x_i − y_i‖²;  dx = (x − y) / N.

    Shapes: x (N, K) predictions (or (N,)), y the same shape -> loss float, dx (same as x).
    Taught in assignment 04.
    """
    delta, n = _residual(x, y, "l2_regression_loss")
    loss = 0.5 * np.sum(delta * delta) / n
    return float(loss), delta / n


def l1_regression_loss(x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, np.ndarray]:
    """Absolute-error regression loss, the L1 norm per example, averaged over N.

    L = 1/N · Σ_i ‖x_i − y_i‖₁;  dx = sign(x − y) / N  (0 where x = y).

    Shapes: x (N, K) predictions (or (N,)), y the same shape -> loss float, dx (same as x).
    Taught in assignment 04.
    """
    delta, n = _residual(x, y, "l1_regression_loss")
    loss = np.sum(np.abs(delta)) / n
    return float(loss), np.sign(delta) / n
