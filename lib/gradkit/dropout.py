"""Dropout (vanilla and inverted) and DropConnect.

Taught in assignment 04 (regularization).

All three share one parameter dict, never modified by the call:

* ``p``    -- the probability of **keeping** a unit (or a weight), in (0, 1];
  ``p == 1`` keeps everything, so the layer is the identity (a plain affine
  layer for DropConnect).
* ``mode`` -- ``'train'`` (draw a mask) or ``'test'`` (deterministic).
* ``seed`` -- optional int: the mask is drawn from a local
  ``np.random.default_rng(seed)``, so every call draws the *same* mask (this
  is what lets a numeric gradient check run through a dropout layer).
* ``rng``  -- optional ``np.random.Generator`` to draw from instead (each call
  then advances it). With neither, a fresh OS-seeded generator is used.

The mask is ``rng.random(shape) < p`` (``shape`` of ``x``, or of ``w`` for
DropConnect). The global numpy random state is never touched.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from ._validation import as_array, check_ndim, check_probability, check_shape

__all__ = [
    "vanilla_dropout_forward",
    "vanilla_dropout_backward",
    "dropout_forward",
    "dropout_backward",
    "dropconnect_forward",
    "dropconnect_backward",
]

_MODES = ("train", "test")


def _parse_param(
    param: Mapping[str, Any], where: str, name: str
) -> tuple[float, str, int | None, np.random.Generator | None]:
    """Validate a dropout/DropConnect parameter dict; return ``(p, mode, seed, rng)``."""
    if not isinstance(param, Mapping):
        raise ValueError(
            f"{where}: {name} must be a dict with keys 'p' and 'mode'; got {type(param).__name__}"
        )
    missing = [k for k in ("p", "mode") if k not in param]
    if missing:
        raise ValueError(f"{where}: {name} is missing key(s) {missing}; got keys {list(param)}")
    p = param["p"]
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise ValueError(f"{where}: {name}['p'] must be a number in (0, 1]; got {p!r}")
    p = check_probability(f"{name}['p'] (the keep probability)", cast(float, p), where)
    mode = param["mode"]
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError(f"{where}: {name}['mode'] must be 'train' or 'test'; got {mode!r}")
    seed, rng = param.get("seed"), param.get("rng")
    if seed is not None and rng is not None:
        raise ValueError(f"{where}: {name} may hold 'seed' or 'rng', not both")
    if seed is not None:
        try:
            np.random.SeedSequence(seed)
        except (TypeError, ValueError):
            raise ValueError(
                f"{where}: {name}['seed'] must be a non-negative int; got {seed!r}"
            ) from None
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"{where}: {name}['rng'] must be a numpy.random.Generator; got {type(rng).__name__}"
        )
    return p, mode, seed, rng


def _keep_mask(
    shape: tuple[int, ...], p: float, seed: int | None, rng: np.random.Generator | None
) -> np.ndarray:
    """Boolean mask, True where a unit is kept: ``rng.random(shape) < p``."""
    if p == 1.0:  # nothing is dropped; no draw needed
        return np.ones(shape, dtype=bool)
    if rng is None:
        rng = np.random.default_rng(seed)  # local generator; None -> OS entropy
    return rng.random(shape) < p


def _check_cache(cache: object, kind: str, where: str) -> dict[str, Any]:
    if not isinstance(cache, dict) or cache.get("kind") != kind:
        got = cache.get("kind") if isinstance(cache, dict) else type(cache).__name__
        raise ValueError(f"{where}: cache must come from {kind}_forward; got a cache from {got}")
    return cache


# --------------------------------------------------------------------------- dropout


def vanilla_dropout_forward(
    x: npt.ArrayLike, dropout_param: Mapping[str, Any]
) -> tuple[np.ndarray, dict[str, Any]]:
    """Vanilla dropout: keep each unit with probability p, scale by p at test time.

    Train: ``out = x * m`` with ``m_i ~ Bernoulli(p)``; test: ``out = p * x``, which
    matches the expected train-time output ``E[x * m] = p * x``. Prefer
    :func:`dropout_forward` (inverted), which leaves test time untouched.

    Shapes: x (any) -> out (same as x). Taught in assignment 04.
    """
    where = "vanilla_dropout_forward"
    x = as_array("x", x, where)
    p, mode, seed, rng = _parse_param(dropout_param, where, "dropout_param")
    if mode == "train":
        mask = _keep_mask(x.shape, p, seed, rng).astype(x.dtype)
    else:
        mask = None
    out = x * mask if mask is not None else x * x.dtype.type(p)
    cache = {"kind": "vanilla_dropout", "mode": mode, "p": p, "mask": mask, "shape": x.shape}
    return out, cache


def vanilla_dropout_backward(dout: npt.ArrayLike, cache: dict[str, Any]) -> np.ndarray:
    """Backward pass of vanilla dropout: reuse the mask (train) or the factor p (test).

    ``dx = dout * m`` in train mode, ``dx = p * dout`` in test mode.

    Shapes: dout (shape of x) -> dx (same). Taught in assignment 04.
    """
    where = "vanilla_dropout_backward"
    cache = _check_cache(cache, "vanilla_dropout", where)
    dout = as_array("dout", dout, where)
    check_shape("dout", dout, cache["shape"], where, "(the shape of x in the forward pass)")
    if cache["mask"] is not None:
        return dout * cache["mask"]
    return dout * dout.dtype.type(cache["p"])


def dropout_forward(
    x: npt.ArrayLike, dropout_param: Mapping[str, Any]
) -> tuple[np.ndarray, dict[str, Any]]:
    """Inverted dropout: keep each unit with probability p and divide by p at train time.

    Train: ``out = x * m / p`` with ``m_i ~ Bernoulli(p)``, so ``E[out] = x``;
    test: ``out = x`` (nothing to rescale -- why this is the preferred form).

    Shapes: x (any) -> out (same as x). Taught in assignment 04.
    """
    where = "dropout_forward"
    x = as_array("x", x, where)
    p, mode, seed, rng = _parse_param(dropout_param, where, "dropout_param")
    if mode == "train":
        # The scaled mask (0 or 1/p) is what backward multiplies by.
        mask = _keep_mask(x.shape, p, seed, rng).astype(x.dtype) / x.dtype.type(p)
        out = x * mask
    else:
        mask = None
        out = x.copy()  # a new array, so callers may modify out freely
    cache = {"kind": "dropout", "mode": mode, "p": p, "mask": mask, "shape": x.shape}
    return out, cache


def dropout_backward(dout: npt.ArrayLike, cache: dict[str, Any]) -> np.ndarray:
    """Backward pass of inverted dropout: route the gradient through the same mask.

    ``dx = dout * m / p`` in train mode, ``dx = dout`` in test mode.

    Shapes: dout (shape of x) -> dx (same). Taught in assignment 04.
    """
    where = "dropout_backward"
    cache = _check_cache(cache, "dropout", where)
    dout = as_array("dout", dout, where)
    check_shape("dout", dout, cache["shape"], where, "(the shape of x in the forward pass)")
    if cache["mask"] is not None:
        return dout * cache["mask"]
    return dout.copy()


# --------------------------------------------------------------------------- DropConnect


def dropconnect_forward(
    x: npt.ArrayLike, w: npt.ArrayLike, b: npt.ArrayLike, dropconnect_param: Mapping[str, Any]
) -> tuple[np.ndarray, dict[str, Any]]:
    """DropConnect: an affine layer whose *weights* are kept with probability p.

    Train: ``out = x_flat (w * M / p) + b`` with ``M_ij ~ Bernoulli(p)`` drawn once
    per call (one mask shared by the minibatch; the original paper draws one
    per example); test: ``out = x_flat w + b``, a plain affine layer -- the
    inverted scaling makes the train-time mean equal to it. The bias is never
    dropped.

    Shapes: x (N, d1, ..., dk), w (D, M) with D = d1*...*dk, b (M,) -> out (N, M).
    Taught in assignment 04.
    """
    where = "dropconnect_forward"
    x = as_array("x", x, where)
    w = as_array("w", w, where)
    b = as_array("b", b, where)
    if x.ndim < 2:
        raise ValueError(
            f"{where}: x must have shape (N, d1, ..., dk) with at least 2 dimensions; "
            f"got shape {x.shape}"
        )
    check_ndim("w", w, 2, where)
    x_flat = x.reshape(x.shape[0], int(np.prod(x.shape[1:])))
    D = x_flat.shape[1]
    check_shape("w", w, (D, None), where, f"to match x with {D} features per row")
    check_shape("b", b, (w.shape[1],), where, f"to match w with {w.shape[1]} columns")
    p, mode, seed, rng = _parse_param(dropconnect_param, where, "dropconnect_param")
    if mode == "train":
        dtype = np.result_type(x, w)
        mask = _keep_mask(w.shape, p, seed, rng).astype(dtype) / dtype.type(p)
        w_used = w * mask
    else:
        mask = None
        w_used = w
    out = x_flat @ w_used + b
    cache = {"kind": "dropconnect", "x": x, "w_used": w_used, "mask": mask}
    return out, cache


def dropconnect_backward(
    dout: npt.ArrayLike, cache: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of DropConnect: the gradients with respect to x, w and b.

    Reuses the mask the forward pass drew (kept in ``cache``). Reference:
    ``dx = dout (w * M / p)^T``, ``dw = (x_flat^T dout) * M / p``, ``db = Σ_n dout``;
    in test mode the plain affine gradients.

    Shapes: dout (N, M) -> dx (N, d1, ..., dk), dw (D, M), db (M,).
    Taught in assignment 04.
    """
    where = "dropconnect_backward"
    cache = _check_cache(cache, "dropconnect", where)
    x, w_used, mask = cache["x"], cache["w_used"], cache["mask"]
    dout = as_array("dout", dout, where)
    check_shape("dout", dout, (x.shape[0], w_used.shape[1]), where, "(the shape of out)")
    x_flat = x.reshape(x.shape[0], int(np.prod(x.shape[1:])))
    dx = (dout @ w_used.T).reshape(x.shape)
    dw = x_flat.T @ dout
    if mask is not None:
        dw = dw * mask
    db = dout.sum(axis=0)
    return dx, dw, db
