"""Centring, standardizing and min-max scaling: fit on the training split, apply to any split.

See :mod:`gradkit.preprocessing` for the modes and the fit/apply/undo table.
Taught in assignment 03.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._validation import check_positive
from ._inputs import (
    as_output,
    check_example_shape,
    check_input,
    check_stats,
    group_stat,
)

__all__ = [
    "fit_center",
    "center",
    "inverse_center",
    "fit_standardize",
    "standardize",
    "inverse_standardize",
    "fit_minmax",
    "minmax_scale",
    "inverse_minmax_scale",
]


# --------------------------------------------------------------------------- centring


def fit_center(
    X: npt.ArrayLike, mode: str = "feature", channels: int | None = None
) -> dict[str, Any]:
    """Fit mean subtraction on training data: the mean per feature, overall, or per channel.

    Math: μ = (1/N) Σ_i x_i (per feature; or one number; or one per channel).
    Shapes: X (N, D) or (N, H, W, C) -> stats {'mode', 'mean' (one example's shape)}.
    Taught in assignment 03.
    """
    where = "fit_center"
    X = check_input(X, where, min_rows=1).astype(np.float64)
    return {"mode": mode, "mean": group_stat(X, np.mean, mode, channels, where)}


def center(X: npt.ArrayLike, stats: dict[str, Any]) -> np.ndarray:
    """Subtract the training mean from any split: X − μ.

    Shapes: X (N, ...) with the example shape of the fit -> out (N, ...).
    Taught in assignment 03.
    """
    where = "center"
    X = check_input(X, where)
    mean = check_stats(stats, ("mean",), where, "fit_center")["mean"]
    check_example_shape(X, mean.shape, where)
    return as_output(X - mean, X)


def inverse_center(Z: npt.ArrayLike, stats: dict[str, Any]) -> np.ndarray:
    """Undo :func:`center`: Z + μ.

    Shapes: Z (N, ...) -> out (N, ...). Taught in assignment 03.
    """
    where = "inverse_center"
    Z = check_input(Z, where)
    mean = check_stats(stats, ("mean",), where, "fit_center")["mean"]
    check_example_shape(Z, mean.shape, where)
    return as_output(Z + mean, Z)


# --------------------------------------------------------------------------- standardizing


def fit_standardize(
    X: npt.ArrayLike, mode: str = "feature", channels: int | None = None, eps: float = 1e-8
) -> dict[str, Any]:
    """Fit normalization by the standard deviation (biased, over the same groups as the mean).

    Math: σ = sqrt((1/N) Σ_i (x_i − μ)²); a group with σ ≤ eps (constant) gets σ = 1,
    so it is only centred instead of blowing up.
    Shapes: X (N, D) or (N, H, W, C) -> stats {'mode', 'mean', 'std'} (one example's shape).
    Taught in assignment 03.
    """
    where = "fit_standardize"
    X = check_input(X, where, min_rows=1).astype(np.float64)
    eps = check_positive("eps", eps, where, allow_zero=True)
    mean = group_stat(X, np.mean, mode, channels, where)
    std = np.sqrt(group_stat((X - mean) ** 2, np.mean, mode, channels, where))
    return {"mode": mode, "mean": mean, "std": np.where(std > eps, std, 1.0)}


def standardize(X: npt.ArrayLike, stats: dict[str, Any]) -> np.ndarray:
    """Centre and divide by the training standard deviation: (X − μ) / σ.

    Shapes: X (N, ...) -> out (N, ...). Taught in assignment 03.
    """
    where = "standardize"
    X = check_input(X, where)
    stats = check_stats(stats, ("mean", "std"), where, "fit_standardize")
    check_example_shape(X, stats["mean"].shape, where)
    return as_output((X - stats["mean"]) / stats["std"], X)


def inverse_standardize(Z: npt.ArrayLike, stats: dict[str, Any]) -> np.ndarray:
    """Undo :func:`standardize`: Z·σ + μ.

    Shapes: Z (N, ...) -> out (N, ...). Taught in assignment 03.
    """
    where = "inverse_standardize"
    Z = check_input(Z, where)
    stats = check_stats(stats, ("mean", "std"), where, "fit_standardize")
    check_example_shape(Z, stats["mean"].shape, where)
    return as_output(Z * stats["std"] + stats["mean"], Z)


# --------------------------------------------------------------------------- min-max to [-1, 1]


def fit_minmax(
    X: npt.ArrayLike, mode: str = "feature", channels: int | None = None
) -> dict[str, Any]:
    """Fit scaling to [−1, 1]: the training minimum and maximum per group.

    Shapes: X (N, D) or (N, H, W, C) -> stats {'mode', 'min', 'max'} (one example's shape).
    Taught in assignment 03.
    """
    where = "fit_minmax"
    X = check_input(X, where, min_rows=1).astype(np.float64)
    return {
        "mode": mode,
        "min": group_stat(X, np.min, mode, channels, where),
        "max": group_stat(X, np.max, mode, channels, where),
    }


def _mid_half(stats: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Centre and half-width of the training range; a constant group gets half-width 1."""
    mid = (stats["max"] + stats["min"]) / 2
    half = (stats["max"] - stats["min"]) / 2
    return mid, np.where(half > 0, half, 1.0)


def minmax_scale(X: npt.ArrayLike, stats: dict[str, Any]) -> np.ndarray:
    """Map the training range [min, max] onto [−1, 1]: (X − mid) / half.

    Math: mid = (max + min)/2, half = (max − min)/2; a constant group maps to 0.
    Other splits may fall slightly outside [−1, 1]. Shapes: X (N, ...) -> out (N, ...).
    Taught in assignment 03.
    """
    where = "minmax_scale"
    X = check_input(X, where)
    stats = check_stats(stats, ("min", "max"), where, "fit_minmax")
    check_example_shape(X, stats["min"].shape, where)
    mid, half = _mid_half(stats)
    return as_output((X - mid) / half, X)


def inverse_minmax_scale(Z: npt.ArrayLike, stats: dict[str, Any]) -> np.ndarray:
    """Undo :func:`minmax_scale`: Z·half + mid.

    Shapes: Z (N, ...) -> out (N, ...). Taught in assignment 03.
    """
    where = "inverse_minmax_scale"
    Z = check_input(Z, where)
    stats = check_stats(stats, ("min", "max"), where, "fit_minmax")
    check_example_shape(Z, stats["min"].shape, where)
    mid, half = _mid_half(stats)
    return as_output(Z * half + mid, Z)
