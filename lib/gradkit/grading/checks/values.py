"""Checks that compare values with the reference: outputs on public cases, hidden cases.

Also the helpers every check shares: the tolerances, what a call returns
(:func:`tags`, :func:`pick`), agreement (:func:`agree`), how a value differs
(:func:`difference`), and :func:`judge`, through which every comparison
passes so the engine can weigh each catalogued mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..callee import Call, Outcome
from ..compare import close, describe_diff, non_finite, summarize
from ..engine import REFERENCE, STUDENT, Context
from ..replay import make_inputs
from ..result import CheckResult
from ..spec import Case, Inputs, Spec

__all__ = [
    "VALUE_RTOL",
    "VALUE_ATOL",
    "FLOAT32_RTOL",
    "MISTAKE_SLACK",
    "Outputs",
    "HiddenCases",
    "agree",
    "difference",
    "judge",
    "tags",
    "pick",
    "hidden_detail",
    "hidden_error",
]

#: Agreement with the reference in float64. Correct implementations that sum
#: in another order differ by ~1e-15 relative; formula errors (a missing 1/N,
#: a wrong sign) are off by far more than 1e-7.
VALUE_RTOL = 1e-7
VALUE_ATOL = 1e-10
#: Agreement for float32 inputs: float32 rounding is ~6e-8 per operation and
#: accumulates over sums of a few hundred terms.
FLOAT32_RTOL = 1e-4
#: A wrong output "matches" a catalogued mistake within this factor of the
#: check's tolerance: a student's version of the mistake may sum in another order.
MISTAKE_SLACK = 10.0

_FAILED = object()


def tags(spec: Spec, fn: str, keep: bool = False) -> tuple[str, ...] | None:
    """The ``returns`` tags of a call of ``fn``: caches are kept (``keep``) or dropped."""
    if not spec.is_tuple(fn):
        return None
    opaque = "keep" if keep else "drop"
    return tuple(opaque if n.startswith("~") else "data" for n in spec.outputs(fn))


def pick(spec: Spec, fn: str, value: Any, output: str) -> Any:
    """The ``output`` part of what ``fn`` returned."""
    if not spec.is_tuple(fn):
        return value
    return value[spec.outputs(fn).index(output)]


def agree(got: Any, expected: Any, rtol: float = VALUE_RTOL, atol: float = VALUE_ATOL) -> bool:
    """``got`` equals ``expected`` within tolerance; dicts key by key; float32 must stay float32."""
    if got is _FAILED or expected is _FAILED:
        return False
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(expected)
            and all(agree(got[k], expected[k], rtol, atol) for k in expected)
        )
    if isinstance(expected, np.ndarray) and expected.dtype == np.float32:
        if not (isinstance(got, np.ndarray) and got.dtype == np.float32):
            return False
        rtol = max(rtol, FLOAT32_RTOL)
    return close(got, expected, rtol, atol)


def difference(got: Any, expected: Any, rtol: float, atol: float, what: str = "") -> str:
    """How ``got`` differs from ``expected``, in a phrase (dict keys and dtype included);
    ``what`` names the value ("your loss is inf for these inputs")."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"expected a dict with keys {sorted(expected)}, got {summarize(got)}"
        if set(got) != set(expected):
            return f"expected keys {sorted(expected)}, got {sorted(map(str, got))}"
        for k in expected:
            if not agree(got[k], expected[k], rtol, atol):
                return f"[{k!r}] " + difference(got[k], expected[k], rtol, atol, f"{what}[{k!r}]")
    if isinstance(expected, np.ndarray) and expected.dtype == np.float32:
        dtype = getattr(got, "dtype", type(got).__name__)
        if dtype != np.float32:
            return f"expected float32 (the dtype of the inputs), got {dtype}"
    return describe_diff(got, expected, what)


def hidden_detail(label: str, got: Any) -> str:
    """Why a hidden case failed, without its inputs or expected values."""
    if non_finite(got):
        return f"{label} is not finite (nan or inf)"
    return f"{label} differs from the reference"


def hidden_error(error: str, who: str = "your function") -> str:
    """A failed call on a hidden case, named by the kind of failure only: the text of an
    exception can carry what the function saw, and hidden inputs stay hidden."""
    if error.startswith("raised "):
        kind = error[len("raised ") :].split(":")[0].strip()
        return f"{who} raised {kind}"
    if error.startswith("returned"):
        return f"{who} " + error.split(" (")[0].split(";")[0]
    return f"{who} " + error.split(":")[0].split(" (")[0]


def judge(
    ctx: Context, observed: Mapping[str, Any], rtol: float, atol: float
) -> tuple[bool, list[str]]:
    """Does the student's observation agree with the reference's, and which mistakes match it.

    Every comparison goes through here, passing or not, so the engine can
    weigh each catalogued mistake against everything it saw.
    """
    ok = agree(observed[STUDENT], observed[REFERENCE], rtol, atol)
    candidates = ctx.diagnose(
        observed, lambda a, b: agree(a, b, rtol * MISTAKE_SLACK, atol * MISTAKE_SLACK)
    )
    return ok, ([] if ok else candidates)


def _observe(outcomes: list[Outcome], view: Callable[[Any], Any]) -> list[Any]:
    out = []
    for o in outcomes:
        try:
            out.append(view(o.value) if o.ok else _FAILED)
        except (IndexError, KeyError, TypeError, ValueError):
            out.append(_FAILED)
    return out


def _viewer(spec: Spec, fn: str, output: str) -> Callable[[Any], Any]:
    def view(value: Any) -> Any:
        return pick(spec, fn, value, output)

    return view


def _minus(a: Any, b: Any) -> Any:
    if a is _FAILED or b is _FAILED:
        return _FAILED
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _minus(a[k], b[k]) for k in a if k in b}
    try:
        return np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return _FAILED


@dataclass
class Outputs:
    """Each output of ``fn`` (default: the primary function) equals the reference's on ``cases``.

    One result per output (or one for all with ``combine``), weighted by
    ``weight`` (a number, or a dict by output name). With ``isolate`` the
    compared value is ``f(case) − f(case with isolate's keyword values)``:
    e.g. ``isolate={"reg": 0.0}`` checks the regularization term on its own,
    so a wrong data term does not also cost the regularization points.
    """

    cases: Sequence[Case]
    outputs: Sequence[str] | None = None
    weight: float | Mapping[str, float] = 1.0
    rtol: float = VALUE_RTOL
    atol: float = VALUE_ATOL
    name: str = "{output} matches the reference"
    hint: str | Mapping[str, str] = ""
    kind: str = "values"
    isolate: Mapping[str, Any] | None = None
    combine: bool = False
    fn: str | None = None

    def run(self, ctx: Context) -> list[CheckResult]:
        spec, fn = ctx.spec, self.fn or ctx.spec.primary
        names = self.outputs or [n for n in spec.outputs(fn) if not n.startswith("~")]
        built = [c.build() for c in self.cases]
        call_tags = tags(spec, fn)
        requests = [
            (f"{fn}|{c.label}|{c.seed}", Call(fn, inp, returns=call_tags))
            for c, inp in zip(self.cases, built)
        ]
        outcomes = ctx.run_all(requests)
        base = None
        if self.isolate is not None:
            base = ctx.run_all(
                [
                    (
                        f"{key}|{sorted(self.isolate.items())}",
                        Call(fn, inp.replace(**self.isolate), returns=call_tags),
                    )
                    for (key, _), inp in zip(requests, built)
                ]
            )
        groups = [list(names)] if self.combine else [[n] for n in names]
        results = []
        for group in groups:
            results.append(self._judge(ctx, fn, group, outcomes, base))
        return results

    def _judge(self, ctx, fn, group, outcomes, base) -> CheckResult:
        spec = ctx.spec
        label = ", ".join(group)
        weight = (
            sum(self.weight.get(g, 1.0) for g in group)
            if isinstance(self.weight, Mapping)
            else float(self.weight)
        )
        hint = self.hint.get(group[0], "") if isinstance(self.hint, Mapping) else self.hint
        name = self.name.format(output=label, n=len(self.cases))
        for i, outcome in enumerate(outcomes[STUDENT]):
            if not outcome.ok:
                return CheckResult(
                    name, False, weight, self.kind, f"your function {outcome.error}", hint=hint
                )
            for out in group:
                view = _viewer(spec, fn, out)
                observed = {}
                for who, outs in outcomes.items():
                    value = _observe([outs[i]], view)[0]
                    if base is not None:
                        value = _minus(value, _observe([base[who][i]], view)[0])
                    observed[who] = value
                got, expected = observed[STUDENT], observed[REFERENCE]
                if base is not None:  # a non-finite output says so, not its difference
                    raw = _observe([outcomes[STUDENT][i]], view)[0]
                    if raw is not _FAILED and non_finite(raw):
                        got, expected = raw, _observe([outcomes[REFERENCE][i]], view)[0]
                if got is _FAILED:
                    return CheckResult(
                        name,
                        False,
                        weight,
                        self.kind,
                        f"your function returned no usable {out}",
                        hint=hint,
                    )
                ok, candidates = judge(ctx, observed, self.rtol, self.atol)
                if not ok:
                    where = f" ({self.cases[i].label})" if len(self.cases) > 1 else ""
                    detail = f"{out}{where}: " + difference(
                        got, expected, self.rtol, self.atol, out
                    )
                    return CheckResult(
                        name, False, weight, self.kind, detail, hint=hint, candidates=candidates
                    )
        return CheckResult(name, True, weight, self.kind)


@dataclass
class HiddenCases:
    """Every output equals the reference's on ``count`` cases drawn from the student's seed.

    Runs only when the grader supplies a token. A result names the case by
    number only: never its inputs, shapes or expected values.
    """

    #: Draws its cases from the student's hidden seed: run after every other check.
    reads_hidden: ClassVar[bool] = True

    make: Callable[[np.random.Generator], Inputs]
    count: int = 3
    weight: float = 2.0
    rtol: float = VALUE_RTOL
    atol: float = VALUE_ATOL
    fn: str | None = None

    def run(self, ctx: Context) -> list[CheckResult]:
        if ctx.hidden is None:
            return []
        spec, fn = ctx.spec, self.fn or ctx.spec.primary
        names = [n for n in spec.outputs(fn) if not n.startswith("~")]
        built = [make_inputs(self.make, ctx.hidden) for _ in range(self.count)]
        requests = [
            (f"hidden|{fn}|{k}", Call(fn, inp, returns=tags(spec, fn)))
            for k, inp in enumerate(built)
        ]
        outcomes = ctx.run_all(requests)
        results = []
        for k, outcome in enumerate(outcomes[STUDENT]):
            name = f"hidden case {k + 1}"
            ok = outcome.ok
            candidates: list[str] = []
            detail = "" if ok else hidden_error(outcome.error)
            for out in names if ok else []:
                view = _viewer(spec, fn, out)
                observed = {who: _observe([outs[k]], view)[0] for who, outs in outcomes.items()}
                ok, candidates = judge(ctx, observed, self.rtol, self.atol)
                if not ok:
                    detail = hidden_detail(out, observed[STUDENT])
                    break
            weight = self.weight / self.count
            results.append(
                CheckResult(name, ok, weight, "values", detail, hidden=True, candidates=candidates)
            )
        return results
