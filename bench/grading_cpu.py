"""h) CPU seconds per graded notebook: `gradkit grade` against plain `nbgrader autograde`.

For each assignment 01-05, a class of correct students (the solutions' answers in
the release notebooks, as `gradkit demo` writes them) is graded in one run by:

* `gradkit grade` with its defaults (a worker per core, the sandbox when the
  machine has it);
* plain serial `nbgrader autograde` (default configuration: test cells run
  `grade(...)` in the student's kernel, every cell executed), on the same notebooks.

The course is released and its student kit's library built before the measured run
(the first grading run of an assignment builds it, once for the whole class).
What is counted is every process the run starts, the sandboxed kernels in their
own pid namespaces included: each run is started in a cpuacct control group of its
own (root; kernels' groups of other controllers do not move them out of it), whose
``cpuacct.usage`` is read when it is done. Without root, the machine-wide busy time
of ``/proc/stat`` over the run is used instead (other work on the machine then
counts too). Both figures are printed when both exist. The scores must be
identical between the two graders and full marks for every student.

``python -m bench.grading_cpu [--students N] [--assignments 01,03] [--profile] [--marginal]``
prints one JSON line per assignment and the table rows; ``--profile`` also runs
`gradkit grade --profile` and prints its per-phase table; ``--marginal`` also grades
the first student alone, which splits the class's CPU into what each further notebook
costs and what a run spends once (starting Python, nbgrader's import, the fork server,
the sandbox probe), which a small class shares among few notebooks.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import CpuGroup, machine_busy_seconds
from .grading import plain_course

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENTS = (
    "01_linear_models",
    "02_backprop",
    "03_data_and_init",
    "04_regularization",
    "05_optimization",
)
#: The issue's target: mean CPU seconds per notebook over a correct class, sandbox on.
GOAL_CPU_PER_NOTEBOOK = 1.5


def measure(argv: list[str], **kw) -> dict:
    """Run ``argv``; its CPU seconds (control group, and machine-wide) and wall seconds."""
    acct = CpuGroup("grade")
    try:
        busy0, t0 = machine_busy_seconds(), time.perf_counter()
        res = subprocess.run(acct.wrap(argv), capture_output=True, text=True, **kw)
        wall = time.perf_counter() - t0
        machine = machine_busy_seconds() - busy0
        group = acct.seconds()
    finally:
        acct.close()
    if res.returncode:
        raise RuntimeError(f"{argv[2:5]} failed: {(res.stderr or res.stdout)[-400:]}")
    return {
        "cpu": group if group is not None else machine,
        "machine": machine,
        "wall": wall,
        "stdout": res.stdout,
        "counted": "cgroup" if group is not None else "machine",
    }


def _totals(db: Path, assignment: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        return {
            s.student.id: round(float(s.score), 3)
            for s in gb.find_assignment(assignment).submissions
        }


def _env() -> dict[str, str]:
    bindir = Path(sys.executable).parent
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}


def _nbgrader(root: Path, *args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "nbgrader"), *args]


def prepare(tmp: Path, assignment: str, students: int) -> tuple[Path, Path, Path]:
    """A gradkit course and a plain nbgrader course of ``assignment``, with the same
    ``students`` correct submissions; (gradkit course, submissions, plain course)."""

    from gradkit.course.demo import make_submission
    from gradkit.course.directory import Course
    from gradkit.course.kit import kit_library

    root = tmp / "gradkit"
    shutil.copytree(REPO / "solutions" / assignment, root / "solutions" / assignment)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    gk = [sys.executable, "-m", "gradkit", "--course", str(root)]
    subprocess.run([*gk, "secret", "--new"], check=True, capture_output=True)
    subprocess.run([*gk, "release", assignment], check=True, capture_output=True, env=_env())
    course = Course(root)
    # The student kit's library, which the sandboxed kernels import: built by the first
    # grading run of an assignment and kept in the course (.gradkit/kits), so a class of
    # any size pays for it once; built here, outside the measured run.
    kit_library(course, assignment)
    subs = tmp / "subs"
    for k in range(students):
        make_submission(course, assignment, subs / f"student{k:02d}", "full")
    plain = plain_course(tmp / "plain", assignment)
    res = subprocess.run(
        _nbgrader(plain, "generate_assignment", assignment),
        cwd=plain,
        capture_output=True,
        text=True,
        env=_env(),
    )
    if res.returncode:
        raise RuntimeError(f"nbgrader generate_assignment failed: {res.stderr[-300:]}")
    for k in range(students):
        shutil.copytree(
            subs / f"student{k:02d}", plain / "submitted" / f"student{k:02d}" / assignment
        )
    return root, subs, plain


def _env_with(lib: str | None) -> dict[str, str]:
    """The environment of a grading run, importing gradkit from ``lib`` when given."""
    env = _env()
    if lib:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [lib, env.get("PYTHONPATH", "")]))
    return env


def _grade(root: Path, subs: Path, assignment: str, sandbox: bool, profile: bool, lib=None):
    argv = [sys.executable, "-m", "gradkit", "--course", str(root), "grade", assignment]
    argv += ["--submissions", str(subs), "--no-progress"]
    argv += [] if sandbox else ["--no-sandbox"]
    argv += ["--profile"] if profile else []
    return measure(argv, env=_env_with(lib))


def _one_student(tmp: Path, root: Path, subs: Path) -> tuple[Path, Path]:
    """A copy of the course, not graded yet, and the first student's submission alone."""
    one = tmp / "one"
    shutil.copytree(root, one / "course", symlinks=True)
    first = sorted(p for p in subs.iterdir() if p.is_dir())[0]
    shutil.copytree(first, one / "subs" / first.name)
    return one / "course", one / "subs"


def run_assignment(
    assignment: str,
    students: int,
    profile: bool,
    plain: bool = True,
    before: str | None = None,
    marginal: bool = False,
) -> dict:
    """Grade one class of ``assignment``: with this gradkit, with the gradkit of the folder
    ``before`` (its ``lib``) when given, and with plain nbgrader; each in a copy of the
    same course, one after the other. With ``marginal``, this gradkit also grades the
    first student alone, right after the class: the difference is what each further
    notebook costs, the rest what a run costs once (:func:`split_costs`)."""
    from gradkit.course.sandbox import probe

    sandbox, _ = probe()
    with tempfile.TemporaryDirectory(prefix="gradkit-bench-cpu-") as tmp_name:
        root, subs, plain_root = prepare(Path(tmp_name), assignment, students)
        notebooks = students * len(list((root / "assignments" / assignment).glob("*.ipynb")))
        row: dict = {"assignment": assignment, "notebooks": notebooks, "sandbox": sandbox}
        if before:
            old = Path(tmp_name) / "before"
            shutil.copytree(root, old)
            code = (
                "import sys; from gradkit.course.directory import Course; "
                "from gradkit.course.kit import kit_library; "
                "kit_library(Course(sys.argv[1]), sys.argv[2])"
            )
            subprocess.run(
                [sys.executable, "-c", code, str(old), assignment],
                check=True,
                capture_output=True,
                env=_env_with(before),
            )
            gk_old = _grade(old, subs, assignment, sandbox, profile, before)
            row["before"] = {k: v for k, v in gk_old.items() if k != "stdout"}
            if profile:
                row["before_profile"] = gk_old["stdout"]
            row["before_scores"] = _totals(old / "gradebook.db", assignment)
        alone = _one_student(Path(tmp_name), root, subs) if marginal else None
        gk = _grade(root, subs, assignment, sandbox, profile)
        row["gradkit"] = {k: v for k, v in gk.items() if k != "stdout"}
        if alone is not None:
            one = _grade(*alone, assignment, sandbox, False)
            row["alone"] = {k: v for k, v in one.items() if k != "stdout"}
            row["alone_notebooks"] = sum(1 for _ in alone[1].glob("*/*.ipynb"))
            row["alone_scores"] = _totals(alone[0] / "gradebook.db", assignment)
        row["scores"] = _totals(root / "gradebook.db", assignment)
        if profile:
            row["profile"] = gk["stdout"]
        if plain:
            nb = measure(_nbgrader(plain_root, "autograde", assignment), cwd=plain_root, env=_env())
            row["nbgrader"] = {k: v for k, v in nb.items() if k != "stdout"}
            row["nbgrader_scores"] = _totals(plain_root / "gradebook.db", assignment)
    return row


def split_costs(r: dict) -> tuple[float, float] | None:
    """(CPU s of each further notebook, CPU s a run spends once) from a row graded with
    ``marginal``: the class of n notebooks and its first student's k, c(n) - c(k) over
    n - k notebooks, and c(k) less k of those."""
    if "alone" not in r or r["notebooks"] <= r["alone_notebooks"]:
        return None
    n, k = r["notebooks"], r["alone_notebooks"]
    each = (r["gradkit"]["cpu"] - r["alone"]["cpu"]) / (n - k)
    return each, r["alone"]["cpu"] - k * each


def rows_of(results: list[dict]) -> list[dict]:
    rows = []
    names = [r["assignment"] for r in results]
    everything = {"assignment": "all", "notebooks": sum(r["notebooks"] for r in results)}
    for key in ("gradkit", "before", "nbgrader"):
        if all(key in r for r in results):
            everything[key] = {
                "cpu": sum(r[key]["cpu"] for r in results),
                "wall": sum(r[key]["wall"] for r in results),
            }
    if all("alone" in r for r in results):
        everything["alone"] = {"cpu": sum(r["alone"]["cpu"] for r in results)}
        everything["alone_notebooks"] = sum(r["alone_notebooks"] for r in results)
        everything["runs"] = len(results)
    everything["same"] = all(_same(r) for r in results)
    for r in results + ([everything] if len(names) > 1 else []):
        n = r["notebooks"]
        same = r["same"] if "same" in r else _same(r)
        per = r["gradkit"]["cpu"] / n
        measured = f"gradkit {per:.2f} CPU s/notebook ({r['gradkit']['wall']:.0f} s wall)"
        result = []
        if "before" in r:
            old = r["before"]["cpu"] / n
            measured += f"; before {old:.2f} ({r['before']['wall']:.0f} s wall)"
            result.append(f"{old / per:.2f}× less CPU than before")
        if "nbgrader" in r:
            measured += f"; nbgrader {r['nbgrader']['cpu'] / n:.2f}"
            result.append(f"{r['nbgrader']['cpu'] / r['gradkit']['cpu']:.1f}× less than nbgrader")
        split = split_costs(r)
        if split is not None:
            once = split[1] / r.get("runs", 1)
            measured += f"; each further notebook {split[0]:.2f}, once per run {once:.1f}"
        result.append(f"scores {'identical' if same else 'DIFFER'}")
        rows.append(
            {
                "benchmark": f"h) CPU per notebook, {r['assignment']}, {n} correct notebooks",
                "measured": measured,
                "result": "; ".join(result),
                "goal": f"≤ {GOAL_CPU_PER_NOTEBOOK:g} CPU s/notebook (sandboxed)",
                "met": per <= GOAL_CPU_PER_NOTEBOOK and same,
            }
        )
    return rows


def _same(r: dict) -> bool:
    """Every student at the same total, and the same totals from every grader of the row."""
    if len(set(r["scores"].values())) != 1:
        return False
    if any(r["alone_scores"][s] != r["scores"][s] for s in r.get("alone_scores", {})):
        return False
    return all(r.get(k, r["scores"]) == r["scores"] for k in ("before_scores", "nbgrader_scores"))


def run(quick: bool = False) -> list[dict]:
    students = 1 if quick else 4
    return rows_of([run_assignment(a, students, profile=False) for a in ASSIGNMENTS])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.grading_cpu", description=__doc__)
    p.add_argument("--students", type=int, default=4)
    p.add_argument("--assignments", default="01,02,03,04,05", help="e.g. 01,03")
    p.add_argument("--profile", action="store_true", help="also print gradkit grade --profile")
    p.add_argument("--no-nbgrader", action="store_true", help="skip plain nbgrader")
    p.add_argument(
        "--marginal",
        action="store_true",
        help="also grade the first student alone: the cost of each further notebook and "
        "what a run costs once",
    )
    p.add_argument(
        "--before",
        metavar="DIR",
        help="also grade with the gradkit of this checkout (DIR/lib), side by side",
    )
    args = p.parse_args(argv)
    wanted = [a for a in ASSIGNMENTS if a[:2] in args.assignments.split(",")]
    if not wanted:
        p.error(f"no assignment matches {args.assignments!r}")
    results = []
    for assignment in wanted:
        before = str(Path(args.before).resolve() / "lib") if args.before else None
        r = run_assignment(
            assignment,
            args.students,
            args.profile,
            plain=not args.no_nbgrader,
            before=before,
            marginal=args.marginal,
        )
        prof, old = r.pop("profile", ""), r.pop("before_profile", "")
        print(json.dumps(r), flush=True)
        if old:
            print(f"before ({args.before}):\n{old}", flush=True)
        if prof:
            print(prof, flush=True)
        results.append(r)
    from .__main__ import print_table

    print_table(rows_of(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
