"""Maxout: each output unit is the largest of k affine pieces. Taught in assignment 02."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_dout, check_shape
from .affine import _rows

__all__ = ["maxout_forward", "maxout_backward"]


# ------------------------------------------------------------------------ maxout


def maxout_forward(
    x: npt.ArrayLike, w: npt.ArrayLike, b: npt.ArrayLike
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
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


def maxout_backward(
    dout: npt.ArrayLike, cache: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    dout = check_dout(dout, (N, M), "maxout_backward")
    x_flat = x.reshape(N, int(np.prod(x.shape[1:])))
    won = winner[None] == np.arange(k)[:, None, None]  # (k, N, M) one-hot over pieces
    g = np.where(won, dout[None], 0)  # (k, N, M)
    dx = np.sum(g @ w.transpose(0, 2, 1), axis=0).reshape(x.shape)
    dw = x_flat.T @ g  # (k, D, M)
    db = g.sum(axis=1)
    return dx, dw, db
