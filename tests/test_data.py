"""Tests for gradkit.data (digits, splits, toy sets) and the CIFAR-10 loader it re-exports."""

import os
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradkit.data import (
    CIFAR10_CLASSES,
    load_cifar10,
    load_digits,
    make_blobs,
    make_circles,
    make_spiral,
    train_val_split,
    write_cifar10_batch,
)
from helpers import assert_inputs_unchanged

#: Sums, means and trig of O(1) float64 numbers: only rounding error.
FLOAT_TOL = 1e-12
#: A stratified split gives each class round(0.2 · n_c) validation rows out of
#: n_c ≈ 180, so a class's share may differ from the overall share by < 0.5 / 180.
CLASS_SHARE_TOL = 0.5 / 170
#: Digits has 1797 images in 10 classes of 174..183 images (scikit-learn's copy).
DIGITS_N = 1797


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


@pytest.fixture(scope="module")
def raw_digits():
    from sklearn.datasets import load_digits as sk_digits

    raw = sk_digits()
    return raw.data, raw.target


def sorted_rows(X, y):
    """Rows of [X | y] in lexicographic order: a multiset of (image, label) pairs."""
    A = np.column_stack([X.reshape(len(X), -1), y])
    return A[np.lexsort(A.T[::-1])]


# --------------------------------------------------------------------------- digits


def test_digits_shapes_and_keys(digits):
    assert digits["X_train"].shape == (1438, 64) and digits["y_train"].shape == (1438,)
    assert digits["X_val"].shape == (359, 64) and digits["y_val"].shape == (359,)
    assert digits["X_test"].shape == (0, 64) and digits["y_test"].shape == (0,)
    assert digits["mean"].shape == (64,)
    assert digits["image_shape"] == (8, 8)
    np.testing.assert_array_equal(digits["classes"], np.arange(10))
    assert digits["y_train"].dtype == np.int64 and digits["X_train"].dtype == np.float64


def test_digits_split_is_stratified(digits, raw_digits):
    counts = np.bincount(raw_digits[1], minlength=10)
    val_counts = np.bincount(digits["y_val"], minlength=10)
    np.testing.assert_array_equal(val_counts, np.floor(0.2 * counts + 0.5))
    share = val_counts / counts
    assert np.all(np.abs(share - 0.2) <= CLASS_SHARE_TOL)


def test_digits_splits_are_disjoint_and_cover_the_dataset(raw_digits):
    d = load_digits(seed=3, test_fraction=0.1, scale=False, center=False)
    assert len(d["y_train"]) + len(d["y_val"]) + len(d["y_test"]) == DIGITS_N
    union = sorted_rows(
        np.concatenate([d["X_train"], d["X_val"], d["X_test"]]),
        np.concatenate([d["y_train"], d["y_val"], d["y_test"]]),
    )
    np.testing.assert_array_equal(union, sorted_rows(*raw_digits))


def test_digits_reproducible_with_seed_and_seed_matters(digits):
    again = load_digits(seed=0)
    for key in ("X_train", "y_train", "X_val", "y_val", "mean"):
        np.testing.assert_array_equal(digits[key], again[key])
    other = load_digits(seed=1)
    assert not np.array_equal(digits["y_val"], other["y_val"])


def test_digits_pixels_scaled_and_centred_with_train_mean(digits):
    raw = load_digits(seed=0, center=False)
    assert raw["X_train"].min() == 0.0 and raw["X_train"].max() == 1.0  # 16 / 16
    assert load_digits(seed=0, scale=False, center=False)["X_train"].max() == 16.0
    np.testing.assert_allclose(digits["mean"], raw["X_train"].mean(axis=0), atol=FLOAT_TOL)
    np.testing.assert_allclose(digits["X_train"].mean(axis=0), 0.0, atol=FLOAT_TOL)
    np.testing.assert_allclose(digits["X_val"], raw["X_val"] - digits["mean"], atol=FLOAT_TOL)
    # the val split was not used for the mean, so it is not exactly centred
    assert np.abs(digits["X_val"].mean(axis=0)).max() > 1e-3


@pytest.mark.parametrize("flatten", [True, False])
def test_digits_centring_is_exactly_fit_center_and_center(flatten):
    """load_digits centres with numpy, not with the graded functions of assignment 03 (a
    student kit of an earlier assignment loads data without them): the same numbers."""
    from gradkit.preprocessing import center, fit_center

    raw = load_digits(seed=3, test_fraction=0.1, center=False, flatten=flatten)
    done = load_digits(seed=3, test_fraction=0.1, flatten=flatten)
    stats = fit_center(raw["X_train"])
    assert np.array_equal(done["mean"], stats["mean"])
    for split in ("train", "val", "test"):
        assert np.array_equal(done[f"X_{split}"], center(raw[f"X_{split}"], stats))


def test_digits_images_and_test_split():
    d = load_digits(seed=0, val_fraction=0.1, test_fraction=0.2, flatten=False)
    assert d["X_train"].shape[1:] == (8, 8) and d["mean"].shape == (8, 8)
    n_val, n_test = len(d["y_val"]), len(d["y_test"])
    assert abs(n_val - 0.1 * DIGITS_N) <= 5 and abs(n_test - 0.2 * DIGITS_N) <= 5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"val_fraction": 1.0}, r"load_digits: val_fraction must lie in \[0, 1\); got 1.0"),
        ({"test_fraction": -0.1}, r"test_fraction must lie in \[0, 1\); got -0.1"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "must be < 1 to leave training data"),
    ],
)
def test_digits_bad_fractions_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_digits(**kwargs)


# --------------------------------------------------------------------------- train_val_split


def test_train_val_split_hand_case():
    X = np.arange(20).reshape(10, 2)
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    X_tr, y_tr, X_va, y_va = assert_inputs_unchanged(train_val_split, X, y, 0.4, seed=7)
    np.testing.assert_array_equal(np.bincount(y_va), [2, 2])  # 0.4 · 5 = 2 per class
    ids_tr, ids_va = X_tr[:, 0] // 2, X_va[:, 0] // 2  # row i of X is (2i, 2i + 1)
    np.testing.assert_array_equal(X_tr, X[ids_tr])
    np.testing.assert_array_equal(y_tr, y[ids_tr])
    np.testing.assert_array_equal(y_va, y[ids_va])
    np.testing.assert_array_equal(np.sort(np.concatenate([ids_tr, ids_va])), np.arange(10))


@given(st.integers(0, 2**31 - 1), st.integers(20, 200), st.booleans())
def test_train_val_split_partitions_ids(seed, n, stratify):
    y = np.random.default_rng(seed).integers(0, 4, size=n)
    ids = np.arange(n)
    tr, y_tr, va, y_va = train_val_split(ids, y, 0.25, seed=seed, stratify=stratify)
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, va])), ids)
    np.testing.assert_array_equal(y_tr, y[tr])
    np.testing.assert_array_equal(y_va, y[va])
    again = train_val_split(ids, y, 0.25, seed=seed, stratify=stratify)
    np.testing.assert_array_equal(again[2], va)


def test_train_val_split_mismatch_raises():
    with pytest.raises(ValueError, match=r"train_val_split: .*got \(5, 2\) and \(4,\)"):
        train_val_split(np.zeros((5, 2)), np.zeros(4), 0.2)


# --------------------------------------------------------------------------- CIFAR-10

# A marked pixel at (h, w) = (2, 5) of the first training image with R, G, B = 11, 22, 33.
MARK_H, MARK_W, MARK_RGB = 2, 5, (11, 22, 33)


@pytest.fixture
def cifar_dir(tmp_path, rng):
    """Five training batches of 4 rows and a test batch of 3, in the real format."""
    rows = rng.integers(0, 256, size=(23, 3072), dtype=np.uint8)
    labels = np.arange(23) % 10
    for c, value in enumerate(MARK_RGB):  # file row layout: plane c, then row h, then column w
        rows[0, c * 1024 + MARK_H * 32 + MARK_W] = value
    for i in range(5):
        write_cifar10_batch(
            tmp_path / f"data_batch_{i + 1}", rows[4 * i : 4 * i + 4], labels[4 * i : 4 * i + 4]
        )
    write_cifar10_batch(tmp_path / "test_batch", rows[20:], labels[20:])
    return tmp_path, rows, labels


def test_cifar10_channel_order_and_splits(cifar_dir):
    root, rows, labels = cifar_dir
    d = load_cifar10(root, num_validation=5)
    assert d["X_train"].shape == (15, 32, 32, 3) and d["X_val"].shape == (5, 32, 32, 3)
    assert d["X_test"].shape == (3, 32, 32, 3) and d["X_train"].dtype == np.float64
    np.testing.assert_array_equal(d["X_train"][0, MARK_H, MARK_W], MARK_RGB)
    np.testing.assert_array_equal(d["y_train"], labels[:15])
    np.testing.assert_array_equal(d["y_val"], labels[15:20])
    np.testing.assert_array_equal(d["y_test"], labels[20:])
    # the last pixel's green value of val image 1 (row 16) is file byte 1024 + 1023
    assert d["X_val"][1, 31, 31, 1] == rows[16, 2047]
    assert d["class_names"] == CIFAR10_CLASSES and d["image_shape"] == (32, 32, 3)


def test_cifar10_flatten_counts_and_dtype(cifar_dir):
    root, rows, _ = cifar_dir
    d = load_cifar10(
        root, num_training=6, num_validation=2, num_test=1, dtype=np.float32, flatten=True
    )
    assert d["X_train"].shape == (6, 3072) and d["X_val"].shape == (2, 3072)
    assert d["X_test"].shape == (1, 3072) and d["X_train"].dtype == np.float32
    for c, value in enumerate(MARK_RGB):  # flattened in (h, w, c) order
        assert d["X_train"][0, (MARK_H * 32 + MARK_W) * 3 + c] == value
    expected = rows[6].reshape(3, 32, 32).transpose(1, 2, 0).ravel()  # planes -> (h, w, c)
    np.testing.assert_array_equal(d["X_val"][0], expected)


def test_cifar10_flatten_with_an_empty_split(cifar_dir):
    root, _, _ = cifar_dir
    d = load_cifar10(root, num_training=10, num_validation=0, num_test=0, flatten=True)
    assert d["X_train"].shape == (10, 3072)
    assert d["X_val"].shape == (0, 3072) and d["X_test"].shape == (0, 3072)


def test_cifar10_reads_a_hand_pickled_batch(cifar_dir):
    root, _, _ = cifar_dir
    data = np.zeros((2, 3072), dtype=np.uint8)
    data[1, 2 * 1024 + 31] = 200  # blue plane, pixel (0, 31) of image 1
    with open(os.path.join(root, "test_batch"), "wb") as f:  # as the original files: bytes keys
        pickle.dump({b"batch_label": b"testing batch", b"labels": [3, 9], b"data": data}, f)
    d = load_cifar10(root, num_validation=0)
    assert d["X_test"][1, 0, 31, 2] == 200 and d["X_test"].sum() == 200
    np.testing.assert_array_equal(d["y_test"], [3, 9])


def test_cifar10_writer_round_trips_images(tmp_path, rng):
    images = rng.integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    write_cifar10_batch(tmp_path / "batch", images, [1, 2, 3])
    with open(tmp_path / "batch", "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    assert batch[b"data"].shape == (3, 3072) and batch[b"labels"] == [1, 2, 3]
    assert batch[b"data"][2, 1024 + 4 * 32 + 7] == images[2, 4, 7, 1]


def test_cifar10_missing_directory_and_files(tmp_path, cifar_dir):
    message = r"no directory .*nowhere.*data_batch_1 \.\. data_batch_5"
    with pytest.raises(FileNotFoundError, match=message):
        load_cifar10(tmp_path / "nowhere")
    root, _, _ = cifar_dir
    os.remove(root / "data_batch_3")
    message = r"missing data_batch_3 in .*CIFAR-10 python version"
    with pytest.raises(FileNotFoundError, match=message):
        load_cifar10(root, num_validation=1)


def test_cifar10_bad_requests_and_writer_inputs(cifar_dir, tmp_path):
    root, _, _ = cifar_dir
    with pytest.raises(ValueError, match=r"num_validation=1000 exceeds the 20 rows"):
        load_cifar10(root)
    with pytest.raises(ValueError, match=r"num_training \+ num_validation=21 exceeds the 20 rows"):
        load_cifar10(root, num_training=16, num_validation=5)
    with pytest.raises(ValueError, match=r"num_training must be a non-negative integer; got -1"):
        load_cifar10(root, num_training=-1, num_validation=5)
    with pytest.raises(ValueError, match=r"num_test=4 exceeds the 3 rows"):
        load_cifar10(root, num_validation=2, num_test=4)
    with pytest.raises(ValueError, match="dtype must be a floating type"):
        load_cifar10(root, num_validation=2, dtype=np.uint8)
    with pytest.raises(ValueError, match="X_uint8 must have dtype uint8; got float64"):
        write_cifar10_batch(tmp_path / "b", np.zeros((1, 3072)), [0])
    with pytest.raises(ValueError, match=r"shape \(n, 32, 32, 3\) or \(n, 3072\); got \(1, 3071\)"):
        write_cifar10_batch(tmp_path / "b", np.zeros((1, 3071), np.uint8), [0])
    message = r"labels must be 1 integers, shape \(1,\); got int64 \(2,\)"
    with pytest.raises(ValueError, match=message):
        write_cifar10_batch(tmp_path / "b", np.zeros((1, 3072), np.uint8), np.array([0, 1]))


# --------------------------------------------------------------------------- toy sets

TOY = [
    (make_spiral, {"n_per_class": 30, "num_classes": 4}, 4),
    (make_blobs, {"n_per_class": 30, "centers": 4}, 4),
    (make_circles, {"n_per_class": 30}, 2),
]


@pytest.mark.parametrize("make, kwargs, classes", TOY, ids=lambda v: getattr(v, "__name__", ""))
def test_toy_shapes_labels_and_reproducibility(make, kwargs, classes):
    X, y = make(**kwargs, rng=np.random.default_rng(5))
    assert X.shape == (30 * classes, 2) and X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [30] * classes)
    X2, y2 = make(**kwargs, seed=5)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, make(**kwargs, seed=6)[0])
    with pytest.raises(ValueError, match="either rng or seed"):
        make(**kwargs, rng=np.random.default_rng(0), seed=0)


def test_toy_hand_cases_without_noise():
    X, _ = make_spiral(n_per_class=5, num_classes=2, noise=0.0, seed=0)
    np.testing.assert_allclose(X[0], [0.0, 0.0], atol=FLOAT_TOL)  # radius 0 at the start
    np.testing.assert_allclose(X[4], [np.sin(4.0), np.cos(4.0)], atol=FLOAT_TOL)
    np.testing.assert_allclose(X[9], [np.sin(8.0), np.cos(8.0)], atol=FLOAT_TOL)
    X, y = make_blobs(n_per_class=2, centers=4, std=0.0, seed=0)
    np.testing.assert_allclose(X[::2], [[2, 0], [0, 2], [-2, 0], [0, -2]], atol=FLOAT_TOL)
    X, y = make_blobs(n_per_class=1, centers=[[1.0, 1.0], [5.0, -1.0]], std=0.0, seed=0)
    np.testing.assert_allclose(X, [[1, 1], [5, -1]], atol=FLOAT_TOL)
    X, y = make_circles(n_per_class=50, noise=0.0, factor=0.3, seed=0)
    radii = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radii, np.repeat([1.0, 0.3], 50), atol=FLOAT_TOL)


def test_toy_bad_arguments_raise():
    with pytest.raises(
        ValueError, match="make_spiral: n_per_class must be a positive integer; got 0"
    ):
        make_spiral(n_per_class=0, seed=0)
    message = r"make_blobs: centers must be a count or have shape \(C, 2\); got \(2, 3\)"
    with pytest.raises(ValueError, match=message):
        make_blobs(centers=np.zeros((2, 3)), seed=0)
    with pytest.raises(ValueError, match=r"make_circles: factor .* must lie in \(0, 1\); got 1.5"):
        make_circles(factor=1.5, seed=0)
    with pytest.raises(ValueError, match="noise must be a non-negative"):
        make_spiral(noise=-1.0, seed=0)
