"""Tests for gradkit.optim: the first-order update rules and get_update_rule.

L-BFGS (re-exported from gradkit.optim) is tested in tests/test_lbfgs.py.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gradkit.optim import (
    UPDATE_RULES,
    adagrad,
    adam,
    get_update_rule,
    nesterov_momentum,
    rmsprop,
    sgd,
    sgd_momentum,
)
from helpers import assert_inputs_unchanged

# Hand-computed values ignore epsilon = 1e-8 in the denominators; with
# √cache >= 0.05 below it shifts a step of size <= 1 by at most 2e-7.
HAND_ATOL = 1e-6
# Two float64 implementations of the same recurrence differ only by rounding,
# which over 25 steps stays far below this.
TRAJ_RTOL = 1e-10
# float32 state accumulates rounding of order 1e-7 per operation.
F32_RTOL = 1e-5

ALL_RULES = list(UPDATE_RULES.values())

W0 = np.array([1.0, -2.0])
DW0 = np.array([0.5, -1.0])
LR = 0.1

# First step from w = [1, -2] with dw = [0.5, -1], lr = 0.1, worked on paper:
#   sgd:       w − 0.1·dw                                   = [0.95, -1.9]
#   momentum:  v = −0.1·dw = [-0.05, 0.1]; w + v           = [0.95, -1.9]
#   nesterov:  v as above; w + (1 + 0.9)·v                  = [0.905, -1.81]
#   adagrad:   cache = [0.25, 1]; step 0.1·dw/√cache = ±0.1 = [0.9, -1.9]
#   rmsprop:   cache = 0.01·[0.25, 1] = [0.0025, 0.01]; √ = [0.05, 0.1];
#              step 0.1·[10, -10]                           = [0.0, -1.0]
#   adam:      m = 0.1·dw, v = 0.001·dw², t = 1: m̂ = dw, v̂ = dw²;
#              step 0.1·sign(dw)                            = [0.9, -1.9]
FIRST_STEPS = {
    "sgd": [0.95, -1.9],
    "sgd_momentum": [0.95, -1.9],
    "nesterov_momentum": [0.905, -1.81],
    "adagrad": [0.9, -1.9],
    "rmsprop": [0.0, -1.0],
    "adam": [0.9, -1.9],
}


@pytest.mark.parametrize("name", list(FIRST_STEPS))
def test_first_step_by_hand(name):
    next_w, _ = UPDATE_RULES[name](W0, DW0, {"learning_rate": LR})
    np.testing.assert_allclose(next_w, FIRST_STEPS[name], rtol=0, atol=HAND_ATOL)


# Second step, continuing from the first with dw = [1, 0]:
#   momentum:  v = 0.9·[-0.05, 0.1] − 0.1·[1, 0] = [-0.145, 0.09];
#              w = [0.95, -1.9] + v = [0.805, -1.81]
#   nesterov:  v_prev = [-0.05, 0.1], v = [-0.145, 0.09];
#              w = [0.905, -1.81] − 0.9·v_prev + 1.9·v = [0.6745, -1.729]
#   adagrad:   cache = [0.25 + 1, 1 + 0] = [1.25, 1];
#              w = [0.9, -1.9] − 0.1·[1/√1.25, 0] = [0.8105572809, -1.9]
SECOND_STEPS = {
    "sgd_momentum": [0.805, -1.81],
    "nesterov_momentum": [0.6745, -1.729],
    "adagrad": [0.8105572809, -1.9],
}


@pytest.mark.parametrize("name", list(SECOND_STEPS))
def test_second_step_by_hand(name):
    rule = UPDATE_RULES[name]
    w1, config = rule(W0, DW0, {"learning_rate": LR})
    w2, _ = rule(w1, np.array([1.0, 0.0]), config)
    np.testing.assert_allclose(w2, SECOND_STEPS[name], rtol=0, atol=HAND_ATOL)


def test_adam_first_step_moves_each_entry_by_learning_rate():
    # With t incremented before the correction, m̂ = dw and v̂ = dw² on step 1,
    # so every entry moves by lr·|dw|/(|dw| + eps) ≈ lr, whatever |dw| is.
    # (Correcting with t = 0 would divide by zero.)
    dw = np.array([1e-3, -5.0, 250.0])
    next_w, config = adam(np.zeros(3), dw, {"learning_rate": 0.01})
    assert config["t"] == 1
    np.testing.assert_allclose(next_w, -0.01 * np.sign(dw), rtol=1e-4)


def test_adam_uses_incremented_t_with_existing_state():
    # State as after 9 steps: m, v given, t = 9 -> this step corrects with t = 10.
    m, v = np.array([0.2]), np.array([0.03])
    config = {"learning_rate": 0.1, "m": m, "v": v, "t": 9}
    next_w, out = adam(np.array([0.0]), np.array([1.0]), config)
    m10 = 0.9 * 0.2 + 0.1 * 1.0
    v10 = 0.999 * 0.03 + 0.001 * 1.0
    expected = -0.1 * (m10 / (1 - 0.9**10)) / (np.sqrt(v10 / (1 - 0.999**10)) + 1e-8)
    assert out["t"] == 10
    np.testing.assert_allclose(next_w, [expected], rtol=TRAJ_RTOL)


# ---- independent straightforward loops to compare trajectories with ----------


def _grad(A, b, w):
    return A @ w - b


def _reference_trajectory(name, A, b, w0, hp, steps):
    """The rules written out plainly (momentum and Nesterov in their other forms)."""
    lr = hp["learning_rate"]
    out = []
    if name == "sgd":
        w = w0.copy()
        for _ in range(steps):
            w = w - lr * _grad(A, b, w)
            out.append(w)
    elif name == "sgd_momentum":  # the v = ρv + ∇, x −= αv form
        w, v = w0.copy(), np.zeros_like(w0)
        for _ in range(steps):
            v = hp["momentum"] * v + _grad(A, b, w)
            w = w - lr * v
            out.append(w)
    elif name == "nesterov_momentum":  # look-ahead form; gradkit stores x + ρv
        x, v, rho = w0.copy(), np.zeros_like(w0), hp["momentum"]
        for _ in range(steps):
            v = rho * v - lr * _grad(A, b, x + rho * v)
            x = x + v
            out.append(x + rho * v)
    elif name in ("adagrad", "rmsprop"):
        w, s = w0.copy(), np.zeros_like(w0)
        for _ in range(steps):
            g = _grad(A, b, w)
            if name == "adagrad":
                s = s + g**2
            else:
                s = hp["decay_rate"] * s + (1 - hp["decay_rate"]) * g**2
            w = w - lr * g / (np.sqrt(s) + hp["epsilon"])
            out.append(w)
    else:
        w, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
        b1, b2 = hp["beta1"], hp["beta2"]
        for t in range(1, steps + 1):
            g = _grad(A, b, w)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g**2
            w = w - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + hp["epsilon"])
            out.append(w)
    return out


# Non-default hyper-parameters, so a rule that ignores config fails.
TRAJ_HP = {
    "sgd": {"learning_rate": 0.05},
    "sgd_momentum": {"learning_rate": 0.02, "momentum": 0.8},
    "nesterov_momentum": {"learning_rate": 0.02, "momentum": 0.8},
    "adagrad": {"learning_rate": 0.3, "epsilon": 1e-6},
    "rmsprop": {"learning_rate": 0.03, "decay_rate": 0.9, "epsilon": 1e-6},
    "adam": {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
}


def _quadratic(rng, d=4, cond=10.0):
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    A = q @ np.diag(np.linspace(1.0, cond, d)) @ q.T
    return A, rng.standard_normal(d)


@pytest.mark.parametrize("name", list(TRAJ_HP))
def test_trajectory_matches_independent_loop(name, rng):
    A, b = _quadratic(rng)
    w0 = rng.standard_normal(4)
    expected = _reference_trajectory(name, A, b, w0, TRAJ_HP[name], 25)
    w, config = w0, dict(TRAJ_HP[name])
    for k in range(25):
        w, config = UPDATE_RULES[name](w, _grad(A, b, w), config)
        np.testing.assert_allclose(w, expected[k], rtol=TRAJ_RTOL, atol=1e-12, err_msg=f"step {k}")


DEFAULTS = {
    "sgd": {"learning_rate": 1e-2},
    "sgd_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "nesterov_momentum": {"learning_rate": 1e-2, "momentum": 0.9},
    "adagrad": {"learning_rate": 1e-2, "epsilon": 1e-8},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}
STATE_KEYS = {
    "sgd": [],
    "sgd_momentum": ["velocity"],
    "nesterov_momentum": ["velocity"],
    "adagrad": ["cache"],
    "rmsprop": ["cache"],
    "adam": ["m", "v", "t"],
}


@pytest.mark.parametrize("name", list(DEFAULTS))
def test_defaults_and_state_present(name):
    _, config = UPDATE_RULES[name](W0, DW0)
    for key, value in DEFAULTS[name].items():
        assert config[key] == value, key
    for key in STATE_KEYS[name]:
        assert key in config, key
        if key != "t":
            assert np.shape(config[key]) == W0.shape


def test_sgd_default_learning_rate_step():
    next_w, _ = sgd(W0, DW0)
    np.testing.assert_allclose(next_w, [1.0 - 0.005, -2.0 + 0.01], rtol=0, atol=1e-15)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_inputs_and_callers_config_unchanged(rule, rng):
    w, dw = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    _, state = rule(w, dw, {"learning_rate": 0.1})
    config = dict(state)
    next_w, new_config = assert_inputs_unchanged(rule, w, dw, config)
    assert new_config is not config
    assert not np.shares_memory(next_w, w) and not np.shares_memory(next_w, dw)
    for key, value in config.items():
        if isinstance(value, np.ndarray):
            assert not np.shares_memory(new_config[key], value), key


@pytest.mark.parametrize("rule", ALL_RULES)
def test_empty_config_dict_is_left_empty(rule):
    config = {}
    rule(W0, DW0, config)
    assert config == {}


# Per-rule learning rates for the 200-step descent test; each is a sensible
# setting for a quadratic with curvatures in [1, 10].
DESCENT_LR = {
    "sgd": 0.05,
    "sgd_momentum": 0.01,
    "nesterov_momentum": 0.01,
    "adagrad": 0.5,
    "rmsprop": 0.01,
    "adam": 0.05,
}
# Required drop of 0.5·wᵀAw after 200 steps. Worst case (sgd) shrinks the
# flattest direction by (1 − 0.05)^200 ≈ 3.5e-5 per coordinate; the adaptive
# rules settle into an oscillation of amplitude ~ lr, hence the loose bound.
DESCENT_FACTOR = 1e-2


@pytest.mark.parametrize("name", list(DESCENT_LR))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_decreases_convex_quadratic(name, dtype, rng):
    A, _ = _quadratic(rng)
    A = A.astype(dtype)
    w = (3.0 * rng.standard_normal(4)).astype(dtype)
    f0 = 0.5 * w @ A @ w
    config = {"learning_rate": DESCENT_LR[name]}
    for _ in range(200):
        w, config = UPDATE_RULES[name](w, A @ w, config)
    assert w.dtype == dtype
    assert 0.5 * w @ A @ w < DESCENT_FACTOR * f0


def test_float32_stays_float32_and_matches_float64(rng):
    w, dw = rng.standard_normal(5), rng.standard_normal(5)
    for rule in ALL_RULES:
        w32, c32 = rule(w.astype(np.float32), dw.astype(np.float32), {"learning_rate": 0.1})
        w64, _ = rule(w, dw, {"learning_rate": 0.1})
        assert w32.dtype == np.float32, rule.__name__
        for value in c32.values():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, rule.__name__
        np.testing.assert_allclose(w32, w64, rtol=F32_RTOL, atol=F32_RTOL)


def test_integer_inputs_are_computed_in_float64():
    next_w, _ = sgd(np.array([1, 2]), np.array([1, 1]), {"learning_rate": 0.5})
    assert next_w.dtype == np.float64
    np.testing.assert_array_equal(next_w, [0.5, 1.5])


def test_nesterov_damps_the_stiff_direction_faster_than_momentum():
    # f = ½(w₀² + 100·w₁²), α = 0.005, ρ = 0.9. In the stiff direction
    # (αλ = 0.5) plain momentum's iteration z² − (1 + ρ − αλ)z + ρ has complex
    # roots of modulus √ρ ≈ 0.949, while Nesterov's z² − (1+ρ)(1−αλ)z + ρ(1−αλ)
    # has modulus √(ρ(1−αλ)) ≈ 0.671. After ~50 steps the amplitudes differ by
    # a factor ~(0.671/0.949)^50 ≈ 3e-8 (measured: 4e-7); we ask for 1e-3. The
    # max over a window of steps avoids comparing at a zero crossing.
    A = np.diag([1.0, 100.0])
    hp = {"learning_rate": 0.005, "momentum": 0.9}
    amplitude = {}
    for rule in (sgd_momentum, nesterov_momentum):
        w, config, stiff = np.array([1.0, 1.0]), dict(hp), []
        for _ in range(60):
            w, config = rule(w, A @ w, config)
            stiff.append(abs(w[1]))
        amplitude[rule.__name__] = max(stiff[40:])
    assert amplitude["nesterov_momentum"] < 1e-3 * amplitude["sgd_momentum"]


finite = st.floats(-1e3, 1e3, allow_nan=False)


@given(
    w=arrays(np.float64, 3, elements=finite),
    dw=arrays(np.float64, 3, elements=finite),
    lr=st.floats(1e-4, 1.0),
)
def test_zero_momentum_is_sgd(w, dw, lr):
    expected, _ = sgd(w, dw, {"learning_rate": lr})
    for rule in (sgd_momentum, nesterov_momentum):
        got, _ = rule(w, dw, {"learning_rate": lr, "momentum": 0.0})
        np.testing.assert_allclose(got, expected, rtol=TRAJ_RTOL, atol=1e-12)


@given(grads=arrays(np.float64, (6, 3), elements=finite), lr=st.floats(1e-4, 1.0))
def test_adagrad_steps_never_exceed_learning_rate(grads, lr):
    # |g_t| <= √(Σ_{s<=t} g_s²), so every AdaGrad step is at most lr per entry.
    w, config = np.zeros(3), {"learning_rate": lr}
    for g in grads:
        nxt, config = adagrad(w, g, config)
        assert np.all(np.abs(nxt - w) <= lr * (1 + 1e-12))
        w = nxt


@given(dw=arrays(np.float64, 4, elements=finite), lr=st.floats(1e-4, 1.0))
def test_adam_first_step_bounded_by_learning_rate(dw, lr):
    nxt, _ = adam(np.zeros(4), dw, {"learning_rate": lr})
    assert np.all(np.abs(nxt) <= lr * (1 + 1e-12))


@pytest.mark.parametrize("rule", ALL_RULES)
def test_shape_mismatch_names_shapes(rule):
    with pytest.raises(ValueError, match=rf"{rule.__name__}: .*\(2,\) and \(3,\)"):
        rule(np.zeros(2), np.zeros(3))


@pytest.mark.parametrize("rule", ALL_RULES)
@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan")])
def test_non_positive_learning_rate_raises(rule, lr):
    with pytest.raises(ValueError, match="learning_rate must be a positive"):
        rule(W0, DW0, {"learning_rate": lr})


@pytest.mark.parametrize(
    "rule, key",
    [
        (sgd_momentum, "velocity"),
        (nesterov_momentum, "velocity"),
        (adagrad, "cache"),
        (rmsprop, "cache"),
        (adam, "m"),
        (adam, "v"),
    ],
)
def test_state_with_wrong_shape_raises(rule, key):
    with pytest.raises(ValueError, match=rf"config\['{key}'\].*\(2,\); got \(3,\)"):
        rule(W0, DW0, {key: np.zeros(3)})


@pytest.mark.parametrize(
    "rule, key, value",
    [
        (sgd_momentum, "momentum", 1.0),
        (nesterov_momentum, "momentum", -0.1),
        (rmsprop, "decay_rate", 1.5),
        (adam, "beta1", 1.0),
        (adam, "beta2", -0.5),
        (adagrad, "epsilon", 0.0),
        (adam, "t", -1),
        (adam, "t", 1.5),
    ],
)
def test_bad_hyper_parameters_raise(rule, key, value):
    with pytest.raises(ValueError, match=key):
        rule(W0, DW0, {key: value})


def test_config_must_be_a_dict():
    with pytest.raises(ValueError, match="config must be a dict"):
        sgd(W0, DW0, [("learning_rate", 0.1)])


def test_get_update_rule():
    for name, rule in UPDATE_RULES.items():
        assert get_update_rule(name) is rule

    def mine(w, dw, config=None):
        return w, config

    assert get_update_rule(mine) is mine
    with pytest.raises(ValueError, match="'sgd', 'sgd_momentum'.*'adam'"):
        get_update_rule("adamw")
    with pytest.raises(ValueError, match="unknown update rule 3"):
        get_update_rule(3)
