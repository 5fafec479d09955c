"""Spec of assignment 01, part 2 (linear_classifiers.ipynb): the numeric gradient."""

from __future__ import annotations

import numpy as np

from ... import gradcheck
from ..callee import Call
from ..checks import Custom, HiddenCases, NoMutation, Outputs
from ..engine import STUDENT, Context
from ..spec import Case, Fn, Mistake, Spec, inputs

ASSIGNMENT = "01_linear_models"

#: Centred differences of the probes agree with the reference's to ~1e-10
#: relative; a one-sided difference is off by ~1e-5.
NUMGRAD_RTOL = 1e-7
NUMGRAD_ATOL = 1e-9


def _numgrad_case(probe: Fn, shape: tuple[int, ...]):
    def make(rng: np.random.Generator):
        return inputs(probe, rng.standard_normal(shape))

    return make


def _hidden_numgrad(rng: np.random.Generator):
    # |a| >= 1.5: a one-sided difference is then off by ~h·|a|/2 > 7e-6 relative, far
    # outside NUMGRAD_RTOL, so it fails every hidden case whatever the student's seed.
    shape = tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 4))))
    a = float(rng.choice([-1.0, 1.0]) * rng.uniform(1.5, 3.0))
    return inputs(Fn.of("exp", a=a), rng.standard_normal(shape))


def _one_sided(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    fx = f(x)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        grad[ix] = (f(x) - fx) / h
        x[ix] = old
    return grad


def _half_step(f, x, h=1e-5):
    return 2.0 * gradcheck.eval_numerical_gradient(f, x, h)  # divided by h, not 2h


def _not_restored(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        fp = f(x)
        x[ix] = old - h
        grad[ix] = (fp - f(x)) / (2 * h)  # x[ix] is left at old − h
    return grad


NUMGRAD_SMOOTH = Case(
    "a smooth function of x of shape (3, 4)", _numgrad_case(Fn("cubic"), (3, 4)), seed=99
)
NUMGRAD_CURVED = Case(
    "exp(3x), where one-sided differences are inaccurate",
    _numgrad_case(Fn.of("exp", a=3.0), (5,)),
    seed=98,
)
NUMGRAD_SHAPE = Case("x of shape (2, 3)", _numgrad_case(Fn("quadratic"), (2, 3)), seed=97)


def _calls_f_with_whole_x(ctx: Context) -> tuple[bool, str, str, str]:
    """Judge: every call of f received an array of x's shape."""
    outcome = ctx.callees[STUDENT].run([Call("eval_numerical_gradient", NUMGRAD_SHAPE.build())])[0]
    if not outcome.ok:
        return False, f"your function {outcome.error}", "", ""
    shapes = sorted(set(outcome.probe_shapes))
    ok = bool(shapes) and shapes == [(2, 3)]
    return ok, f"f was called with arrays of shapes {shapes[:3]}", "", ""


eval_numerical_gradient = Spec(
    name="eval_numerical_gradient",
    functions={"eval_numerical_gradient": gradcheck.eval_numerical_gradient},
    checks=[
        Outputs(
            [NUMGRAD_SMOOTH],
            weight=2.0,
            rtol=NUMGRAD_RTOL,
            atol=NUMGRAD_ATOL,
            name="gradient of a smooth function matches centred differences",
        ),
        Outputs(
            [NUMGRAD_CURVED],
            weight=1.0,
            rtol=NUMGRAD_RTOL,
            atol=NUMGRAD_ATOL,
            name="accurate where one-sided differences are not",
            hint="compare f at x + h and at x − h",
        ),
        Custom(
            "f is called with arrays of x's shape",
            _calls_f_with_whole_x,
            hint="perturb one entry of x and pass the whole array to f",
        ),
        HiddenCases(_hidden_numgrad, rtol=NUMGRAD_RTOL, atol=NUMGRAD_ATOL),
        NoMutation(
            name="x holds its original values afterwards",
            hint="restore each entry after perturbing it",
        ),
    ],
    mistakes=[
        Mistake(
            "one_sided",
            "your gradient matches a one-sided difference (f(x + h) − f(x)) / h, "
            "whose error is O(h)",
            _one_sided,
        ),
        Mistake(
            "half_step",
            "your gradient is twice the centred difference: "
            "the step from x − h to x + h is 2h long",
            _half_step,
        ),
        Mistake(
            "not_restored",
            "your function leaves each perturbed entry at x − h, "
            "so later entries are computed at a shifted x",
            _not_restored,
        ),
    ],
    forbidden=(
        "gradkit.gradcheck.eval_numerical_gradient_array",
        "gradkit.gradcheck.grad_check_sparse",
        "gradkit.gradcheck.numeric_backward",
    ),
    title="numeric gradient by centred differences",
)

SPECS = [eval_numerical_gradient]
