"""Specs of assignment 03, part 1 (preprocessing.ipynb): centring and standardizing, each a fit
function (statistics of the training split) and an apply function (any split).

The student's fit functions return only the statistics (``{'mean'}``, ``{'mean', 'std'}``);
the references below are gradkit's fitters without their ``'mode'`` entry.
Apply functions are graded on a *validation* split drawn from another distribution than the
training split the statistics come from, so refitting on the split being transformed always
shows.
"""

from __future__ import annotations

import numpy as np

from ... import preprocessing as pp
from ..checks import HiddenCases, NoMutation, Outputs
from ..spec import Case, Mistake, Spec, inputs

ASSIGNMENT = "03_data_and_init"

SCALING = "gradkit.preprocessing.scaling"


def fit_center(X, mode="feature"):
    return {"mean": pp.fit_center(X, mode)["mean"]}


def fit_standardize(X, eps=1e-8):
    stats = pp.fit_standardize(X, eps=eps)
    return {"mean": stats["mean"], "std": stats["std"]}


# --- inputs ------------------------------------------------------------------------------


def _source(rng: np.random.Generator, d: int):
    """A sampler of features with different offsets and scales (so every per-feature
    statistic differs); ``shift`` moves a split away from the training distribution."""
    loc, scale = rng.uniform(-3, 3, d), rng.uniform(0.5, 3, d)
    return lambda n, shift=0.0: loc + shift + scale * (1 + shift / 4) * rng.standard_normal((n, d))


def _train(n, d, constant=False, **kwargs):
    def make(rng):
        X = _source(rng, d)(n)
        if constant:
            X[:, int(rng.integers(d))] = float(rng.uniform(-2, 2))
        return inputs(X, **kwargs)

    return make


def _images(rng):
    rgb = np.array([0.6, 0.3, -0.4])  # three channels with different means
    return inputs(rgb + 0.5 * rng.standard_normal((6, 4, 4, 3)), mode="channel")


def _hidden_train(constant=False):
    # N >= 3, N != D, and a constant feature when asked: every mistake below shows.
    def make(rng):
        d = int(rng.integers(2, 7))
        return _train(int(rng.integers(d + 1, 30)), d, constant)(rng)

    return make


def _split(fitter, n, d, constant=False, shift=1.0):
    """``inputs(X_val, stats)``: stats fitted on a training split, X_val from a shifted one."""

    def make(rng):
        sample = _source(rng, d)
        X_train = sample(n)
        X_val = sample(max(3, n // 2), shift=shift)
        if constant:
            col = int(rng.integers(d))
            X_train[:, col] = X_val[:, col] = float(rng.uniform(-2, 2))
        return inputs(X_val, fitter(X_train))

    return make


def _hidden_split(fitter, constant=False):
    def make(rng):
        d = int(rng.integers(2, 7))
        return _split(fitter, int(rng.integers(d + 4, 40)), d, constant)(rng)

    return make


def _val_images(rng):
    X_train = np.array([0.6, 0.3, -0.4]) + 0.5 * rng.standard_normal((8, 4, 4, 3))
    X_val = np.array([1.6, -0.3, 0.4]) + 0.5 * rng.standard_normal((5, 4, 4, 3))
    return inputs(X_val, fit_center(X_train, mode="channel"))


def _apply_checks(cases, hidden, hint=""):
    return [
        Outputs(cases, weight=3.0, name="the output matches the reference ({n} cases)", hint=hint),
        HiddenCases(hidden),
        NoMutation(),
    ]


# --- mistakes ----------------------------------------------------------------------------


def _center_per_example(X, mode="feature"):
    if mode != "feature":
        return fit_center(X, mode)
    return {"mean": X.mean(axis=1)}  # each example's own mean


def _center_channel_per_pixel(X, mode="feature"):
    return fit_center(X, "feature" if mode == "channel" else mode)


def _refit(fitter, apply):
    def wrong(X, stats):
        return apply(X, fitter(X))  # statistics of the split being transformed

    return wrong


def _std_ddof1(X, eps=1e-8):
    std = X.std(axis=0, ddof=1)
    return {"mean": X.mean(axis=0), "std": np.where(std > eps, std, 1.0)}


def _std_variance(X, eps=1e-8):
    var = X.var(axis=0)
    return {"mean": X.mean(axis=0), "std": np.where(np.sqrt(var) > eps, var, 1.0)}


def _std_no_guard(X, eps=1e-8):
    return {"mean": X.mean(axis=0), "std": X.std(axis=0)}


def _standardize_no_center(X, stats):
    return X / stats["std"]


def _stats_check(case: Case, weight: float = 1.0, name: str = "") -> Outputs:
    return Outputs(
        [case], weight=weight, name=name or f"the stats match the reference ({case.label})"
    )


REFIT = "your output equals the reference's with statistics computed from the split you were given"
REFIT_HINT = "an apply function uses the statistics it is given: it never recomputes them from X"

# --- specs -------------------------------------------------------------------------------

fit_center_spec = Spec(
    name="fit_center",
    functions={"fit_center": fit_center},
    returns={"fit_center": "stats"},
    checks=[
        _stats_check(Case("mode='feature', X (20, 5)", _train(20, 5), seed=1), weight=2.0),
        _stats_check(Case("mode='global', X (12, 4)", _train(12, 4, mode="global"), seed=2)),
        _stats_check(Case("mode='channel', images (6, 4, 4, 3)", _images, seed=3)),
        HiddenCases(_hidden_train()),
        NoMutation(),
    ],
    mistakes=[
        Mistake(
            "per_example",
            "your mean has one entry per example: it averages each row over its features "
            "instead of each feature over the examples",
            _center_per_example,
        ),
        Mistake(
            "channel_per_pixel",
            "in mode='channel' your mean differs from pixel to pixel: it is the per-feature mean, "
            "not one mean per colour channel",
            _center_channel_per_pixel,
        ),
    ],
    forbidden=(f"{SCALING}.fit_center", f"{SCALING}.fit_standardize"),
    title="mean of the training split: per feature, global, per channel",
)

center_spec = Spec(
    name="center",
    functions={"center": pp.center},
    returns={"center": "out"},
    checks=_apply_checks(
        [
            Case("X_val (8, 4), stats of a training split", _split(fit_center, 16, 4), seed=4),
            Case("images (5, 4, 4, 3), per-channel stats", _val_images, seed=5),
        ],
        _hidden_split(fit_center),
        REFIT_HINT,
    ),
    mistakes=[Mistake("refit", REFIT, _refit(fit_center, pp.center))],
    forbidden=(f"{SCALING}.standardize",),
    title="subtract the training mean from any split",
)

fit_standardize_spec = Spec(
    name="fit_standardize",
    functions={"fit_standardize": fit_standardize},
    returns={"fit_standardize": "stats"},
    checks=[
        _stats_check(Case("X (25, 4)", _train(25, 4), seed=6), weight=2.0),
        Outputs(
            [Case("X (10, 3) with a constant feature", _train(10, 3, constant=True), seed=7)],
            name="a constant feature gets std 1",
        ),
        HiddenCases(_hidden_train(constant=True)),
        NoMutation(),
    ],
    mistakes=[
        Mistake(
            "unbiased",
            "your std divides by N − 1 (the unbiased estimate); the course uses 1/N",
            _std_ddof1,
        ),
        Mistake(
            "variance",
            "your 'std' entries are variances: the square root is missing",
            _std_variance,
        ),
        Mistake(
            "no_guard",
            "a constant feature gets std 0 in your stats (dividing by it later gives inf or nan)",
            _std_no_guard,
        ),
    ],
    forbidden=(f"{SCALING}.fit_standardize",),
    title="mean and standard deviation of the training split",
)

standardize_spec = Spec(
    name="standardize",
    functions={"standardize": pp.standardize},
    returns={"standardize": "out"},
    checks=_apply_checks(
        [
            Case("X_val (9, 4), stats of a training split", _split(fit_standardize, 18, 4), seed=8),
            Case(
                "a constant feature (std 1 in the stats)",
                _split(fit_standardize, 12, 3, constant=True),
                seed=9,
            ),
        ],
        _hidden_split(fit_standardize, constant=True),
        REFIT_HINT,
    ),
    mistakes=[
        Mistake("refit", REFIT, _refit(fit_standardize, pp.standardize)),
        Mistake(
            "no_center",
            "your output is X divided by the std, without subtracting the mean first",
            _standardize_no_center,
        ),
    ],
    forbidden=(f"{SCALING}.center",),
    title="standardize any split with the training statistics",
)

SPECS = [fit_center_spec, center_spec, fit_standardize_spec, standardize_spec]
