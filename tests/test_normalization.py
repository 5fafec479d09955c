"""Tests for gradkit.normalization: batch norm (train/test, two backwards) and layer norm."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gradkit.normalization import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)
from helpers import assert_inputs_unchanged, check_backward

#: Hand cases use eps = 3 so that √(σ² + eps) is exactly 2: every value is a
#: small dyadic fraction and float64 rounding is the only error.
HAND_TOL = 1e-12
#: The graph backward and the closed form compute the same dx through
#: different sums; for N ≥ 4 they agree to < 1e-13 of max |dx| (measured over
#: 1000 random batches). Tiny batches (N = 2) cancel almost completely and are
#: left out of this comparison.
ALT_AGREE_TOL = 1e-12
#: A mean of N standardized values is 0 up to rounding of ~N·1e-16 times the
#: input scale (≤ 1e3 here).
MEAN_TOL = 1e-9
#: With eps = 1e-5 the output std is |gamma|·√(σ²/(σ² + eps)); the property
#: test keeps every σ² ≥ 0.05, so the shrink is below 1e-4 relative.
STD_REL_TOL = 1e-3

X = np.array([[1.0, 0.0], [3.0, 2.0]])
GAMMA = np.array([2.0, 1.0])
BETA = np.array([1.0, 0.0])
BACKWARDS = [batchnorm_backward, batchnorm_backward_alt]


def _bn_inputs(rng, n=5, d=3, dtype=np.float64):
    x = (3 + 2 * rng.standard_normal((n, d))).astype(dtype)
    gamma = (1 + 0.5 * rng.standard_normal(d)).astype(dtype)
    beta = rng.standard_normal(d).astype(dtype)
    return x, gamma, beta


# ---------------------------------------------------------------- hand cases


def test_batchnorm_train_hand_case():
    bn = {"mode": "train", "eps": 3.0}
    out, cache = batchnorm_forward(X, GAMMA, BETA, bn)
    # both columns have batch mean (2, 1) and variance 1, so x̂ = ±1/2
    np.testing.assert_allclose(out, [[0.0, -0.5], [2.0, 0.5]], atol=HAND_TOL)
    np.testing.assert_allclose(bn["running_mean"], [0.2, 0.1], atol=HAND_TOL)
    np.testing.assert_allclose(bn["running_var"], [0.1, 0.1], atol=HAND_TOL)
    # With N = 2, x̂1 = (d/2)/√(d²/4 + eps), d = x1 − x2 = −2,
    # so ∂x̂1/∂x1 = 3/16 = −∂x̂1/∂x2 and dx = gamma·(3/16, −3/16) in column 1.
    dout = np.array([[1.0, 0.0], [0.0, 0.0]])
    for backward in BACKWARDS:
        dx, dgamma, dbeta = backward(dout, cache)
        np.testing.assert_allclose(dx, [[0.375, 0.0], [-0.375, 0.0]], atol=HAND_TOL)
        np.testing.assert_allclose(dgamma, [-0.5, 0.0], atol=HAND_TOL)
        np.testing.assert_allclose(dbeta, [1.0, 0.0], atol=HAND_TOL)


def test_batchnorm_test_mode_hand_case():
    bn = {
        "mode": "test",
        "eps": 3.0,
        "running_mean": np.array([1.0, 0.0]),
        "running_var": np.array([1.0, 1.0]),
    }
    out, cache = batchnorm_forward(X, GAMMA, BETA, bn)
    # gamma·(x − μ)/2 + beta
    np.testing.assert_allclose(out, [[1.0, 0.0], [3.0, 1.0]], atol=HAND_TOL)
    for backward in BACKWARDS:
        dx, _, _ = backward(np.array([[1.0, 2.0], [3.0, 4.0]]), cache)
        np.testing.assert_allclose(dx, [[1.0, 1.0], [3.0, 2.0]], atol=HAND_TOL)  # dout·gamma/2


def test_layernorm_hand_case():
    x = np.array([[1.0, 3.0], [2.0, 4.0], [5.0, 5.0]])
    out, _ = layernorm_forward(x, GAMMA, BETA, {"eps": 3.0})
    # rows 1 and 2: variance 1 -> x̂ = (−1/2, 1/2); row 3 is constant -> x̂ = 0
    np.testing.assert_allclose(out, [[0.0, 0.5], [0.0, 0.5], [1.0, 0.0]], atol=HAND_TOL)


# ------------------------------------------------------------ gradient checks


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("backward", BACKWARDS)
def test_batchnorm_backward_matches_numeric_gradient(backward, mode, rng):
    x, gamma, beta = _bn_inputs(rng)
    bn = {"mode": mode, "running_mean": rng.standard_normal(3), "running_var": rng.random(3) + 0.5}
    check_backward(
        batchnorm_forward,
        backward,
        {"x": x, "gamma": gamma, "beta": beta},
        rng,
        extra={"bn_param": bn},
    )


def test_layernorm_backward_matches_numeric_gradient(rng):
    x, gamma, beta = _bn_inputs(rng, n=3, d=5)
    check_backward(
        layernorm_forward,
        layernorm_backward,
        {"x": x, "gamma": gamma, "beta": beta},
        rng,
        extra={"ln_param": {}},
    )


@given(
    st.integers(0, 2**32 - 1),
    st.integers(4, 40),
    st.integers(1, 20),
    st.sampled_from(["train", "test"]),
)
def test_batchnorm_backward_and_alt_agree(seed, n, d, mode):
    rng = np.random.default_rng(seed)
    x, gamma, beta = _bn_inputs(rng, n=n, d=d)
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": mode, "running_var": np.ones(d)})
    dout = rng.standard_normal(x.shape)
    for a, b in zip(batchnorm_backward(dout, cache), batchnorm_backward_alt(dout, cache)):
        # relative to the largest entry: single entries of dx near 0 carry no meaning
        assert np.max(np.abs(a - b)) <= ALT_AGREE_TOL * np.max(np.abs(a))


# ------------------------------------------------------------------ properties


@given(
    st.integers(0, 2**32 - 1),
    st.integers(4, 30),
    st.integers(1, 5),
    st.floats(-100, 100),
    st.floats(0.5, 10),
)
def test_batchnorm_train_output_has_mean_beta_and_std_gamma(seed, n, d, loc, scale):
    rng = np.random.default_rng(seed)
    x = loc + scale * rng.standard_normal((n, d))
    assume(np.all(x.var(axis=0) >= 0.05))
    gamma, beta = rng.uniform(0.5, 3, d) * rng.choice([-1, 1], d), rng.standard_normal(d)
    out, _ = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=MEAN_TOL)
    np.testing.assert_allclose(out.std(axis=0), np.abs(gamma), rtol=STD_REL_TOL)


@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(2, 10))
def test_layernorm_standardizes_rows_and_is_batchnorm_on_the_transpose(seed, n, d):
    rng = np.random.default_rng(seed)
    x = 5 + 3 * rng.standard_normal((n, d))
    out, _ = layernorm_forward(x, np.ones(d), np.zeros(d))
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=MEAN_TOL)
    bn_out, _ = batchnorm_forward(x.T, np.ones(n), np.zeros(n), {"mode": "train"})
    np.testing.assert_allclose(out, bn_out.T, atol=MEAN_TOL)


# ---------------------------------------------------------- running statistics


@pytest.mark.parametrize("momentum", [0.9, 0.5])
def test_running_stats_after_one_and_two_steps(momentum, rng):
    x1, gamma, beta = _bn_inputs(rng)
    x2 = rng.standard_normal(x1.shape)
    bn = {"mode": "train"} if momentum == 0.9 else {"mode": "train", "momentum": momentum}
    batchnorm_forward(x1, gamma, beta, bn)
    m1, v1 = x1.mean(axis=0), x1.var(axis=0)  # biased variance
    np.testing.assert_allclose(bn["running_mean"], (1 - momentum) * m1, rtol=HAND_TOL)
    np.testing.assert_allclose(bn["running_var"], (1 - momentum) * v1, rtol=HAND_TOL)
    batchnorm_forward(x2, gamma, beta, bn)
    expect_var = momentum * (1 - momentum) * v1 + (1 - momentum) * x2.var(axis=0)
    np.testing.assert_allclose(bn["running_var"], expect_var, rtol=HAND_TOL)


def test_test_mode_uses_running_stats_and_leaves_them(rng):
    x, gamma, beta = _bn_inputs(rng)
    rm, rv = rng.standard_normal(3), rng.random(3) + 0.5
    bn = {"mode": "test", "running_mean": rm.copy(), "running_var": rv.copy(), "eps": 1e-3}
    out, _ = batchnorm_forward(x, gamma, beta, bn)
    np.testing.assert_allclose(out, gamma * (x - rm) / np.sqrt(rv + 1e-3) + beta, rtol=HAND_TOL)
    np.testing.assert_array_equal(bn["running_mean"], rm)
    np.testing.assert_array_equal(bn["running_var"], rv)
    # each row is normalized on its own: a batch of one gives the same row
    alone, _ = batchnorm_forward(x[2:3], gamma, beta, bn)
    np.testing.assert_allclose(alone, out[2:3], rtol=HAND_TOL)


@pytest.mark.parametrize("mode", ["train", "test"])
def test_missing_running_stats_are_created(mode, rng):
    x, gamma, beta = _bn_inputs(rng)
    bn = {"mode": mode}
    out, _ = batchnorm_forward(x, gamma, beta, bn)
    assert bn["running_mean"].shape == (3,) and bn["running_var"].shape == (3,)
    if mode == "test":  # zeros: out = gamma·x/√eps + beta
        np.testing.assert_allclose(out, gamma * x / np.sqrt(1e-5) + beta, rtol=HAND_TOL)
        assert np.all(bn["running_mean"] == 0) and np.all(bn["running_var"] == 0)


def test_inputs_unchanged_except_bn_param_write_back(rng):
    x, gamma, beta = _bn_inputs(rng)
    rm, rv = np.ones(3), np.ones(3)
    bn = {"mode": "train", "running_mean": rm, "running_var": rv}
    out, cache = assert_inputs_unchanged(lambda *a: batchnorm_forward(*a, bn), x, gamma, beta)
    assert set(bn) == {"mode", "running_mean", "running_var"}  # nothing else is added
    assert np.all(rm == 1) and np.all(rv == 1)  # old arrays replaced, not overwritten
    assert not np.array_equal(bn["running_mean"], rm)
    for backward in BACKWARDS:
        assert_inputs_unchanged(backward, rng.standard_normal(out.shape), cache)
    ln = {"eps": 1e-3, "mode": "train"}
    out, cache = assert_inputs_unchanged(layernorm_forward, x, gamma, beta, ln)
    assert_inputs_unchanged(layernorm_backward, rng.standard_normal(out.shape), cache)


def test_constant_feature_maps_to_beta_with_finite_gradient(rng):
    x = np.column_stack([np.full(4, 7.0), rng.standard_normal(4)])
    out, cache = batchnorm_forward(x, GAMMA, BETA, {"mode": "train"})
    np.testing.assert_allclose(out[:, 0], BETA[0], atol=HAND_TOL)
    grads = batchnorm_backward(rng.standard_normal((4, 2)), cache)
    assert all(np.all(np.isfinite(g)) for g in grads)


# ---------------------------------------------------------------------- dtype


def test_float32_in_float32_out(rng):
    x, gamma, beta = _bn_inputs(rng, dtype=np.float32)
    dout = rng.standard_normal(x.shape).astype(np.float32)
    bn = {"mode": "train"}
    out, cache = batchnorm_forward(x, gamma, beta, bn)
    results = [out, bn["running_mean"], bn["running_var"]]
    for backward in BACKWARDS:
        results += list(backward(dout, cache))
    out, cache = layernorm_forward(x, gamma, beta)
    results += [out, *layernorm_backward(dout, cache)]
    assert all(r.dtype == np.float32 for r in results)


# -------------------------------------------------------------------- errors


@pytest.mark.parametrize("bn", [{}, {"mode": "eval"}, {"mode": None}])
def test_bad_mode_rejected(bn):
    with pytest.raises(ValueError, match=r"bn_param\['mode'\] must be 'train' or 'test'"):
        batchnorm_forward(X, GAMMA, BETA, bn)


@pytest.mark.parametrize("forward", [batchnorm_forward, layernorm_forward])
def test_shape_errors_name_the_shapes(forward):
    param = {"mode": "train"}
    expected = r"gamma must have shape \(2,\) to match x with 2 features; got \(3,\)"
    with pytest.raises(ValueError, match=expected):
        forward(X, np.ones(3), BETA, param)
    with pytest.raises(ValueError, match=r"beta must have shape \(2,\).*got \(2, 1\)"):
        forward(X, GAMMA, np.ones((2, 1)), param)
    with pytest.raises(ValueError, match=r"x must be 2-D; got shape \(2,\)"):
        forward(np.ones(2), GAMMA, BETA, param)


def test_batchnorm_param_errors():
    with pytest.raises(ValueError, match=r"running_mean'\] must have shape \(2,\).*got \(3,\)"):
        batchnorm_forward(X, GAMMA, BETA, {"mode": "test", "running_mean": np.zeros(3)})
    with pytest.raises(ValueError, match=r"momentum'\] must lie in \[0, 1\]; got 1.5"):
        batchnorm_forward(X, GAMMA, BETA, {"mode": "train", "momentum": 1.5})
    with pytest.raises(ValueError, match=r"eps'\] must be a positive"):
        batchnorm_forward(X, GAMMA, BETA, {"mode": "train", "eps": -1.0})
    with pytest.raises(ValueError, match=r"bn_param must be a dict"):
        batchnorm_forward(X, GAMMA, BETA, "train")
    with pytest.raises(ValueError, match=r"needs at least one example; got shape \(0, 2\)"):
        batchnorm_forward(np.zeros((0, 2)), GAMMA, BETA, {"mode": "train"})


@pytest.mark.parametrize("backward", [*BACKWARDS, layernorm_backward])
def test_backward_rejects_dout_of_wrong_shape(backward):
    forward = layernorm_forward if backward is layernorm_backward else batchnorm_forward
    _, cache = forward(np.ones((3, 2)), GAMMA, BETA, {"mode": "train"})
    expected = rf"{backward.__name__}: dout must have shape \(3, 2\).*got \(2, 3\)"
    with pytest.raises(ValueError, match=expected):
        backward(np.ones((2, 3)), cache)
