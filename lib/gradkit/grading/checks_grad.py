"""Gradient checks: a loss's gradient and a layer's backward pass.

* :class:`OwnGradient` — the gradient a function returns agrees with the
  numeric gradient of the *student's own* loss (their loss and gradient
  are consistent, whatever the reference says);
* :class:`Backward` — a backward pass, fed the student's own cache, equals
  the reference's gradients for a random upstream gradient;
* :class:`OwnBackward` — that backward pass agrees with the numeric
  gradient of the student's own forward pass (float64, random ``dout``);
* :class:`HiddenPairCases` — forward and backward on the hidden cases.

Numeric gradients come from :func:`gradkit.gradcheck.numeric_backward`, with
every perturbed input of a check sent to the student's callee in one batch.
The two "own" checks are extras: they are reported always, but count only
once the values are right (a function returning constants is consistent with
itself and must not earn points for it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..gradcheck import GRAD_REL_TOL, numeric_backward, rel_error
from .callee import Call, Outcome
from .checks import VALUE_ATOL, VALUE_RTOL, difference, judge, pick, tags
from .engine import REFERENCE, STUDENT, Context
from .result import CheckResult
from .spec import Case, Inputs

__all__ = ["OwnGradient", "Backward", "OwnBackward", "HiddenPairCases", "SELF_GRAD_TOL"]

#: The student's gradient against centred differences of their own function.
#: A correct float64 gradient agrees to ~1e-8; the ±h step crossing a kink
#: (hinge, ReLU, max) can cost ~1e-6; a wrong gradient is off by > 1e-2.
SELF_GRAD_TOL = GRAD_REL_TOL


def _get(inp: Inputs, where: int | str) -> Any:
    return inp.args[where] if isinstance(where, int) else inp.kwargs[where]


def _put(inp: Inputs, where: int | str, value: Any) -> Inputs:
    if isinstance(where, int):
        args = list(inp.args)
        args[where] = value
        return Inputs(tuple(args), inp.kwargs)
    return inp.replace(**{where: value})


def _float_arrays(value: Any, prefix: str) -> dict[str, np.ndarray]:
    """The float arrays in an argument: itself, or a dict's entries (a model's params)."""
    if isinstance(value, Mapping):
        return {
            f"{prefix}[{k}]": np.asarray(v)
            for k, v in value.items()
            if np.asarray(v).dtype.kind == "f"
        }
    return {prefix: np.asarray(value)}


def _numeric(
    ctx: Context, fn: str, inp: Inputs, wrt: Sequence[int | str], out: str, dout: Any
) -> dict:
    """Numeric gradient of Σ dout·fn(inp)[out] with respect to each argument in ``wrt``."""
    spec = ctx.spec
    arrays: dict[str, np.ndarray] = {}
    where_of: dict[str, tuple[int | str, str | None]] = {}
    for w in wrt:
        value = _get(inp, w)
        for name, arr in _float_arrays(value, f"arg{w}").items():
            arrays[name] = arr
            where_of[name] = (w, name.split("[", 1)[1][:-1] if "[" in name else None)
    call_tags = tags(spec, fn)
    if call_tags is not None:
        call_tags = tuple("data" if n == out else "drop" for n in spec.outputs(fn))

    def build(values: dict[str, np.ndarray]) -> Inputs:
        new = inp
        for name, arr in values.items():
            w, key = where_of[name]
            if key is None:
                new = _put(new, w, arr)
            else:
                new = _put(new, w, {**_get(new, w), key: arr})
        return new

    def batch(many: list[dict]) -> list:
        calls = [
            Call(fn, build({k: a[k] for k in arrays}), returns=call_tags, return_args=False)
            for a in many
        ]
        outcomes = ctx.callees[STUDENT].run(calls)
        bad = next((o for o in outcomes if not o.ok), None)
        if bad is not None:
            raise _EvalFailed(bad.error)
        return [pick(spec, fn, o.value, out) for o in outcomes]

    return numeric_backward(_unused, arrays, dout, batch=batch)


def _unused(**_: Any) -> np.ndarray:  # numeric_backward's forward when a batch is given
    raise AssertionError("evaluations go through the batch")


class _EvalFailed(Exception):
    pass


def _compare_numeric(numeric: dict, analytic: Any, grad_names: Sequence[str]) -> tuple[float, str]:
    """Largest relative error, and which gradient it is in."""
    worst, where = 0.0, ""
    for (name, num), g in zip(numeric.items(), analytic):
        try:
            err = rel_error(num, g)
        except (ValueError, TypeError):
            err = np.inf
        if not err <= worst:
            worst, where = err, name
    return worst, where


@dataclass
class OwnGradient:
    """The gradient output ``grad`` equals the numeric gradient of the student's own ``of``
    output with respect to argument ``wrt`` (a position or keyword; a dict argument such as
    a model's params is checked entry by entry)."""

    case: Case
    wrt: int | str = 0
    of: str = "loss"
    grad: str = "dW"
    tol: float = SELF_GRAD_TOL
    weight: float = 1.0
    name: str = "{grad} agrees with the numeric gradient of your own {of}"
    hint: str = "your gradient and your loss disagree: differentiate the loss you wrote"

    def run(self, ctx: Context) -> list[CheckResult]:
        spec, fn = ctx.spec, ctx.spec.primary
        name = self.name.format(grad=self.grad, of=self.of)
        inp = self.case.build()
        outcome = ctx.run(
            STUDENT,
            [(f"{fn}|{self.case.label}|{self.case.seed}", Call(fn, inp, returns=tags(spec, fn)))],
        )[0]
        if not outcome.ok:
            return [
                CheckResult(name, False, self.weight, "extra", f"your function {outcome.error}")
            ]
        try:
            analytic = pick(spec, fn, outcome.value, self.grad)
            numeric = _numeric(ctx, fn, inp, [self.wrt], self.of, np.float64(1.0))
            values = list(analytic.values()) if isinstance(analytic, Mapping) else [analytic]
            if isinstance(analytic, Mapping):
                keys = [n.split("[", 1)[1][:-1] for n in numeric]
                values = [analytic.get(k) for k in keys]
            err, _ = _compare_numeric(numeric, values, list(numeric))
        except _EvalFailed as exc:
            return [CheckResult(name, False, self.weight, "extra", f"your function {exc}")]
        except (IndexError, KeyError, TypeError, ValueError):
            err = np.inf
        detail = f"relative error {err:.1e} (want < {self.tol:.0e})"
        return [
            CheckResult(name, bool(err < self.tol), self.weight, "extra", detail, hint=self.hint)
        ]


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
                        observed[STUDENT], observed[REFERENCE], self.rtol, self.atol
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
                numeric = _numeric(ctx, self.fwd, inp, self.wrt, out_name, dout)
            except _EvalFailed as exc:
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
            err, where = _compare_numeric(numeric, analytic, grads)
            if not err <= worst:
                index = list(numeric).index(where) if where in numeric else 0
                worst, detail = (
                    err,
                    f"{grads[index]}: relative error {err:.1e} (want < {self.tol:.0e})",
                )
        return [
            CheckResult(
                self.name, bool(worst < self.tol), self.weight, "extra", detail, hint=self.hint
            )
        ]


@dataclass
class HiddenPairCases:
    """Forward output and every gradient equal the reference's on the student's hidden cases."""

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
            inp = self.make(ctx.hidden)
            seed = int(ctx.hidden.integers(2**31))
            pair = _pair_outcomes(
                ctx, self.fwd, self.bwd, f"hidden|{self.fwd}|{k}", inp, seed, list(ctx.callees)
            )
            failed = _failure(pair[STUDENT], self.fwd, self.bwd)
            ok, detail = not failed, failed.split(":")[0]
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
                    detail = f"{label} differs from the reference"
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
