"""A gradient checked against the numeric gradient of the student's own function.

:class:`OwnGradient` is an extra: a function returning constants is
consistent with itself and must not earn points for it. Numeric gradients
come from :func:`gradkit.gradcheck.numeric_backward`, with every perturbed
input of a check sent to the student's callee in one batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...gradcheck import GRAD_REL_TOL, numeric_backward, rel_error
from ..callee import Call
from ..compare import describe_diff, non_finite
from ..engine import STUDENT, Context
from ..result import CheckResult
from ..spec import Case, Inputs
from .values import pick, tags

__all__ = [
    "OwnGradient",
    "SELF_GRAD_TOL",
    "numeric_gradient",
    "EvalFailed",
    "largest_error",
    "error_text",
]

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


def numeric_gradient(
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
            raise EvalFailed(bad.error)
        return [pick(spec, fn, o.value, out) for o in outcomes]

    return numeric_backward(_unused, arrays, dout, batch=batch)


def _unused(**_: Any) -> np.ndarray:  # numeric_backward's forward when a batch is given
    raise AssertionError("evaluations go through the batch")


class EvalFailed(Exception):
    pass


def largest_error(numeric: dict, analytic: Any, grad_names: Sequence[str]) -> tuple[float, str]:
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


def error_text(err: float, tol: float) -> str:
    """The relative error of a gradient check, in words (a nan says where it came from)."""
    if not np.isfinite(err):
        return f"relative error {err:.1e}: a gradient or the function's value is not finite"
    return f"relative error {err:.1e} (want < {tol:.0e})"


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
            value = pick(spec, fn, outcome.value, self.of)
            if non_finite(value):
                why = describe_diff(value, np.float64(0.0), self.of)
                detail = f"{why}, so its numeric gradient is undefined"
                return [CheckResult(name, False, self.weight, "extra", detail)]
            analytic = pick(spec, fn, outcome.value, self.grad)
            numeric = numeric_gradient(ctx, fn, inp, [self.wrt], self.of, np.float64(1.0))
            values = list(analytic.values()) if isinstance(analytic, Mapping) else [analytic]
            if isinstance(analytic, Mapping):
                keys = [n.split("[", 1)[1][:-1] for n in numeric]
                values = [analytic.get(k) for k in keys]
            err, _ = largest_error(numeric, values, list(numeric))
        except EvalFailed as exc:
            return [CheckResult(name, False, self.weight, "extra", f"your function {exc}")]
        except (IndexError, KeyError, TypeError, ValueError):
            err = np.inf
        detail = error_text(err, self.tol)
        return [
            CheckResult(name, bool(err < self.tol), self.weight, "extra", detail, hint=self.hint)
        ]
