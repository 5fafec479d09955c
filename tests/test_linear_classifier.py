"""Tests for gradkit.linear.classifier: LinearClassifier, LinearSVM and Softmax trained by SGD.

Everything is imported from ``gradkit.linear``, the public module name.
"""

import numpy as np
import pytest

from gradkit.linear import (
    LinearClassifier,
    LinearSVM,
    Softmax,
    add_bias_column,
    softmax_loss_vectorized,
    svm_loss_vectorized,
)
from helpers import assert_inputs_unchanged

# The synthetic blobs are separated by > 6 standard deviations: a linear
# classifier that trains at all is essentially perfect; 0.9 is the brief's bar.
MIN_VAL_ACCURACY = 0.9
# With W = 0.001·randn every score is ~1e-3, so the first loss is within a few
# hundredths of its value at W = 0 (log C for softmax, C − 1 for the SVM).
INIT_LOSS_TOL = 0.05


def _blobs(seed, n=400):
    rng = np.random.default_rng(seed)
    centers = np.array([[4.0, 0.0], [-2.0, 3.5], [-2.0, -3.5]])
    y = rng.integers(0, 3, size=n)
    return add_bias_column(centers[y] + rng.standard_normal((n, 2))), y


# ----------------------------------------------------------------- classifiers


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_classifier_learns_separable_blobs(cls):
    X, y = _blobs(seed=0)
    model = cls(seed=1)
    assert model.W is None  # created lazily
    history = model.train(
        X[:300], y[:300], learning_rate=0.1, reg=1e-3, num_iters=100, batch_size=64
    )
    assert model.W.shape == (3, 3)
    assert len(history) == 100 and all(isinstance(v, float) for v in history)
    initial = np.log(3) if cls is Softmax else 3 - 1
    assert abs(history[0] - initial) < INIT_LOSS_TOL
    assert np.mean(history[-10:]) < history[0] / 4
    y_pred = model.predict(X[300:])
    assert y_pred.shape == (100,) and y_pred.dtype.kind == "i"
    assert np.mean(y_pred == y[300:]) >= MIN_VAL_ACCURACY


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_classifier_uses_its_loss(cls, rng):
    X, y = _blobs(seed=2, n=40)
    model = cls(seed=0)
    model.train(X, y, num_iters=0)
    reference = svm_loss_vectorized if cls is LinearSVM else softmax_loss_vectorized
    loss, dW = model.loss(X, y, 0.2)
    ref_loss, ref_dW = reference(model.W, X, y, 0.2)
    assert loss == ref_loss and np.array_equal(dW, ref_dW)


def test_training_is_reproducible_from_the_seed():
    X, y = _blobs(seed=3, n=60)
    runs = []
    for seed in (7, 7, 8):
        model = Softmax(seed=seed)
        runs.append((model.train(X, y, num_iters=5, batch_size=10), model.W))
    assert runs[0][0] == runs[1][0] and np.array_equal(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def test_train_continues_from_w_and_leaves_data_alone(capsys):
    X, y = _blobs(seed=4, n=50)
    model = LinearSVM(seed=0)
    assert_inputs_unchanged(model.train, X, y, num_iters=3, batch_size=5, verbose=True)
    assert "iteration 0 / 3" in capsys.readouterr().out
    W = model.W.copy()
    assert model.train(X, y, num_iters=0) == []
    np.testing.assert_array_equal(model.W, W)  # not re-initialized
    model.train(X, y, learning_rate=1e-2, num_iters=1, batch_size=5)
    assert not np.array_equal(model.W, W)


def test_classifier_errors():
    X, y = _blobs(seed=5, n=20)
    model = Softmax(seed=0)
    with pytest.raises(ValueError, match="call train first"):
        model.predict(X)
    with pytest.raises(ValueError, match=r"Softmax.train: y must have shape \(20,\).*got \(19,\)"):
        model.train(X, y[:-1])
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        model.train(X, y, batch_size=0)
    model.train(X, y, num_iters=1)
    shape_msg = r"X must have shape \(\*, 3\).*got \(20, 2\)"
    with pytest.raises(ValueError, match="Softmax.predict: " + shape_msg):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="Softmax.train: " + shape_msg):
        model.train(X[:, :2], y)
    with pytest.raises(TypeError, match="abstract"):
        LinearClassifier(seed=0)
