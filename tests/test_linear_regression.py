"""Tests for gradkit.linear: bias trick, least squares, ridge, logistic regression."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradkit.gradcheck import GRAD_REL_TOL, eval_numerical_gradient, rel_error
from gradkit.linear import add_bias_column, least_squares, logistic_regression_loss, ridge
from helpers import assert_inputs_unchanged

# Hand-computed values from small decimal inputs: exact up to a few ulps.
HAND_TOL = 1e-12
# Closed-form solutions of well-conditioned systems (cond(XᵀX) ≲ 1e4 here):
# the solve loses ~log10(cond) digits of float64's 16.
SOLVE_TOL = 1e-9
# ridge with reg = 1e-10 differs from least squares by O(reg · ‖(XᵀX)⁻¹‖) ≈ 1e-10.
TINY_REG = 1e-10
REG_LIMIT_TOL = 1e-7
# A huge reg shrinks the penalized weights to O(1/reg).
HUGE_REG = 1e12
SHRINK_TOL = 1e-9
BIG = 1e4  # magnitude of the scores in the stability test (the project's contract)


def _line_data(rng, n=20, noise=0.0):
    x = rng.uniform(-5, 5, size=n)
    return x, 0.8 * x + 2 + noise * rng.standard_normal(n)


# ----------------------------------------------------------------- bias trick


def test_add_bias_column_hand_case():
    X1 = add_bias_column(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(X1, [[1, 2, 1], [3, 4, 1]])


def test_add_bias_column_makes_bias_the_last_row_of_w(rng):
    X = rng.standard_normal((5, 3))
    W = rng.standard_normal((3, 2))
    b = rng.standard_normal(2)
    np.testing.assert_allclose(add_bias_column(X) @ np.vstack([W, b]), X @ W + b, atol=HAND_TOL)


def test_add_bias_column_dtype_validation_and_no_mutation():
    X = np.ones((2, 3), dtype=np.float32)
    assert assert_inputs_unchanged(add_bias_column, X).dtype == np.float32
    with pytest.raises(ValueError, match=r"add_bias_column: X must be 2-D; got shape \(3,\)"):
        add_bias_column(np.ones(3))


# ----------------------------------------------------------------- least squares


def test_least_squares_hand_case():
    # XᵀX = 1 + 4 = 5, Xᵀy = 1 + 6 = 7 -> w = 1.4
    np.testing.assert_allclose(least_squares([[1.0], [2.0]], [1.0, 3.0]), [1.4], atol=HAND_TOL)


def test_least_squares_recovers_noiseless_line(rng):
    x, y = _line_data(rng)
    w = least_squares(add_bias_column(x[:, None]), y)
    np.testing.assert_allclose(w, [0.8, 2.0], atol=SOLVE_TOL)


def test_least_squares_matches_lstsq_on_noisy_line_and_multi_output(rng):
    x, y = _line_data(rng, n=50, noise=1.0)
    X = add_bias_column(x[:, None])
    Y = np.column_stack([y, -3 * y + 1])
    W = least_squares(X, Y)
    assert W.shape == (2, 2)
    np.testing.assert_allclose(W, np.linalg.lstsq(X, Y, rcond=None)[0], atol=SOLVE_TOL)
    np.testing.assert_allclose(W[:, 0], least_squares(X, y), atol=SOLVE_TOL)


def test_least_squares_singular_suggests_ridge():
    X = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])  # duplicated feature
    with pytest.raises(ValueError, match=r"least_squares: .*singular \(rank 1 < 2.*ridge"):
        least_squares(X, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="singular"):  # fewer rows than features
        least_squares(np.ones((1, 2)), [1.0])


def test_least_squares_validation_and_no_mutation(rng):
    X = rng.standard_normal((4, 2))
    y = rng.standard_normal(4)
    assert_inputs_unchanged(least_squares, X, y)
    with pytest.raises(ValueError, match=r"least_squares: y must have shape \(4,\).*got \(5,\)"):
        least_squares(X, np.ones(5))
    with pytest.raises(ValueError, match=r"y must have shape \(4, \*\).*got \(3, 2\)"):
        least_squares(X, np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"X must be 2-D; got shape \(4,\)"):
        least_squares(np.ones(4), y)


# ----------------------------------------------------------------- ridge


def test_ridge_hand_case():
    # (XᵀX + reg) w = Xᵀy: (5 + 5) w = 1 + 4 -> w = 0.5
    np.testing.assert_allclose(ridge([[1.0], [2.0]], [1.0, 2.0], 5.0), [0.5], atol=HAND_TOL)


def test_ridge_fixes_singular_xtx():
    # XᵀX = [[5, 5], [5, 5]], Xᵀy = [5, 5]; with reg = 1 symmetry gives w1 = w2 = a
    # and (5 + 1)a + 5a = 5, so a = 5/11.
    X = np.array([[1.0, 1.0], [2.0, 2.0]])
    np.testing.assert_allclose(ridge(X, [1.0, 2.0], 1.0), [5 / 11, 5 / 11], atol=HAND_TOL)
    with pytest.raises(ValueError, match=r"ridge: .*singular.*reg > 0"):
        ridge(X, [1.0, 2.0], 0.0)


def test_ridge_tends_to_least_squares(rng):
    x, y = _line_data(rng, noise=1.0)
    X = add_bias_column(x[:, None])
    np.testing.assert_allclose(ridge(X, y, TINY_REG), least_squares(X, y), atol=REG_LIMIT_TOL)
    np.testing.assert_allclose(ridge(X, y, 0.0), least_squares(X, y), atol=SOLVE_TOL)


def test_ridge_bias_last_leaves_the_bias_unpenalized():
    x = np.array([1.0, 2.0, 3.0])
    y = 0.8 * x + 2  # 2.8, 3.6, 4.4 -> mean 3.6
    X = add_bias_column(x[:, None])
    # A huge penalty on the slope only: the best constant model is the mean of y.
    np.testing.assert_allclose(ridge(X, y, HUGE_REG, bias_last=True), [0, 3.6], atol=SHRINK_TOL)
    # Penalizing everything shrinks the bias too.
    np.testing.assert_allclose(ridge(X, y, HUGE_REG), [0, 0], atol=SHRINK_TOL)


@given(st.integers(0, 2**32 - 1), st.floats(0.1, 100.0), st.booleans(), st.integers(1, 3))
def test_ridge_minimizes_the_documented_objective(seed, reg, bias_last, k):
    # ½‖y − Xw‖² + ½·reg·‖Pw‖² has zero gradient at the returned w.
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((6, 3))
    y = rng.standard_normal((6, k))
    w = ridge(X, y, reg, bias_last=bias_last)
    p = np.array([1.0, 1.0, 0.0 if bias_last else 1.0])[:, None]
    grad = X.T @ (X @ w - y) + reg * p * w
    np.testing.assert_allclose(grad, 0, atol=SOLVE_TOL * max(1.0, reg))


def test_ridge_validation_and_no_mutation(rng):
    X = rng.standard_normal((4, 2))
    y = rng.standard_normal(4)
    assert_inputs_unchanged(ridge, X, y, 0.5, bias_last=True)
    with pytest.raises(ValueError, match="ridge: reg must be a non-negative finite number; got -1"):
        ridge(X, y, -1.0)
    with pytest.raises(ValueError, match=r"ridge: y must have shape \(4,\).*got \(2,\)"):
        ridge(X, np.ones(2), 1.0)


# ----------------------------------------------------------------- logistic regression


def test_logistic_hand_case_at_zero_weights():
    # σ(0) = 1/2 for both rows: loss log 2;
    # dw = Xᵀ(1/2 − y)/N = [[1, 3], [2, 4]]·[−½, ½]/2 = [½, ½].
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    loss, dw = logistic_regression_loss(np.zeros(2), X, [1, 0])
    assert abs(loss - np.log(2)) < HAND_TOL
    np.testing.assert_allclose(dw, [0.5, 0.5], atol=HAND_TOL)


def test_logistic_hand_case_with_reg_and_bias_last():
    # Xw = 0 for w = [1, −1], so the data part is log 2 with gradient
    # Xᵀ[−½, ½]/2 = [¼, ¼]. reg = 2: penalty ½·2·(1 + 1) = 2, gradient 2w.
    X = np.array([[1.0, 1.0], [2.0, 2.0]])
    w = np.array([1.0, -1.0])
    loss, dw = logistic_regression_loss(w, X, [1, 0], reg=2.0)
    assert abs(loss - (np.log(2) + 2)) < HAND_TOL
    np.testing.assert_allclose(dw, [2.25, -1.75], atol=HAND_TOL)
    # bias_last: the last entry is not penalized -> penalty ½·2·1 = 1.
    loss, dw = logistic_regression_loss(w, X, [1, 0], reg=2.0, bias_last=True)
    assert abs(loss - (np.log(2) + 1)) < HAND_TOL
    np.testing.assert_allclose(dw, [2.25, 0.25], atol=HAND_TOL)


@pytest.mark.parametrize("reg, bias_last", [(0.0, False), (0.3, False), (0.3, True)])
def test_logistic_numeric_gradient(reg, bias_last, rng):
    X = add_bias_column(rng.standard_normal((8, 3)))
    y = rng.integers(0, 2, size=8)
    w = rng.standard_normal(4)
    _, dw = logistic_regression_loss(w, X, y, reg, bias_last=bias_last)
    numeric = eval_numerical_gradient(
        lambda v: logistic_regression_loss(v, X, y, reg, bias_last=bias_last)[0], w.copy()
    )
    assert rel_error(numeric, dw) < GRAD_REL_TOL


def test_logistic_stable_at_1e4():
    # s = [1e4, −1e4] with y = 1: losses softplus(s) − s = 0 and 1e4; gradients 0 and −1.
    X = np.array([[BIG], [-BIG]])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss, dw = logistic_regression_loss(np.array([1.0]), X, [1, 1])
    assert loss == BIG / 2
    np.testing.assert_allclose(dw, [BIG / 2], atol=HAND_TOL)  # Xᵀ[0, −1]/2


def test_logistic_validation_and_no_mutation(rng):
    w = rng.standard_normal(3)
    X = rng.standard_normal((4, 3))
    y = np.array([0, 1, 1, 0])
    assert_inputs_unchanged(logistic_regression_loss, w, X, y, 0.1, bias_last=True)
    with pytest.raises(ValueError, match=r"X must have shape \(\*, 3\) to match w.*got \(4, 2\)"):
        logistic_regression_loss(w, X[:, :2], y)
    with pytest.raises(ValueError, match=r"w must be 1-D; got shape \(3, 1\)"):
        logistic_regression_loss(w[:, None], X, y)
    with pytest.raises(ValueError, match=r"y must have shape \(4,\).*got \(4, 1\)"):
        logistic_regression_loss(w, X, y[:, None])
    with pytest.raises(ValueError, match="y entries must be 0 or 1; got -1"):
        logistic_regression_loss(w, X, [0, 1, -1, 0])
    with pytest.raises(ValueError, match="reg must be a non-negative"):
        logistic_regression_loss(w, X, y, reg=-0.1)
