"""Tests for gradkit.lbfgs (L-BFGS through SciPy), re-exported as gradkit.optim.lbfgs."""

import numpy as np
import pytest

import gradkit.optim
from gradkit.optim import lbfgs
from helpers import assert_inputs_unchanged

# With the default tol = 1e-8 SciPy stops once the relative loss decrease is
# below ~1e-8, which leaves the minimizer accurate to about √1e-8 = 1e-4 in
# the worst case; Rosenbrock's flat valley makes it the hardest case.
ROSENBROCK_ATOL = 1e-4
# With tol = 1e-12 a well-conditioned least-squares problem is solved to
# ~1e-8 (measured); 1e-6 leaves a margin for other BLAS builds.
LSQ_RTOL = 1e-6
TIGHT_TOL = 1e-12


def rosenbrock(x):
    """f = 100(x₁ − x₀²)² + (1 − x₀)², minimum 0 at (1, 1); gradient by hand."""
    a, b = x
    loss = 100 * (b - a**2) ** 2 + (1 - a) ** 2
    grad = np.array([-400 * a * (b - a**2) - 2 * (1 - a), 200 * (b - a**2)])
    return loss, grad


def test_is_reexported_from_optim():
    assert gradkit.optim.lbfgs is lbfgs


def test_minimizes_rosenbrock():
    x0 = np.array([-1.2, 1.0])
    x, info = assert_inputs_unchanged(lbfgs, rosenbrock, x0)
    np.testing.assert_allclose(x, [1.0, 1.0], rtol=0, atol=ROSENBROCK_ATOL)
    assert info["converged"]
    assert info["loss"] < 1e-8
    assert 0 < info["n_iter"] <= 100
    assert isinstance(info["message"], str) and info["message"]
    assert x.dtype == np.float64 and x is not x0


def test_loss_history_starts_at_x0_and_never_increases():
    x, info = lbfgs(rosenbrock, np.array([-1.2, 1.0]))
    history = np.array(info["loss_history"])
    assert history[0] == pytest.approx(rosenbrock(np.array([-1.2, 1.0]))[0])
    assert len(history) == info["n_iter"] + 1
    # The line search enforces a sufficient decrease at every accepted step.
    assert np.all(np.diff(history) <= 0)
    assert history[-1] == pytest.approx(info["loss"])


def test_least_squares_matches_closed_form(rng):
    X = rng.standard_normal((40, 5))
    y = X @ rng.standard_normal(5) + 0.3 * rng.standard_normal(40)

    def loss_and_grad(w):
        r = X @ w - y
        return 0.5 * r @ r / len(y), X.T @ r / len(y)

    w, info = lbfgs(loss_and_grad, np.zeros(5), tol=TIGHT_TOL)
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(w, w_star, rtol=LSQ_RTOL, atol=LSQ_RTOL)
    assert info["converged"]


def test_dict_params_fit_affine_model(rng):
    # Multi-output least squares with a bias: loss ½/N·‖XW + b − Y‖².
    N = 30
    X = rng.standard_normal((N, 3))
    Y = X @ rng.standard_normal((3, 2)) + np.array([0.5, -1.0]) + 0.1 * rng.standard_normal((N, 2))
    seen = []

    def loss_and_grad(p):
        seen.append(p)
        r = X @ p["W"] + p["b"] - Y
        return 0.5 * np.sum(r * r) / N, {"W": X.T @ r / N, "b": r.sum(axis=0) / N}

    params = {"W": np.zeros((3, 2)), "b": np.zeros(2)}
    out, info = assert_inputs_unchanged(lbfgs, loss_and_grad, params, tol=TIGHT_TOL)
    assert list(out) == ["W", "b"]
    assert out["W"].shape == (3, 2) and out["b"].shape == (2,)
    assert out["W"] is not params["W"]
    assert all(isinstance(p, dict) and p["W"] is not params["W"] for p in seen)
    closed = np.linalg.lstsq(np.hstack([X, np.ones((N, 1))]), Y, rcond=None)[0]
    np.testing.assert_allclose(out["W"], closed[:3], rtol=LSQ_RTOL, atol=LSQ_RTOL)
    np.testing.assert_allclose(out["b"], closed[3], rtol=LSQ_RTOL, atol=LSQ_RTOL)


def test_callback_mutating_its_argument_does_not_touch_x0():
    def greedy(x):
        loss, grad = rosenbrock(x)
        x[...] = 123.0  # misbehaving caller code: must only hit a copy
        return loss, grad

    x0 = np.array([-1.2, 1.0])
    lbfgs(greedy, x0, max_iter=2)
    np.testing.assert_array_equal(x0, [-1.2, 1.0])


def test_float32_params_come_back_float32_and_are_optimized_in_float64():
    dtypes = []

    def loss_and_grad(p):
        dtypes.append(p["w"].dtype)
        return 0.5 * np.sum((p["w"] - 3.0) ** 2), {"w": p["w"] - 3.0}

    out, _ = lbfgs(loss_and_grad, {"w": np.zeros(4, dtype=np.float32)})
    assert out["w"].dtype == np.float32
    assert set(dtypes) == {np.dtype(np.float64)}
    np.testing.assert_allclose(out["w"], 3.0, rtol=1e-6)


def test_max_iter_is_respected():
    _, info = lbfgs(rosenbrock, np.array([-1.2, 1.0]), max_iter=3)
    assert info["n_iter"] <= 3
    assert not info["converged"]


def test_gradient_with_wrong_shape_raises():
    with pytest.raises(ValueError, match=r"grad must have shape \(2,\) to match x0; got \(3,\)"):
        lbfgs(lambda x: (0.0, np.zeros(3)), np.zeros(2))


def test_gradient_dict_with_wrong_keys_raises():
    with pytest.raises(ValueError, match=r"keys of x0 \['W', 'b'\]; got \['W'\]"):
        lbfgs(lambda p: (0.0, {"W": p["W"]}), {"W": np.zeros(2), "b": np.zeros(1)})
    with pytest.raises(ValueError, match=r"grad\['b'\] must have shape \(1,\)"):
        lbfgs(
            lambda p: (0.0, {"W": p["W"], "b": np.zeros(2)}), {"W": np.zeros(2), "b": np.zeros(1)}
        )


def test_non_scalar_loss_or_bad_return_raises():
    with pytest.raises(ValueError, match=r"loss must be a scalar; got shape \(2,\)"):
        lbfgs(lambda x: (x, x), np.zeros(2))
    with pytest.raises(ValueError, match="must return a \\(loss, grad\\) pair"):
        lbfgs(lambda x: 0.0, np.zeros(2))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_iter": 0}, "max_iter must be a positive integer"),
        ({"max_iter": 2.5}, "max_iter must be a positive integer"),
        ({"tol": 0.0}, "tol must be a positive"),
        ({"tol": -1e-3}, "tol must be a positive"),
    ],
)
def test_bad_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lbfgs(rosenbrock, np.zeros(2), **kwargs)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="loss_and_grad must be callable"):
        lbfgs(None, np.zeros(2))
    with pytest.raises(ValueError, match="empty dict"):
        lbfgs(rosenbrock, {})
    with pytest.raises(ValueError, match="real numeric array; got dtype"):
        lbfgs(rosenbrock, np.array(["a", "b"]))
