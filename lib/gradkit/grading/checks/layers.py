"""Checks of a layer's backward pass: against the reference, and against the numeric gradient
of the student's own forward pass (float64, a random upstream gradient).

The student's backward is always fed the cache of the student's own forward,
whatever it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..callee import Call, Outcome
from ..engine import REFERENCE, STUDENT, Context
from ..replay import make_inputs
from ..result import CheckResult
from ..spec import Case, Inputs
from .gradients import SELF_GRAD_TOL, EvalFailed, error_text, largest_error, numeric_gradient
from .values import (
    VALUE_ATOL,
    VALUE_RTOL,
    difference,
    hidden_detail,
    hidden_error,
    judge,
    pick,
    tags,
)

__all__ = ["Backward", "OwnBackward", "HiddenPairCases"]


def _dout_for(case_seed: int, out: Any) -> np.ndarray:
    """The random upstream gradient of a case: fixed by the case's seed, shaped like the output."""
    return np.random.default_rng(case_seed + 7919).standard_normal(np.shape(out))


def _pair_outcomes(
    ctx: Context, fwd: str, bwd: str, key: str, inp: Inputs, seed: int, who: list[str]
) -> dict[str, tuple[Outcome, Outcome | None]]:
    """Forward (cache kept) then backward with a random ``dout`` for each of ``who``."""
    spec = ctx.spec
    fcall = Call(fwd, inp, returns=tags(spec, fwd, keep=True))
    forwards = {w: ctx.run(w, [(f"{key}|fwd", fcall)])[0] for w in who}
    ref_fwd = forwards[REFERENCE]
    if not ref_fwd.ok:
        raise RuntimeError(f"the reference {fwd} failed on case {key}: {ref_fwd.error}")
    out_name = next(n for n in spec.outputs(fwd) if not n.startswith("~"))
    dout = _dout_for(seed, pick(spec, fwd, ref_fwd.value, out_name))
    cache_pos = next(i for i, n in enumerate(spec.outputs(fwd)) if n.startswith("~"))
    result: dict[str, tuple[Outcome, Outcome | None]] = {}
    for w, f in forwards.items():
        if not f.ok:
            result[w] = (f, None)
            continue
        bcall = Call(bwd, Inputs((dout, f.value[cache_pos])), returns=tags(spec, bwd))
        result[w] = (f, ctx.run(w, [(f"{key}|bwd", bcall)])[0])
    return result


def _grad_view(ctx: Context, bwd: str, pair: tuple[Outcome, Outcome | None], grad: str) -> Any:
    f, b = pair
    if b is None or not b.ok:
        return None
    try:
        return pick(ctx.spec, bwd, b.value, grad)
    except (IndexError, TypeError):
        return None


def _failure(pair: tuple[Outcome, Outcome | None], fwd: str, bwd: str) -> str:
    f, b = pair
    if not f.ok:
        return f"your {fwd} {f.error}"
    if b is not None and not b.ok:
        return f"your {bwd} {b.error}"
    return ""


@dataclass
class Backward:
    """Each gradient of ``bwd`` (fed the student's own cache) equals the reference's."""

    cases: Sequence[Case]
    fwd: str
    bwd: str
    weight: float | Mapping[str, float] = 1.0
    rtol: float = VALUE_RTOL
    atol: float = VALUE_ATOL
    name: str = "{grad} matches the reference"
    hint: str | Mapping[str, str] = ""

    def run(self, ctx: Context) -> list[CheckResult]:
        grads = ctx.spec.outputs(self.bwd)
        pairs = [
            _pair_outcomes(
                ctx,
                self.fwd,
                self.bwd,
                f"{self.fwd}|{c.label}|{c.seed}",
                c.build(),
                c.seed,
                list(ctx.callees),
            )
            for c in self.cases
        ]
        results = []
        for grad in grads:
            weight = self.weight.get(grad, 1.0) if isinstance(self.weight, Mapping) else self.weight
            hint = self.hint.get(grad, "") if isinstance(self.hint, Mapping) else self.hint
            name = self.name.format(grad=grad)
            result = CheckResult(name, True, weight)
            for case, pair in zip(self.cases, pairs):
                failed = _failure(pair[STUDENT], self.fwd, self.bwd)
                if failed:
                    result = CheckResult(name, False, weight, detail=failed, hint=hint)
                    break
                observed = {w: _grad_view(ctx, self.bwd, p, grad) for w, p in pair.items()}
                ok, candidates = judge(ctx, observed, self.rtol, self.atol)
                if not ok:
                    where = f" ({case.label})" if len(self.cases) > 1 else ""
                    detail = f"{grad}{where}: " + difference(
                        observed[STUDENT], observed[REFERENCE], self.rtol, self.atol, grad
                    )
                    result = CheckResult(
                        name, False, weight, "values", detail, hint=hint, candidates=candidates
                    )
                    break
            results.append(result)
        return results


@dataclass
class OwnBackward:
    """``bwd`` agrees with the numeric gradient of the student's own ``fwd``.

    ``wrt`` lists the forward's arguments (positions or keywords) in the
    order ``bwd`` returns their gradients.
    """

    cases: Sequence[Case]
    fwd: str
    bwd: str
    wrt: Sequence[int | str] = (0,)
    tol: float = SELF_GRAD_TOL
    weight: float = 1.0
    name: str = "your backward agrees with the numeric gradient of your forward"
    hint: str = (
        "differentiate the forward pass you wrote, with the chain rule: "
        "downstream = upstream × local"
    )

    def run(self, ctx: Context) -> list[CheckResult]:
        spec = ctx.spec
        grads = spec.outputs(self.bwd)
        out_name = next(n for n in spec.outputs(self.fwd) if not n.startswith("~"))
        worst, detail = 0.0, ""
        for case in self.cases:
            inp = case.build()
            pair = _pair_outcomes(
                ctx,
                self.fwd,
                self.bwd,
                f"{self.fwd}|{case.label}|{case.seed}",
                inp,
                case.seed,
                [STUDENT, REFERENCE],
            )
            failed = _failure(pair[STUDENT], self.fwd, self.bwd)
            if failed:
                return [CheckResult(self.name, False, self.weight, "extra", failed)]
            ref_out = pick(spec, self.fwd, pair[REFERENCE][0].value, out_name)
            dout = _dout_for(case.seed, ref_out)
            try:
                numeric = numeric_gradient(ctx, self.fwd, inp, self.wrt, out_name, dout)
            except EvalFailed as exc:
                return [
                    CheckResult(self.name, False, self.weight, "extra", f"your {self.fwd} {exc}")
                ]
            except ValueError:  # the student's forward output has the wrong shape
                return [
                    CheckResult(
                        self.name,
                        False,
                        self.weight,
                        "extra",
                        f"your {self.fwd} returns an output of the wrong shape",
                    )
                ]
            analytic = [_grad_view(ctx, self.bwd, pair[STUDENT], g) for g in grads[: len(numeric)]]
            err, where = largest_error(numeric, analytic, grads)
            if not err <= worst:
                index = list(numeric).index(where) if where in numeric else 0
                worst, detail = (
                    err,
                    f"{grads[index]}: {error_text(err, self.tol)}",
                )
        return [
            CheckResult(
                self.name, bool(worst < self.tol), self.weight, "extra", detail, hint=self.hint
            )
        ]


@dataclass
class HiddenPairCases:
    """Forward output and every gradient equal the reference's on the student's hidden cases."""

    #: Draws its cases from the student's hidden seed: run after every other check.
    reads_hidden: ClassVar[bool] = True

    make: Callable[[np.random.Generator], Inputs]
    fwd: str
    bwd: str
    count: int = 3
    weight: float = 2.0
    rtol: float = VALUE_RTOL
    atol: float = VALUE_ATOL

    def run(self, ctx: Context) -> list[CheckResult]:
        if ctx.hidden is None:
            return []
        spec = ctx.spec
        out_name = next(n for n in spec.outputs(self.fwd) if not n.startswith("~"))
        results = []
        for k in range(self.count):
            inp = make_inputs(self.make, ctx.hidden)
            seed = int(ctx.hidden.integers(2**31))
            pair = _pair_outcomes(
                ctx, self.fwd, self.bwd, f"hidden|{self.fwd}|{k}", inp, seed, list(ctx.callees)
            )
            f, b = pair[STUDENT]
            failed = ""
            if not f.ok:
                failed = hidden_error(f.error, f"your {self.fwd}")
            elif b is not None and not b.ok:
                failed = hidden_error(b.error, f"your {self.bwd}")
            ok, detail = not failed, failed
            candidates: list[str] = []
            views: list[tuple[str, Callable]] = [
                (
                    out_name,
                    lambda p: pick(spec, self.fwd, p[0].value, out_name) if p[0].ok else None,
                )
            ]
            views += [
                (g, lambda p, g=g: _grad_view(ctx, self.bwd, p, g)) for g in spec.outputs(self.bwd)
            ]
            for label, view in views if ok else []:
                observed = {w: view(p) for w, p in pair.items()}
                ok, candidates = judge(ctx, observed, self.rtol, self.atol)
                if not ok:
                    detail = hidden_detail(label, observed[STUDENT])
                    break
            weight = self.weight / self.count
            results.append(
                CheckResult(
                    f"hidden case {k + 1}",
                    ok,
                    weight,
                    "values",
                    detail,
                    hidden=True,
                    candidates=candidates,
                )
            )
        return results
