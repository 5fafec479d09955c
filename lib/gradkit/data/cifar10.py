"""CIFAR-10 from the standard python pickle batches (import from :mod:`gradkit.data`).

Taught in assignment 03; used by every assignment when the instructor provides
the data (the course runs on the embedded digits otherwise).

File format (the "CIFAR-10 python version", ``cifar-10-python.tar.gz``
extracted): a directory with ``data_batch_1`` .. ``data_batch_5`` (training,
10000 rows each) and ``test_batch``. Each file is a pickled dict with
``b'data'``, a ``(rows, 3072)`` uint8 array, and ``b'labels'``, a list of ints
in 0..9. A row holds the red 32×32 plane, then the green, then the blue one,
each plane row-major (``row[c·1024 + h·32 + w]`` is channel c of pixel (h, w)).

:func:`load_cifar10` returns channel-last images ``(N, 32, 32, 3)``, i.e.
``X[n, h, w, c]``; with ``flatten=True`` those images are reshaped to rows of
3072 features in (h, w, c) order -- the layout ``mode='channel'`` in
:mod:`gradkit.preprocessing` expects -- *not* the file's plane order.

Pickle runs code from the file it reads: only load batches you trust.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import numpy as np
import numpy.typing as npt

from .._validation import check_count

__all__ = ["CIFAR10_CLASSES", "load_cifar10", "write_cifar10_batch"]

#: Class names in label order.
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST_FILE = "test_batch"
_EXPECTED = (
    "expected data_batch_1 .. data_batch_5 and test_batch from the CIFAR-10 python version "
    "(extract cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html "
    "and pass the folder cifar-10-batches-py)"
)


def _read_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (rows (n, 3072) uint8, labels (n,) int64) of one pickle batch."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    if not isinstance(batch, dict):
        raise ValueError(f"load_cifar10: {path} does not hold a CIFAR-10 batch dict")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise ValueError(f"load_cifar10: {path} has no b'data' and b'labels' entries")
    data = np.asarray(data)
    labels = np.asarray(labels, dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(
            f"load_cifar10: {path}: b'data' must be a uint8 array of shape (rows, 3072); "
            f"got {data.dtype} {data.shape}"
        )
    if labels.shape != (data.shape[0],):
        raise ValueError(
            f"load_cifar10: {path}: b'labels' must hold {data.shape[0]} labels; got {labels.shape}"
        )
    return data, labels


def _rows_to_images(rows: np.ndarray) -> np.ndarray:
    """(n, 3072) R, G, B planes -> (n, 32, 32, 3) channel-last images."""
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def _check_count(name: str, value: Any, available: int) -> int:
    value = check_count(name, value, "load_cifar10", minimum=0)
    if value > available:
        raise ValueError(f"load_cifar10: {name}={value} exceeds the {available} rows available")
    return value


def load_cifar10(
    root: str | os.PathLike[str],
    num_training: int | None = None,
    num_validation: int = 1000,
    num_test: int | None = None,
    dtype: npt.DTypeLike = np.float64,
    flatten: bool = False,
) -> dict[str, Any]:
    """Load CIFAR-10 from the python pickle batches in ``root``.

    The training batches are concatenated in order: the first ``num_training``
    rows become X_train (default: all rows not used for validation), the next
    ``num_validation`` become X_val; X_test is the first ``num_test`` rows of
    test_batch (default all). Pixels stay raw 0..255 values in ``dtype``; fit
    the preprocessing on X_train yourself. Returns a dict with keys X_train,
    y_train, X_val, y_val, X_test, y_test, classes (0..9), class_names and
    image_shape (32, 32, 3).
    Shapes: X_* (n, 32, 32, 3) channel-last, or (n, 3072) in (h, w, c) order with
    flatten=True; y_* (n,) int64. Missing files raise FileNotFoundError.
    Taught in assignment 03.
    """
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"load_cifar10: no directory {root!r}; {_EXPECTED}")
    missing = [f for f in _TRAIN_FILES + (_TEST_FILE,) if not os.path.isfile(os.path.join(root, f))]
    if missing:
        raise FileNotFoundError(
            f"load_cifar10: missing {', '.join(missing)} in {root!r}; {_EXPECTED}"
        )
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"load_cifar10: dtype must be a floating type; got {dtype}")
    batches = [_read_batch(os.path.join(root, f)) for f in _TRAIN_FILES]
    rows = np.concatenate([b[0] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    test_rows, test_labels = _read_batch(os.path.join(root, _TEST_FILE))

    n_val = _check_count("num_validation", num_validation, rows.shape[0])
    if num_training is None:
        num_training = rows.shape[0] - n_val
    n_train = _check_count("num_training", num_training, rows.shape[0])
    _check_count("num_training + num_validation", n_train + n_val, rows.shape[0])
    n_test = test_rows.shape[0] if num_test is None else num_test
    n_test = _check_count("num_test", n_test, test_rows.shape[0])

    def images(r: np.ndarray) -> np.ndarray:
        X = _rows_to_images(r).astype(dtype)
        # explicit width: reshape(0, -1) fails when a split is empty (e.g. num_test=0)
        return X.reshape(X.shape[0], 3072) if flatten else X

    return {
        "X_train": images(rows[:n_train]),
        "y_train": labels[:n_train],
        "X_val": images(rows[n_train : n_train + n_val]),
        "y_val": labels[n_train : n_train + n_val],
        "X_test": images(test_rows[:n_test]),
        "y_test": test_labels[:n_test],
        "classes": np.arange(10),
        "class_names": CIFAR10_CLASSES,
        "image_shape": (32, 32, 3),
    }


def write_cifar10_batch(
    path: str | os.PathLike[str], X_uint8: npt.ArrayLike, labels: npt.ArrayLike
) -> str:
    """Write one batch file in the CIFAR-10 python format (tests use it for tiny batches).

    ``X_uint8`` is either channel-last images (n, 32, 32, 3) -- converted to the
    file's R, G, B planes -- or rows (n, 3072) already in the file's plane order.
    ``labels`` are n integers in 0..9. Returns the path written.
    Shapes: X_uint8 (n, 32, 32, 3) or (n, 3072), labels (n,) -> file.
    Taught in assignment 03.
    """
    X = np.asarray(X_uint8)
    if X.dtype != np.uint8:
        raise ValueError(f"write_cifar10_batch: X_uint8 must have dtype uint8; got {X.dtype}")
    if X.ndim == 4 and X.shape[1:] == (32, 32, 3):
        rows = X.transpose(0, 3, 1, 2).reshape(X.shape[0], 3072)
    elif X.ndim == 2 and X.shape[1] == 3072:
        rows = X
    else:
        raise ValueError(
            f"write_cifar10_batch: X_uint8 must have shape (n, 32, 32, 3) or (n, 3072); "
            f"got {X.shape}"
        )
    labels = np.asarray(labels)
    if labels.shape != (rows.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(
            f"write_cifar10_batch: labels must be {rows.shape[0]} integers, shape "
            f"({rows.shape[0]},); got {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(
            f"write_cifar10_batch: labels must lie in 0..9; got {labels.min()}..{labels.max()}"
        )
    path = os.fspath(path)
    batch = {
        b"batch_label": os.path.basename(path).encode(),
        b"labels": [int(v) for v in labels],
        b"data": np.ascontiguousarray(rows),
        b"filenames": [f"image_{i}.png".encode() for i in range(rows.shape[0])],
    }
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)
    return path
