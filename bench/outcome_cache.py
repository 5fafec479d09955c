"""Row j): grader CPU per notebook with and without the outcome cache.

For each solution notebook of 01–05, its tests are graded in the grader's engine with the
solution (the reference) as the student, in a fresh process each time, as the grader
grades each notebook in a process of its own:

* ``off``: no cache (the grader before the cache, and with ``GRADKIT_CACHE=off``);
* ``warm``: the cache filled by an earlier process (every later notebook of a run, and
  every run after the first until the library changes); opening it (the library's
  fingerprint) is counted.

Each process runs numpy on one thread, as the grader's do (``isolate.SINGLE_THREAD_ENV``).

The CPU seconds counted are the grader's: the whole public and hidden phase minus what
the student's function and the reference's timing kernel spend, which in a real run
happen in kernels, not in the grader. ``off`` also splits where the grader's time goes:
the reference's calls, the mistakes' calls (both cacheable on public cases), and the
numeric gradients of the student's own function (per student, never cached). Modes
alternate per repeat; each figure is the best of the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMERIC = ("OwnGradient", "OwnBackward")


def notebooks() -> dict[str, list[tuple[str, float]]]:
    """Each solution notebook of 01–05 and its tests (name, points), in order."""
    found = {}
    for nb in sorted((ROOT / "solutions").glob("0[1-5]_*/*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        tests = re.findall(r'grade\("(\w+)", points=([\d.]+)\)', code)
        found[f"{nb.parent.name}/{nb.name}"] = [(n, float(p)) for n, p in tests]
    return found


class _Timed:
    """A callee whose CPU time goes into ``acc[bucket]``."""

    def __init__(self, inner, bucket: str, acc: dict):
        self.inner, self.bucket, self.acc = inner, bucket, acc

    def run(self, calls):
        t = time.process_time()
        try:
            return self.inner.run(calls)
        finally:
            self.acc[self.bucket] += time.process_time() - t

    def time_calls(self, *args):
        t = time.process_time()
        try:
            return self.inner.time_calls(*args)
        finally:
            self.acc["timer"] += time.process_time() - t

    def reset(self):
        self.inner.reset()


def child(notebook: str, mode: str, cache_dir: str) -> dict:
    """Grade one notebook's tests in this (fresh) process; CPU seconds by bucket."""
    t_start = time.process_time()
    from gradkit.grading import all_specs
    from gradkit.grading.callee import DirectCallee
    from gradkit.grading.engine import SpecRun
    from gradkit.grading.outcome_cache import open_cache

    specs = all_specs()
    tests = notebooks()[notebook]
    imports = time.process_time() - t_start
    acc: dict = defaultdict(float)
    for bucket in (
        "reference",
        "mistakes",
        "student",
        "timer",
        "numeric",
        "engine",
        "public_cacheable",
    ):
        acc[bucket] = 0.0
    t0 = time.process_time()
    cache = open_cache(Path(cache_dir)) if mode == "warm" else None
    acc["open"] = time.process_time() - t0
    scores = []
    for name, points in tests:
        spec = specs[name]
        student = _Timed(DirectCallee(spec.implementation()), "student", acc)
        run = SpecRun(spec, student, points, "bench-student", cache=cache)
        for who in list(run.ctx.callees):
            if who != "student":
                bucket = "reference" if who == "reference" else "mistakes"
                run.ctx.callees[who] = _Timed(run.ctx.callees[who], bucket, acc)
        run.ctx.reference_timer = _Timed(DirectCallee(spec.implementation()), "timer", acc)
        t = time.process_time()
        before = acc["reference"] + acc["mistakes"]
        for index, check in enumerate(spec.checks):  # SpecRun.public, timing each check
            if not getattr(check, "reads_hidden", False):
                tc = time.process_time()
                run._run(index, check)
                if type(check).__name__ in NUMERIC:
                    acc["numeric"] += time.process_time() - tc
        run.ctx.close_cache()
        acc["public_cacheable"] += acc["reference"] + acc["mistakes"] - before
        run.hidden()
        scores.append(run.result().score)
        acc["engine"] += time.process_time() - t
    acc["grader"] = acc["engine"] + acc["open"] - acc["student"] - acc["timer"]
    return {"imports": imports, "scores": scores, **acc}


def _run_child(notebook: str, mode: str, cache_dir: str) -> dict:
    from gradkit.course.isolate import SINGLE_THREAD_ENV  # as the grader's processes run

    out = subprocess.run(
        [sys.executable, "-m", "bench.outcome_cache", "--child", notebook, mode, cache_dir],
        cwd=ROOT,
        env={**os.environ, **SINGLE_THREAD_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(repeats: int = 3) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = str(Path(tmp) / "cache")
        for notebook in notebooks():
            _run_child(notebook, "warm", cache_dir)  # fills the cache
            best: dict[str, dict] = {}
            every: dict[str, list[float]] = {"off": [], "warm": []}
            for _ in range(repeats):
                for mode in ("off", "warm"):
                    got = _run_child(notebook, mode, cache_dir)
                    every[mode].append(got["grader"])
                    if mode not in best or got["grader"] < best[mode]["grader"]:
                        best[mode] = got
                    if got["scores"] != best["off"]["scores"]:
                        raise RuntimeError(f"{notebook}: scores differ with the cache")
            medians = {f"median_{m}": statistics.median(v) for m, v in every.items()}
            rows.append({"notebook": notebook, **best, **medians})
    return rows


def run(quick: bool = False) -> list[dict]:
    rows = measure(repeats=1 if quick else 3)
    off = sum(r["off"]["grader"] for r in rows)
    warm = sum(r["warm"]["grader"] for r in rows)
    out = []
    for r in rows:
        o, w = r["off"], r["warm"]
        out.append(
            {
                "benchmark": f"j) grader CPU, {r['notebook']}",
                "measured": (
                    f"off {o['grader'] * 1e3:.0f} ms (reference {o['reference'] * 1e3:.0f}, "
                    f"mistakes {o['mistakes'] * 1e3:.0f}, of them on public cases "
                    f"{o['public_cacheable'] * 1e3:.0f}; numeric gradients "
                    f"{o['numeric'] * 1e3:.0f}); warm {w['grader'] * 1e3:.0f} ms (opening "
                    f"{w['open'] * 1e3:.0f}); medians {r['median_off'] * 1e3:.0f} → "
                    f"{r['median_warm'] * 1e3:.0f} ms"
                ),
                "result": f"{(o['grader'] - w['grader']) * 1e3:+.0f} ms saved",
                "goal": "less CPU, same scores",
                "met": w["grader"] <= o["grader"],
            }
        )
    out.append(
        {
            "benchmark": "j) grader CPU, all 10 notebooks",
            "measured": f"off {off:.2f} s, warm {warm:.2f} s",
            "result": f"{off - warm:.2f} s saved ({(off - warm) / max(off, 1e-9):.0%})",
            "goal": "less CPU, same scores",
            "met": warm <= off,
        }
    )
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.outcome_cache", description=__doc__)
    p.add_argument("--child", nargs=3, metavar=("NOTEBOOK", "MODE", "CACHE_DIR"))
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    if args.json:
        print(json.dumps(measure(repeats=1 if args.quick else 3), indent=1))
        return
    for row in run(args.quick):
        print(row)


if __name__ == "__main__":  # pragma: no cover
    main()
