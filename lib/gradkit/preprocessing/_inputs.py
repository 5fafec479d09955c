"""Shared checks for the preprocessing steps (:mod:`gradkit.preprocessing`).

Private: validation of ``X`` and ``stats``, the dtype rule (float32 stays
float32, everything else is float64) and the per-group reduction behind the
``'feature' | 'global' | 'channel'`` modes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_ndim

MODES = ("feature", "global", "channel")


def check_input(
    X: npt.ArrayLike, where: str, *, min_rows: int = 0, ndim: int | Iterable[int] | None = None
) -> np.ndarray:
    """Validate X: a float array with one example per row (the caller's array is untouched)."""
    X = as_array("X", X, where)
    if ndim is not None:
        check_ndim("X", X, ndim, where)
    elif X.ndim < 2:
        raise ValueError(
            f"{where}: X must have one example per row, shape (N, D) or (N, d1, ..., dk); "
            f"got shape {X.shape}"
        )
    if X.shape[0] < min_rows:
        raise ValueError(
            f"{where}: X needs at least {min_rows} example(s) to fit; got shape {X.shape}"
        )
    return X


def as_output(values: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Return ``values`` in float32 when X was float32, else float64."""
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    return values.astype(dtype, copy=False)


def check_stats(stats: object, keys: Iterable[str], where: str, fitter: str) -> dict[str, Any]:
    """Check that ``stats`` is the dict a fitter returned (it holds ``keys``)."""
    if not isinstance(stats, dict) or any(k not in stats for k in keys):
        got = sorted(stats) if isinstance(stats, dict) else type(stats).__name__
        raise ValueError(
            f"{where}: stats must be the dict returned by {fitter} (keys {list(keys)}); got {got}"
        )
    return stats


def check_example_shape(X: np.ndarray, example_shape: Iterable[int], where: str) -> None:
    """Raise unless one example of X has the shape the stats were fitted on."""
    example_shape = tuple(example_shape)
    if X.shape[1:] != example_shape:
        d_fit, d_x = int(np.prod(example_shape)), int(np.prod(X.shape[1:]))
        raise ValueError(
            f"{where}: stats were fitted on examples of shape {example_shape} ({d_fit} features) "
            f"but X has examples of shape {X.shape[1:]} ({d_x} features); got X of shape {X.shape}"
        )


def group_stat(
    A: np.ndarray, reduce: Callable[..., Any], mode: str, channels: int | None, where: str
) -> np.ndarray:
    """Reduce ``A`` (N, ...) over the groups of ``mode``; return one example's shape."""
    if mode == "feature":
        return reduce(A, axis=0)
    if mode == "global":
        return np.full(A.shape[1:], reduce(A))
    if mode != "channel":
        raise ValueError(f"{where}: mode must be one of {MODES}; got {mode!r}")
    if A.ndim == 4:
        if channels is not None and channels != A.shape[-1]:
            raise ValueError(
                f"{where}: channels={channels} does not match X of shape {A.shape} "
                f"(images (N, H, W, C) with C={A.shape[-1]})"
            )
        channels = A.shape[-1]
    elif A.ndim == 2 and channels is not None:
        if channels < 1 or A.shape[1] % channels:
            raise ValueError(
                f"{where}: X of shape {A.shape} cannot hold H·W·C rows with C={channels} "
                f"channels ({A.shape[1]} is not a multiple of {channels})"
            )
    else:
        raise ValueError(
            f"{where}: mode='channel' needs images (N, H, W, C) or flattened rows (N, H·W·C) "
            f"with channels=C; got X of shape {A.shape} and channels={channels}"
        )
    per_channel = reduce(A.reshape(-1, channels), axis=0)  # channel is the fastest axis
    pixels = int(np.prod(A.shape[1:])) // channels
    return np.broadcast_to(per_channel, (pixels, channels)).reshape(A.shape[1:]).copy()
