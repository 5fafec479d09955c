"""Toy 2-D data sets for decision-region pictures: spiral, blobs, circles.

Each returns ``X (N, 2)`` float64 and ``y (N,)`` int64, ordered class by class.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_count, check_positive, get_rng

__all__ = ["make_spiral", "make_blobs", "make_circles"]


def make_spiral(
    n_per_class: int = 100,
    num_classes: int = 3,
    noise: float = 0.2,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: not linearly separable.

    Math: for class c, radius r = linspace(0, 1) and angle t = linspace(4c, 4(c+1))
    + noise·N(0, 1); x = (r sin t, r cos t).
    Shapes: -> X (C·n, 2), y (C·n,). Taught in assignment 02 (capacity pictures).
    """
    where = "make_spiral"
    n = check_count("n_per_class", n_per_class, where)
    num_classes = check_count("num_classes", num_classes, where)
    noise = check_positive("noise", noise, where, allow_zero=True)
    rng = get_rng(rng, seed)
    X, y = [], []
    r = np.linspace(0.0, 1.0, n)
    for c in range(num_classes):
        t = np.linspace(4.0 * c, 4.0 * (c + 1), n) + noise * rng.standard_normal(n)
        X.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        y.append(np.full(n, c, dtype=np.int64))
    return np.concatenate(X), np.concatenate(y)


def make_blobs(
    n_per_class: int = 100,
    centers: int | npt.ArrayLike = 3,
    std: float = 0.5,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs: each class is N(center_c, std²·I).

    ``centers`` is a count C (centres evenly spaced on a circle of radius 2) or
    an array (C, 2) of centres. Shapes: -> X (C·n, 2), y (C·n,).
    Taught in assignment 01 (linear decision boundaries).
    """
    where = "make_blobs"
    n = check_count("n_per_class", n_per_class, where)
    std = check_positive("std", std, where, allow_zero=True)
    if np.ndim(centers) == 0:
        count = check_count("centers", centers, where)
        angle = 2 * np.pi * np.arange(count) / count
        centers = 2.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    centers = as_array("centers", centers, where)
    if centers.ndim != 2 or centers.shape[1] != 2 or centers.shape[0] < 1:
        raise ValueError(
            f"{where}: centers must be a count or have shape (C, 2); got {centers.shape}"
        )
    rng = get_rng(rng, seed)
    X = np.repeat(centers, n, axis=0) + std * rng.standard_normal((centers.shape[0] * n, 2))
    return X, np.repeat(np.arange(centers.shape[0], dtype=np.int64), n)


def make_circles(
    n_per_class: int = 100,
    noise: float = 0.1,
    factor: float = 0.5,
    rng: np.random.Generator | None = None,
    seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric rings: class 0 on radius 1, class 1 on radius ``factor``.

    The classic case a linear classifier cannot separate (polar coordinates can).
    Math: angle θ ~ U[0, 2π), x = radius·(cos θ, sin θ) + noise·N(0, I).
    Shapes: -> X (2n, 2), y (2n,). Taught in assignments 01 and 02.
    """
    where = "make_circles"
    n = check_count("n_per_class", n_per_class, where)
    noise = check_positive("noise", noise, where, allow_zero=True)
    factor = float(factor)
    if not 0 < factor < 1:
        raise ValueError(f"{where}: factor (inner radius) must lie in (0, 1); got {factor}")
    rng = get_rng(rng, seed)
    radius = np.repeat([1.0, factor], n)
    angle = rng.uniform(0.0, 2 * np.pi, size=2 * n)
    X = radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    X = X + noise * rng.standard_normal((2 * n, 2))
    return X, np.repeat(np.array([0, 1], dtype=np.int64), n)
