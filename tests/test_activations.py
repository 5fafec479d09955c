"""Tests for gradkit.activations (re-exported by gradkit.layers).

ReLU, leaky ReLU, sigmoid, tanh, ELU and the dead-ReLU monitor.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gradkit import layers
from gradkit.layers import (
    elu_backward,
    elu_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_dead_fraction,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from helpers import assert_inputs_unchanged, check_backward

#: Hand-computed values involve a handful of float64 operations (an exp, a
#: division); 1e-12 allows their rounding and nothing else.
HAND_TOL = 1e-12
#: Two algebraically equal routes (tanh vs 2σ(2s) − 1, σ(−x) vs 1 − σ(x),
#: leaky ReLU vs its split into parts) agree in float64 to a few ulps of
#: values of size ≤ 100, far below this.
IDENTITY_TOL = 1e-12

# name -> (forward, backward, extra keyword arguments)
ACTIVATIONS = {
    "relu": (relu_forward, relu_backward, {}),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward, {"alpha": 0.1}),
    "sigmoid": (sigmoid_forward, sigmoid_backward, {}),
    "tanh": (tanh_forward, tanh_backward, {}),
    "elu": (elu_forward, elu_backward, {"alpha": 1.0}),
    "elu_alpha2": (elu_forward, elu_backward, {"alpha": 2.0}),
}


def test_layers_reexports_the_activations():
    for name in ["relu", "leaky_relu", "sigmoid", "tanh", "elu"]:
        assert getattr(layers, f"{name}_forward") is globals()[f"{name}_forward"]
        assert getattr(layers, f"{name}_backward") is globals()[f"{name}_backward"]
    assert layers.relu_dead_fraction is relu_dead_fraction


# ---------------------------------------------------------------- hand cases


def test_relu_hand_case():
    out, cache = relu_forward(np.array([[-2.0, 0.0, 3.0]]))
    np.testing.assert_array_equal(out, [[0.0, 0.0, 3.0]])
    dx = relu_backward(np.array([[5.0, 6.0, 7.0]]), cache)
    np.testing.assert_array_equal(dx, [[0.0, 0.0, 7.0]])  # the kink at 0 gets gradient 0


def test_leaky_relu_hand_case():
    out, cache = leaky_relu_forward(np.array([-2.0, 3.0]), alpha=0.1)
    np.testing.assert_allclose(out, [-0.2, 3.0], rtol=HAND_TOL)
    dx = leaky_relu_backward(np.array([1.5, 2.0]), cache)
    np.testing.assert_allclose(dx, [0.15, 2.0], rtol=HAND_TOL)


def test_leaky_relu_default_alpha_is_0_01():
    out, _ = leaky_relu_forward(np.array([-100.0]))
    np.testing.assert_allclose(out, [-1.0], rtol=HAND_TOL)


def test_sigmoid_hand_case():
    # σ(0) = 1/2, σ(ln 3) = 3/(3 + 1) = 3/4, σ(−ln 3) = 1/4.
    x = np.array([0.0, np.log(3.0), -np.log(3.0)])
    out, cache = sigmoid_forward(x)
    np.testing.assert_allclose(out, [0.5, 0.75, 0.25], rtol=HAND_TOL)
    # σ' = σ(1 − σ): 1/4, 3/16, 3/16.
    dx = sigmoid_backward(np.array([4.0, 16.0, -32.0]), cache)
    np.testing.assert_allclose(dx, [1.0, 3.0, -6.0], rtol=HAND_TOL)


def test_tanh_hand_case():
    # tanh(ln 2) = (2 − 1/2)/(2 + 1/2) = 0.6; derivative 1 − 0.36 = 0.64.
    out, cache = tanh_forward(np.array([np.log(2.0), 0.0]))
    np.testing.assert_allclose(out, [0.6, 0.0], rtol=HAND_TOL, atol=HAND_TOL)
    dx = tanh_backward(np.array([25.0, -3.0]), cache)
    np.testing.assert_allclose(dx, [16.0, -3.0], rtol=HAND_TOL)


def test_elu_hand_case():
    # At x = −ln 2, e^x = 1/2: alpha = 1 gives −1/2, alpha = 2 gives −1; slope alpha·e^x.
    x = np.array([-np.log(2.0), 2.0])
    out, cache = elu_forward(x)
    np.testing.assert_allclose(out, [-0.5, 2.0], rtol=HAND_TOL)
    np.testing.assert_allclose(elu_backward(np.array([4.0, 3.0]), cache), [2.0, 3.0], rtol=HAND_TOL)
    out2, cache2 = elu_forward(x, alpha=2.0)
    np.testing.assert_allclose(out2, [-1.0, 2.0], rtol=HAND_TOL)
    dx2 = elu_backward(np.array([4.0, 3.0]), cache2)
    np.testing.assert_allclose(dx2, [4.0, 3.0], rtol=HAND_TOL)


def test_relu_dead_fraction_hand_case():
    h = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 3.0, 0.0, 0.0]])
    assert relu_dead_fraction(h) == 0.5  # columns 0 and 3 never fire
    assert relu_dead_fraction(np.array([[-1.0, 0.5]])) == 0.5  # pre-activations work too


# ------------------------------------------------------------ gradient checks


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_backward_matches_numeric_gradient(name, rng):
    forward, backward, extra = ACTIVATIONS[name]
    x = rng.standard_normal((4, 5)) * 2  # both sides of every kink / saturation
    check_backward(forward, backward, {"x": x}, rng, extra=extra)


def test_gradient_check_on_higher_dimensional_input(rng):
    check_backward(elu_forward, elu_backward, {"x": rng.standard_normal((2, 3, 2))}, rng)


# ------------------------------------------------------------------ properties


finite_floats = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@given(arrays(np.float64, st.integers(1, 20), elements=finite_floats))
def test_tanh_equals_rescaled_sigmoid(s):
    two_sigma, _ = sigmoid_forward(2 * s)
    np.testing.assert_allclose(tanh_forward(s)[0], 2 * two_sigma - 1, atol=IDENTITY_TOL)


@given(arrays(np.float64, st.integers(1, 20), elements=finite_floats))
def test_sigmoid_symmetry_and_range(x):
    out, _ = sigmoid_forward(x)
    assert np.all((out >= 0) & (out <= 1))
    np.testing.assert_allclose(sigmoid_forward(-x)[0], 1 - out, atol=IDENTITY_TOL)


@given(arrays(np.float64, st.integers(1, 20), elements=finite_floats))
def test_relu_splits_x_into_positive_and_negative_parts(x):
    pos, _ = relu_forward(x)
    neg, _ = relu_forward(-x)
    assert np.all(pos >= 0)
    np.testing.assert_array_equal(pos - neg, x)


@given(arrays(np.float64, st.integers(1, 20), elements=finite_floats), st.floats(0, 1))
def test_leaky_relu_is_relu_plus_scaled_negative_part(x, alpha):
    out, _ = leaky_relu_forward(x, alpha=alpha)
    split = relu_forward(x)[0] - alpha * relu_forward(-x)[0]
    np.testing.assert_allclose(out, split, atol=IDENTITY_TOL)


# ------------------------------------------------------- numerical stability


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_finite_and_warning_free_at_magnitude_1e4(name, dtype):
    forward, backward, extra = ACTIVATIONS[name]
    x = np.array([-1e4, -30.0, 0.0, 30.0, 1e4], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        out, cache = forward(x, **extra)
        dx = backward(np.ones_like(x), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))


def test_sigmoid_saturates_exactly():
    out, _ = sigmoid_forward(np.array([-1e4, 1e4]))
    np.testing.assert_array_equal(out, [0.0, 1.0])


# ------------------------------------------------------------ dtype, mutation


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_float32_in_float32_out(name, rng):
    forward, backward, extra = ACTIVATIONS[name]
    x = rng.standard_normal((3, 4)).astype(np.float32)
    out, cache = forward(x, **extra)
    dx = backward(rng.standard_normal((3, 4)).astype(np.float32), cache)
    assert out.dtype == np.float32 and dx.dtype == np.float32


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_inputs_unchanged(name, rng):
    forward, backward, extra = ACTIVATIONS[name]
    x = rng.standard_normal((3, 4))
    _, cache = assert_inputs_unchanged(forward, x, **extra)
    assert_inputs_unchanged(backward, rng.standard_normal((3, 4)), cache)


def test_integer_input_becomes_float():
    out, _ = sigmoid_forward(np.array([0, 0]))
    assert out.dtype == np.float64


# -------------------------------------------------------------------- errors


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_backward_rejects_dout_of_wrong_shape(name, rng):
    forward, backward, extra = ACTIVATIONS[name]
    _, cache = forward(rng.standard_normal((3, 4)), **extra)
    with pytest.raises(ValueError, match=r"dout must have shape \(3, 4\).*got \(4, 3\)"):
        backward(rng.standard_normal((4, 3)), cache)


@pytest.mark.parametrize("forward", [leaky_relu_forward, elu_forward])
def test_negative_alpha_rejected(forward):
    with pytest.raises(ValueError, match="alpha must be a non-negative"):
        forward(np.zeros(3), alpha=-0.5)


def test_relu_dead_fraction_rejects_non_2d():
    with pytest.raises(ValueError, match=r"h must be 2-D; got shape \(3,\)"):
        relu_dead_fraction(np.zeros(3))
    with pytest.raises(ValueError, match=r"at least one example"):
        relu_dead_fraction(np.zeros((0, 3)))


def test_non_numeric_input_rejected():
    with pytest.raises(ValueError, match="x must be a real numeric array"):
        relu_forward(np.array(["a", "b"]))
