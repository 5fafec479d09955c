"""Spec kinds: the standard checks for each kind of function the course grades.

Each constructor returns a :class:`~gradkit.grading.spec.Spec` (or a pair)
with the checks and weights a kind needs, so a spec module writes only
what is particular to a function: its reference, its cases and its
mistakes.

==================  ==========================================================
kind                checks
==================  ==========================================================
``function``        written out by the spec (see ``specs/a01_*.py``)
``layer``           forward: output values, hidden cases, no mutation;
                    backward: each gradient vs the reference (fed the
                    student's cache), vs the numeric gradient of the
                    student's own forward, hidden cases, no mutation
``update_rule``     next_w over several steps with state in config, defaults
                    filled in from ``config=None``, hidden trajectories
``initializer``     shape/mean/std of many draws, reproducible from the rng,
                    no global random state
``model``           loss, grads keyed like params, the regularization term on
                    its own, numeric check of every parameter, hidden cases
``schedule``        the learning rate at every step of a horizon
==================  ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from .checks import (
    Backward,
    HiddenCases,
    HiddenPairCases,
    NoMutation,
    Outputs,
    OwnBackward,
    OwnGradient,
    Reproducible,
    Statistics,
    Steps,
)
from .engine import Context
from .result import CheckResult
from .spec import Case, Inputs, Mistake, Spec

__all__ = [
    "Hidden",
    "layer_specs",
    "update_rule_spec",
    "initializer_spec",
    "model_spec",
    "schedule_spec",
]


@dataclass
class Hidden:
    """Run ``check(case)`` on ``count`` cases drawn from the student's seed; report each as
    "hidden case k" with its detail withheld (the diagnosis is kept)."""

    #: Draws its cases from the student's hidden seed: run after every other check.
    reads_hidden: ClassVar[bool] = True

    check: Callable[[Case], Any]
    make: Callable[[np.random.Generator], Inputs]
    count: int = 2
    weight: float = 2.0

    def run(self, ctx: Context) -> list[CheckResult]:
        if ctx.hidden is None:
            return []
        results = []
        for k in range(self.count):
            case = Case(f"hidden {k + 1}", self.make, seed=int(ctx.hidden.integers(2**31)))
            inner = self.check(case).run(ctx)
            ok = all(r.passed for r in inner)
            failed = next((r for r in inner if not r.passed), None)
            results.append(
                CheckResult(
                    f"hidden case {k + 1}",
                    ok,
                    self.weight / self.count,
                    "values",
                    "" if ok else "a result differs from the reference",
                    failed.diagnosis if failed else "",
                    failed.mistake if failed else "",
                    hidden=True,
                )
            )
        return results


def layer_specs(
    forward: str,
    backward: str,
    references: tuple[Callable, Callable],
    cases: Sequence[Case],
    hidden: Callable[[np.random.Generator], Inputs],
    wrt: Sequence[int | str] = (0,),
    grads: tuple[str, ...] = ("dx",),
    forward_mistakes: Sequence[Mistake] = (),
    backward_mistakes: Sequence[Mistake] = (),
    exempt: Sequence[int | str] = (),
    title: str = "",
) -> tuple[Spec, Spec]:
    """The forward spec and the backward spec of one layer.

    ``wrt`` names the forward's arguments whose gradients ``backward`` returns,
    in the order of ``grads``. Forward mistakes are also catalogued for the
    backward spec (a wrong forward shows in its gradients too).
    """
    fwd_ref, bwd_ref = references
    fwd_returns = ("out", "~cache")
    fwd_spec = Spec(
        name=forward,
        functions={forward: fwd_ref},
        returns={forward: fwd_returns},
        checks=[
            Outputs(cases, weight=3.0, name="{output} matches the reference ({n} cases)"),
            HiddenCases(hidden),
            NoMutation(exempt=exempt),
        ],
        mistakes=forward_mistakes,
        kind="layer",
        title=f"{title} (forward)" if title else "",
    )
    # A forward mistake shows in the backward test too, through the forward it replaces.
    as_forward = [
        Mistake(m.id, m.message, dict(m.impl) if isinstance(m.impl, Mapping) else {forward: m.impl})
        for m in forward_mistakes
    ]
    bwd_spec = Spec(
        name=backward,
        functions={backward: bwd_ref, forward: fwd_ref},
        returns={forward: fwd_returns, backward: grads[0] if len(grads) == 1 else grads},
        checks=[
            Backward(cases, forward, backward, weight=2.0 if len(grads) == 1 else 1.0),
            OwnBackward(cases, forward, backward, wrt=wrt, weight=1.0),
            HiddenPairCases(hidden, forward, backward),
            NoMutation(exempt=exempt),
        ],
        mistakes=[*backward_mistakes, *as_forward],
        kind="layer",
        title=f"{title} (backward)" if title else "",
    )
    return fwd_spec, bwd_spec


def update_rule_spec(
    name: str,
    reference: Callable,
    cases: Sequence[Case],
    state: Sequence[str],
    defaults: Sequence[str],
    hidden: Callable[[np.random.Generator], Inputs],
    mistakes: Sequence[Mistake] = (),
    title: str = "",
) -> Spec:
    """``rule(w, dw, config) -> (next_w, config)``; cases make ``inputs(w, [dw, ...], config)``.

    ``state`` keys are compared after the steps of every case; ``defaults``
    after one step from ``config=None`` on the first case's inputs.
    """
    first = cases[0]

    def from_none(rng: np.random.Generator) -> Inputs:
        w, dws, _ = first.make(rng).args
        return Inputs((w, dws[:1], None))

    checks: list[Any] = [Steps(c, state=state) for c in cases]
    checks.append(
        Steps(
            Case(f"{first.label}, config=None", from_none, first.seed), state=defaults, weight_w=1.0
        )
    )
    checks += [Hidden(lambda c: Steps(c, state=state), hidden), NoMutation()]
    return Spec(
        name=name,
        functions={name: reference},
        returns={name: ("next_w", "config")},
        checks=checks,
        mistakes=mistakes,
        kind="update_rule",
        title=title,
    )


def initializer_spec(
    name: str,
    reference: Callable,
    cases: Sequence[Case],
    mistakes: Sequence[Mistake] = (),
    random: bool = True,
    title: str = "",
    reproducible: Case | None = None,
) -> Spec:
    """``init(fan_in, fan_out, rng, ...) -> W``; each case passes the rng as ``Rng(seed)``.

    ``reproducible`` is the case of the reproducibility check (three calls), by default the
    first case: it needs no statistics, so a small case checks it as well and costs less
    (a student's initializer may draw column by column).
    """
    checks: list[Any] = [Statistics(c) for c in cases]
    checks.append(Reproducible(reproducible or cases[0], random=random))
    return Spec(
        name=name,
        functions={name: reference},
        checks=checks,
        mistakes=mistakes,
        kind="initializer",
        title=title,
    )


def model_spec(
    name: str,
    reference: Callable,
    cases: Sequence[Case],
    hidden: Callable[[np.random.Generator], Inputs],
    params_at: int | str = 0,
    mistakes: Sequence[Mistake] = (),
    title: str = "",
) -> Spec:
    """``loss_fn(params, X, y, reg) -> (loss, grads)`` with ``grads`` keyed like ``params``.

    The regularization term is checked on its own (``reg`` against ``reg=0``).
    """
    return Spec(
        name=name,
        functions={name: reference},
        returns={name: ("loss", "grads")},
        checks=[
            Outputs(cases, weight={"loss": 2.0, "grads": 2.0}, name="{output} match the reference"),
            Outputs(
                cases,
                weight=1.0,
                isolate={"reg": 0.0},
                name="regularization term in {output}",
            ),
            OwnGradient(cases[0], wrt=params_at, of="loss", grad="grads"),
            HiddenCases(hidden),
            NoMutation(),
        ],
        mistakes=mistakes,
        kind="model",
        title=title,
    )


def schedule_spec(
    name: str,
    reference: Callable,
    cases: Sequence[Case],
    mistakes: Sequence[Mistake] = (),
    title: str = "",
) -> Spec:
    """``schedule(lr0, t, ...) -> lr``: one case per step ``t``, judged together per horizon."""
    return Spec(
        name=name,
        functions={name: reference},
        checks=[
            Outputs(
                cases,
                combine=True,
                weight=3.0,
                name="the learning rate matches the reference at every step ({n} steps)",
            )
        ],
        mistakes=mistakes,
        kind="schedule",
        title=title,
    )


def relabel(spec: Spec, **changes: Any) -> Spec:
    """A copy of ``spec`` with some fields changed (e.g. its title)."""
    return replace(spec, **changes)
