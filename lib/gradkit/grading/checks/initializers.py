"""Checks of an initializer: statistics of its draws, reproducibility from its rng."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..callee import Call
from ..compare import deep_equal
from ..engine import REFERENCE, STUDENT, Context
from ..result import CheckResult
from ..spec import Case, Inputs, Rng

__all__ = ["Statistics", "Reproducible", "STD_RTOL"]


#: Relative tolerance on the standard deviation of N draws: its standard error
#: is about 1/√(2N), under 0.3 % for the 10^5 draws a case makes, so 3 % is
#: far from flaky, while a wrong fan or a missing factor 2 changes it by > 20 %.
STD_RTOL = 0.03


def _stats(w: Any) -> dict | None:
    """What a statistics check looks at in a draw (a dict of statistics stays as it is)."""
    if isinstance(w, dict) and "std" in w:
        return w
    if not isinstance(w, np.ndarray) or w.dtype.kind != "f" or w.size == 0:
        return None
    return {
        "shape": tuple(w.shape),
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
            [(f"stats|{self.case.label}|{self.case.seed}", Call(fn, inp, return_args=False))],
            reduce=_stats,
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
