"""Specs of assignment 04, part 1 (penalties_and_dropout.ipynb): a penalty over a model's
parameters (biases and batch-norm gamma/beta skipped) and the max-norm constraint, which
rescales each unit's incoming weight vector (a column of w (D, M)) to norm at most c.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ... import regularization as reg_lib
from ..checks import HiddenCases, NoMutation, Outputs
from ..engine import Context
from ..result import CheckResult
from ..spec import Case, Mistake, Spec, inputs
from .a04_penalties import PENALTIES, draw_weights

ASSIGNMENT = "04_regularization"

OVER = reg_lib.penalty_over_params
MAXNORM = reg_lib.max_norm_project

# --------------------------------------------------------------------------- over a params dict


def params_case(kind: str, strength, sizes=((5, 4), (4, 3)), norm: bool = True):
    """A two-layer params dict: W1, b1, W2, b2 (and gamma1, beta1 when ``norm``)."""

    def make(rng: np.random.Generator):
        (d, h), (_, c) = sizes
        params = {
            "W1": draw_weights(rng, (d, h), kind != "l2"),
            "b1": rng.standard_normal(h),
            "W2": draw_weights(rng, (h, c), kind != "l2"),
            "b2": rng.standard_normal(c),
        }
        if norm:
            params["gamma1"] = 1 + 0.3 * rng.standard_normal(h)
            params["beta1"] = rng.standard_normal(h)
        return inputs(params, strength, kind)

    return make


def _hidden_params(kind: str):
    def make(rng: np.random.Generator):
        d, h, c = (int(k) for k in rng.integers(2, 7, size=3))
        if kind == "elastic_net":
            l1 = float(rng.uniform(0.05, 0.4))
            strength: float | tuple[float, float] = (l1, l1 + float(rng.uniform(0.2, 1.5)))
        else:
            strength = float(rng.uniform(0.05, 0.8))
        return params_case(kind, strength, ((d, h), (h, c)))(rng)

    return make


@dataclass
class HiddenKind:
    """Hidden case number ``number``, always of penalty ``kind``: every student gets one hidden
    case per kind, so a bug in one kind's branch costs everyone the same."""

    #: Draws its cases from the student's hidden seed: run after every other check.
    reads_hidden: ClassVar[bool] = True

    kind: str
    number: int

    def run(self, ctx: Context) -> list[CheckResult]:
        results = HiddenCases(_hidden_params(self.kind), count=1, weight=2 / 3).run(ctx)
        for r in results:
            r.name = f"hidden case {self.number}"
        return results


def _over_biases_penalized(params, reg, kind="l2", skip=reg_lib.UNREGULARIZED_PREFIXES):
    return OVER(params, reg, kind, skip=())


def _over_gamma_penalized(params, reg, kind="l2", skip=reg_lib.UNREGULARIZED_PREFIXES):
    return OVER(params, reg, kind, skip=("b",))


OVER_L2 = Case("W1, b1, gamma1, beta1, W2, b2; kind='l2', reg=0.4", params_case("l2", 0.4), 47)

penalty_over_params = Spec(
    name="penalty_over_params",
    functions={"penalty_over_params": OVER},
    returns={"penalty_over_params": ("total", "grads")},
    checks=[
        Outputs([OVER_L2], weight={"total": 1.0, "grads": 1.0}),
        Outputs(
            [
                Case("kind='l1', reg=0.3", params_case("l1", 0.3, norm=False), 48),
                Case(
                    "kind='elastic_net', reg=(0.2, 0.6)", params_case("elastic_net", (0.2, 0.6)), 49
                ),
            ],
            combine=True,
            name="kind='l1' and kind='elastic_net' use the matching penalty",
            hint="call your l1_penalty or elastic_net_penalty according to kind",
        ),
        *[HiddenKind(kind, k) for k, kind in enumerate(("l2", "l1", "elastic_net"), start=1)],
        NoMutation(),
    ],
    mistakes=[
        Mistake(
            "biases_penalized",
            "your total and grads also penalize the biases (b1, b2, …), which are not regularized",
            _over_biases_penalized,
        ),
        Mistake(
            "gamma_penalized",
            "your total and grads also penalize the batch-norm scales gamma, which are not "
            "regularized",
            _over_gamma_penalized,
        ),
    ],
    forbidden=PENALTIES,
    title="a penalty summed over a model's weights, biases skipped",
)

# --------------------------------------------------------------------------- max-norm


def maxnorm_case(d: int, m: int, c: float, long: int, axis: int | None = None):
    """w (d, m) whose first ``long`` columns (rows when axis=1) have norm in (1.2c, 3c) and the
    others norm in (0.2c, 0.8c): some vectors are projected, some are left alone."""

    def make(rng: np.random.Generator):
        along = 1 if axis == 1 else 0
        w = rng.standard_normal((d, m))
        norms = np.sqrt(np.sum(w * w, axis=along, keepdims=True))
        count = norms.size
        target = np.where(
            np.arange(count) < long,
            rng.uniform(1.2 * c, 3 * c, count),
            rng.uniform(0.2 * c, 0.8 * c, count),
        )
        w = w / norms * rng.permutation(target).reshape(norms.shape)
        return inputs(w, c) if axis is None else inputs(w, c, axis=axis)

    return make


def _hidden_maxnorm(rng: np.random.Generator):
    d, m = (int(k) for k in rng.integers(3, 9, size=2))
    c = float(rng.uniform(1.5, 5))
    return maxnorm_case(d, m, c, long=int(rng.integers(1, m)))(rng)


def _maxnorm_rows(w, c, axis=0):
    return MAXNORM(w, c, axis=1 - axis % 2)


def _maxnorm_always(w, c, axis=0):
    w = np.asarray(w, dtype=float)
    return w * c / np.sqrt(np.sum(w * w, axis=axis, keepdims=True))


def _maxnorm_clip(w, c, axis=0):
    return np.clip(np.asarray(w, dtype=float), -c, c)


def _maxnorm_unit(w, c, axis=0):
    w = np.asarray(w, dtype=float)
    norms = np.sqrt(np.sum(w * w, axis=axis, keepdims=True))
    return np.where(norms > c, w / norms, w)


def _maxnorm_in_place(w, c, axis=0):
    w[...] = MAXNORM(w, c, axis)
    return w


MAXNORM_CASE = Case("w (6, 5), c=3: two columns longer than c", maxnorm_case(6, 5, 3.0, 2), 50)

max_norm_project = Spec(
    name="max_norm_project",
    functions={"max_norm_project": MAXNORM},
    checks=[
        Outputs(
            [MAXNORM_CASE],
            weight=3.0,
            name="each unit's weight vector (a column) is clamped to norm c",
            hint="compute one norm per column of w; rescale only the columns longer than c",
        ),
        Outputs(
            [Case("w (4, 7), c=4, axis=1: rows are the units", maxnorm_case(4, 7, 4.0, 2, 1), 51)],
            name="axis=1 clamps rows instead",
        ),
        HiddenCases(_hidden_maxnorm),
        NoMutation(hint="return a new array: the caller's weights must not change"),
    ],
    mistakes=[
        Mistake(
            "rows",
            "your function clamps the rows of w; a unit's incoming weights are a column of "
            "w (D, M)",
            _maxnorm_rows,
        ),
        Mistake(
            "always_rescaled",
            "your function also rescales vectors already inside the ball, so every vector ends "
            "with norm exactly c",
            _maxnorm_always,
        ),
        Mistake(
            "clipped_entries",
            "your function clips each weight to [−c, c]; max-norm rescales the whole vector",
            _maxnorm_clip,
        ),
        Mistake(
            "unit_norm",
            "your projected vectors end with norm 1 instead of c",
            _maxnorm_unit,
        ),
        Mistake(
            "in_place",
            "your function writes the projected weights into w itself",
            _maxnorm_in_place,
        ),
    ],
    title="max-norm projection of each unit's weights",
)

SPECS = [penalty_over_params, max_norm_project]
