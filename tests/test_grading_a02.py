"""Assignment 02's specs: what the registry-derived tests cannot see.

Correct implementations that differ from gradkit's (another cache, another mask, another
route to the same numbers) must earn full marks, hidden cases included, and must not be
mistaken for delegation to the reference.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradkit import layers, losses
from gradkit.grading import get_spec
from gradkit.grading.callee import DirectCallee
from gradkit.grading.engine import run_spec

TOKEN = "pytest-student"


def _grade(name: str, **functions):
    spec = get_spec(name)
    callee = DirectCallee(functions, forbidden=tuple(spec.forbidden_names()))
    return run_spec(spec, callee, 2.0, TOKEN)


def _full(result) -> None:
    assert result.score == 2.0, result.text()
    assert any(c.hidden for c in result.checks)


# --- layers written the way students write them -------------------------------------------


def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, _ = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    out = np.maximum(0, x)
    return out, out  # the output, not the input


def relu_backward(dout, cache):
    return dout * (cache > 0)  # out > 0 exactly where x > 0


def test_relu_backward_masking_with_the_stored_output_is_correct():
    _full(_grade("relu_backward", relu_forward=relu_forward, relu_backward=relu_backward))


def test_the_natural_sandwich_is_not_taken_for_a_copy_of_the_reference():
    """The obvious three lines, with the conventional names, are the student's own work."""

    def affine_relu_forward(x, w, b):
        a, fc_cache = affine_forward(x, w, b)
        out, relu_cache = relu_forward(a)
        return out, (fc_cache, relu_cache)

    def affine_relu_backward(dout, cache):
        fc_cache, relu_cache = cache
        da = relu_backward(dout, relu_cache)
        return affine_backward(da, fc_cache)

    result = _grade("affine_relu_forward", affine_relu_forward=affine_relu_forward)
    _full(result)
    assert not result.problem
    _full(
        _grade(
            "affine_relu_backward",
            affine_relu_forward=affine_relu_forward,
            affine_relu_backward=affine_relu_backward,
        )
    )


def test_sigmoid_and_elu_with_the_input_in_the_cache_earn_full_marks():
    def sigmoid_forward(x):
        return 1 / (1 + np.exp(-x)), x

    def sigmoid_backward(dout, x):
        s = 1 / (1 + np.exp(-x))
        return dout * s * (1 - s)

    def elu_forward(x, alpha=1.0):
        return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1)), (x, alpha)

    def elu_backward(dout, cache):
        x, alpha = cache
        return np.where(x > 0, dout, dout * alpha * np.exp(np.minimum(x, 0)))

    _full(
        _grade(
            "sigmoid_backward", sigmoid_forward=sigmoid_forward, sigmoid_backward=sigmoid_backward
        )
    )
    _full(_grade("elu_backward", elu_forward=elu_forward, elu_backward=elu_backward))


def test_maxout_with_a_loop_over_pieces_earns_full_marks():
    def maxout_forward(x, w, b):
        x_flat = x.reshape(x.shape[0], -1)
        pieces = np.stack([x_flat @ w[j] + b[j] for j in range(w.shape[0])])
        return pieces.max(axis=0), (x, w, pieces)

    def maxout_backward(dout, cache):
        x, w, pieces = cache
        x_flat = x.reshape(x.shape[0], -1)
        winner = pieces.argmax(axis=0)
        dx, dw, db = np.zeros(x_flat.shape), np.zeros(w.shape), np.zeros((w.shape[0], w.shape[2]))
        for j in range(w.shape[0]):
            g = dout * (winner == j)
            dx += g @ w[j].T
            dw[j] = x_flat.T @ g
            db[j] = g.sum(axis=0)
        return dx.reshape(x.shape), dw, db

    _full(_grade("maxout_backward", maxout_forward=maxout_forward, maxout_backward=maxout_backward))


# --- the graph, the loss layers and the network ----------------------------------------------


def test_staged_backprop_with_numpy_operations_earns_full_marks():
    """np.maximum and 0-d arrays (what the numeric check passes) are fine."""

    def staged_backprop(x, y, z):
        g = 1 / (1 + np.exp(-x))
        s = x * y + np.maximum(y, z)
        y_wins = float(y > z)
        dx = y * g + s * g * (1 - g)
        return s * g, dx, g * (x + y_wins), g * (1 - y_wins)

    _full(_grade("staged_backprop", staged_backprop=staged_backprop))


def test_staged_backprop_that_returns_a_list_is_told_the_expected_structure():
    def staged_backprop(x, y, z):
        return [0.0, 0.0, 0.0]

    result = _grade("staged_backprop", staged_backprop=staged_backprop)
    assert result.score == 0
    assert "tuple of 4 values" in result.text()


def test_softmax_loss_through_log_sum_exp_earns_full_marks():
    from scipy.special import logsumexp, softmax

    def softmax_loss(x, y):
        n = len(y)
        loss = np.mean(logsumexp(x, axis=1) - x[np.arange(n), y])
        dx = softmax(x, axis=1)
        dx[np.arange(n), y] -= 1
        return loss, dx / n

    _full(_grade("softmax_loss", softmax_loss=softmax_loss))


def test_two_layer_net_built_from_gradkit_layers_earns_full_marks():
    """The notebook allows composing gradkit's layers; only TwoLayerNet.loss is off limits."""

    def two_layer_net_loss(params, X, y, reg=0.0):
        h, c1 = layers.affine_relu_forward(X, params["W1"], params["b1"])
        s, c2 = layers.affine_forward(h, params["W2"], params["b2"])
        data_loss, ds = losses.softmax_loss(s, y)
        dh, dW2, db2 = layers.affine_backward(ds, c2)
        _, dW1, db1 = layers.affine_relu_backward(dh, c1)
        W1, W2 = params["W1"], params["W2"]
        loss = data_loss + 0.5 * reg * (np.sum(W1**2) + np.sum(W2**2))
        return loss, {"W1": dW1 + reg * W1, "b1": db1, "W2": dW2 + reg * W2, "b2": db2}

    result = _grade("two_layer_net_loss", two_layer_net_loss=two_layer_net_loss)
    _full(result)
    assert not result.problem


def test_two_layer_net_calling_the_library_model_scores_zero():
    from gradkit.models import TwoLayerNet

    def two_layer_net_loss(params, X, y, reg=0.0):
        net = TwoLayerNet(X.shape[1], params["W1"].shape[1], params["W2"].shape[1], reg=reg)
        net.params = dict(params)
        return net.loss(X, y)

    result = _grade("two_layer_net_loss", two_layer_net_loss=two_layer_net_loss)
    assert result.score == 0
    assert "TwoLayerNet.loss" in result.problem


@pytest.mark.parametrize(
    "name, mistake",
    [("staged_backprop", "fork_overwritten"), ("two_layer_net_loss", "reg_missing_in_grads")],
)
def test_a_partly_right_answer_keeps_the_points_of_what_is_right(name, mistake):
    spec = get_spec(name)
    m = next(m for m in spec.mistakes if m.id == mistake)
    result = run_spec(spec, DirectCallee(spec.implementation(m)), 2.0, TOKEN)
    assert 0 < result.score < 2.0, result.text()
    assert [c for c in result.checks if c.passed and c.kind == "values"]
