"""Specs of assignment 01, part 2 (linear_classifiers.ipynb): the SVM and softmax losses on W."""

from __future__ import annotations

import numpy as np

from ... import linear
from .. import mistakes as mk
from ..checks import HiddenCases, NoMutation, Outputs, OwnGradient, Speed
from ..spec import Case, Mistake, Spec, inputs

ASSIGNMENT = "01_linear_models"

#: A loss at scores of magnitude 1e4 must match to this relative error: a
#: stable loss is exact to ~1e-12 there, an unstable one is inf or nan.
STABLE_RTOL = 1e-6
#: A vectorized loss may take this many times the reference's time: a Python
#: loop over the examples is 50–500× slower at the timing size, any
#: reasonable vectorization within 1–3×.
SPEED_FACTOR = 10.0


def w_problem(n: int, d: int, c: int, scale: float = 1.0, reg: float = 0.0):
    """Inputs ``(W (d, c), X (n, d), y (n,), reg)`` with standard-normal X and W."""

    def make(rng: np.random.Generator):
        X = rng.standard_normal((n, d))
        W = scale * rng.standard_normal((d, c))
        return inputs(W, X, rng.integers(c, size=n), reg=reg)

    return make


def hidden_w_problem(rng: np.random.Generator):
    # N >= 3 and reg > 0 in every case, so each catalogued mistake (a missing
    # 1/N, a regularization slip) fails every hidden case whatever the seed:
    # the same mistake costs every student the same.
    n, d, c = int(rng.integers(3, 30)), int(rng.integers(1, 20)), int(rng.integers(2, 12))
    reg = float(rng.uniform(0.05, 2.0))
    return w_problem(n, d, c, scale=float(rng.uniform(0.05, 3.0)), reg=reg)(rng)


SMALL = Case("N=6, D=5, C=3", w_problem(6, 5, 3, scale=0.5), seed=231)
REG = Case("N=6, D=5, C=3, reg=0.3", w_problem(6, 5, 3, scale=0.5, reg=0.3), seed=231)
HUGE = Case("scores of magnitude 1e4", w_problem(4, 3, 4, scale=3e3), seed=7)
#: Many examples of few features: a loop over the examples costs ~70x the vectorized loss
#: here (64 ms against 0.9 ms), far beyond the per-call cost of timing through the bridge.
TIMING = Case("N=4000, D=64, C=10", w_problem(4000, 64, 10, scale=0.01, reg=1e-3), seed=3)


def _svm_correct_class_counted(W, X, y, reg):
    loss, dW = linear.svm_loss_vectorized(W, X, y, reg)
    return loss + 1.0, dW  # the j = y_i margin is always 1, and its gradient cancels


def _svm_correct_column_added(W, X, y, reg):
    n = X.shape[0]
    scores = X @ W
    margins = scores - scores[np.arange(n), y][:, None] + 1
    margins[np.arange(n), y] = 0
    active = (margins > 0).astype(float)
    active[np.arange(n), y] = active.sum(axis=1)  # + instead of −
    loss = np.sum(margins * (margins > 0)) / n + 0.5 * reg * np.sum(W * W)
    return float(loss), X.T @ active / n + reg * W


def _softmax_without_indicator(W, X, y, reg):
    scores = X @ W
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss, _ = linear.softmax_loss_vectorized(W, X, y, reg)
    return loss, X.T @ p / X.shape[0] + reg * W  # p, not p − 1[j = y_i]


def _common(ref) -> list[Mistake]:
    return [
        Mistake(
            "no_mean",
            "your loss and dW equal the reference's without the 1/N average over the examples",
            mk.without_mean(ref),
        ),
        Mistake(
            "no_mean_in_dW",
            "your dW equals the reference's without the 1/N average (your loss has it)",
            mk.without_mean_in_grad(ref),
        ),
        Mistake(
            "reg_missing_in_dW",
            "your dW lacks the gradient of the regularization term",
            mk.reg_missing_in_grad(ref),
        ),
        Mistake(
            "reg_missing_in_loss",
            "your loss lacks the regularization term ½·reg·ΣW²",
            mk.reg_missing_in_loss(ref),
        ),
        Mistake(
            "reg_without_half",
            "your loss uses reg·ΣW², twice the course's ½·reg·ΣW²",
            mk.reg_without_half(ref),
        ),
        Mistake(
            "reg_twice_in_dW",
            "your dW adds the regularization gradient twice",
            mk.reg_twice_in_grad(ref),
        ),
    ]


SVM_MISTAKES = [
    *_common(linear.svm_loss_vectorized),
    Mistake(
        "j_equals_y_counted",
        "your loss also sums the j = y_i term, which adds a margin of 1 per example",
        _svm_correct_class_counted,
    ),
    Mistake(
        "correct_column_sign",
        "your dW adds x_i to the correct class's column, "
        "where each active margin should take it away",
        _svm_correct_column_added,
    ),
]
SOFTMAX_MISTAKES = [
    *_common(linear.softmax_loss_vectorized),
    Mistake(
        "no_indicator",
        "your dW uses the probabilities p without subtracting 1 at the correct class",
        _softmax_without_indicator,
    ),
]


def weight_loss_spec(
    name: str, ref, mistakes: list[Mistake], vectorized: bool, softmax: bool
) -> Spec:
    """The spec of a loss ``f(W, X, y, reg) -> (loss, dW)`` on a linear classifier's weights."""
    checks = [
        Outputs(
            [SMALL],
            weight=1.0,
            hint={
                "loss": "work the formula by hand on a tiny case",
                "dW": "each active margin adds to one column and subtracts from another"
                if not softmax
                else "the gradient with respect to the scores is p minus the one-hot labels",
            },
        ),
        Outputs(
            [REG],
            weight=1.0,
            isolate={"reg": 0.0},
            name="regularization term in {output} (reg=0.3)",
        ),
        OwnGradient(SMALL, wrt=0, of="loss", grad="dW"),
        HiddenCases(hidden_w_problem),
        NoMutation(),
        Outputs(
            [HUGE],
            outputs=["loss"],
            kind="extra",
            weight=0.5,
            rtol=STABLE_RTOL,
            atol=STABLE_RTOL,
            name="stable for scores of magnitude 1e4",
            hint="exponentials of scores near 1e4 overflow: "
            "shift each row of scores before exponentiating"
            if softmax
            else "compute margins from score differences",
        ),
    ]
    if vectorized:
        checks.append(Speed(TIMING, factor=SPEED_FACTOR))
    kind = "softmax" if softmax else "multiclass SVM"
    return Spec(
        name=name,
        functions={name: ref},
        returns={name: ("loss", "dW")},
        checks=checks,
        mistakes=mistakes,
        forbidden=(
            "gradkit.losses.svm_loss",
            "gradkit.losses.softmax_loss",
            "gradkit.linear.classifier_losses.svm_loss_vectorized",
            "gradkit.linear.classifier_losses.softmax_loss_vectorized",
            "gradkit.linear.classifier_losses.svm_loss_naive",
            "gradkit.linear.classifier_losses.softmax_loss_naive",
        ),
        title=f"{kind} loss and gradient, {'vectorized' if vectorized else 'with loops'}",
    )


svm_loss_naive = weight_loss_spec(
    "svm_loss_naive", linear.svm_loss_naive, SVM_MISTAKES, False, False
)
svm_loss_vectorized = weight_loss_spec(
    "svm_loss_vectorized", linear.svm_loss_vectorized, SVM_MISTAKES, True, False
)
softmax_loss_naive = weight_loss_spec(
    "softmax_loss_naive", linear.softmax_loss_naive, SOFTMAX_MISTAKES, False, True
)
softmax_loss_vectorized = weight_loss_spec(
    "softmax_loss_vectorized", linear.softmax_loss_vectorized, SOFTMAX_MISTAKES, True, True
)


SPECS = [svm_loss_naive, svm_loss_vectorized, softmax_loss_naive, softmax_loss_vectorized]
