"""Tests for gradkit.dropout: vanilla dropout, inverted dropout and DropConnect."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradkit.dropout import (
    dropconnect_backward,
    dropconnect_forward,
    dropout_backward,
    dropout_forward,
    vanilla_dropout_backward,
    vanilla_dropout_forward,
)
from helpers import assert_inputs_unchanged, check_backward

#: Hand-computed values are small integers and halves, exact in float64; the
#: tolerance only absorbs the summation order of a matrix product.
HAND_TOL = 1e-12
#: Statistical checks accept a deviation of up to this many standard errors of
#: the estimate. Under a correct implementation a 6-sigma miss has probability
#: ~2e-9 per check; a wrong scaling (e.g. forgetting 1/p) is off by far more.
SIGMAS = 6.0
#: float32 forward passes agree with float64 ones to a few float32 ulps.
FLOAT32_TOL = 1e-6

X = np.array([[1.0, 2.0], [3.0, 4.0]])


class FixedUniforms(np.random.Generator):
    """A Generator whose ``random`` returns given numbers, to make masks hand-computable."""

    def __init__(self, uniforms):
        super().__init__(np.random.PCG64(0))
        self.uniforms = np.asarray(uniforms, dtype=np.float64)

    def random(self, size=None, dtype=np.float64, out=None):
        assert tuple(np.atleast_1d(size)) == self.uniforms.shape
        return self.uniforms.copy()


def param(p, mode="train", **kw):
    return {"p": p, "mode": mode, **kw}


# ---------------------------------------------------------------- hand cases


def test_inverted_dropout_hand_case():
    # Keep where u < p: u = [[.1, .7], [.4, .9]] with p = .5 keeps the first column.
    rng = FixedUniforms([[0.1, 0.7], [0.4, 0.9]])
    out, cache = dropout_forward(X, param(0.5, rng=rng))
    np.testing.assert_allclose(out, [[2.0, 0.0], [6.0, 0.0]], atol=HAND_TOL)  # kept x / 0.5
    dx = dropout_backward(np.array([[1.0, -2.0], [0.5, 3.0]]), cache)
    np.testing.assert_allclose(dx, [[2.0, 0.0], [1.0, 0.0]], atol=HAND_TOL)


def test_vanilla_dropout_hand_case():
    rng = FixedUniforms([[0.1, 0.7], [0.4, 0.9]])
    out, cache = vanilla_dropout_forward(X, param(0.5, rng=rng))
    np.testing.assert_allclose(out, [[1.0, 0.0], [3.0, 0.0]], atol=HAND_TOL)  # no scaling
    dx = vanilla_dropout_backward(np.array([[1.0, -2.0], [0.5, 3.0]]), cache)
    np.testing.assert_allclose(dx, [[1.0, 0.0], [0.5, 0.0]], atol=HAND_TOL)
    out, cache = vanilla_dropout_forward(X, param(0.25, "test"))
    np.testing.assert_allclose(out, [[0.25, 0.5], [0.75, 1.0]], atol=HAND_TOL)  # p * x
    dx = vanilla_dropout_backward(np.array([[4.0, -8.0], [1.0, 0.0]]), cache)
    np.testing.assert_allclose(dx, [[1.0, -2.0], [0.25, 0.0]], atol=HAND_TOL)


def test_dropconnect_hand_case():
    x, w, b = np.array([[1.0, 1.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5])
    # Test time: a plain affine layer, [1, 1] w + b = [4.5, 5.5].
    out, _ = dropconnect_forward(x, w, b, param(0.5, "test"))
    np.testing.assert_allclose(out, [[4.5, 5.5]], atol=HAND_TOL)
    # Train: keep w[0,0] and w[1,1], scaled by 1/p = 2 -> [[2, 0], [0, 8]].
    rng = FixedUniforms([[0.1, 0.9], [0.6, 0.2]])
    out, cache = dropconnect_forward(x, w, b, param(0.5, rng=rng))
    np.testing.assert_allclose(out, [[2.5, 7.5]], atol=HAND_TOL)
    dx, dw, db = dropconnect_backward(np.array([[1.0, -1.0]]), cache)
    np.testing.assert_allclose(dx, [[2.0, -8.0]], atol=HAND_TOL)  # dout @ w_used.T
    np.testing.assert_allclose(dw, [[2.0, 0.0], [0.0, -2.0]], atol=HAND_TOL)  # x.T dout, masked
    np.testing.assert_allclose(db, [1.0, -1.0], atol=HAND_TOL)


# ---------------------------------------------------------------- train/test behaviour


@pytest.mark.parametrize("forward", [dropout_forward, vanilla_dropout_forward])
def test_keep_probability_one_is_the_identity(forward, rng):
    x = rng.standard_normal((4, 5))
    out, cache = forward(x, param(1.0, seed=0))
    np.testing.assert_array_equal(out, x)
    backward = dropout_backward if forward is dropout_forward else vanilla_dropout_backward
    dout = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(backward(dout, cache), dout)


def test_dropconnect_keep_probability_one_is_affine(rng):
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(2)
    out, _ = dropconnect_forward(x, w, b, param(1.0, seed=0))
    np.testing.assert_allclose(out, x @ w + b, atol=HAND_TOL)


def test_inverted_dropout_is_the_identity_at_test_time(rng):
    x = rng.standard_normal((3, 2, 4))
    out, cache = dropout_forward(x, param(0.3, "test"))
    np.testing.assert_array_equal(out, x)
    assert out is not x  # a new array: writing to it cannot corrupt x
    dout = rng.standard_normal(x.shape)
    dx = dropout_backward(dout, cache)
    np.testing.assert_array_equal(dx, dout)
    assert dx is not dout


@given(
    p=st.floats(0.1, 1.0),
    c=st.floats(0.5, 5.0) | st.floats(-5.0, -0.5),
    seed=st.integers(0, 2**32 - 1),
)
def test_inverted_dropout_preserves_the_mean(p, c, seed):
    x = np.full((200, 500), c)
    n = x.size
    out, _ = dropout_forward(x, param(p, seed=seed))
    # Each entry is c/p with probability p, else 0: mean c, std |c|·√((1−p)/p).
    stderr = abs(c) * np.sqrt((1 - p) / (p * n))
    assert abs(out.mean() - c) <= SIGMAS * stderr + 1e-12 * abs(c)
    kept = np.mean(out != 0)
    assert abs(kept - p) <= SIGMAS * np.sqrt(p * (1 - p) / n) + 1e-12
    # Kept entries are exactly x / p, dropped ones exactly 0.
    np.testing.assert_allclose(out[out != 0], c / p, rtol=1e-15)


@given(p=st.floats(0.1, 0.95), seed=st.integers(0, 2**32 - 1))
def test_vanilla_dropout_train_mean_matches_test_output(p, seed):
    x = np.full((200, 500), 2.0)
    train, _ = vanilla_dropout_forward(x, param(p, seed=seed))
    test, _ = vanilla_dropout_forward(x, param(p, "test"))
    assert set(np.unique(train)) <= {0.0, 2.0}  # no scaling at train time
    np.testing.assert_allclose(test, p * x, rtol=1e-15)
    stderr = 2.0 * np.sqrt(p * (1 - p) / x.size)
    assert abs(train.mean() - test.mean()) <= SIGMAS * stderr


def test_dropconnect_mean_over_masks_is_the_affine_output(rng):
    x, w, b = rng.standard_normal((2, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    p, draws = 0.6, 4000
    gen = np.random.default_rng(5)
    outs = np.stack([dropconnect_forward(x, w, b, param(p, rng=gen))[0] for _ in range(draws)])
    # out_nj = b_j + Σ_i x_ni w_ij m_ij / p: variance Σ_i x_ni² w_ij² (1 − p)/p.
    stderr = np.sqrt((x**2) @ (w**2) * (1 - p) / p / draws)
    assert np.all(np.abs(outs.mean(axis=0) - (x @ w + b)) <= SIGMAS * stderr)


def test_dropconnect_never_drops_the_bias(rng):
    b = rng.standard_normal(3)
    w = rng.standard_normal((2, 3))
    out, _ = dropconnect_forward(np.zeros((4, 2)), w, b, param(0.2, seed=1))
    np.testing.assert_array_equal(out, np.tile(b, (4, 1)))


def test_backward_reuses_the_forward_mask(rng):
    x = rng.standard_normal((6, 7)) + 5.0  # no zero entries, so out == 0 marks a drop
    out, cache = dropout_forward(x, param(0.5, seed=11))
    dx = dropout_backward(rng.standard_normal(x.shape), cache)
    np.testing.assert_array_equal(dx == 0, out == 0)


# ---------------------------------------------------------------- randomness


@pytest.mark.parametrize("forward", [dropout_forward, vanilla_dropout_forward])
def test_same_seed_same_mask_other_seed_other_mask(forward, rng):
    x = rng.standard_normal((20, 30))
    a, _ = forward(x, param(0.5, seed=3))
    b, _ = forward(x, param(0.5, seed=3))
    c, _ = forward(x, param(0.5, seed=4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_rng_is_advanced_and_reproducible(rng):
    x = rng.standard_normal((20, 30))
    gen = np.random.default_rng(9)
    first, _ = dropout_forward(x, param(0.5, rng=gen))
    second, _ = dropout_forward(x, param(0.5, rng=gen))
    assert not np.array_equal(first, second)  # the generator moved on
    again, _ = dropout_forward(x, param(0.5, rng=np.random.default_rng(9)))
    np.testing.assert_array_equal(first, again)
    same_as_seed, _ = dropout_forward(x, param(0.5, seed=9))
    np.testing.assert_array_equal(first, same_as_seed)


def test_dropconnect_same_seed_same_mask(rng):
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), np.zeros(5)
    a, _ = dropconnect_forward(x, w, b, param(0.5, seed=3))
    b2, _ = dropconnect_forward(x, w, b, param(0.5, seed=3))
    c, _ = dropconnect_forward(x, w, b, param(0.5, seed=4))
    np.testing.assert_array_equal(a, b2)
    assert not np.array_equal(a, c)


def test_global_random_state_is_never_used(rng):
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), np.zeros(2)
    before = np.random.get_state()
    for kw in ({}, {"seed": 1}, {"rng": np.random.default_rng(2)}):
        out, c1 = dropout_forward(x, param(0.5, **kw))
        dropout_backward(out, c1)
        out, c2 = vanilla_dropout_forward(x, param(0.5, **kw))
        vanilla_dropout_backward(out, c2)
        out, c3 = dropconnect_forward(x, w, b, param(0.5, **kw))
        dropconnect_backward(out, c3)
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize(
    "forward, backward",
    [(dropout_forward, dropout_backward), (vanilla_dropout_forward, vanilla_dropout_backward)],
)
def test_dropout_gradients(forward, backward, mode, rng):
    # A fixed seed makes every forward call draw the same mask.
    x = rng.standard_normal((5, 3, 2))
    extra = {"dropout_param": param(0.6, mode, seed=7)}
    check_backward(forward, backward, {"x": x}, rng, extra=extra)


@pytest.mark.parametrize("mode", ["train", "test"])
def test_dropconnect_gradients(mode, rng):
    inputs = {
        "x": rng.standard_normal((4, 2, 3)),
        "w": rng.standard_normal((6, 5)),
        "b": rng.standard_normal(5),
    }
    extra = {"dropconnect_param": param(0.7, mode, seed=13)}
    check_backward(dropconnect_forward, dropconnect_backward, inputs, rng, extra=extra)


# ---------------------------------------------------------------- inputs, dtypes


def test_inputs_and_param_dicts_are_left_unchanged(rng):
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    for mode in ("train", "test"):
        assert_inputs_unchanged(dropout_forward, x, param(0.5, mode, seed=1))
        assert_inputs_unchanged(vanilla_dropout_forward, x, param(0.5, mode, seed=1))
        assert_inputs_unchanged(dropconnect_forward, x, w, b, param(0.5, mode, seed=1))
        dp = param(0.5, mode, seed=1)
        out, cache = dropout_forward(x, dp)
        assert dp == param(0.5, mode, seed=1)  # no keys added or changed
        assert_inputs_unchanged(dropout_backward, rng.standard_normal(x.shape), cache)
        out, cache = dropconnect_forward(x, w, b, dp)
        assert_inputs_unchanged(dropconnect_backward, rng.standard_normal(out.shape), cache)


@pytest.mark.parametrize("mode", ["train", "test"])
def test_float32_stays_float32(mode, rng):
    x64, w64, b64 = rng.standard_normal((4, 3)), rng.standard_normal((3, 2)), rng.standard_normal(2)
    x, w, b = (a.astype(np.float32) for a in (x64, w64, b64))
    for forward, backward in [
        (dropout_forward, dropout_backward),
        (vanilla_dropout_forward, vanilla_dropout_backward),
    ]:
        out, cache = forward(x, param(0.3, mode, seed=2))
        assert out.dtype == np.float32
        assert backward(np.ones_like(out), cache).dtype == np.float32
        np.testing.assert_allclose(out, forward(x64, param(0.3, mode, seed=2))[0], rtol=FLOAT32_TOL)
    out, cache = dropconnect_forward(x, w, b, param(0.3, mode, seed=2))
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in dropconnect_backward(np.ones_like(out), cache))


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("p", [0.0, -0.1, 1.5, float("nan")])
@pytest.mark.parametrize("forward", [dropout_forward, vanilla_dropout_forward])
def test_keep_probability_outside_unit_interval_raises(forward, p):
    with pytest.raises(ValueError, match=r"_forward: dropout_param\['p'\].*\(0, 1\]; got"):
        forward(X, param(p))


@pytest.mark.parametrize("p", ["0.5", None, True])
def test_keep_probability_must_be_a_number(p):
    with pytest.raises(ValueError, match=r"dropout_forward: dropout_param\['p'\] must be a number"):
        dropout_forward(X, param(p))


@pytest.mark.parametrize("mode", ["eval", "Train", None])
def test_bad_mode_raises(mode):
    with pytest.raises(ValueError, match=r"dropout_param\['mode'\] must be 'train' or 'test'"):
        dropout_forward(X, param(0.5, mode))
    with pytest.raises(ValueError, match=r"dropconnect_param\['mode'\] must be 'train' or 'test'"):
        dropconnect_forward(X, np.eye(2), np.zeros(2), param(0.5, mode))


def test_bad_param_dicts_raise():
    with pytest.raises(ValueError, match=r"missing key\(s\) \['mode'\]"):
        dropout_forward(X, {"p": 0.5})
    with pytest.raises(ValueError, match="must be a dict"):
        dropout_forward(X, 0.5)
    with pytest.raises(ValueError, match="'seed' or 'rng', not both"):
        dropout_forward(X, param(0.5, seed=1, rng=np.random.default_rng(1)))
    with pytest.raises(ValueError, match=r"\['rng'\] must be a numpy.random.Generator"):
        dropout_forward(X, param(0.5, rng=np.random.RandomState(0)))
    with pytest.raises(ValueError, match=r"\['seed'\] must be a non-negative int"):
        dropout_forward(X, param(0.5, seed=-1))


def test_backward_rejects_wrong_shapes_and_foreign_caches(rng):
    _, cache = dropout_forward(rng.standard_normal((3, 4)), param(0.5, seed=0))
    msg = r"dropout_backward: dout must have shape \(3, 4\).*got \(4, 3\)"
    with pytest.raises(ValueError, match=msg):
        dropout_backward(np.zeros((4, 3)), cache)
    _, vcache = vanilla_dropout_forward(rng.standard_normal((3, 4)), param(0.5, "test"))
    msg = r"vanilla_dropout_backward: dout must have shape \(3, 4\).*got \(12,\)"
    with pytest.raises(ValueError, match=msg):
        vanilla_dropout_backward(np.zeros(12), vcache)
    msg = "dropout_backward: cache must come from dropout_forward"
    with pytest.raises(ValueError, match=msg):
        dropout_backward(np.zeros((3, 4)), vcache)
    _, dcache = dropconnect_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4), param(0.5))
    msg = r"dropconnect_backward: dout must have shape \(2, 4\).*got \(2, 3\)"
    with pytest.raises(ValueError, match=msg):
        dropconnect_backward(np.zeros((2, 3)), dcache)


def test_dropconnect_rejects_mismatched_shapes(rng):
    x = rng.standard_normal((4, 2, 3))  # 6 features per row
    p = param(0.5, seed=0)
    msg = r"w must have shape \(6, \*\) to match x with 6 features per row; got \(5, 3\)"
    with pytest.raises(ValueError, match=msg):
        dropconnect_forward(x, np.zeros((5, 3)), np.zeros(3), p)
    msg = r"b must have shape \(3,\) to match w with 3 columns; got \(4,\)"
    with pytest.raises(ValueError, match=msg):
        dropconnect_forward(x, np.zeros((6, 3)), np.zeros(4), p)
    with pytest.raises(ValueError, match=r"w must be 2-D; got shape \(6,\)"):
        dropconnect_forward(x, np.zeros(6), np.zeros(3), p)
    with pytest.raises(ValueError, match=r"x must have shape \(N, d1, ..., dk\).*got shape \(6,\)"):
        dropconnect_forward(np.zeros(6), np.zeros((6, 3)), np.zeros(3), p)
