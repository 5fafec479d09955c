"""gradkit.gradcheck: numeric gradients, rel_error, sparse and directional checks, planted bugs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradkit.gradcheck import (
    GRAD_REL_TOL,
    directional_grad_check,
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)
from gradkit.linear import softmax_loss_vectorized

#: A planted bug must be off by far more than the acceptance tolerance; 1e-2
#: is three orders of magnitude above GRAD_REL_TOL.
BUG_MIN_ERROR = 1e-2


# --- rel_error ---------------------------------------------------------------


def test_rel_error_by_hand():
    # |1 - 3| / (1 + 3) = 0.5 beats |2 - 2| / 4 = 0
    assert rel_error(np.array([1.0, 2.0]), np.array([3.0, 2.0])) == 0.5
    assert rel_error(0.0, 0.0) == 0.0  # both zero: denominator floored at 1e-8
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0


def test_rel_error_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"same shape; got \(2,\) and \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


# --- numeric gradients -------------------------------------------------------


def test_numeric_gradient_of_a_quadratic_by_hand():
    # f(x) = x0² + 3·x0·x1 → ∇f = (2·x0 + 3·x1, 3·x0) = (2 + 6, 3) at (1, 2)
    grad = eval_numerical_gradient(lambda v: v[0] ** 2 + 3 * v[0] * v[1], np.array([1.0, 2.0]))
    assert rel_error(grad, np.array([8.0, 3.0])) < 1e-9


@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_numeric_gradient_matches_analytic_and_restores_x(n, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, m))
    before = x.copy()
    grad = eval_numerical_gradient(lambda v: float(np.sum(np.sin(v) * v)), x)
    assert rel_error(grad, np.cos(x) * x + np.sin(x)) < GRAD_REL_TOL
    assert np.array_equal(x, before)  # every entry restored exactly


def test_numeric_gradient_works_through_a_closure():
    """The classic use: f ignores its argument and reads the same array."""
    w = np.array([0.5, -1.0, 2.0])
    grad = eval_numerical_gradient(lambda _: float(np.sum(w**2)), w)
    assert rel_error(grad, 2 * w) < 1e-9


def test_array_gradient_uses_the_upstream_gradient(rng):
    x = rng.standard_normal((3, 2))
    df = rng.standard_normal((3, 2))
    grad = eval_numerical_gradient_array(lambda v: v**2, x, df)
    assert rel_error(grad, 2 * x * df) < 1e-9


def test_array_gradient_rejects_a_wrong_upstream_shape(rng):
    with pytest.raises(ValueError, match=r"shape of f\(x\) \(3,\); got \(2,\)"):
        eval_numerical_gradient_array(lambda v: v * 2, rng.standard_normal(3), np.ones(2))


def test_sparse_check_is_reproducible_and_leaves_global_state(rng):
    state = np.random.get_state()[1].copy()
    x = rng.standard_normal((4, 5))
    errs1 = grad_check_sparse(
        lambda v: float(np.sum(v**3)), x, 3 * x**2, 6, rng=np.random.default_rng(3)
    )
    errs2 = grad_check_sparse(
        lambda v: float(np.sum(v**3)), x, 3 * x**2, 6, rng=np.random.default_rng(3)
    )
    assert errs1.shape == (6,) and np.array_equal(errs1, errs2) and errs1.max() < GRAD_REL_TOL
    assert np.array_equal(np.random.get_state()[1], state)


def test_sparse_check_validates(rng):
    with pytest.raises(ValueError, match=r"same shape; got \(2,\) and \(3,\)"):
        grad_check_sparse(lambda v: 0.0, np.zeros(2), np.zeros(3), rng=rng)
    with pytest.raises(ValueError, match="num_checks must be >= 1"):
        grad_check_sparse(lambda v: 0.0, np.zeros(2), np.zeros(2), num_checks=0, rng=rng)


def test_directional_check_costs_two_evaluations_per_direction(rng):
    calls = []

    def f(v):
        calls.append(1)
        return float(np.sum(v**2))

    x = rng.standard_normal((50, 40))  # 2000 entries: a coordinate check would need 4000 calls
    err = directional_grad_check(f, x, 2 * x, num_directions=3, rng=rng)
    assert err < GRAD_REL_TOL and len(calls) == 6


def test_directional_check_on_a_dict_of_params_leaves_them_untouched(rng):
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    before = {k: v.copy() for k, v in params.items()}

    def f(p):
        return float(np.sum(p["W"] ** 2) + np.sum(np.exp(p["b"])))

    grads = {"W": 2 * params["W"], "b": np.exp(params["b"])}
    assert directional_grad_check(f, params, grads, num_directions=2, rng=rng) < GRAD_REL_TOL
    assert all(np.array_equal(params[k], before[k]) for k in params)
    with pytest.raises(ValueError, match="keys"):
        directional_grad_check(f, params, {"W": grads["W"]}, rng=rng)


# --- planted bugs: both checks must catch them --------------------------------


def _softmax_problem(rng):
    X = rng.standard_normal((8, 5))
    y = rng.integers(4, size=8)
    W = 0.1 * rng.standard_normal((5, 4))
    return W, X, y


def _planted(kind, W, X, y):
    loss, dW = softmax_loss_vectorized(W, X, y, 0.0)
    if kind == "zero backward":
        return np.zeros_like(dW)
    if kind == "transposed dW":
        return dW.T  # W is square below, so the shapes agree and only values can tell
    if kind == "missing 1/N":
        return dW * X.shape[0]
    return dW


@pytest.mark.parametrize("kind", ["zero backward", "transposed dW", "missing 1/N"])
@pytest.mark.parametrize("method", ["coordinate", "sparse", "directional"])
def test_gradient_checks_catch_planted_bugs(kind, method, rng):
    W, X, y = _softmax_problem(rng)
    if kind == "transposed dW":
        W = 0.1 * rng.standard_normal((4, 4))
        X = rng.standard_normal((8, 4))
    f = lambda w: softmax_loss_vectorized(w, X, y, 0.0)[0]  # noqa: E731
    good, bad = _planted("none", W, X, y), _planted(kind, W, X, y)
    if method == "coordinate":
        num = eval_numerical_gradient(f, W.copy())
        good_err, bad_err = rel_error(num, good), rel_error(num, bad)
    elif method == "sparse":
        good_err = grad_check_sparse(f, W.copy(), good, 20, rng=np.random.default_rng(1)).max()
        bad_err = grad_check_sparse(f, W.copy(), bad, 20, rng=np.random.default_rng(1)).max()
    else:
        good_err = directional_grad_check(f, W, good, 2, rng=np.random.default_rng(1))
        bad_err = directional_grad_check(f, W, bad, 2, rng=np.random.default_rng(1))
    assert good_err < GRAD_REL_TOL
    assert bad_err > BUG_MIN_ERROR


def test_numeric_backward_matches_the_coordinate_wise_array_gradient(rng):
    from gradkit.gradcheck import eval_numerical_gradient_array, numeric_backward

    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    dout = rng.standard_normal((3, 2))
    x_before, w_before = x.copy(), w.copy()
    calls = []

    def batch(many):
        calls.append(len(many))
        return [np.tanh(a["x"] @ a["w"]) for a in many]

    looped = numeric_backward(lambda x, w: np.tanh(x @ w), {"x": x, "w": w}, dout)
    batched = numeric_backward(None, {"x": x, "w": w}, dout, batch=batch, chunk=10)
    expected_dx = eval_numerical_gradient_array(lambda v: np.tanh(v @ w), x.copy(), dout)
    assert rel_error(looped["x"], expected_dx) < 1e-9
    for k in ("x", "w"):
        np.testing.assert_array_equal(looped[k], batched[k])
    # 2 evaluations per entry (12 + 8 entries), sent in chunks of at most 10.
    assert sum(calls) == 40 and max(calls) == 10
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(w, w_before)


def test_numeric_backward_names_a_bad_wrt_and_a_bad_dout(rng):
    from gradkit.gradcheck import numeric_backward

    x = rng.standard_normal((2, 3))
    with pytest.raises(ValueError, match=r"wrt names 'y', which is not an input \(\['x'\]\)"):
        numeric_backward(lambda x: x, {"x": x}, np.ones((2, 3)), wrt=["y"])
    with pytest.raises(
        ValueError, match=r"dout must have the shape of the forward output \(2, 3\)"
    ):
        numeric_backward(lambda x: x, {"x": x}, np.ones((3, 2)))
