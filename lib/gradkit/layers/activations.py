"""Element-wise activation layers: ReLU, leaky ReLU, sigmoid, tanh, ELU.

Every layer is a forward/backward pair. ``X_forward(x, ...)`` returns
``(out, cache)``; ``X_backward(dout, cache)`` returns ``dx`` and reads only
what the forward pass stored in ``cache``. Neither function modifies its
arguments. ``out`` and ``dx`` have the shape of ``x``; float32 stays float32.

Import them from :mod:`gradkit.layers`. Taught in assignment 02 (the activation
curves and their derivatives are first plotted in assignment 01).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_dout, check_ndim, check_positive

__all__ = [
    "relu_forward",
    "relu_backward",
    "relu_dead_fraction",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "elu_forward",
    "elu_backward",
]


# --------------------------------------------------------------------------- ReLU


def relu_forward(x: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Rectified linear unit.

    ``out = max(0, x)`` element-wise.

    Shapes: x (any) -> out (same as x). Taught in assignment 02.
    """
    x = as_array("x", x, "relu_forward")
    return np.maximum(x, 0), x


def relu_backward(dout: npt.ArrayLike, cache: np.ndarray) -> np.ndarray:
    """Backward pass of :func:`relu_forward`: the gradient passes where ``x > 0``.

    ``dx = dout · [x > 0]`` (the kink at 0 gets gradient 0).

    Shapes: dout (shape of x), cache from relu_forward -> dx (same as x).
    Taught in assignment 02.
    """
    x = cache
    dout = check_dout(dout, x.shape, "relu_backward")
    return np.where(x > 0, dout, 0)


def relu_dead_fraction(h: npt.ArrayLike, threshold: float = 0.0) -> float:
    """Fraction of hidden units that are inactive for every example of a batch.

    A unit ``j`` is dead on the batch when ``h[i, j] <= threshold`` for all ``i``:
    it then passes no gradient back, so its incoming weights stop learning.
    ``h`` is the ReLU output (or its pre-activation; both are ≤ 0 exactly when
    the unit is off).

    Shapes: h (N, H) -> float in [0, 1]. Taught in assignment 02 (monitoring dead ReLUs).
    """
    where = "relu_dead_fraction"
    h = as_array("h", h, where)
    check_ndim("h", h, 2, where)
    if h.shape[0] == 0 or h.shape[1] == 0:
        raise ValueError(f"{where}: h must hold at least one example and one unit; got {h.shape}")
    return float(np.mean(np.all(h <= threshold, axis=0)))


# --------------------------------------------------------------------- leaky ReLU


def leaky_relu_forward(
    x: npt.ArrayLike, alpha: float = 0.01
) -> tuple[np.ndarray, tuple[np.ndarray, float]]:
    """Leaky ReLU: a small slope ``alpha`` for negative inputs, so units never go fully silent.

    ``out = x if x > 0 else alpha·x``.

    Shapes: x (any) -> out (same as x). Taught in assignment 02.
    """
    where = "leaky_relu_forward"
    x = as_array("x", x, where)
    alpha = check_positive("alpha", alpha, where, allow_zero=True)
    return np.where(x > 0, x, alpha * x), (x, alpha)


def leaky_relu_backward(dout: npt.ArrayLike, cache: tuple[np.ndarray, float]) -> np.ndarray:
    """Backward pass of :func:`leaky_relu_forward`.

    ``dx = dout if x > 0 else alpha·dout``.

    Shapes: dout (shape of x), cache from leaky_relu_forward -> dx (same as x).
    Taught in assignment 02.
    """
    x, alpha = cache
    dout = check_dout(dout, x.shape, "leaky_relu_backward")
    return np.where(x > 0, dout, alpha * dout)


# ------------------------------------------------------------------------ sigmoid


def sigmoid_forward(x: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Logistic sigmoid, computed without overflow for inputs of any magnitude.

    ``out = σ(x) = 1 / (1 + e^(−x))``. Only ``e^(−|x|) ∈ (0, 1]`` is ever
    evaluated: ``σ(x) = 1/(1 + z)`` for ``x ≥ 0`` and ``z/(1 + z)`` for
    ``x < 0``, with ``z = e^(−|x|)``, so ``x = ±1e4`` gives exactly 1 and 0.

    Shapes: x (any) -> out (same as x). Taught in assignment 02 (plotted in 01).
    """
    x = as_array("x", x, "sigmoid_forward")
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return out, out


def sigmoid_backward(dout: npt.ArrayLike, cache: np.ndarray) -> np.ndarray:
    """Backward pass of :func:`sigmoid_forward`, from the stored output.

    ``dx = dout · σ(x)·(1 − σ(x))``.

    Shapes: dout (shape of x), cache from sigmoid_forward -> dx (same as x).
    Taught in assignment 02.
    """
    out = cache
    dout = check_dout(dout, out.shape, "sigmoid_backward")
    return dout * out * (1 - out)


# --------------------------------------------------------------------------- tanh


def tanh_forward(x: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Hyperbolic tangent, a zero-centred rescaled sigmoid.

    ``out = tanh(x) = 2σ(2x) − 1``.

    Shapes: x (any) -> out (same as x). Taught in assignment 02 (plotted in 01).
    """
    x = as_array("x", x, "tanh_forward")
    out = np.tanh(x)
    return out, out


def tanh_backward(dout: npt.ArrayLike, cache: np.ndarray) -> np.ndarray:
    """Backward pass of :func:`tanh_forward`, from the stored output.

    ``dx = dout · (1 − tanh(x)²)``.

    Shapes: dout (shape of x), cache from tanh_forward -> dx (same as x).
    Taught in assignment 02.
    """
    out = cache
    dout = check_dout(dout, out.shape, "tanh_backward")
    return dout * (1 - out * out)


# ---------------------------------------------------------------------------- ELU


def elu_forward(
    x: npt.ArrayLike, alpha: float = 1.0
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, float]]:
    """Exponential linear unit: identity for positive inputs, a smooth saturation to −alpha below.

    ``out = x if x > 0 else alpha·(e^x − 1)`` (``e^x`` is only evaluated at
    ``min(x, 0)``, so large positive inputs never overflow).

    Shapes: x (any) -> out (same as x). Taught in assignment 02.
    """
    where = "elu_forward"
    x = as_array("x", x, where)
    alpha = check_positive("alpha", alpha, where, allow_zero=True)
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
    return out, (x, out, alpha)


def elu_backward(dout: npt.ArrayLike, cache: tuple[np.ndarray, np.ndarray, float]) -> np.ndarray:
    """Backward pass of :func:`elu_forward`, reusing the stored output.

    ``dx = dout if x > 0 else dout·alpha·e^x`` and ``alpha·e^x = out + alpha`` there.

    Shapes: dout (shape of x), cache from elu_forward -> dx (same as x).
    Taught in assignment 02.
    """
    x, out, alpha = cache
    dout = check_dout(dout, x.shape, "elu_backward")
    return np.where(x > 0, dout, dout * (out + alpha))
