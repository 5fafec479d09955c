"""The embedded digits data set (scikit-learn's 8×8 images) and seeded train/val splits.

Taught in assignment 03; every notebook loads its data with :func:`load_digits`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .._validation import get_rng

__all__ = ["load_digits", "train_val_split"]


# --------------------------------------------------------------------------- splits


def _check_fraction(name: str, value: float, where: str) -> float:
    value = float(value)
    if not 0 <= value < 1:
        raise ValueError(f"{where}: {name} must lie in [0, 1); got {value}")
    return value


def _split_indices(
    y: np.ndarray,
    val_fraction: float,
    test_fraction: float,
    rng: np.random.Generator,
    stratify: bool,
) -> tuple[np.ndarray, ...]:
    """Index arrays (train, val, test) of a seeded split of labels ``y``.

    Stratified: each class gives round(fraction · n_class) examples to val and
    to test (halves round up). Otherwise round(fraction · N) over the whole set.
    Each split lists its examples in the order of one random permutation, so
    classes are interleaved.
    """
    n = y.shape[0]
    perm = rng.permutation(n)
    groups = [perm[y[perm] == c] for c in np.unique(y)] if stratify else [perm]
    parts: tuple[list[np.ndarray], ...] = ([], [], [])
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


def train_val_split(
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    val_fraction: float = 0.2,
    seed: int | None = 0,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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


#: The file scikit-learn's ``load_digits`` reads, inside the installed ``sklearn`` package.
_DIGITS_FILE = ("datasets", "data", "digits.csv.gz")


def _digits_table() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as it loads them (pixels (1797, 64) float64, labels (1797,)):
    the same file read the same way, without importing scikit-learn, whose import (scipy,
    joblib) costs over half a second of CPU in every kernel that grades a notebook."""
    import gzip
    from importlib.util import find_spec

    spec = find_spec("sklearn")  # finds the package without importing it
    folder = spec.submodule_search_locations if spec is not None else None
    if not folder:
        raise ImportError("load_digits needs scikit-learn (pip install scikit-learn)")
    path = Path(list(folder)[0]).joinpath(*_DIGITS_FILE)
    if not path.is_file():  # a layout of scikit-learn's own: let it load the data
        from sklearn.datasets import load_digits as sklearn_digits

        raw = sklearn_digits()
        return raw.data, raw.target
    with gzip.open(path, mode="rt", encoding="utf-8") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1], data[:, -1].astype(int, copy=False)


def load_digits(
    seed: int | None = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.0,
    scale: bool = True,
    center: bool = True,
    stratify: bool = True,
    flatten: bool = True,
) -> dict[str, Any]:
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
    where = "load_digits"
    val_fraction = _check_fraction("val_fraction", val_fraction, where)
    test_fraction = _check_fraction("test_fraction", test_fraction, where)
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            f"{where}: val_fraction + test_fraction must be < 1 to leave training data; "
            f"got {val_fraction} + {test_fraction}"
        )
    pixels, labels = _digits_table()
    X = np.array(pixels if flatten else pixels.reshape(-1, 8, 8), dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if scale:
        X = X / 16.0
    train, val, test = _split_indices(y, val_fraction, test_fraction, get_rng(seed=seed), stratify)
    # The mean image, subtracted with numpy rather than gradkit.preprocessing's fit_center
    # and center (the same numbers): those are graded in assignment 03, and a student kit
    # of an earlier assignment must load its data without them.
    mean = X[train].mean(axis=0)
    out = {"mean": mean, "classes": np.arange(10), "image_shape": (8, 8)}
    for name, idx in (("train", train), ("val", val), ("test", test)):
        out[f"X_{name}"] = X[idx] - mean if center else X[idx]
        out[f"y_{name}"] = y[idx]
    return out
