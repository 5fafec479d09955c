"""Specs of assignment 04, part 2 (losses_for_other_tasks.ipynb): squared hinge, multi-label
hinge, sigmoid cross-entropy, L2 and L1 regression losses.

Every loss is averaged over the N rows of x and returns ``(loss, dx)``.
Hidden cases keep N >= 3 and are built so that each catalogued mistake
shows in every one of them: multi-label cases hold a −1 label with an active
margin, sigmoid cases one score of magnitude >= 50, L1 cases residuals that
are exactly 0.
"""

from __future__ import annotations

import numpy as np

from ... import losses
from ..callee import Call
from ..checks import Custom, HiddenCases, NoMutation, Outputs, OwnGradient, agree
from ..engine import REFERENCE, STUDENT, Context
from ..spec import Case, Mistake, Spec, inputs

ASSIGNMENT = "04_regularization"

#: A loss at scores of magnitude 1e4 must match to this relative error: a
#: stable loss is exact to ~1e-12 there; an unstable one is inf or nan.
STABLE_RTOL = 1e-6
MEAN = "your loss and dx equal the reference's without the 1/N average over the examples"


def no_mean(ref):
    def wrong(x, y):
        loss, dx = ref(x, y)
        return len(x) * loss, len(x) * dx

    return wrong


def uphill(ref):
    def wrong(x, y):
        loss, dx = ref(x, y)
        return loss, -dx

    return wrong


def loss_checks(cases, hidden, hint: dict[str, str], extra=()) -> list:
    return [
        Outputs(cases, weight={"loss": 1.5, "dx": 1.5}, hint=hint),
        OwnGradient(cases[0], wrt=0, of="loss", grad="dx"),
        *extra,
        HiddenCases(hidden),
        NoMutation(),
    ]


def draw_sizes(rng: np.random.Generator) -> tuple[int, int]:
    return int(rng.integers(3, 12)), int(rng.integers(3, 8))


# --------------------------------------------------------------------------- squared hinge


def hinge_case(n: int, c: int, scale: float = 1.0):
    def make(rng: np.random.Generator):
        return inputs(scale * rng.standard_normal((n, c)), rng.integers(c, size=n))

    return make


def _hidden_hinge(rng: np.random.Generator):
    n, c = draw_sizes(rng)
    x = rng.standard_normal((n, c))
    y = rng.integers(c, size=n)
    x[0, (y[0] + 1) % c] = x[0, y[0]] - 0.5  # one active margin at least
    return inputs(x, y)


def _sq_no_two(x, y):
    loss, dx = losses.squared_hinge_loss(x, y)
    return loss, dx / 2


def _sq_correct_counted(x, y):
    loss, dx = losses.squared_hinge_loss(x, y)
    return loss + 1.0, dx  # the j = y_i margin is 1, and its gradient cancels


squared_hinge_loss = Spec(
    name="squared_hinge_loss",
    functions={"squared_hinge_loss": losses.squared_hinge_loss},
    returns={"squared_hinge_loss": ("loss", "dx")},
    checks=loss_checks(
        [Case("N=6, C=4", hinge_case(6, 4), seed=81), Case("N=3, C=5", hinge_case(3, 5, 2.0), 82)],
        _hidden_hinge,
        {"loss": "square each positive margin, skip j = y_i", "dx": ""},
    ),
    mistakes=[
        Mistake(
            "no_factor_two",
            "your dx is half the reference's: the derivative of m² is 2m",
            _sq_no_two,
        ),
        Mistake(
            "correct_class_counted",
            "your loss also counts the j = y_i term, which adds a margin of 1 per example",
            _sq_correct_counted,
        ),
        Mistake("no_mean", MEAN, no_mean(losses.squared_hinge_loss)),
    ],
    title="squared multiclass hinge loss",
)

# --------------------------------------------------------------------------- multi-label hinge


def pm1_case(n: int, c: int):
    def make(rng: np.random.Generator):
        return inputs(rng.standard_normal((n, c)), rng.choice([-1, 1], size=(n, c)))

    return make


def _hidden_pm1(rng: np.random.Generator):
    n, c = draw_sizes(rng)
    x = rng.standard_normal((n, c))
    y = rng.choice([-1, 1], size=(n, c))
    y[0, 0], x[0, 0] = -1, rng.uniform(-0.5, 0.5)  # a negative label with an active margin
    return inputs(x, y)


def _ml_labels01(x, ypm1):
    x = np.asarray(x, dtype=float)
    y01 = (np.asarray(ypm1) > 0).astype(float)
    margins = np.maximum(0, 1 - y01 * x)
    return float(margins.sum() / len(x)), np.where(margins > 0, -y01, 0) / len(x)


multilabel_hinge_loss = Spec(
    name="multilabel_hinge_loss",
    functions={"multilabel_hinge_loss": losses.multilabel_hinge_loss},
    returns={"multilabel_hinge_loss": ("loss", "dx")},
    checks=loss_checks(
        [
            Case("N=5, 4 attributes", pm1_case(5, 4), 83),
            Case("N=4, 1 attribute", pm1_case(4, 1), 84),
        ],
        _hidden_pm1,
        {"loss": "one binary hinge per (example, attribute), labels ±1", "dx": ""},
    ),
    mistakes=[
        Mistake(
            "labels_01",
            "your loss treats the −1 labels as 0: each negative attribute adds a constant 1 "
            "and no gradient",
            _ml_labels01,
        ),
        Mistake(
            "uphill",
            "your dx has the opposite sign: it points uphill",
            uphill(losses.multilabel_hinge_loss),
        ),
        Mistake("no_mean", MEAN, no_mean(losses.multilabel_hinge_loss)),
    ],
    title="multi-label hinge loss, labels ±1",
)

# --------------------------------------------------------------------------- sigmoid cross-entropy


def y01_case(n: int, c: int, scale: float = 1.0):
    def make(rng: np.random.Generator):
        return inputs(scale * rng.standard_normal((n, c)), rng.integers(2, size=(n, c)))

    return make


def _hidden_y01(rng: np.random.Generator):
    n, c = draw_sizes(rng)
    x = 2 * rng.standard_normal((n, c))
    # σ rounds to 1 at x ≥ 37 and e^−x overflows at x ≤ −710: a naive loss is inf or nan here
    x[0, :2] = rng.uniform(50, 1e4), -rng.uniform(800, 1e4)
    return inputs(x, rng.integers(2, size=(n, c)))


def _sig_naive(x, y01):
    x, y = np.asarray(x, dtype=float), np.asarray(y01, dtype=float)
    s = 1 / (1 + np.exp(-x))
    loss = -np.sum(y * np.log(s) + (1 - y) * np.log(1 - s)) / len(x)
    return float(loss), (s - y) / len(x)


def _sig_softmax(x, y01):
    x, y = np.asarray(x, dtype=float), np.asarray(y01, dtype=float)
    z = x - x.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    p = np.exp(logp)
    return float(-np.sum(y * logp) / len(x)), (p * y.sum(axis=1, keepdims=True) - y) / len(x)


HUGE = Case("scores of magnitude 1e4", y01_case(4, 3, 3e3), seed=85)


def _stable(ctx: Context) -> tuple[bool, str, str, str]:
    request = [("stable", Call(ctx.spec.primary, HUGE.build(), returns=("data", "data")))]
    got, ref = ctx.run(STUDENT, request)[0], ctx.run(REFERENCE, request)[0]
    if not got.ok:
        return False, f"your function {got.error}", "", ""
    if all(agree(g, r, STABLE_RTOL, STABLE_RTOL) for g, r in zip(got.value, ref.value)):
        return True, "", "", ""
    if not np.all(np.isfinite(np.asarray(got.value[0], dtype=float))):
        return False, "your loss is inf or nan", "unstable", UNSTABLE
    return False, "loss or dx differs from the reference", "", ""


UNSTABLE = (
    "your loss overflows for large |x|: log σ(x) and log(1 − σ(x)) must not be computed "
    "from a σ that has rounded to 0 or 1"
)
SIG_CASES = [
    Case("N=5, 3 attributes", y01_case(5, 3), 86),
    Case("N=6, 1 column", y01_case(6, 1), 87),
]

sigmoid_cross_entropy_loss = Spec(
    name="sigmoid_cross_entropy_loss",
    functions={"sigmoid_cross_entropy_loss": losses.sigmoid_cross_entropy_loss},
    returns={"sigmoid_cross_entropy_loss": ("loss", "dx")},
    checks=loss_checks(
        SIG_CASES,
        _hidden_y01,
        {"loss": "one logistic regression per (example, attribute)", "dx": ""},
        extra=[
            Custom(
                "stable for |x| ~ 1e4",
                _stable,
                hint="write log(1 + e^s) with np.logaddexp(0, s)",
            )
        ],
    ),
    mistakes=[
        Mistake("unstable", UNSTABLE, _sig_naive),
        Mistake(
            "softmax",
            "your loss couples the attributes through one softmax per row; each attribute needs "
            "its own sigmoid",
            _sig_softmax,
        ),
        Mistake(
            "uphill",
            "your dx has the opposite sign: it points uphill",
            uphill(losses.sigmoid_cross_entropy_loss),
        ),
        Mistake("no_mean", MEAN, no_mean(losses.sigmoid_cross_entropy_loss)),
    ],
    title="sigmoid cross-entropy per attribute",
)

SPECS = [squared_hinge_loss, multilabel_hinge_loss, sigmoid_cross_entropy_loss]
