"""Tests for gradkit.init: weight and bias initializers and the name lookup."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradkit.init import (
    INITIALIZERS,
    bias_init,
    calibrated_init,
    get_initializer,
    he_init,
    small_random_init,
    sparse_init,
    xavier_init,
    zeros_init,
)

#: Statistical checks accept up to this many standard errors. For a correct
#: initializer a 6-sigma miss has probability ~2e-9; a wrong scale (e.g. 1/n
#: instead of 2/n) is off by hundreds of standard errors at these sizes.
SIGMAS = 6.0
#: Large enough for tight estimates, small enough to keep the file fast.
FAN_IN, FAN_OUT = 400, 500
N_SAMPLES = FAN_IN * FAN_OUT
#: Relative standard error of a sample std (≈ 1/√(2n)) and variance (≈ √(2/n)).
STD_RTOL = SIGMAS / np.sqrt(2 * N_SAMPLES)
VAR_RTOL = SIGMAS * np.sqrt(2 / N_SAMPLES)
#: Score variance through one layer: entries of x @ w share rows and columns,
#: so they are not independent; each column's variance is ‖w_j‖²·Var(x), which
#: fluctuates by ~√(2/fan_in) ≈ 7% per column and ~0.4% averaged over 500
#: columns. 5% is loose enough for that, tight enough to tell 1/n from 2/n.
PROPAGATION_RTOL = 0.05
#: Exact scale relations: one float64 multiplication apart.
EXACT_RTOL = 1e-15
#: Hidden units that stay symmetric compute identical numbers; only a BLAS
#: kernel that sums columns in different orders could make them differ, by a
#: few ulps. Broken symmetry shows up as differences of order 0.1.
SYMMETRY_RTOL = 1e-12

RANDOM_INITS = {
    "small": small_random_init,
    "calibrated": calibrated_init,
    "xavier": xavier_init,
    "he": he_init,
    "sparse": sparse_init,
}


def gaussian(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------- hand cases


def test_zeros_and_bias_hand_cases():
    np.testing.assert_array_equal(zeros_init(2, 3), [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(bias_init(3), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(bias_init(2, 0.01), [0.01, 0.01])  # ReLU variant
    assert bias_init(2, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize(
    "draw, shape, std",
    [
        (lambda r: small_random_init(3, 2, r), (3, 2), 0.01),
        (lambda r: small_random_init(3, 2, r, scale=0.5), (3, 2), 0.5),
        (lambda r: calibrated_init(4, 3, r), (4, 3), 0.5),  # 1/√4
        (lambda r: xavier_init(3, 5, r), (3, 5), 0.5),  # √(2/(3+5))
        (lambda r: xavier_init(4, 7, r, mode="in"), (4, 7), 0.5),  # √(1/4)
        (lambda r: he_init(8, 3, r), (8, 3), 0.5),  # √(2/8)
    ],
    ids=["small", "small-scale", "calibrated", "xavier-avg", "xavier-in", "he"],
)
def test_gaussian_inits_are_scaled_standard_normals(draw, shape, std):
    w = draw(np.random.default_rng(42))
    np.testing.assert_allclose(w, std * gaussian(42, shape), rtol=EXACT_RTOL)


# ---------------------------------------------------------------- variances


@pytest.mark.parametrize(
    "init, var",
    [
        (lambda r: small_random_init(FAN_IN, FAN_OUT, r), 1e-4),
        (lambda r: calibrated_init(FAN_IN, FAN_OUT, r), 1 / FAN_IN),
        (lambda r: xavier_init(FAN_IN, FAN_OUT, r), 2 / (FAN_IN + FAN_OUT)),
        (lambda r: xavier_init(FAN_IN, FAN_OUT, r, mode="in"), 1 / FAN_IN),
        (lambda r: he_init(FAN_IN, FAN_OUT, r), 2 / FAN_IN),
    ],
    ids=["small", "calibrated", "xavier-avg", "xavier-in", "he"],
)
def test_weight_statistics(init, var, rng):
    w = init(rng)
    assert w.shape == (FAN_IN, FAN_OUT)
    assert abs(w.mean()) <= SIGMAS * np.sqrt(var / N_SAMPLES)
    assert w.var() == pytest.approx(var, rel=VAR_RTOL)
    assert w.std() == pytest.approx(np.sqrt(var), rel=STD_RTOL)


def test_calibrated_keeps_score_variance(rng):
    # Var(s) = n·Var(w)·Var(x) = n · (1/n) · 1.
    x = rng.standard_normal((1000, FAN_IN))
    s = x @ calibrated_init(FAN_IN, FAN_OUT, rng)
    assert s.var() == pytest.approx(1.0, rel=PROPAGATION_RTOL)


def test_he_keeps_second_moment_through_relu(rng):
    # E[relu(z)²] = ½ for z ~ N(0, 1); Var(w) = 2/n doubles it back to 1.
    h = np.maximum(rng.standard_normal((1000, FAN_IN)), 0)
    s = h @ he_init(FAN_IN, FAN_OUT, rng)
    assert np.mean(s**2) == pytest.approx(1.0, rel=PROPAGATION_RTOL)
    s_calibrated = h @ calibrated_init(FAN_IN, FAN_OUT, rng)
    assert np.mean(s_calibrated**2) == pytest.approx(0.5, rel=PROPAGATION_RTOL)  # halves


def test_small_random_vanishes_in_a_deep_tanh_net_and_xavier_does_not(rng):
    # Ten tanh layers of 300 units: 0.01·√300 ≈ 0.17 shrinks the signal per layer.
    x = rng.standard_normal((200, 300))
    h_small, h_xavier = x, x
    for _ in range(10):
        h_small = np.tanh(h_small @ small_random_init(300, 300, rng))
        h_xavier = np.tanh(h_xavier @ xavier_init(300, 300, rng))
    assert h_small.std() < 1e-6  # ≈ 0.17^10 ≈ 2e-8: the activations have collapsed to 0
    assert 0.1 < h_xavier.std() < 0.9  # neither collapsed nor saturated at ±1


def test_zero_init_never_breaks_symmetry(rng):
    """All-zero weights: every hidden unit gets the same gradient, step after step."""
    x, y = rng.standard_normal((16, 5)), rng.integers(0, 3, size=16)

    def train(w1, w2, steps=5, lr=0.5):
        b1, b2 = bias_init(4, 0.01), bias_init(3)
        for _ in range(steps):
            h = np.maximum(x @ w1 + b1, 0)
            s = h @ w2 + b2
            p = np.exp(s - s.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            ds = (p - np.eye(3)[y]) / len(y)
            dh = (ds @ w2.T) * (h > 0)
            w1, w2 = w1 - lr * (x.T @ dh), w2 - lr * (h.T @ ds)
            b1, b2 = b1 - lr * dh.sum(0), b2 - lr * ds.sum(0)
        return w1, w2

    w1, w2 = train(zeros_init(5, 4), zeros_init(4, 3))
    assert np.any(w2 != 0) and np.any(w1 != 0)  # the net did learn something ...
    # ... but its 4 hidden units are still identical: same incoming and outgoing weights.
    np.testing.assert_allclose(w1, np.tile(w1[:, :1], (1, 4)), rtol=SYMMETRY_RTOL)
    np.testing.assert_allclose(w2, np.tile(w2[:1], (4, 1)), rtol=SYMMETRY_RTOL)
    w1, w2 = train(he_init(5, 4, rng), he_init(4, 3, rng))
    assert not np.allclose(w1, w1[:, :1])  # random init: the units differ


# ---------------------------------------------------------------- sparse


@given(
    fan_in=st.integers(1, 40),
    fan_out=st.integers(1, 30),
    frac=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_sparse_init_has_exactly_k_nonzeros_per_unit(fan_in, fan_out, frac, seed):
    k = 1 + int(frac * (fan_in - 1))
    w = sparse_init(fan_in, fan_out, np.random.default_rng(seed), num_nonzero=k)
    assert w.shape == (fan_in, fan_out)
    np.testing.assert_array_equal(np.count_nonzero(w, axis=0), np.full(fan_out, k))
    assert np.all(np.abs(w) < 0.01 * 7)  # small gaussian: |w| < 7σ


def test_sparse_init_default_and_values(rng):
    np.testing.assert_array_equal(np.count_nonzero(sparse_init(50, 7, rng), axis=0), 10)
    np.testing.assert_array_equal(np.count_nonzero(sparse_init(4, 7, rng), axis=0), 4)  # min(10, 4)
    w = sparse_init(FAN_IN, FAN_OUT, rng, num_nonzero=200, scale=0.5)
    nz = w[w != 0]
    assert nz.size == 200 * FAN_OUT
    assert nz.std() == pytest.approx(0.5, rel=SIGMAS / np.sqrt(2 * nz.size))


# ---------------------------------------------------------------- randomness, dtype


@pytest.mark.parametrize("name", sorted(RANDOM_INITS))
def test_same_seed_same_weights(name):
    init = RANDOM_INITS[name]
    a = init(30, 20, np.random.default_rng(7))
    np.testing.assert_array_equal(a, init(30, 20, np.random.default_rng(7)))
    np.testing.assert_array_equal(a, init(30, 20, 7))  # an int is a seed
    assert not np.array_equal(a, init(30, 20, np.random.default_rng(8)))
    gen = np.random.default_rng(7)
    first, second = init(30, 20, gen), init(30, 20, gen)
    assert not np.array_equal(first, second)  # a Generator advances


def test_global_random_state_is_never_used():
    before = np.random.get_state()
    for init in list(RANDOM_INITS.values()) + [zeros_init]:
        init(10, 6, np.random.default_rng(0))
    bias_init(6, 0.01)
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_float32_gives_the_float64_values_rounded(name):
    init = INITIALIZERS[name]
    w32 = init(12, 5, np.random.default_rng(3), dtype=np.float32)
    w64 = init(12, 5, np.random.default_rng(3))
    assert w32.dtype == np.float32 and w64.dtype == np.float64
    np.testing.assert_array_equal(w32, w64.astype(np.float32))


# ---------------------------------------------------------------- lookup


def test_get_initializer_maps_every_name():
    expected = {
        "zeros": zeros_init,
        "small": small_random_init,
        "calibrated": calibrated_init,
        "xavier": xavier_init,
        "he": he_init,
        "sparse": sparse_init,
    }
    for name, func in expected.items():
        assert get_initializer(name) is func
        assert get_initializer(name.upper()) is func
        assert get_initializer(name)(6, 4, np.random.default_rng(0)).shape == (6, 4)


@pytest.mark.parametrize("name", ["kaiming", "", None])
def test_get_initializer_unknown_name_lists_valid_ones(name):
    with pytest.raises(ValueError, match="unknown initializer") as err:
        get_initializer(name)
    for valid in ("zeros", "small", "calibrated", "xavier", "he", "sparse"):
        assert f"'{valid}'" in str(err.value)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("fan", [0, -3, 2.5, True, "4", None])
@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_bad_fans_raise(name, fan):
    init = INITIALIZERS[name]
    with pytest.raises(ValueError, match=r"_init: fan_in must be a positive int; got"):
        init(fan, 3, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"_init: fan_out must be a positive int; got"):
        init(3, fan, np.random.default_rng(0))


@pytest.mark.parametrize("rng_arg", [None, np.random.RandomState(0), -1, 1.5])
@pytest.mark.parametrize("name", sorted(RANDOM_INITS))
def test_random_inits_need_an_explicit_generator(name, rng_arg):
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        RANDOM_INITS[name](3, 2, rng_arg)


def test_bad_options_raise(rng):
    with pytest.raises(ValueError, match="xavier_init: mode must be 'avg' or 'in'; got 'out'"):
        xavier_init(3, 2, rng, mode="out")
    with pytest.raises(ValueError, match=r"num_nonzero must be an int in \[1, fan_in=5\]; got 6"):
        sparse_init(5, 2, rng, num_nonzero=6)
    with pytest.raises(ValueError, match=r"num_nonzero must be an int in \[1, fan_in=5\]; got 0"):
        sparse_init(5, 2, rng, num_nonzero=0)
    for bad in (0.0, -0.01, float("nan")):
        with pytest.raises(ValueError, match="small_random_init: scale must be a positive"):
            small_random_init(3, 2, rng, scale=bad)
        with pytest.raises(ValueError, match="sparse_init: scale must be a positive"):
            sparse_init(3, 2, rng, scale=bad)
    with pytest.raises(ValueError, match="he_init: dtype must be a floating dtype"):
        he_init(3, 2, rng, dtype=np.int64)
    with pytest.raises(ValueError, match="bias_init: n must be a positive int; got 0"):
        bias_init(0)
    with pytest.raises(ValueError, match="bias_init: value must be a finite number; got nan"):
        bias_init(3, float("nan"))
