"""Checker for the numeric gradient students write in assignment 01.

See :mod:`gradkit.grading.checker` for how sub-checks are scored.
"""

from __future__ import annotations

import numpy as np

from .. import gradcheck
from .check_linear import NUM_HIDDEN_CASES, NUMGRAD_TOL
from .checker import Checker, describe_diff
from .seeds import hidden_rng

__all__ = ["check_eval_numerical_gradient"]


def _cubic(x):
    """f(x) = Σ x³ + Σ sin(x)·x — smooth, with a large enough third derivative
    that one-sided differences (error ∝ h) fail where centred ones (∝ h²) pass."""
    return float(np.sum(x**3) + np.sum(np.sin(x) * x))


def _cubic_grad(x):
    return 3 * x**2 + np.cos(x) * x + np.sin(x)


def _exp_quad(a):
    """f(x) = Σ exp(a·x) — a second derivative a² exp(ax) makes h-sized errors visible."""

    def f(x):
        return float(np.sum(np.exp(a * x)))

    def g(x):
        return a * np.exp(a * x)

    return f, g


def _run(ck: Checker, label: str, f, grad, x, weight=1.0):
    res = ck.call(f, x)
    if not res.ok:
        ck.fail_call(label, res, weight)
        return None
    expected = grad(x)
    got = res.value
    if np.shape(got) != x.shape:
        ck.record(
            label,
            False,
            f"expected a gradient of shape {x.shape}, got {np.shape(got)}",
            "return one partial derivative per entry of x",
            weight,
        )
        return None
    err = gradcheck.rel_error(got, expected)
    ck.record(
        label,
        err < NUMGRAD_TOL,
        f"relative error {err:.1e} against the exact gradient; " + describe_diff(got, expected),
        "use centred differences (f(x+h) - f(x-h)) / (2h)",
        weight,
    )
    return res


def check_eval_numerical_gradient(
    eval_numerical_gradient, points=2, hidden=None, allow_reference=False
) -> float:
    """Check ``eval_numerical_gradient(f, x, h=1e-5) -> grad`` for a scalar ``f``."""
    ck = Checker(
        "eval_numerical_gradient",
        eval_numerical_gradient,
        points,
        {
            "gradkit.gradcheck.eval_numerical_gradient": gradcheck.eval_numerical_gradient,
            "gradkit.gradcheck.eval_numerical_gradient_array": (
                gradcheck.eval_numerical_gradient_array
            ),
            "gradkit.gradcheck.grad_check_sparse": gradcheck.grad_check_sparse,
        },
        allow_reference=allow_reference,
    )
    rng = np.random.default_rng(99)
    x = rng.standard_normal((3, 4))
    res = _run(
        ck,
        "matches the exact gradient of a smooth function (x of shape (3, 4))",
        _cubic,
        _cubic_grad,
        x,
        2,
    )
    if res is not None:
        ck.record(
            "x holds its original values afterwards",
            not res.mutated,
            "x was changed",
            "restore each entry after perturbing it",
        )
    f, g = _exp_quad(3.0)
    _run(
        ck,
        "centred differences: accurate where one-sided ones are not",
        f,
        g,
        rng.standard_normal(5),
    )
    seen_shapes = []

    def spy(v):
        seen_shapes.append(np.shape(v))
        return _cubic(v)

    res = ck.call(spy, rng.standard_normal((2, 3)))
    ok = res.ok and bool(seen_shapes) and all(s == (2, 3) for s in seen_shapes)
    ck.record(
        "f is called with arrays of x's shape",
        ok,
        f"f saw shapes {sorted(set(seen_shapes))[:3]}" if res.ok else f"your function {res.error}",
        "perturb one entry of x and pass the whole array to f",
    )
    if hidden is not None:
        hrng = hidden_rng(hidden, ck.name)
        for k in range(NUM_HIDDEN_CASES):
            shape = tuple(int(s) for s in hrng.integers(1, 5, size=int(hrng.integers(1, 4))))
            a = float(hrng.uniform(-2, 2))
            f, g = _exp_quad(a)
            _run(ck, f"hidden case {k + 1} (x of shape {shape})", f, g, hrng.standard_normal(shape))
    return ck.finish()
