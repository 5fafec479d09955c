"""The affine (fully connected) layer and the affine-ReLU sandwich.

``affine_forward(x, w, b)`` flattens each example of ``x`` to a row and
returns ``(x_flat·w + b, cache)``; ``affine_backward(dout, cache)`` returns
``(dx, dw, db)`` with ``dx`` in ``x``'s shape. Taught in assignment 02.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_dout, check_ndim, check_shape
from .activations import relu_backward, relu_forward

__all__ = ["affine_forward", "affine_backward", "affine_relu_forward", "affine_relu_backward"]


def _rows(x: npt.ArrayLike, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a batch ``x`` of shape (N, d1, ..., dk); return it and its (N, D) view."""
    x = as_array("x", x, where)
    if x.ndim < 2:
        raise ValueError(
            f"{where}: x must have shape (N, d1, ..., dk) with at least 2 dimensions "
            f"(one row per example); got {tuple(x.shape)}"
        )
    return x, x.reshape(x.shape[0], int(np.prod(x.shape[1:])))


# ------------------------------------------------------------------------ affine


def affine_forward(
    x: npt.ArrayLike, w: npt.ArrayLike, b: npt.ArrayLike
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Fully connected (affine) layer; each example is flattened to a row first.

    ``out = x_flat·w + b`` with ``x_flat = x.reshape(N, D)``.

    Shapes: x (N, d1, ..., dk), w (D, M), b (M,) -> out (N, M), D = d1·…·dk.
    Taught in assignment 02.
    """
    where = "affine_forward"
    x, x_flat = _rows(x, where)
    w = as_array("w", w, where)
    b = as_array("b", b, where)
    D = x_flat.shape[1]
    check_ndim("w", w, 2, where)
    check_shape("w", w, (D, None), where, f"to match x with {D} features per row")
    M = w.shape[1]
    check_shape("b", b, (M,), where, f"to match w with {M} outputs")
    out = x_flat @ w + b
    return out, (x, w)


def affine_backward(
    dout: npt.ArrayLike, cache: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`affine_forward`.

    ``dx = dout·wᵀ`` (reshaped to x's shape), ``dw = x_flatᵀ·dout``, ``db = Σ_n dout``.

    Shapes: dout (N, M), cache from affine_forward -> dx (N, d1, ..., dk), dw (D, M), db (M,).
    Taught in assignment 02.
    """
    x, w = cache
    N, M = x.shape[0], w.shape[1]
    dout = check_dout(dout, (N, M), "affine_backward")
    x_flat = x.reshape(N, int(np.prod(x.shape[1:])))
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_flat.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# ---------------------------------------------------------------- affine + ReLU


def affine_relu_forward(
    x: npt.ArrayLike, w: npt.ArrayLike, b: npt.ArrayLike
) -> tuple[np.ndarray, tuple[tuple[np.ndarray, np.ndarray], np.ndarray]]:
    """Affine layer followed by ReLU, the building block of a fully connected net.

    ``out = max(0, x_flat·w + b)``.

    Shapes: x (N, d1, ..., dk), w (D, M), b (M,) -> out (N, M). Taught in assignment 02.
    """
    # Bad x or w are reported under the name the caller used, not that of the first step.
    where = "affine_relu_forward"
    x, x_flat = _rows(x, where)
    w = as_array("w", w, where)
    D = x_flat.shape[1]
    check_ndim("w", w, 2, where)
    check_shape("w", w, (D, None), where, f"to match x with {D} features per row")
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(
    dout: npt.ArrayLike, cache: tuple[tuple[np.ndarray, np.ndarray], np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`affine_relu_forward`: ReLU backward, then affine backward.

    ``da = dout·[a > 0]``, then ``(dx, dw, db) = affine_backward(da)``.

    Shapes: dout (N, M), cache from affine_relu_forward -> dx (N, d1, ..., dk), dw (D, M), db (M,).
    Taught in assignment 02.
    """
    fc_cache, relu_cache = cache
    dout = check_dout(dout, relu_cache.shape, "affine_relu_backward")
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)
