"""Tests for gradkit.regularization: L2, L1, elastic net, params sums and max-norm."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradkit.gradcheck import GRAD_REL_TOL, eval_numerical_gradient, rel_error
from gradkit.regularization import (
    elastic_net_penalty,
    l1_penalty,
    l2_penalty,
    max_norm_project,
    penalty_over_params,
)
from helpers import assert_inputs_unchanged

#: Hand-computed values are short decimals; float64 rounding of e.g. 0.1 * 14
#: is ~1e-16, so 1e-12 only absorbs representation error.
HAND_TOL = 1e-12
#: A clamped vector has norm c up to the rounding of one division and one
#: multiplication per entry and the norm's own sum: a few ulps, far below 1e-12.
NORM_RTOL = 1e-12
#: float32 results agree with float64 ones to a few float32 ulps (eps ~ 1.2e-7).
FLOAT32_RTOL = 1e-6

W = np.array([[1.0, -2.0], [3.0, 0.0]])  # Σw² = 14, Σ|w| = 6


def away_from_zero(rng, shape):
    """Random weights with |w| >= 0.1, so the ±h steps never cross the L1 kink at 0."""
    w = rng.standard_normal(shape)
    return np.sign(w) * (0.1 + np.abs(w))


# ---------------------------------------------------------------- hand cases


def test_l2_hand_case():
    penalty, grad = l2_penalty(W, 0.1)
    assert penalty == pytest.approx(0.5 * 0.1 * 14, abs=HAND_TOL)  # 0.7
    np.testing.assert_allclose(grad, [[0.1, -0.2], [0.3, 0.0]], atol=HAND_TOL)


def test_l1_hand_case():
    penalty, grad = l1_penalty(W, 0.1)
    assert penalty == pytest.approx(0.6, abs=HAND_TOL)
    np.testing.assert_allclose(grad, [[0.1, -0.1], [0.1, 0.0]], atol=HAND_TOL)  # sign(0) = 0


def test_elastic_net_hand_case():
    # 0.1·6 + ½·0.2·14 = 0.6 + 1.4; gradient 0.1·sign(w) + 0.2·w.
    penalty, grad = elastic_net_penalty(W, 0.1, 0.2)
    assert penalty == pytest.approx(2.0, abs=HAND_TOL)
    np.testing.assert_allclose(grad, [[0.3, -0.5], [0.7, 0.0]], atol=HAND_TOL)


def test_l2_prefers_spread_out_weights():
    # Both weight vectors give the same score on x = [1, 1, 1, 1] ...
    x = np.ones(4)
    w1, w2 = np.array([1.0, 0.0, 0.0, 0.0]), np.full(4, 0.25)
    assert x @ w1 == x @ w2 == 1.0
    # ... but L2 charges 0.5 for the peaked one and 0.125 for the spread one; L1 is indifferent.
    assert l2_penalty(w1, 1.0)[0] == pytest.approx(0.5, abs=HAND_TOL)
    assert l2_penalty(w2, 1.0)[0] == pytest.approx(0.125, abs=HAND_TOL)
    assert l1_penalty(w1, 1.0)[0] == pytest.approx(l1_penalty(w2, 1.0)[0], abs=HAND_TOL)


def test_elastic_net_reduces_to_l1_and_l2(rng):
    w = rng.standard_normal((5, 3))
    for got, want in [
        (elastic_net_penalty(w, 0.0, 0.3), l2_penalty(w, 0.3)),
        (elastic_net_penalty(w, 0.3, 0.0), l1_penalty(w, 0.3)),
    ]:
        assert got[0] == pytest.approx(want[0], rel=HAND_TOL)
        np.testing.assert_allclose(got[1], want[1], rtol=HAND_TOL)


def test_zero_strength_gives_zero_penalty_and_gradient(rng):
    w = rng.standard_normal((3, 3))
    for penalty, grad in (l2_penalty(w, 0.0), l1_penalty(w, 0), elastic_net_penalty(w, 0, 0)):
        assert penalty == 0.0
        np.testing.assert_array_equal(grad, np.zeros_like(w))


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize(
    "penalty",
    [
        lambda w: l2_penalty(w, 0.37),
        lambda w: l1_penalty(w, 0.37),
        lambda w: elastic_net_penalty(w, 0.21, 0.53),
    ],
    ids=["l2", "l1", "elastic_net"],
)
def test_penalty_gradients_match_numeric(penalty, rng):
    w = away_from_zero(rng, (4, 3))
    numeric = eval_numerical_gradient(lambda v: penalty(v)[0], w.copy())
    err = rel_error(numeric, penalty(w)[1])
    assert err < GRAD_REL_TOL, f"relative error {err:.2e}"


# ---------------------------------------------------------------- params dicts


def _params(rng):
    return {
        "W1": away_from_zero(rng, (3, 4)),
        "b1": rng.standard_normal(4),
        "gamma1": rng.standard_normal(4) + 1.0,
        "beta1": rng.standard_normal(4),
        "W2": away_from_zero(rng, (4, 2)),
        "b2": rng.standard_normal(2),
    }


def test_penalty_over_params_hand_case():
    total, grads = penalty_over_params({"W1": np.array([[1.0, 2.0]]), "b1": np.array([100.0])}, 1.0)
    assert total == pytest.approx(2.5, abs=HAND_TOL)  # ½·(1 + 4); the bias is not regularized
    assert set(grads) == {"W1"}
    np.testing.assert_allclose(grads["W1"], [[1.0, 2.0]], atol=HAND_TOL)


@pytest.mark.parametrize(
    "kind, reg, single",
    [
        ("l2", 0.3, lambda w: l2_penalty(w, 0.3)),
        ("l1", 0.3, lambda w: l1_penalty(w, 0.3)),
        ("elastic_net", (0.2, 0.4), lambda w: elastic_net_penalty(w, 0.2, 0.4)),
    ],
)
def test_penalty_over_params_sums_weights_only(kind, reg, single, rng):
    params = _params(rng)
    total, grads = assert_inputs_unchanged(penalty_over_params, params, reg, kind=kind)
    assert set(grads) == {"W1", "W2"}  # biases, gamma and beta are skipped
    assert total == pytest.approx(single(params["W1"])[0] + single(params["W2"])[0], rel=HAND_TOL)
    for name, grad in grads.items():

        def f(v, name=name):
            return penalty_over_params({**params, name: v}, reg, kind=kind)[0]

        numeric = eval_numerical_gradient(f, params[name].copy())
        assert rel_error(numeric, grad) < GRAD_REL_TOL


def test_penalty_over_params_custom_skip(rng):
    params = _params(rng)
    _, grads = penalty_over_params(params, 0.1, skip=("b", "gamma", "beta", "W2"))
    assert set(grads) == {"W1"}


def test_penalty_over_params_errors(rng):
    params = _params(rng)
    with pytest.raises(ValueError, match="kind must be one of 'l2', 'l1', 'elastic_net'; got 'l3'"):
        penalty_over_params(params, 0.1, kind="l3")
    with pytest.raises(ValueError, match=r"needs reg = \(l1, l2\)"):
        penalty_over_params(params, 0.1, kind="elastic_net")
    with pytest.raises(ValueError, match=r"reg\[1\] \(l2\) must be a non-negative"):
        penalty_over_params(params, (0.1, -1.0), kind="elastic_net")
    with pytest.raises(ValueError, match="params must be a dict"):
        penalty_over_params([np.ones(3)], 0.1)


# ---------------------------------------------------------------- validation, dtypes


@pytest.mark.parametrize("reg", [-0.1, float("nan"), float("inf"), "0.1", None])
def test_bad_strengths_raise(reg):
    with pytest.raises(ValueError, match="l2_penalty: reg must be a non-negative"):
        l2_penalty(W, reg)
    with pytest.raises(ValueError, match="l1_penalty: reg must be a non-negative"):
        l1_penalty(W, reg)
    with pytest.raises(ValueError, match="elastic_net_penalty: l1 must be a non-negative"):
        elastic_net_penalty(W, reg, 0.1)
    with pytest.raises(ValueError, match="elastic_net_penalty: l2 must be a non-negative"):
        elastic_net_penalty(W, 0.1, reg)


def test_penalties_leave_inputs_unchanged_and_keep_float32(rng):
    w = rng.standard_normal((3, 4))
    cases = [(l2_penalty, (0.1,)), (l1_penalty, (0.1,)), (elastic_net_penalty, (0.1, 0.2))]
    for func, args in cases:
        assert_inputs_unchanged(func, w, *args)
        penalty32, grad32 = func(w.astype(np.float32), *args)
        penalty64, grad64 = func(w.astype(np.float32).astype(np.float64), *args)
        assert isinstance(penalty32, float) and grad32.dtype == np.float32
        assert penalty32 == pytest.approx(penalty64, rel=FLOAT32_RTOL)
        np.testing.assert_allclose(grad32, grad64, rtol=FLOAT32_RTOL)


# ---------------------------------------------------------------- max-norm


def test_max_norm_hand_case():
    w = np.array([[3.0, 0.1], [4.0, 0.2]])  # column norms 5 and ~0.22
    out = max_norm_project(w, 3.0)
    np.testing.assert_allclose(out, [[1.8, 0.1], [2.4, 0.2]], atol=HAND_TOL)  # 3/5 of column 0
    np.testing.assert_allclose(max_norm_project(w.T, 3.0, axis=1), out.T, atol=HAND_TOL)


@given(
    w=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements=st.floats(-10, 10),
    ),
    c=st.floats(0.5, 5.0),
    axis=st.sampled_from([0, 1, -1]),
)
def test_max_norm_clamps_long_vectors_and_keeps_short_ones(w, c, axis):
    out = max_norm_project(w, c, axis=axis)
    before = np.linalg.norm(w, axis=axis, keepdims=True)
    after = np.linalg.norm(out, axis=axis, keepdims=True)
    assert out.shape == w.shape and out is not w
    assert np.all(after <= c * (1 + NORM_RTOL))
    short = np.broadcast_to(before <= c, w.shape)
    np.testing.assert_array_equal(out[short], w[short])  # bit for bit
    long_ = (before > c).ravel()
    np.testing.assert_allclose(after.ravel()[long_], c, rtol=NORM_RTOL)
    # A clamped vector keeps its direction: out = (c / ‖w‖) · w.
    np.testing.assert_allclose(out, w * np.minimum(1.0, c / np.maximum(before, 1e-300)), rtol=1e-12)


def test_max_norm_returns_a_new_array_and_keeps_float32(rng):
    w = rng.standard_normal((4, 3))
    out = assert_inputs_unchanged(max_norm_project, w, 100.0)  # nothing to clamp
    np.testing.assert_array_equal(out, w)
    assert not np.shares_memory(out, w)
    w32 = (10 * w).astype(np.float32)
    out32 = max_norm_project(w32, 3.0)
    assert out32.dtype == np.float32
    assert np.all(np.linalg.norm(out32.astype(np.float64), axis=0) <= 3.0 * (1 + FLOAT32_RTOL))


@pytest.mark.parametrize("c", [0.0, -3.0, float("nan"), float("inf"), "3", None])
def test_max_norm_bad_c_raises(c):
    with pytest.raises(ValueError, match="max_norm_project: c must be a positive"):
        max_norm_project(W, c)


def test_max_norm_bad_axis_or_w_raises():
    msg = r"axis must be an int in \[-2, 2\) for w of shape \(2, 2\); got 2"
    with pytest.raises(ValueError, match=msg):
        max_norm_project(W, 3.0, axis=2)
    with pytest.raises(ValueError, match="w must be an array of weight vectors; got a scalar"):
        max_norm_project(1.0, 3.0)
