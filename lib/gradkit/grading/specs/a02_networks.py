"""Specs of assignment 02: the loss layers on scores (backprop_layers.ipynb) and the two-layer
network's loss and gradients (neural_nets.ipynb), whose reference is the library's
:func:`gradkit.models.two_layer_net.two_layer_net_loss`, which ``TwoLayerNet.loss`` calls
(so that method is forbidden too)."""

from __future__ import annotations

import numpy as np

from ... import losses
from ...models.two_layer_net import two_layer_net_loss
from .. import mistakes as mk
from ..checks import HiddenCases, NoMutation, Outputs, OwnGradient
from ..kinds import model_spec
from ..spec import Case, Inputs, Mistake, Spec, inputs

ASSIGNMENT = "02_backprop"

#: A loss at scores of magnitude 1e4 must match to this relative error: a stable loss is
#: exact to ~1e-12 there, an unstable one is inf or nan.
STABLE_RTOL = 1e-6


# ----------------------------------------------------------------------- loss layers


def _scores_case(n: int, c: int, scale: float = 1.0):
    def make(rng: np.random.Generator) -> Inputs:
        return inputs(scale * rng.standard_normal((n, c)), rng.integers(c, size=n))

    return make


def _hidden_scores(rng: np.random.Generator) -> Inputs:
    # N ≥ 3 (a missing 1/N shows) and scores spread wide enough that some margins are
    # active and some are not in every case.
    n, c = int(rng.integers(3, 12)), int(rng.integers(3, 8))
    return _scores_case(n, c, scale=float(rng.uniform(0.5, 2.0)))(rng)


def _summed(ref):
    def wrong(x, y):
        loss, dx = ref(x, y)
        return loss * len(y), dx * len(y)

    return wrong


def _summed_dx(ref):
    def wrong(x, y):
        loss, dx = ref(x, y)
        return loss, dx * len(y)

    return wrong


def _svm_counts_correct_class(x, y):
    loss, dx = losses.svm_loss(x, y)
    return loss + 1.0, dx  # the j = y_i term is always max(0, 1) = 1; its gradient cancels


def _svm_correct_class_sign(x, y):
    loss, dx = losses.svm_loss(x, y)
    rows = np.arange(len(y))
    dx = dx.copy()
    dx[rows, y] = -dx[rows, y]  # + (number of active margins) / N at the correct class
    return loss, dx


def _softmax_no_indicator(x, y):
    loss, dx = losses.softmax_loss(x, y)
    dx = dx.copy()
    dx[np.arange(len(y)), y] += 1.0 / len(y)  # p / N, without the − 1 at the correct class
    return loss, dx


def loss_layer_spec(name: str, ref, extra: list[Mistake], softmax: bool) -> Spec:
    """``loss_fn(x, y) -> (loss, dx)`` on scores ``x (N, C)``."""
    small = Case("N=5, C=4", _scores_case(5, 4), seed=61)
    huge = Case("scores of magnitude 1e4", _scores_case(4, 3, scale=3e3), seed=62)
    return Spec(
        name=name,
        functions={name: ref},
        returns={name: ("loss", "dx")},
        checks=[
            Outputs(
                [small, Case("N=8, C=3, wide scores", _scores_case(8, 3, 3.0), seed=63)],
                weight=2.0,
                hint={
                    "loss": "work one example by hand, then average over the N examples",
                    "dx": "the gradient with respect to the scores is p minus the one-hot labels"
                    if softmax
                    else "each active margin adds to its class and subtracts from the correct one",
                },
            ),
            OwnGradient(small, wrt=0, of="loss", grad="dx"),
            HiddenCases(_hidden_scores),
            NoMutation(),
            Outputs(
                [huge],
                outputs=["loss"],
                kind="extra",
                weight=0.5,
                rtol=STABLE_RTOL,
                atol=STABLE_RTOL,
                name="stable for scores of magnitude 1e4",
                hint="shift each row of scores by its maximum before exponentiating"
                if softmax
                else "compute margins from score differences",
            ),
        ],
        mistakes=[
            Mistake(
                "no_mean",
                "your loss and dx equal the reference's without the 1/N average",
                _summed(ref),
            ),
            Mistake(
                "no_mean_in_dx",
                "your dx equals the reference's without the 1/N average (your loss has it)",
                _summed_dx(ref),
            ),
            *extra,
        ],
        forbidden=(
            "gradkit.linear.classifier_losses.svm_loss_vectorized",
            "gradkit.linear.classifier_losses.softmax_loss_vectorized",
        ),
        title=f"{'softmax' if softmax else 'multiclass SVM'} loss layer on scores",
    )


svm_loss_spec = loss_layer_spec(
    "svm_loss",
    losses.svm_loss,
    [
        Mistake(
            "j_equals_y_counted",
            "your loss also counts the j = y_i term, which adds a margin of 1 per example",
            _svm_counts_correct_class,
        ),
        Mistake(
            "correct_class_sign",
            "your dx adds at the correct class where each active margin should take away",
            _svm_correct_class_sign,
        ),
    ],
    softmax=False,
)
softmax_loss_spec = loss_layer_spec(
    "softmax_loss",
    losses.softmax_loss,
    [
        Mistake(
            "no_indicator",
            "your dx is the probabilities p / N without subtracting 1 at the correct class",
            _softmax_no_indicator,
        )
    ],
    softmax=True,
)


# ------------------------------------------------------------------- two-layer network


def _by_hand(params, X, y, reg, mask=True, w2_from_pre=False, reg_biases=False):
    """The two-layer loss written out, with switches for the classic slips."""
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    n = X.shape[0]
    a = X @ W1 + b1
    h = np.maximum(a, 0)
    scores = h @ W2 + b2
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), y])) + 0.5 * reg * (np.sum(W1**2) + np.sum(W2**2))
    ds = p.copy()
    ds[np.arange(n), y] -= 1
    ds /= n
    grads = {"W2": (a if w2_from_pre else h).T @ ds + reg * W2, "b2": ds.sum(axis=0)}
    dh = ds @ W2.T
    da = dh * (a > 0) if mask else dh
    grads["W1"] = X.T @ da + reg * W1
    grads["b1"] = da.sum(axis=0)
    if reg_biases:
        loss += 0.5 * reg * (np.sum(b1**2) + np.sum(b2**2))
        grads["b1"] = grads["b1"] + reg * b1
        grads["b2"] = grads["b2"] + reg * b2
    return float(loss), grads


def _net_case(n: int, d: int, h: int, c: int, reg: float):
    def make(rng: np.random.Generator) -> Inputs:
        params = {
            "W1": 0.5 * rng.standard_normal((d, h)),
            "b1": 0.1 * rng.standard_normal(h),
            "W2": 0.5 * rng.standard_normal((h, c)),
            "b2": 0.1 * rng.standard_normal(c),
        }
        return inputs(params, rng.standard_normal((n, d)), rng.integers(c, size=n), reg=reg)

    return make


def _net_hidden(rng: np.random.Generator) -> Inputs:
    # N ≥ 3, reg > 0, non-zero biases and N·H ≥ 12 pre-activations (some negative in
    # every case): each catalogued mistake fails every hidden case.
    n, d = int(rng.integers(3, 8)), int(rng.integers(2, 6))
    h, c = int(rng.integers(4, 8)), int(rng.integers(2, 5))
    return _net_case(n, d, h, c, float(rng.uniform(0.05, 1.0)))(rng)


two_layer_net_loss_spec = model_spec(
    "two_layer_net_loss",
    two_layer_net_loss,
    [Case("N=5, D=4, H=6, C=3, reg=0.2", _net_case(5, 4, 6, 3, 0.2), seed=71)],
    hidden=_net_hidden,
    mistakes=[
        Mistake(
            "no_mean",
            "your loss and grads are sums over the examples, not averages",
            mk.without_mean(two_layer_net_loss, n_at=1, reg_at="reg"),
        ),
        Mistake(
            "reg_missing_in_grads",
            "your grads lack the gradient of the regularization term",
            mk.reg_missing_in_grad(two_layer_net_loss, reg_at="reg"),
        ),
        Mistake(
            "reg_missing_in_loss",
            "your loss lacks the regularization term ½·reg·(ΣW1² + ΣW2²)",
            mk.reg_missing_in_loss(two_layer_net_loss, reg_at="reg"),
        ),
        Mistake(
            "reg_without_half",
            "your loss uses reg·ΣW², twice the course's ½·reg·ΣW²",
            mk.reg_without_half(two_layer_net_loss, reg_at="reg"),
        ),
        Mistake(
            "biases_regularized",
            "your loss and grads also penalize the biases b1 and b2",
            lambda params, X, y, reg=0.0: _by_hand(params, X, y, reg, reg_biases=True),
        ),
        Mistake(
            "relu_mask_missing",
            "your grads of W1 and b1 pass through the ReLU unmasked, also where the hidden "
            "pre-activation was negative",
            lambda params, X, y, reg=0.0: _by_hand(params, X, y, reg, mask=False),
        ),
        Mistake(
            "w2_from_pre_activation",
            "your grads['W2'] use the hidden layer before the ReLU instead of after it",
            lambda params, X, y, reg=0.0: _by_hand(params, X, y, reg, w2_from_pre=True),
        ),
    ],
    title="two-layer network: loss and gradients",
)
two_layer_net_loss_spec.forbidden = ("gradkit.models.two_layer_net.TwoLayerNet.loss",)

SPECS = [svm_loss_spec, softmax_loss_spec, two_layer_net_loss_spec]
