"""Checks that do not compare values: no mutation, speed, avoided calls, and custom checks.

No mutation, speed and avoided calls are extras: they earn only as much as
the values checks that passed (see :mod:`gradkit.grading.engine`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ..callee import Call
from ..compare import deep_equal
from ..engine import REFERENCE, STUDENT, Context
from ..result import CheckResult
from ..spec import Case, Inputs
from ..timing import fresh_inputs
from .values import agree, tags

__all__ = ["NoMutation", "Speed", "Avoids", "Custom"]


@dataclass
class NoMutation:
    """No call of the student's function changed its arguments (``exempt``: argument
    positions or keyword names the API says are written back, e.g. ``bn_param``)."""

    weight: float = 0.5
    exempt: Sequence[int | str] = ()
    name: str = "inputs are not modified"
    hint: str = "work on new arrays instead of writing into the inputs"

    def run(self, ctx: Context) -> list[CheckResult]:
        checked, changed = 0, []
        for key, call, outcome in list(ctx.student_log):
            if not (outcome.ok and outcome.args_after is not None):
                continue
            checked += 1
            if self._changed(call.inputs, outcome.args_after):
                changed.append((key, call))
        if not checked:
            detail = "no call of your function succeeded"
            return [CheckResult(self.name, False, self.weight, "extra", detail)]
        if not changed:
            return [CheckResult(self.name, True, self.weight, "extra")]
        # How the arguments were changed can match a catalogued mistake.
        key, call = changed[0]
        after = {w: ctx.run(w, [(key, call)])[0] for w in ctx.callees}
        observed = {
            w: ((o.args_after.args, o.args_after.kwargs) if o.ok and o.args_after else None)
            for w, o in after.items()
        }
        candidates = ctx.diagnose(
            observed, lambda a, b: a is not None and b is not None and deep_equal(a, b)
        )
        detail = f"{len(changed)} of {checked} calls changed an argument"
        result = CheckResult(
            self.name, False, self.weight, "extra", detail, hint=self.hint, candidates=candidates
        )
        return [result]

    def _changed(self, before: Inputs, after: Inputs) -> bool:
        pairs = [(i, a, b) for i, (a, b) in enumerate(zip(before.args, after.args))]
        pairs += [(k, v, after.kwargs.get(k)) for k, v in before.kwargs.items()]
        return any(not deep_equal(a, b) for key, a, b in pairs if key not in self.exempt)


def _same(got: Any, expected: Any) -> bool:
    """Equal within the value tolerance, a tuple output by output."""
    if isinstance(expected, tuple):
        return (
            isinstance(got, tuple)
            and len(got) == len(expected)
            and all(e is None or _same(g, e) for g, e in zip(got, expected))
        )
    return agree(got, expected)


@dataclass
class Speed:
    """The student's function runs within ``factor``× the reference's time (+ ``slack`` s).

    Timed as :mod:`gradkit.grading.timing` says: ``calls`` calls per batch, each on inputs
    drawn anew, best of ``repeats`` batches, by the grader's clock, against the reference
    timed the same way on the same inputs (``ctx.reference_timer``); every timed result
    must equal the reference's. A busy machine slows single runs, so up to ``attempts``
    rounds are measured before the function is called slow.
    """

    #: A student kit has no reference to time against: its self-check leaves this to the grader.
    needs_reference: ClassVar[bool] = True
    what: ClassVar[str] = "speed"

    case: Case
    factor: float = 10.0
    slack: float = 2e-3
    repeats: int = 3
    calls: int = 8
    attempts: int = 3
    weight: float = 1.0
    hint: str = "remove the Python loops: use whole-array operations"

    def run(self, ctx: Context) -> list[CheckResult]:
        fn = ctx.spec.primary
        returns = tags(ctx.spec, fn)
        base = self.case.build()
        t_ref = t_student = math.inf
        label = f"fast enough: within {self.factor:g}x the reference's time"
        for attempt in range(self.attempts):
            seed = self.case.seed * 101 + attempt
            fresh = fresh_inputs(base, self.repeats * self.calls, seed)
            batches = [fresh[i : i + self.calls] for i in range(0, len(fresh), self.calls)]
            seconds, outcomes = ctx.callees[STUDENT].time_calls(fn, batches, returns)
            failed = next((o for o in outcomes if not o.ok), None)
            if failed is not None:
                return [
                    CheckResult(label, False, self.weight, "extra", f"your function {failed.error}")
                ]
            expected = ctx.run(  # through the memo: the same for every student (cached)
                REFERENCE,
                [
                    (
                        f"speed|{self.case.label}|{seed}|{i}",
                        Call(fn, inp, returns, return_args=False),
                    )
                    for i, inp in enumerate(fresh)
                ],
            )
            if not all(o.ok and _same(o.value, e.value) for o, e in zip(outcomes, expected)):
                detail = "your function returned other values when it was timed"
                return [CheckResult(label, False, self.weight, "extra", detail)]
            ref_seconds, _ = ctx.reference_timer.time_calls(fn, batches, returns)
            t_ref, t_student = min(t_ref, ref_seconds), min(t_student, seconds)
            allowed = self.factor * t_ref + self.slack
            if t_student <= allowed or t_student > 3 * allowed:  # clearly fast, or clearly not
                break
        ok = t_student <= self.factor * t_ref + self.slack
        name = (
            f"fast enough: {t_student * 1e3:.1f} ms vs the reference's {t_ref * 1e3:.1f} ms "
            f"({self.case.label}; allowed {self.factor:g}x)"
        )
        detail = f"{t_student / max(t_ref, 1e-9):.0f}x slower than the reference"
        return [CheckResult(name, ok, self.weight, "extra", detail, hint=self.hint)]


@dataclass
class Avoids:
    """The student's function does not call any of ``names`` (dotted, e.g. ``numpy.linalg.inv``)."""

    case: Case
    names: tuple[str, ...]
    name: str
    hint: str = ""
    weight: float = 1.0

    def run(self, ctx: Context) -> list[CheckResult]:
        fn = ctx.spec.primary
        call = Call(fn, self.case.build(), watch=self.names, returns=tags(ctx.spec, fn))
        outcome = ctx.run(STUDENT, [(f"avoids|{self.case.label}|{self.names}", call)])[0]
        if not outcome.ok:
            return [
                CheckResult(
                    self.name, False, self.weight, "extra", f"your function {outcome.error}"
                )
            ]
        detail = f"your function called {', '.join(outcome.watched)}"
        return [
            CheckResult(
                self.name, not outcome.watched, self.weight, "extra", detail, hint=self.hint
            )
        ]


@dataclass
class Custom:
    """A check written as a function ``judge(ctx) -> (passed, detail, mistake id, diagnosis)``."""

    name: str
    judge: Callable[[Context], tuple[bool, str, str, str]]
    weight: float = 1.0
    kind: str = "values"
    hint: str = ""

    def run(self, ctx: Context) -> list[CheckResult]:
        passed, detail, mid, diagnosis = self.judge(ctx)
        return [
            CheckResult(
                self.name, passed, self.weight, self.kind, detail, diagnosis, mid, self.hint
            )
        ]
