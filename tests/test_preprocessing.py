"""Tests for gradkit.preprocessing (and gradkit.pca, which it re-exports)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradkit.preprocessing import (
    center,
    fit_center,
    fit_minmax,
    fit_pca,
    fit_standardize,
    inverse_center,
    inverse_minmax_scale,
    inverse_pca,
    inverse_standardize,
    inverse_whiten,
    minmax_scale,
    pca_transform,
    standardize,
    whiten,
)
from helpers import assert_inputs_unchanged

#: Hand cases are a handful of float64 operations on O(1) numbers: only rounding.
HAND_TOL = 1e-12
#: Orthonormality / exact identities after an SVD of a small covariance matrix.
SVD_TOL = 1e-9
#: fit -> apply -> inverse on O(1)..O(10) data loses a few ulps per step; whitening
#: divides by sqrt(λ + eps) with λ possibly ~1e-2, amplifying rounding by ~10.
ROUNDTRIP_TOL = 1e-8
#: Whitened training covariance is diag(λ / (λ + eps)); with eps = 1e-5 and the
#: smallest λ of the generated data above ~0.02 each diagonal entry is within 5e-4 of 1.
WHITEN_COV_TOL = 1e-3


def close(a, b, tol):
    np.testing.assert_allclose(a, b, rtol=0, atol=tol)


def random_data(seed, n, d, spread=(0.5, 3.0)):
    """Correlated Gaussian data with a shift: X = Z Q diag(s) + shift, s in ``spread``."""
    g = np.random.default_rng(seed)
    q, _ = np.linalg.qr(g.standard_normal((d, d)))
    scales = g.uniform(*spread, size=d)
    return g.standard_normal((n, d)) @ (q * scales) + g.uniform(-5, 5, size=d)


# --------------------------------------------------------------------------- hand cases


def test_center_feature_hand_case():
    stats = fit_center(np.array([[1.0, 2.0], [3.0, 6.0]]))
    close(stats["mean"], [2.0, 4.0], HAND_TOL)
    close(center(np.array([[1.0, 2.0], [3.0, 6.0]]), stats), [[-1, -2], [1, 2]], HAND_TOL)
    # applied to another split the training mean is used, so the result is not centred
    close(center(np.array([[0.0, 0.0]]), stats), [[-2.0, -4.0]], HAND_TOL)


def test_center_global_hand_case():
    X = np.array([[1.0, 2.0], [3.0, 6.0]])
    stats = fit_center(X, mode="global")
    close(stats["mean"], [3.0, 3.0], HAND_TOL)
    close(center(X, stats), [[-2, -1], [0, 3]], HAND_TOL)


def test_center_channel_flattened_and_images_hand_case():
    # one 1×2 image with 2 channels, channel last: pixel0 = (1, 10), pixel1 = (3, 20)
    X = np.array([[1.0, 10.0, 3.0, 20.0]])
    stats = fit_center(X, mode="channel", channels=2)
    close(stats["mean"], [2.0, 15.0, 2.0, 15.0], HAND_TOL)
    close(center(X, stats), [[-1, -5, 1, 5]], HAND_TOL)
    images = X.reshape(1, 1, 2, 2)
    stats4 = fit_center(images, mode="channel")
    close(center(images, stats4), [[[[-1, -5], [1, 5]]]], HAND_TOL)


def test_standardize_hand_case_and_constant_feature():
    X = np.array([[0.0, 5.0], [4.0, 5.0]])
    stats = fit_standardize(X)
    close(stats["mean"], [2.0, 5.0], HAND_TOL)
    close(stats["std"], [2.0, 1.0], HAND_TOL)  # constant column: std guarded to 1
    close(standardize(X, stats), [[-1, 0], [1, 0]], HAND_TOL)
    close(standardize(np.array([[6.0, 7.0]]), stats), [[2.0, 2.0]], HAND_TOL)


def test_standardize_global_hand_case():
    X = np.array([[0.0, 2.0], [4.0, 6.0]])  # mean 3, variance (9 + 1 + 1 + 9) / 4 = 5
    out = standardize(X, fit_standardize(X, mode="global"))
    close(out, np.array([[-3, -1], [1, 3]]) / np.sqrt(5), HAND_TOL)


def test_minmax_hand_case():
    X = np.array([[0.0, 5.0], [4.0, 5.0], [2.0, 5.0]])
    stats = fit_minmax(X)
    close(minmax_scale(X, stats), [[-1, 0], [1, 0], [0, 0]], HAND_TOL)
    # other splits use the training range and may leave [-1, 1]
    close(minmax_scale(np.array([[6.0, 7.0]]), stats), [[2.0, 2.0]], HAND_TOL)


def test_pca_hand_case_rotated_line():
    X = np.array([[3.0, 4.0], [-3.0, -4.0]])  # covariance [[9, 12], [12, 16]]
    stats = fit_pca(X)
    close(stats["variances"], [25.0, 0.0], SVD_TOL)
    close(stats["components"], [[0.6, 0.8], [0.8, -0.6]], SVD_TOL)  # 2nd flipped: -0.8 -> +0.8
    close(pca_transform(X, stats), [[5, 0], [-5, 0]], SVD_TOL)
    close(pca_transform(X, stats, k=1), [[5], [-5]], SVD_TOL)
    close(inverse_pca(np.array([[5.0]]), stats), [[3.0, 4.0]], SVD_TOL)


def test_pca_and_whiten_hand_case_axis_aligned():
    X = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]]) + 1.0
    stats = fit_pca(X)  # mean (1, 1), covariance diag(2, 0.5)
    close(stats["mean"], [1.0, 1.0], HAND_TOL)
    close(stats["variances"], [2.0, 0.5], SVD_TOL)
    close(stats["components"], np.eye(2), SVD_TOL)
    r2 = np.sqrt(2.0)
    close(whiten(X, stats, eps=0.0), [[r2, 0], [-r2, 0], [0, r2], [0, -r2]], SVD_TOL)
    close(whiten(X, stats, k=1, eps=2.0), [[1], [-1], [0], [0]], SVD_TOL)  # 2 / sqrt(2 + 2)


# --------------------------------------------------------------------------- properties

data_params = st.tuples(st.integers(0, 2**31 - 1), st.integers(50, 120), st.integers(1, 6))


@given(data_params)
def test_whitened_training_covariance_is_identity(params):
    seed, n, d = params
    X = random_data(seed, n, d)
    stats = fit_pca(X)
    W = whiten(X, stats)
    close(W.mean(axis=0), np.zeros(d), SVD_TOL)
    cov = W.T @ W / n
    close(cov, np.eye(d), WHITEN_COV_TOL)
    close(cov, np.diag(stats["variances"] / (stats["variances"] + 1e-5)), SVD_TOL)


@given(st.tuples(st.integers(0, 2**31 - 1), st.integers(1, 12), st.integers(1, 8)))
def test_pca_components_orthonormal_sorted_and_sign_fixed(params):
    seed, n, d = params  # includes N < D (rank-deficient covariance)
    X = random_data(seed, n, d)
    stats = fit_pca(X)
    U, lam = stats["components"], stats["variances"]
    close(U.T @ U, np.eye(d), SVD_TOL)
    assert np.all(np.diff(lam) <= SVD_TOL), "variances must be sorted in decreasing order"
    largest = U[np.argmax(np.abs(U), axis=0), np.arange(d)]
    assert np.all(largest > 0), "each component's largest-magnitude entry must be positive"
    Z = pca_transform(X, stats)
    close(Z.var(axis=0), lam, SVD_TOL * max(1.0, lam.max()))


@given(data_params, st.data())
def test_pca_reconstruction_error_is_dropped_variance(params, data):
    seed, n, d = params
    X = random_data(seed, n, d)
    k = data.draw(st.integers(1, d))
    stats = fit_pca(X)
    recon = inverse_pca(pca_transform(X, stats, k=k), stats)
    mse = np.mean(np.sum((X - recon) ** 2, axis=1))
    close(mse, stats["variances"][k:].sum(), SVD_TOL)
    assert fit_pca(X, k=k)["components"].shape == (d, k)


@given(data_params)
def test_inverse_round_trips(params):
    seed, n, d = params
    X = random_data(seed, n, d)
    X_other = random_data(seed + 1, 7, d)  # a different split: inverses hold there too
    for Y in (X, X_other):
        close(inverse_center(center(Y, fit_center(X)), fit_center(X)), Y, ROUNDTRIP_TOL)
        s = fit_standardize(X, mode="global")
        close(inverse_standardize(standardize(Y, s), s), Y, ROUNDTRIP_TOL)
        m = fit_minmax(X)
        close(inverse_minmax_scale(minmax_scale(Y, m), m), Y, ROUNDTRIP_TOL)
        p = fit_pca(X)
        close(inverse_pca(pca_transform(Y, p), p), Y, ROUNDTRIP_TOL)
        close(inverse_whiten(whiten(Y, p, eps=1e-3), p, eps=1e-3), Y, ROUNDTRIP_TOL)


@given(data_params)
def test_statistics_come_from_the_training_split_only(params):
    seed, n, d = params
    X_all = random_data(seed, n + 30, d)
    X_train, X_val = X_all[:n], X_all[n:] + 10.0  # val is shifted by 10 in every feature
    stats = fit_center(X_train)
    close(center(X_train, stats).mean(axis=0), np.zeros(d), SVD_TOL)
    val = center(X_val, stats)
    close(val, X_val - X_train.mean(axis=0), HAND_TOL * 100)
    # noise moves the val mean by far less than 5 (std <= 3, 30 and >= 50 rows)
    assert np.all(val.mean(axis=0) > 5.0), "val must keep its shift: stats are the train mean"
    s = fit_standardize(X_train)
    close(standardize(X_train, s).std(axis=0), np.ones(d), SVD_TOL)
    assert not np.allclose(standardize(X_val, s).mean(axis=0), 0.0)


# --------------------------------------------------------------------------- contract


def test_float32_stays_float32_and_other_inputs_become_float64():
    X32 = np.arange(12, dtype=np.float32).reshape(4, 3)
    assert center(X32, fit_center(X32)).dtype == np.float32
    assert whiten(X32, fit_pca(X32)).dtype == np.float32
    assert inverse_whiten(whiten(X32, fit_pca(X32)), fit_pca(X32)).dtype == np.float32
    Xint = np.arange(12).reshape(4, 3)
    assert minmax_scale(Xint, fit_minmax(Xint)).dtype == np.float64


def test_inputs_unchanged(rng):
    X = rng.standard_normal((10, 4))
    images = rng.standard_normal((3, 2, 2, 3))
    for fit, apply, inverse in (
        (fit_center, center, inverse_center),
        (fit_standardize, standardize, inverse_standardize),
        (fit_minmax, minmax_scale, inverse_minmax_scale),
        (fit_pca, pca_transform, inverse_pca),
        (fit_pca, whiten, inverse_whiten),
    ):
        stats = assert_inputs_unchanged(fit, X)
        out = assert_inputs_unchanged(apply, X, stats)
        assert_inputs_unchanged(inverse, out, stats)
    stats = assert_inputs_unchanged(fit_center, images, mode="channel")
    assert_inputs_unchanged(center, images, stats)


APPLY = [
    (fit_center, center),
    (fit_center, inverse_center),
    (fit_standardize, standardize),
    (fit_standardize, inverse_standardize),
    (fit_minmax, minmax_scale),
    (fit_minmax, inverse_minmax_scale),
    (fit_pca, pca_transform),
    (fit_pca, whiten),
]


@pytest.mark.parametrize("fit, apply", APPLY, ids=lambda f: f.__name__)
def test_mismatched_features_raise_naming_both(fit, apply, rng):
    stats = fit(rng.standard_normal((6, 3)))
    with pytest.raises(ValueError, match=rf"{apply.__name__}: .*\(3,\).*\(4,\)"):
        apply(rng.standard_normal((5, 4)), stats)


def test_k_out_of_range_raises(rng):
    X = rng.standard_normal((6, 3))
    with pytest.raises(ValueError, match=r"fit_pca: k must be an integer in \[1, 3\]; got 4"):
        fit_pca(X, k=4)
    stats = fit_pca(X, k=2)
    with pytest.raises(ValueError, match=r"pca_transform: k must be .*\[1, 2\]; got 3"):
        pca_transform(X, stats, k=3)
    with pytest.raises(ValueError, match=r"whiten: k must be .*got 0"):
        whiten(X, stats, k=0)
    message = r"inverse_pca: Z must have shape \(N, k\) with k <= 2.*\(6, 3\)"
    with pytest.raises(ValueError, match=message):
        inverse_pca(X, stats)


def test_bad_modes_layouts_and_stats_raise(rng):
    X = rng.standard_normal((4, 6))
    with pytest.raises(ValueError, match="fit_center: mode must be one of"):
        fit_center(X, mode="pixel")
    with pytest.raises(ValueError, match=r"fit_minmax: mode='channel' needs .*\(4, 6\)"):
        fit_minmax(X, mode="channel")
    with pytest.raises(ValueError, match=r"fit_standardize: X of shape \(4, 6\) cannot hold .*C=4"):
        fit_standardize(X, mode="channel", channels=4)
    with pytest.raises(ValueError, match=r"channels=2 does not match X of shape \(4, 2, 2, 3\)"):
        fit_center(rng.standard_normal((4, 2, 2, 3)), mode="channel", channels=2)
    message = "standardize: stats must be the dict returned by fit_standardize"
    with pytest.raises(ValueError, match=message):
        standardize(X, fit_center(X))
    with pytest.raises(ValueError, match=r"fit_center: X needs at least 1 example.*\(0, 6\)"):
        fit_center(np.zeros((0, 6)))
    with pytest.raises(ValueError, match=r"fit_pca: X must be 2-D; got shape \(4, 2, 3\)"):
        fit_pca(X.reshape(4, 2, 3))
    with pytest.raises(ValueError, match=r"center: X must have one example per row.*\(6,\)"):
        center(X[0], fit_center(X))
    with pytest.raises(ValueError, match="eps must be a non-negative"):
        whiten(X, fit_pca(X), eps=-1.0)


def test_empty_split_is_allowed_when_applying(rng):
    X = rng.standard_normal((5, 3))
    assert center(np.zeros((0, 3)), fit_center(X)).shape == (0, 3)
    assert whiten(np.zeros((0, 3)), fit_pca(X), k=2).shape == (0, 2)
