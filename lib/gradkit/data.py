"""Datasets for the course: embedded digits, CIFAR-10, toy 2-D sets and splits.

Taught in assignment 03 (setting up the data); every assignment loads its data
from here.

* :func:`load_digits` -- scikit-learn's bundled handwritten digits (1797
  images of 8×8 pixels, no download): the default dataset of every notebook.
* :func:`load_cifar10` / :func:`write_cifar10_batch` -- the CIFAR-10 python
  pickle batches from a directory the instructor provides (they live in
  :mod:`gradkit.cifar10` and are re-exported here).
* :func:`make_spiral`, :func:`make_blobs`, :func:`make_circles` -- toy 2-D
  sets for decision-region pictures; each returns ``X (N, 2)`` float64 and
  ``y (N,)`` int64, ordered class by class.
* :func:`train_val_split` -- a seeded (optionally stratified) split.

Everything random takes a ``seed`` or an ``rng`` (``np.random.Generator``);
nothing touches numpy's global random state.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, check_positive, get_rng
from .cifar10 import CIFAR10_CLASSES, load_cifar10, write_cifar10_batch
from .preprocessing import center as _center
from .preprocessing import fit_center

__all__ = [
    "load_digits",
    "train_val_split",
    "load_cifar10",
    "write_cifar10_batch",
    "CIFAR10_CLASSES",
    "make_spiral",
    "make_blobs",
    "make_circles",
]


# --------------------------------------------------------------------------- splits


def _check_fraction(name: str, value: float, where: str) -> float:
    value = float(value)
    if not 0 <= value < 1:
        raise ValueError(f"{where}: {name} must lie in [0, 1); got {value}")
    return value


def _split_indices(y, val_fraction, test_fraction, rng, stratify):
    """Index arrays (train, val, test) of a seeded split of labels ``y``.

    Stratified: each class gives round(fraction · n_class) examples to val and
    to test (halves round up). Otherwise round(fraction · N) over the whole set.
    Each split lists its examples in the order of one random permutation, so
    classes are interleaved.
    """
    n = y.shape[0]
    perm = rng.permutation(n)
    groups = [perm[y[perm] == c] for c in np.unique(y)] if stratify else [perm]
    parts = ([], [], [])
    for g in groups:
        n_test = int(np.floor(len(g) * test_fraction + 0.5))
        n_val = int(np.floor(len(g) * val_fraction + 0.5))
        parts[2].append(g[:n_test])
        parts[1].append(g[n_test : n_test + n_val])
        parts[0].append(g[n_test + n_val :])
    position = np.empty(n, dtype=np.int64)
    position[perm] = np.arange(n)
    out = []
    for chunks in parts:
        idx = np.concatenate(chunks).astype(np.int64)
        out.append(idx[np.argsort(position[idx], kind="stable")])
    return tuple(out)


def train_val_split(X, y, val_fraction: float = 0.2, seed=0, stratify: bool = True):
    """Split (X, y) into a training and a validation part, seeded and optionally stratified.

    Stratified: every class keeps (about) the same share in both parts.
    Shapes: X (N, ...), y (N,) -> X_train (N - V, ...), y_train (N - V,), X_val (V, ...),
    y_val (V,). Taught in assignment 03.
    """
    where = "train_val_split"
    X = np.asarray(X)
    y = np.asarray(y)
    if y.ndim != 1 or X.ndim < 1 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"{where}: X must have shape (N, ...) and y shape (N,) with the same N; "
            f"got {X.shape} and {y.shape}"
        )
    val_fraction = _check_fraction("val_fraction", val_fraction, where)
    train, val, _ = _split_indices(y, val_fraction, 0.0, get_rng(seed=seed), stratify)
    return X[train], y[train], X[val], y[val]


# --------------------------------------------------------------------------- digits


def load_digits(
    seed=0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.0,
    scale: bool = True,
    center: bool = True,
    stratify: bool = True,
    flatten: bool = True,
) -> dict:
    """Load scikit-learn's 8×8 handwritten digits, split, scaled and centred.

    Pixels (0..16) are divided by 16 into [0, 1] when ``scale``; then the mean
    image of the *training* split is subtracted from every split when ``center``
    (the key ``mean`` holds it either way). Splits are seeded and, with
    ``stratify``, keep the class shares. Returns a dict with keys X_train,
    y_train, X_val, y_val, X_test, y_test (empty when the fraction is 0), mean,
    classes (0..9) and image_shape (8, 8).
    Shapes: X_* (n, 64), or (n, 8, 8) with flatten=False; y_* (n,) int64.
    Taught in assignment 03; the default dataset of every assignment.
    """
    from sklearn.datasets import load_digits as _sklearn_digits  # imported on demand

    where = "load_digits"
    val_fraction = _check_fraction("val_fraction", val_fraction, where)
    test_fraction = _check_fraction("test_fraction", test_fraction, where)
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            f"{where}: val_fraction + test_fraction must be < 1 to leave training data; "
            f"got {val_fraction} + {test_fraction}"
        )
    raw = _sklearn_digits()
    X = np.array(raw.data if flatten else raw.images, dtype=np.float64)
    y = np.asarray(raw.target, dtype=np.int64)
    if scale:
        X = X / 16.0
    train, val, test = _split_indices(y, val_fraction, test_fraction, get_rng(seed=seed), stratify)
    stats = fit_center(X[train])
    out = {"mean": stats["mean"], "classes": np.arange(10), "image_shape": (8, 8)}
    for name, idx in (("train", train), ("val", val), ("test", test)):
        out[f"X_{name}"] = _center(X[idx], stats) if center else X[idx]
        out[f"y_{name}"] = y[idx]
    return out


# --------------------------------------------------------------------------- toy 2-D sets


def _check_count(name: str, value, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def make_spiral(n_per_class: int = 100, num_classes: int = 3, noise: float = 0.2,
                rng=None, seed=None):
    """Interleaved spiral arms, one per class: not linearly separable.

    Math: for class c, radius r = linspace(0, 1) and angle t = linspace(4c, 4(c+1))
    + noise·N(0, 1); x = (r sin t, r cos t).
    Shapes: -> X (C·n, 2), y (C·n,). Taught in assignment 02 (capacity pictures).
    """
    where = "make_spiral"
    n = _check_count("n_per_class", n_per_class, where)
    num_classes = _check_count("num_classes", num_classes, where)
    noise = check_positive("noise", noise, where, allow_zero=True)
    rng = get_rng(rng, seed)
    X, y = [], []
    r = np.linspace(0.0, 1.0, n)
    for c in range(num_classes):
        t = np.linspace(4.0 * c, 4.0 * (c + 1), n) + noise * rng.standard_normal(n)
        X.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        y.append(np.full(n, c, dtype=np.int64))
    return np.concatenate(X), np.concatenate(y)


def make_blobs(n_per_class: int = 100, centers=3, std: float = 0.5, rng=None, seed=None):
    """Gaussian blobs: each class is N(center_c, std²·I).

    ``centers`` is a count C (centres evenly spaced on a circle of radius 2) or
    an array (C, 2) of centres. Shapes: -> X (C·n, 2), y (C·n,).
    Taught in assignment 01 (linear decision boundaries).
    """
    where = "make_blobs"
    n = _check_count("n_per_class", n_per_class, where)
    std = check_positive("std", std, where, allow_zero=True)
    if np.ndim(centers) == 0:
        count = _check_count("centers", centers, where)
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


def make_circles(n_per_class: int = 100, noise: float = 0.1, factor: float = 0.5,
                 rng=None, seed=None):
    """Two concentric rings: class 0 on radius 1, class 1 on radius ``factor``.

    The classic case a linear classifier cannot separate (polar coordinates can).
    Math: angle θ ~ U[0, 2π), x = radius·(cos θ, sin θ) + noise·N(0, I).
    Shapes: -> X (2n, 2), y (2n,). Taught in assignments 01 and 02.
    """
    where = "make_circles"
    n = _check_count("n_per_class", n_per_class, where)
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
