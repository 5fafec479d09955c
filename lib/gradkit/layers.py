"""Layers as forward/backward pairs: affine, the activations, maxout, affine-ReLU.

The modular-backprop API of assignment 02. ``X_forward(x, ...)`` returns
``(out, cache)``: the output and whatever the backward pass needs.
``X_backward(dout, cache)`` takes the upstream gradient ``dout`` (the shape of
``out``) and returns the gradient with respect to each input — ``dx`` for an
activation, ``(dx, dw, db)`` for a layer with parameters. A backward pass
reads only its cache; no function here modifies its arguments.

The element-wise activations live in :mod:`gradkit.activations` and are
re-exported here, so ``from gradkit.layers import relu_forward`` works.
Taught in assignment 02.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, check_ndim, check_shape
from .activations import (
    _check_dout,
    elu_backward,
    elu_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_dead_fraction,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)

__all__ = [
    "affine_forward",
    "affine_backward",
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
    "maxout_forward",
    "maxout_backward",
    "affine_relu_forward",
    "affine_relu_backward",
]


def _rows(x, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a batch ``x`` of shape (N, d1, ..., dk); return it and its (N, D) view."""
    x = as_array("x", x, where)
    if x.ndim < 2:
        raise ValueError(
            f"{where}: x must have shape (N, d1, ..., dk) with at least 2 dimensions "
            f"(one row per example); got {tuple(x.shape)}"
        )
    return x, x.reshape(x.shape[0], int(np.prod(x.shape[1:])))


# ------------------------------------------------------------------------ affine


def affine_forward(x, w, b):
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


def affine_backward(dout, cache):
    """Backward pass of :func:`affine_forward`.

    ``dx = dout·wᵀ`` (reshaped to x's shape), ``dw = x_flatᵀ·dout``, ``db = Σ_n dout``.

    Shapes: dout (N, M), cache from affine_forward -> dx (N, d1, ..., dk), dw (D, M), db (M,).
    Taught in assignment 02.
    """
    x, w = cache
    N, M = x.shape[0], w.shape[1]
    dout = _check_dout(dout, (N, M), "affine_backward")
    x_flat = x.reshape(N, int(np.prod(x.shape[1:])))
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_flat.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# ------------------------------------------------------------------------ maxout


def maxout_forward(x, w, b):
    """Maxout layer: each output unit is the largest of k affine pieces.

    ``out[n, m] = max_j (x_flat[n]·w[j, :, m] + b[j, m])``, j = 0..k−1.
    With k = 2, ``w[1] = 0`` and ``b = 0`` this is ReLU of an affine layer;
    with ``w[1] = −w[0]`` it is ``|x_flat·w[0]|``.

    Shapes: x (N, d1, ..., dk), w (k, D, M), b (k, M) -> out (N, M), D = d1·…·dk.
    Taught in assignment 02.
    """
    where = "maxout_forward"
    x, x_flat = _rows(x, where)
    w = as_array("w", w, where)
    b = as_array("b", b, where)
    D = x_flat.shape[1]
    if w.ndim != 3:
        raise ValueError(
            f"{where}: w must have shape (k, {D}, M) (k affine pieces of shape (D, M)); "
            f"got {tuple(w.shape)}"
        )
    check_shape("w", w, (None, D, None), where, f"to match x with {D} features per row")
    k, _, M = w.shape
    if k < 1:
        raise ValueError(f"{where}: w must hold at least one piece (k >= 1); got {tuple(w.shape)}")
    check_shape("b", b, (k, M), where, f"to match w with {k} pieces and {M} outputs")
    pieces = x_flat @ w + b[:, None, :]  # (k, N, M)
    winner = np.argmax(pieces, axis=0)  # (N, M); ties go to the lowest piece index
    out = np.take_along_axis(pieces, winner[None], axis=0)[0]
    return out, (x, w, winner)


def maxout_backward(dout, cache):
    """Backward pass of :func:`maxout_forward`: the max gate routes dout to the winning piece.

    With ``g[j] = dout · [piece j won]``: ``dx = Σ_j g[j]·w[j]ᵀ``,
    ``dw[j] = x_flatᵀ·g[j]``, ``db[j] = Σ_n g[j]``. On a tie the lowest-index
    piece gets the whole gradient.

    Shapes: dout (N, M), cache from maxout_forward -> dx (N, d1, ..., dk), dw (k, D, M), db (k, M).
    Taught in assignment 02.
    """
    x, w, winner = cache
    k, _, M = w.shape
    N = x.shape[0]
    dout = _check_dout(dout, (N, M), "maxout_backward")
    x_flat = x.reshape(N, int(np.prod(x.shape[1:])))
    won = winner[None] == np.arange(k)[:, None, None]  # (k, N, M) one-hot over pieces
    g = np.where(won, dout[None], 0)  # (k, N, M)
    dx = np.sum(g @ w.transpose(0, 2, 1), axis=0).reshape(x.shape)
    dw = x_flat.T @ g  # (k, D, M)
    db = g.sum(axis=1)
    return dx, dw, db


# ---------------------------------------------------------------- affine + ReLU


def affine_relu_forward(x, w, b):
    """Affine layer followed by ReLU, the building block of a fully connected net.

    ``out = max(0, x_flat·w + b)``.

    Shapes: x (N, d1, ..., dk), w (D, M), b (M,) -> out (N, M). Taught in assignment 02.
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward pass of :func:`affine_relu_forward`: ReLU backward, then affine backward.

    ``da = dout·[a > 0]``, then ``(dx, dw, db) = affine_backward(da)``.

    Shapes: dout (N, M), cache from affine_relu_forward -> dx (N, d1, ..., dk), dw (D, M), db (M,).
    Taught in assignment 02.
    """
    fc_cache, relu_cache = cache
    dout = _check_dout(dout, relu_cache.shape, "affine_relu_backward")
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)
