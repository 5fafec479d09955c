"""Checks of an update rule ``rule(w, dw, config) -> (next_w, config)`` over several steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..callee import Call
from ..engine import REFERENCE, STUDENT, Context
from ..result import CheckResult
from ..spec import Case, Inputs
from .values import MISTAKE_SLACK, VALUE_ATOL, VALUE_RTOL, agree, difference

__all__ = ["Steps"]


@dataclass
class Steps:
    """Run the rule on ``case`` (``inputs(w, [dw_1, dw_2, ...], config)``), carrying ``config``.

    Two results: ``next_w`` after every step, and the ``state`` keys of the
    final config (e.g. ``velocity``, ``m``, ``v``, ``t``, or defaults such as
    ``learning_rate`` when the case starts from ``config=None``).
    """

    case: Case
    state: Sequence[str] = ()
    weight_w: float = 2.0
    weight_state: float = 1.0
    rtol: float = VALUE_RTOL
    atol: float = VALUE_ATOL
    hint: str = ""

    def _trajectory(self, ctx: Context, who: str, inp: Inputs) -> tuple[list, Any, str]:
        w, dws, config = inp.args
        fn = ctx.spec.primary
        ws: list[Any] = []
        for k, dw in enumerate(dws):
            call = Call(fn, Inputs((w, dw, config)), returns=("data", "data"))
            outcome = ctx.run(who, [(f"steps|{self.case.label}|{self.case.seed}|{k}", call)])[0]
            if not outcome.ok:
                return ws, None, f"your function {outcome.error} (step {k + 1})"
            w, config = outcome.value
            ws.append(w)
            if not isinstance(config, dict):
                return (
                    ws,
                    None,
                    f"step {k + 1} returned a config of type {type(config).__name__}, not a dict",
                )
        return ws, config, ""

    def run(self, ctx: Context) -> list[CheckResult]:
        inp = self.case.build()
        steps = len(inp.args[1])
        runs = {who: self._trajectory(ctx, who, inp) for who in ctx.callees}
        ws_s, config_s, error = runs[STUDENT]
        name_w = f"next_w matches the reference at each of {steps} steps ({self.case.label})"
        name_state = f"config holds {', '.join(self.state)} like the reference ({self.case.label})"
        slack = (self.rtol * MISTAKE_SLACK, self.atol * MISTAKE_SLACK)
        results = []
        if error:
            results.append(
                CheckResult(name_w, False, self.weight_w, "values", error, hint=self.hint)
            )
        else:
            observed = {w: (r[0] if not r[2] else None) for w, r in runs.items()}
            ok = all(agree(a, b, self.rtol, self.atol) for a, b in zip(ws_s, runs[REFERENCE][0]))
            detail = ""
            candidates = ctx.diagnose(observed, _same_trajectory(slack))
            if not ok:
                k = next(
                    i
                    for i, (a, b) in enumerate(zip(ws_s, runs[REFERENCE][0]))
                    if not agree(a, b, self.rtol, self.atol)
                )
                detail = f"step {k + 1}: " + difference(
                    ws_s[k], runs[REFERENCE][0][k], self.rtol, self.atol, "next_w"
                )
            results.append(
                CheckResult(
                    name_w,
                    ok,
                    self.weight_w,
                    "values",
                    detail,
                    hint=self.hint,
                    candidates=[] if ok else candidates,
                )
            )
        if self.state:
            if error:
                results.append(
                    CheckResult(
                        name_state, False, self.weight_state, "values", "(same error as above)"
                    )
                )
                return results
            states: dict[str, Any] = {
                w: ({k: r[1].get(k) for k in self.state} if r[1] is not None else None)
                for w, r in runs.items()
            }
            got: Any = states[STUDENT]
            expected: Any = states[REFERENCE]
            missing = [k for k in self.state if k not in config_s]
            ok = not missing and all(
                _same(got[k], expected[k], self.rtol, self.atol) for k in self.state
            )
            detail = ""
            candidates = ctx.diagnose(states, _same_state(self.state, slack))
            if missing:
                detail = f"config has no {', '.join(missing)}"
            elif not ok:
                key = next(
                    k for k in self.state if not _same(got[k], expected[k], self.rtol, self.atol)
                )
                detail = f"config[{key!r}]: " + difference(
                    got[key], expected[key], self.rtol, self.atol, f"config[{key!r}]"
                )
            results.append(
                CheckResult(
                    name_state,
                    ok,
                    self.weight_state,
                    "values",
                    detail,
                    hint=self.hint,
                    candidates=[] if ok else candidates,
                )
            )
        return results


def _same_trajectory(slack: tuple[float, float]):
    def same(a: Any, b: Any) -> bool:
        return (
            a is not None
            and b is not None
            and len(a) == len(b)
            and all(agree(x, y, *slack) for x, y in zip(a, b))
        )

    return same


def _same_state(keys: Sequence[str], slack: tuple[float, float]):
    def same(a: Any, b: Any) -> bool:
        return a is not None and b is not None and all(_same(a[k], b[k], *slack) for k in keys)

    return same


def _same(a: Any, b: Any, rtol: float, atol: float) -> bool:
    if isinstance(b, (int, np.integer)) and not isinstance(b, bool):
        return isinstance(a, (int, np.integer, float, np.floating)) and float(a) == float(b)
    return agree(a, b, rtol, atol)
