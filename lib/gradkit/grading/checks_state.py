"""Checks of functions with state or randomness: update rules and initializers.

* :class:`Steps` — an update rule ``rule(w, dw, config) -> (next_w, config)``
  run for several steps with its state carried in ``config``; compares every
  ``next_w`` and the final state with the reference's.
* :class:`Statistics` — an initializer's draws have the reference's shape,
  mean and spread (compared statistically: the draws differ).
* :class:`Reproducible` — the same ``rng`` seed gives the same weights,
  another seed other weights, and numpy's global random state plays no part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .callee import Call
from .checks import MISTAKE_SLACK, VALUE_ATOL, VALUE_RTOL, agree, difference
from .compare import deep_equal
from .engine import REFERENCE, STUDENT, Context
from .result import CheckResult
from .spec import Case, Inputs, Rng

__all__ = ["Steps", "Statistics", "Reproducible"]


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
                    ws_s[k], runs[REFERENCE][0][k], self.rtol, self.atol
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
                    got[key], expected[key], self.rtol, self.atol
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


#: Relative tolerance on the standard deviation of N draws: its standard error
#: is about 1/√(2N), under 0.3 % for the 10^5 draws a case makes, so 3 % is
#: far from flaky, while a wrong fan or a missing factor 2 changes it by > 20 %.
STD_RTOL = 0.03


def _stats(w: Any) -> dict | None:
    if not isinstance(w, np.ndarray) or w.dtype.kind != "f" or w.size == 0:
        return None
    return {
        "shape": w.shape,
        "mean": float(np.mean(w)),
        "std": float(np.std(w)),
        "zeros": float(np.mean(w == 0)),
        "dtype": str(w.dtype),
    }


def _stats_agree(a: dict | None, b: dict | None, rtol: float) -> bool:
    if a is None or b is None or a["shape"] != b["shape"] or a["dtype"] != b["dtype"]:
        return False
    n = int(np.prod(a["shape"]))
    spread = max(b["std"], 1e-12)
    mean_ok = abs(a["mean"] - b["mean"]) <= 6 * spread / np.sqrt(n) + 1e-12
    std_ok = abs(a["std"] - b["std"]) <= rtol * spread + 1e-12
    zeros_ok = abs(a["zeros"] - b["zeros"]) <= 0.02
    return bool(mean_ok and std_ok and zeros_ok)


@dataclass
class Statistics:
    """The initializer's draws on ``case`` match the reference's shape, dtype, mean, std and
    fraction of zeros (statistically: each side draws its own numbers)."""

    case: Case
    rtol: float = STD_RTOL
    weight: float = 2.0
    hint: str = ""

    def run(self, ctx: Context) -> list[CheckResult]:
        fn = ctx.spec.primary
        inp = self.case.build()
        outcomes = ctx.run_all(
            [(f"stats|{self.case.label}|{self.case.seed}", Call(fn, inp, return_args=False))]
        )
        name = f"weights have the reference's shape, mean and spread ({self.case.label})"
        student = outcomes[STUDENT][0]
        if not student.ok:
            return [
                CheckResult(
                    name,
                    False,
                    self.weight,
                    "values",
                    f"your function {student.error}",
                    hint=self.hint,
                )
            ]
        observed = {w: (_stats(o[0].value) if o[0].ok else None) for w, o in outcomes.items()}
        got: Any = observed[STUDENT]
        expected: Any = observed[REFERENCE]
        candidates = ctx.diagnose(observed, lambda a, b: _stats_agree(a, b, self.rtol))
        if _stats_agree(got, expected, self.rtol):
            return [CheckResult(name, True, self.weight)]
        if got is None:
            detail = f"expected a float array, got {type(student.value).__name__}"
        elif got["shape"] != expected["shape"] or got["dtype"] != expected["dtype"]:
            detail = (
                f"expected shape {expected['shape']} ({expected['dtype']}), "
                f"got {got['shape']} ({got['dtype']})"
            )
        else:
            detail = (
                f"expected std {expected['std']:.4g}, mean {expected['mean']:.2g}, "
                f"{expected['zeros']:.0%} zeros; "
                f"got std {got['std']:.4g}, mean {got['mean']:.2g}, {got['zeros']:.0%} zeros"
            )
        return [
            CheckResult(
                name, False, self.weight, "values", detail, hint=self.hint, candidates=candidates
            )
        ]


@dataclass
class Reproducible:
    """Same seed → same weights (whatever numpy's global state), other seed → other weights.

    ``rng_at`` is the position (or keyword) of the ``Rng`` argument in the case.
    """

    case: Case
    rng_at: int | str = 2
    random: bool = True
    weight: float = 1.0
    name: str = "reproducible from its rng, without numpy's global random state"
    hint: str = "draw every random number from the rng argument (rng.standard_normal, rng.random)"

    def run(self, ctx: Context) -> list[CheckResult]:
        fn = ctx.spec.primary
        inp = self.case.build()
        seed = (
            inp.args[self.rng_at] if isinstance(self.rng_at, int) else inp.kwargs[self.rng_at]
        ).seed
        if isinstance(self.rng_at, int):
            args = list(inp.args)
            args[self.rng_at] = Rng(seed + 1)
            other = Inputs(tuple(args), inp.kwargs)
        else:
            other = inp.replace(**{self.rng_at: Rng(seed + 1)})
        calls = [
            Call(fn, inp, reseed_global=1, return_args=False),
            Call(fn, inp, reseed_global=2, return_args=False),
            Call(fn, other, reseed_global=1, return_args=False),
        ]
        a, b, c = ctx.callees[STUDENT].run(calls)
        bad = next((o for o in (a, b, c) if not o.ok), None)
        if bad is not None:
            return [
                CheckResult(
                    self.name,
                    False,
                    self.weight,
                    "values",
                    f"your function {bad.error}",
                    hint=self.hint,
                )
            ]
        if not deep_equal(a.value, b.value) or not isinstance(a.value, np.ndarray):
            detail = "the same rng seed gave different weights after numpy's global seed changed"
            return [CheckResult(self.name, False, self.weight, "values", detail, hint=self.hint)]
        if self.random and deep_equal(a.value, c.value):
            detail = "two different rng seeds gave identical weights"
            return [CheckResult(self.name, False, self.weight, "values", detail, hint=self.hint)]
        return [CheckResult(self.name, True, self.weight)]
