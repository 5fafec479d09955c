"""Tests for gradkit.linear.classifier_losses: the SVM and softmax losses on W.

Everything is imported from ``gradkit.linear``, the public module name.
"""

import warnings

import numpy as np
import pytest

from gradkit.gradcheck import GRAD_REL_TOL, eval_numerical_gradient, rel_error
from gradkit.linear import (
    add_bias_column,
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
)
from helpers import assert_inputs_unchanged

# Hand-computed values from decimal inputs: exact up to a few ulps.
HAND_TOL = 1e-12
# Naive and vectorized versions sum the same terms in a different order;
# float64 rounding differences stay around 1e-15 relative.
AGREE_TOL = 1e-12
# float32 vs float64 results: float32 carries ~7 significant digits.
FLOAT32_TOL = 1e-5
# With W = 0.001·randn every score is ~1e-3, so the first loss is within a few
# hundredths of its value at W = 0 (log C for softmax, C − 1 for the SVM).
INIT_LOSS_TOL = 0.05
BIG = 1e4  # magnitude of the scores in the stability test (the project's contract)

# The curriculum's table, one row of class scores (cat, car, frog) per image.
TABLE = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
TABLE_Y = np.array([0, 1, 2])
TABLE_SQ_SUM = 89.54  # 10.24+26.01+2.89 + 1.69+24.01+4 + 4.84+6.25+9.61

SVM = [svm_loss_naive, svm_loss_vectorized]
SOFTMAX = [softmax_loss_naive, softmax_loss_vectorized]
ALL = SVM + SOFTMAX


def _problem(rng, n=6, d=5, c=4, scale=1.0):
    X = add_bias_column(rng.standard_normal((n, d - 1)))
    W = scale * rng.standard_normal((d, c))
    return W, X, rng.integers(0, c, size=n)


# ----------------------------------------------------------------- hand-computed cases


@pytest.mark.parametrize("loss_fn", SVM)
def test_svm_curriculum_table_with_identity_inputs(loss_fn):
    # With X = I the scores are W itself, one row per image. Data loss
    # (2.9 + 0 + 12.9) / 3; penalty ½·0.1·89.54. dW = dscores + reg·W.
    loss, dW = loss_fn(TABLE, np.eye(3), TABLE_Y, 0.1)
    assert abs(loss - (15.8 / 3 + 0.05 * TABLE_SQ_SUM)) < HAND_TOL
    dscores = np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3
    np.testing.assert_allclose(dW, dscores + 0.1 * TABLE, atol=HAND_TOL)


@pytest.mark.parametrize("loss_fn", SOFTMAX)
def test_softmax_zero_weights_hand_case(loss_fn):
    # W = 0: every probability is ½, loss log 2; P − Y = [[−½, ½], [½, −½]],
    # Xᵀ(P − Y)/2 with X = [[1, 2], [3, 4]] gives [[½, −½], [½, −½]].
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    loss, dW = loss_fn(np.zeros((2, 2)), X, [0, 1], 0.7)
    assert abs(loss - np.log(2)) < HAND_TOL
    np.testing.assert_allclose(dW, [[0.5, -0.5], [0.5, -0.5]], atol=HAND_TOL)


@pytest.mark.parametrize("loss_fn", SOFTMAX)
def test_softmax_reg_counts_the_whole_w(loss_fn):
    # Uniform scores (X = I, all W entries 2) give log 3; the penalty includes the last row.
    loss, dW = loss_fn(np.full((3, 3), 2.0), np.eye(3), TABLE_Y, 0.5)
    assert abs(loss - (np.log(3) + 0.5 * 0.5 * 9 * 4)) < HAND_TOL
    np.testing.assert_allclose(dW, (np.full((3, 3), 1 / 3) - np.eye(3)) / 3 + 1.0, atol=HAND_TOL)


# ----------------------------------------------------------------- naive == vectorized, gradients


@pytest.mark.parametrize("naive, vectorized", [SVM, SOFTMAX])
@pytest.mark.parametrize("reg", [0.0, 0.25])
def test_naive_matches_vectorized(naive, vectorized, reg, rng):
    W, X, y = _problem(rng, n=30, d=8, c=5)
    loss_n, dW_n = naive(W, X, y, reg)
    loss_v, dW_v = vectorized(W, X, y, reg)
    assert abs(loss_n - loss_v) <= AGREE_TOL * max(1.0, abs(loss_v))
    assert rel_error(dW_n, dW_v) < AGREE_TOL


@pytest.mark.parametrize("loss_fn", ALL)
def test_numeric_gradient(loss_fn, rng):
    W, X, y = _problem(rng)
    _, dW = loss_fn(W, X, y, 0.3)
    numeric = eval_numerical_gradient(lambda v: loss_fn(v, X, y, 0.3)[0], W.copy())
    assert dW.shape == W.shape
    assert rel_error(numeric, dW) < GRAD_REL_TOL


# ----------------------------------------------------------------- stability, dtypes, mutation


@pytest.mark.parametrize("loss_fn", ALL)
def test_finite_and_warning_free_for_scores_of_1e4(loss_fn, rng):
    W, X, y = _problem(rng, scale=BIG)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss, dW = loss_fn(W, X, y, 1e-3)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))


@pytest.mark.parametrize("loss_fn", ALL)
def test_float32_in_float32_out(loss_fn, rng):
    W, X, y = _problem(rng)
    loss64, dW64 = loss_fn(W, X, y, 0.1)
    loss32, dW32 = loss_fn(W.astype(np.float32), X.astype(np.float32), y, 0.1)
    assert dW32.dtype == np.float32
    assert abs(loss32 - loss64) <= FLOAT32_TOL * max(1.0, loss64)
    np.testing.assert_allclose(dW32, dW64, atol=FLOAT32_TOL)


@pytest.mark.parametrize("loss_fn", ALL)
def test_inputs_unchanged(loss_fn, rng):
    assert_inputs_unchanged(loss_fn, *_problem(rng), 0.1)


@pytest.mark.parametrize("loss_fn", ALL)
def test_bad_inputs_raise(loss_fn, rng):
    name = loss_fn.__name__
    W, X, y = _problem(rng)  # W (5, 4), X (6, 5)
    msg = rf"{name}: X must have shape \(\*, 5\) to match W .*got \(6, 4\)"
    with pytest.raises(ValueError, match=msg):
        loss_fn(W, X[:, :4], y, 0.1)
    with pytest.raises(ValueError, match=rf"{name}: W must be 2-D; got shape \(5,\)"):
        loss_fn(W[:, 0], X, y, 0.1)
    with pytest.raises(ValueError, match=rf"{name}: y must have shape \(6,\).*got \(5,\)"):
        loss_fn(W, X, y[:5], 0.1)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 4\); got values from 0 to 4"):
        loss_fn(W, X, np.array([0, 1, 2, 3, 4, 0]), 0.1)
    with pytest.raises(ValueError, match=rf"{name}: reg must be a non-negative"):
        loss_fn(W, X, y, -1.0)
