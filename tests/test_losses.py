"""Tests for gradkit.losses: hand-computed values, gradients, stability, validation."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradkit.gradcheck import GRAD_REL_TOL, eval_numerical_gradient, rel_error
from gradkit.losses import (
    l1_regression_loss,
    l2_regression_loss,
    multilabel_hinge_loss,
    sigmoid_cross_entropy_loss,
    softmax_loss,
    squared_hinge_loss,
    svm_loss,
)
from helpers import assert_inputs_unchanged

# Hand-computed values are exact up to the rounding of decimal inputs such as
# 3.2 (a few ulps of numbers of size ~10), so 1e-12 is far above rounding and
# far below any real mistake.
HAND_TOL = 1e-12
# Properties that hold exactly in real arithmetic but are evaluated on scores
# up to 1e3 in float64 (e.g. shift invariance): allow ~1e4 ulps of the loss.
PROP_TOL = 1e-9
# float32 results are compared with float64 ones: float32 has ~7 digits.
FLOAT32_TOL = 1e-5
# Magnitude of the scores in the stability tests (the project's contract).
BIG = 1e4

# The curriculum's table: columns are images (cat, car, frog), rows are the class
# scores (cat, car, frog). One row per example here, so it is the transpose:
#   cat image:  cat 3.2, car 5.1, frog -1.7  (true: cat)
#   car image:  cat 1.3, car 4.9, frog  2.0  (true: car)
#   frog image: cat 2.2, car 2.5, frog -3.1  (true: frog)
TABLE = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
TABLE_Y = np.array([0, 1, 2])

CLASS_LOSSES = [svm_loss, softmax_loss, squared_hinge_loss]


def _class_data(rng, n=5, c=4, scale=1.0):
    return scale * rng.standard_normal((n, c)), rng.integers(0, c, size=n)


def _all_cases(rng, scale=1.0, dtype=np.float64):
    """(loss, x, target) for every loss, on random scores of the given scale."""
    x, y = _class_data(rng, scale=scale)
    x = x.astype(dtype)
    y01 = rng.integers(0, 2, size=x.shape)
    ypm1 = 2 * rng.integers(0, 2, size=x.shape) - 1
    target = scale * rng.standard_normal(x.shape)
    return [
        (svm_loss, x, y),
        (softmax_loss, x, y),
        (squared_hinge_loss, x, y),
        (multilabel_hinge_loss, x, ypm1),
        (sigmoid_cross_entropy_loss, x, y01),
        (l2_regression_loss, x, target),
        (l1_regression_loss, x, target),
    ]


# ----------------------------------------------------------------- hand-computed cases


def test_svm_curriculum_table():
    # cat: max(0, 5.1-3.2+1) + max(0, -1.7-3.2+1) = 2.9 + 0
    # car: max(0, 1.3-4.9+1) + max(0, 2.0-4.9+1) = 0 + 0
    # frog: max(0, 2.2+3.1+1) + max(0, 2.5+3.1+1) = 6.3 + 6.6 = 12.9
    per_example = [svm_loss(TABLE[i : i + 1], TABLE_Y[i : i + 1])[0] for i in range(3)]
    np.testing.assert_allclose(per_example, [2.9, 0.0, 12.9], atol=HAND_TOL)
    loss, dx = svm_loss(TABLE, TABLE_Y)
    assert abs(loss - 15.8 / 3) < HAND_TOL  # ≈ 5.27
    # Active margins: cat image (car), frog image (cat and car); each / N = 3.
    expected = np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3
    np.testing.assert_allclose(dx, expected, atol=HAND_TOL)


def test_squared_hinge_curriculum_table():
    # 2.9² = 8.41; 0; 6.3² + 6.6² = 39.69 + 43.56 = 83.25; mean 91.66 / 3.
    loss, dx = squared_hinge_loss(TABLE, TABLE_Y)
    assert abs(loss - 91.66 / 3) < HAND_TOL
    expected = np.array([[-5.8, 5.8, 0], [0, 0, 0], [12.6, 13.2, -25.8]]) / 3
    np.testing.assert_allclose(dx, expected, atol=HAND_TOL)


def test_svm_zero_loss_when_margins_met():
    loss, dx = svm_loss(np.array([[5.0, 3.9, 1.0]]), [0])  # 3.9 - 5 + 1 < 0
    assert loss == 0 and not dx.any()


@pytest.mark.parametrize("c", [2, 3, 10])
def test_softmax_uniform_scores_give_log_c(c):
    loss, dx = softmax_loss(np.full((4, c), 0.7), [0, 1, 0, 1])
    assert abs(loss - np.log(c)) < HAND_TOL
    expected = np.full((4, c), 1 / c)
    expected[[0, 1, 2, 3], [0, 1, 0, 1]] -= 1
    np.testing.assert_allclose(dx, expected / 4, atol=HAND_TOL)


def test_softmax_hand_case():
    # Scores (0, log 3): probabilities 1/4 and 3/4, so the loss for class 0 is log 4.
    loss, dx = softmax_loss(np.array([[0.0, np.log(3)]]), [0])
    assert abs(loss - np.log(4)) < HAND_TOL
    np.testing.assert_allclose(dx, [[-0.75, 0.75]], atol=HAND_TOL)


def test_multilabel_hinge_hand_case():
    # margins 1 - y·x: [1-2, 1+0.5; 1+0.3, 1-3] -> active 1.5 and 1.3 -> 2.8 / 2.
    x = np.array([[2.0, -0.5], [0.3, -3.0]])
    y = np.array([[1, 1], [-1, -1]])
    loss, dx = multilabel_hinge_loss(x, y)
    assert abs(loss - 1.4) < HAND_TOL
    np.testing.assert_allclose(dx, [[0, -0.5], [0.5, 0]], atol=HAND_TOL)


def test_sigmoid_cross_entropy_hand_case():
    # σ(0) = 1/2 -> log 2; σ(log 3) = 3/4 with y = 1 -> log(4/3); mean over N = 2.
    x = np.array([0.0, np.log(3)])
    loss, dx = sigmoid_cross_entropy_loss(x, [0, 1])
    assert abs(loss - (np.log(2) + np.log(4 / 3)) / 2) < HAND_TOL
    np.testing.assert_allclose(dx, [0.25, -0.125], atol=HAND_TOL)


def test_sigmoid_cross_entropy_binary_shapes_agree(rng):
    x = rng.standard_normal(6)
    y = rng.integers(0, 2, size=6)
    flat, dflat = sigmoid_cross_entropy_loss(x, y)
    col, dcol = sigmoid_cross_entropy_loss(x[:, None], y[:, None])
    assert abs(flat - col) < HAND_TOL and dcol.shape == (6, 1)
    np.testing.assert_allclose(dflat, dcol[:, 0], atol=HAND_TOL)


def test_regression_hand_cases():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.array([[0.0, 0.0], [3.0, 2.0]])  # δ = [[1, 2], [0, 2]]
    loss, dx = l2_regression_loss(x, y)
    assert abs(loss - (2.5 + 2.0) / 2) < HAND_TOL  # ½(1 + 4), ½(0 + 4)
    np.testing.assert_allclose(dx, [[0.5, 1.0], [0.0, 1.0]], atol=HAND_TOL)
    loss, dx = l1_regression_loss(x, y)
    assert abs(loss - (3 + 2) / 2) < HAND_TOL
    np.testing.assert_allclose(dx, [[0.5, 0.5], [0.0, 0.5]], atol=HAND_TOL)


# ----------------------------------------------------------------- gradients


@pytest.mark.parametrize("index", range(7))
def test_numeric_gradient(index, rng):
    loss_fn, x, target = _all_cases(rng)[index]
    _, dx = loss_fn(x, target)
    numeric = eval_numerical_gradient(lambda v: loss_fn(v, target)[0], x.copy())
    assert dx.shape == x.shape
    assert rel_error(numeric, dx) < GRAD_REL_TOL, loss_fn.__name__


def test_numeric_gradient_binary_sigmoid(rng):
    x = rng.standard_normal(7)
    y = rng.integers(0, 2, size=7)
    _, dx = sigmoid_cross_entropy_loss(x, y)
    numeric = eval_numerical_gradient(lambda v: sigmoid_cross_entropy_loss(v, y)[0], x.copy())
    assert rel_error(numeric, dx) < GRAD_REL_TOL


# ----------------------------------------------------------------- properties


@st.composite
def scores_and_labels(draw):
    n = draw(st.integers(1, 6))
    c = draw(st.integers(2, 5))
    x = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-1e3, 1e3)))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    shift = draw(hnp.arrays(np.float64, (n, 1), elements=st.floats(-1e3, 1e3)))
    return x, y, shift


@given(scores_and_labels())
@pytest.mark.parametrize("loss_fn", CLASS_LOSSES)
def test_class_losses_nonnegative_shift_invariant_rows_sum_to_zero(loss_fn, data):
    x, y, shift = data
    loss, dx = loss_fn(x, y)
    assert loss >= 0
    # Only score differences matter, so adding a constant to a row changes nothing,
    # and the gradient of every row sums to 0.
    assert abs(loss_fn(x + shift, y)[0] - loss) <= PROP_TOL * max(1.0, loss)
    np.testing.assert_allclose(dx.sum(axis=1), 0, atol=PROP_TOL)


@given(
    hnp.arrays(np.float64, (3, 2), elements=st.floats(-1e3, 1e3)),
    hnp.arrays(np.int64, (3, 2), elements=st.integers(0, 1)),
)
def test_sigmoid_cross_entropy_label_flip_symmetry(x, y):
    # σ(−s) = 1 − σ(s): flipping both the scores and the labels gives the same loss.
    loss, dx = sigmoid_cross_entropy_loss(x, y)
    loss_flip, dx_flip = sigmoid_cross_entropy_loss(-x, 1 - y)
    assert loss >= 0
    assert abs(loss - loss_flip) <= PROP_TOL * max(1.0, loss)
    np.testing.assert_allclose(dx, -dx_flip, atol=PROP_TOL)


@given(hnp.arrays(np.float64, (4, 3), elements=st.floats(-1e3, 1e3)))
def test_regression_losses_vanish_only_at_target(x):
    for loss_fn in (l2_regression_loss, l1_regression_loss):
        loss, dx = loss_fn(x, x)
        assert loss == 0 and not dx.any()
        assert loss_fn(x, x + 1)[0] > 0


# ----------------------------------------------------------------- stability and dtypes


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_finite_and_warning_free_at_1e4(dtype, rng):
    for loss_fn, x, target in _all_cases(rng, scale=BIG, dtype=dtype):
        with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
            warnings.simplefilter("error")
            loss, dx = loss_fn(x, target)
        assert np.isfinite(loss) and np.all(np.isfinite(dx)), loss_fn.__name__
        assert dx.dtype == dtype, loss_fn.__name__


def test_stable_values_at_1e4():
    # log(e^0 + e^{-1e4}) = 0 exactly in floating point: the loss is the score gap.
    assert softmax_loss(np.array([[0.0, -BIG]]), [1])[0] == BIG
    loss, dx = softmax_loss(np.array([[BIG, 0.0, -BIG]]), [2])
    assert loss == 2 * BIG
    np.testing.assert_allclose(dx, [[1, 0, -1]], atol=HAND_TOL)
    # softplus(1e4) = 1e4, softplus(-1e4) = 0; gradients σ − y = 1 and 0.
    loss, dx = sigmoid_cross_entropy_loss(np.array([BIG, -BIG]), [0, 0])
    assert loss == BIG / 2
    np.testing.assert_allclose(dx, [0.5, 0.0], atol=HAND_TOL)


def test_float32_in_float32_out_agrees_with_float64(rng):
    for loss_fn, x, target in _all_cases(rng):
        loss64, dx64 = loss_fn(x, target)
        loss32, dx32 = loss_fn(x.astype(np.float32), target)
        assert dx32.dtype == np.float32
        assert abs(loss32 - loss64) <= FLOAT32_TOL * max(1.0, abs(loss64)), loss_fn.__name__
        np.testing.assert_allclose(dx32, dx64, atol=FLOAT32_TOL)


def test_integer_scores_are_accepted():
    loss, dx = svm_loss(np.array([[3, 1, 2]]), [0])  # margins 1-3+1 = -1, 2-3+1 = 0
    assert loss == 0 and dx.dtype == np.float64


def test_inputs_unchanged(rng):
    for loss_fn, x, target in _all_cases(rng):
        assert_inputs_unchanged(loss_fn, x, target)


# ----------------------------------------------------------------- validation


@pytest.mark.parametrize("loss_fn", CLASS_LOSSES)
def test_class_losses_reject_bad_inputs(loss_fn):
    name = loss_fn.__name__
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match=rf"{name}: x must be 2-D; got shape \(4,\)"):
        loss_fn(np.zeros(4), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match=rf"{name}: y must have shape \(4,\).*got \(5,\)"):
        loss_fn(x, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=rf"{name}: y must have shape \(4,\).*got \(4, 1\)"):
        loss_fn(x, np.zeros((4, 1), dtype=int))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\); got values from 0 to 3"):
        loss_fn(x, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="integer class labels"):
        loss_fn(x, [0, 0.5, 1, 2])
    with pytest.raises(ValueError, match="at least one example"):
        loss_fn(np.zeros((0, 3)), np.zeros(0, dtype=int))


@pytest.mark.parametrize(
    "loss_fn, good",
    [
        (sigmoid_cross_entropy_loss, 1),
        (multilabel_hinge_loss, -1),
        (l2_regression_loss, 0.5),
        (l1_regression_loss, 0.5),
    ],
)
def test_same_shape_losses_reject_mismatched_shapes(loss_fn, good):
    name = loss_fn.__name__
    with pytest.raises(
        ValueError,
        match=rf"{name}: x and \w+ must have the same shape; "
        r"got \(4, 1\) and \(4,\)",
    ):
        loss_fn(np.zeros((4, 1)), np.full(4, good))
    with pytest.raises(ValueError, match=rf"{name}: x must be 1-D or 2-D; got shape \(2, 2, 2\)"):
        loss_fn(np.zeros((2, 2, 2)), np.full((2, 2, 2), good))


def test_label_values_are_checked():
    with pytest.raises(ValueError, match="y01 entries must be 0 or 1; got 2"):
        sigmoid_cross_entropy_loss(np.zeros((2, 2)), [[0, 1], [2, 1]])
    with pytest.raises(ValueError, match="ypm1 entries must be -1 or 1; got 0"):
        multilabel_hinge_loss(np.zeros((2, 2)), [[0, 1], [-1, 1]])
