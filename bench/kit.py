"""Row g): student kits: their size, the time to build them, and `gradkit check` with only a
kit installed against `gradkit check` with the full library.

Each kit is built from this repository into a temporary folder (`build_kit`, what `gradkit
kit` runs) and measured: the wheel's and the whole folder's size, the build's wall time.
Then a fresh virtual environment gets assignment 01's kit and nothing else of gradkit
(tests/kit_env.py: third-party packages through a ``.pth`` line to this
environment's), and `gradkit check` runs on the same solution notebooks there
and here, alternately, best of ``repeats``. Both must give full marks.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gradkit.course.directory import Course
from gradkit.course.kit import build_kit
from gradkit.grading import all_specs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the kit-only environment the kit tests use

from kit_env import kit_env  # noqa: E402

CHECKED = ("01_linear_models", ("linear_regression.ipynb", "linear_classifiers.ipynb"))


def _check(gradkit: Path, notebook: Path, cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    res = subprocess.run(
        [str(gradkit), "check", str(notebook)], capture_output=True, text=True, cwd=cwd
    )
    seconds = time.perf_counter() - t0
    total = re.search(r"total ([\d.]+)/([\d.]+)", res.stdout)
    return seconds, (f"{total.group(1)}/{total.group(2)}" if total else "no total")


def run(quick: bool = False) -> list[dict]:
    repeats = 1 if quick else 3
    course = Course(ROOT)
    rows: list[dict] = []
    assignments = sorted({s.assignment for s in all_specs().values()})
    with tempfile.TemporaryDirectory(prefix="gradkit-bench-kit-") as tmp:
        base = Path(tmp)
        wheels = {}
        for a in assignments:
            t0 = time.perf_counter()
            report = build_kit(course, a, base / a)
            seconds = time.perf_counter() - t0
            assert report.wheel is not None
            wheels[a] = report.wheel
            folder = sum(p.stat().st_size for p in (base / a).iterdir())
            rows.append(
                {
                    "benchmark": f"g) kit {a}",
                    "measured": f"built in {seconds:.1f} s",
                    "result": f"wheel {report.wheel.stat().st_size / 2**20:.2f} MiB, "
                    f"folder {folder / 2**20:.2f} MiB, {len(report.stubbed)} stubs",
                    "goal": "pip-installable, pure Python",
                    "met": report.wheel.name.endswith("-py3-none-any.whl"),
                }
            )
        assignment, notebooks = CHECKED
        venv = kit_env(wheels[assignment], base / "venv")
        here = Path(sys.executable).parent / "gradkit"
        for name in notebooks:
            notebook = ROOT / "solutions" / assignment / name
            full, kit = [], []
            for _ in range(repeats):  # alternately, so load changes hit both alike
                full.append(_check(here, notebook, base))
                kit.append(_check(venv / "bin" / "gradkit", notebook, base))
            best_full, best_kit = min(t for t, _ in full), min(t for t, _ in kit)
            rows.append(
                {
                    "benchmark": f"g) gradkit check {name}",
                    "measured": f"full library {best_full:.1f} s, kit only {best_kit:.1f} s "
                    f"(best of {repeats})",
                    "result": f"kit/full {best_kit / best_full:.2f}x; totals {full[0][1]} "
                    f"and {kit[0][1]}",
                    "goal": "same total, no slower",
                    "met": full[0][1] == kit[0][1] and best_kit <= 1.2 * best_full,
                }
            )
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
