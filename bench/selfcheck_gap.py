"""Row e): how far a self-check's score is from the graded score, without and with practice cases.

For every graded function, "careful" students (the reference: right on every
input) and "mutant" students (each catalogued mistake of the spec) are scored
three ways, in this process with the grader's engine:

* graded: public checks plus the student's own hidden cases (a token per student);
* self-check before: public checks only (what `gradkit check` ran until now);
* self-check now: public checks plus practice cases from a fresh random token.

The gap is |self-check − graded| in points (each test worth 3 points), over every
(function, mutant, student); "over" counts self-checks that promised more than the
grade gave by more than 0.01 points.
"""

from __future__ import annotations

import statistics
import time

from gradkit.grading import all_specs
from gradkit.grading.callee import DirectCallee
from gradkit.grading.engine import run_spec
from gradkit.grading.seeds import practice_token

POINTS = 3.0


def _score(spec, mistake, token) -> float:
    return run_spec(spec, DirectCallee(spec.implementation(mistake)), POINTS, token).score


def measure(students: int = 3) -> dict:
    before: list[float] = []
    now: list[float] = []
    over_before = over_now = 0
    careful_gaps: list[float] = []
    for spec in all_specs().values():
        for mistake in [None, *spec.mistakes]:
            public = _score(spec, mistake, None)
            for k in range(students):
                graded = _score(spec, mistake, f"bench-student-{k}")
                practice = _score(spec, mistake, practice_token())
                if mistake is None:
                    careful_gaps += [abs(public - graded), abs(practice - graded)]
                    continue
                before.append(abs(public - graded))
                now.append(abs(practice - graded))
                over_before += public - graded > 0.01
                over_now += practice - graded > 0.01
    return {
        "pairs": len(before),
        "before_mean": statistics.fmean(before),
        "before_max": max(before),
        "now_mean": statistics.fmean(now),
        "now_max": max(now),
        "over_before": over_before,
        "over_now": over_now,
        "careful_max": max(careful_gaps),
    }


def run(quick: bool = False) -> list[dict]:
    t0 = time.perf_counter()
    m = measure(students=1 if quick else 3)
    seconds = time.perf_counter() - t0
    n = m["pairs"]
    return [
        {
            "benchmark": "e) self-check vs graded score, catalogued mistakes",
            "measured": (
                f"{n} (mistake, student) pairs, 3 points a test; public only: mean gap "
                f"{m['before_mean']:.3f}, max {m['before_max']:.3f}, over-promised "
                f"{m['over_before']}/{n}; with practice cases: mean {m['now_mean']:.3f}, "
                f"max {m['now_max']:.3f}, over-promised {m['over_now']}/{n} ({seconds:.0f} s)"
            ),
            "result": "gap closed"
            if m["now_mean"] == 0
            else f"mean gap {m['before_mean'] / m['now_mean']:.1f}× smaller",
            "goal": "smaller gap",
            "met": m["now_mean"] < m["before_mean"],
        },
        {
            "benchmark": "e) self-check vs graded score, correct functions",
            "measured": f"largest gap {m['careful_max']:.3f} points",
            "result": "same score" if m["careful_max"] == 0 else "scores differ",
            "goal": "no gap",
            "met": m["careful_max"] == 0,
        },
    ]


if __name__ == "__main__":  # pragma: no cover
    for row in run():
        print(row)
