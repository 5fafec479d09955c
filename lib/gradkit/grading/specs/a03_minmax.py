"""Specs of assignment 03, part 1 (preprocessing.ipynb): min-max scaling to [−1, 1], a fit
function (the training range of each feature) and an apply function (any split).

Inputs and the apply-function checks are shared with :mod:`.a03_scaling`.
"""

from __future__ import annotations

from ... import preprocessing as pp
from ..checks import HiddenCases, NoMutation
from ..spec import Case, Mistake, Spec
from .a03_scaling import (
    REFIT,
    REFIT_HINT,
    SCALING,
    _apply_checks,
    _hidden_split,
    _hidden_train,
    _refit,
    _split,
    _stats_check,
    _train,
)

ASSIGNMENT = "03_data_and_init"


def fit_minmax(X):
    stats = pp.fit_minmax(X)
    return {"min": stats["min"], "max": stats["max"]}


def _minmax_per_example(X):
    return {"min": X.min(axis=1), "max": X.max(axis=1)}


def _minmax_zero_one(X, stats):
    return (pp.minmax_scale(X, stats) + 1) / 2  # onto [0, 1] instead of [-1, 1]


fit_minmax_spec = Spec(
    name="fit_minmax",
    functions={"fit_minmax": fit_minmax},
    returns={"fit_minmax": "stats"},
    checks=[
        _stats_check(Case("X (15, 4)", _train(15, 4), seed=10), weight=2.0),
        HiddenCases(_hidden_train()),
        NoMutation(),
    ],
    mistakes=[
        Mistake(
            "per_example",
            "your min and max have one entry per example: they are taken over each row's "
            "features instead of over the examples",
            _minmax_per_example,
        )
    ],
    forbidden=(f"{SCALING}.fit_minmax",),
    title="range of each feature on the training split",
)

minmax_scale_spec = Spec(
    name="minmax_scale",
    functions={"minmax_scale": pp.minmax_scale},
    returns={"minmax_scale": "out"},
    checks=_apply_checks(
        [
            Case("X_val (7, 4), stats of a training split", _split(fit_minmax, 14, 4), seed=11),
            Case("a constant feature maps to 0", _split(fit_minmax, 10, 3, constant=True), seed=12),
        ],
        _hidden_split(fit_minmax, constant=True),
        REFIT_HINT,
    ),
    mistakes=[
        Mistake("refit", REFIT, _refit(fit_minmax, pp.minmax_scale)),
        Mistake(
            "zero_one",
            "your output maps the training range onto [0, 1] instead of [−1, 1]",
            _minmax_zero_one,
        ),
    ],
    title="scale any split so the training range becomes [−1, 1]",
)

SPECS = [fit_minmax_spec, minmax_scale_spec]
