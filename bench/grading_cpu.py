"""h) CPU seconds per graded notebook: `gradkit grade` against plain `nbgrader autograde`.

For each assignment 01-05, a class of correct students (the solutions' answers in
the release notebooks, as `gradkit demo` writes them) is graded in one run by:

* `gradkit grade` with its defaults (a worker per core, the sandbox when the
  machine has it);
* plain serial `nbgrader autograde` (default configuration: test cells run
  `grade(...)` in the student's kernel, every cell executed), on the same notebooks.

What is counted is every process the run starts, the sandboxed kernels in their
own pid namespaces included: each run is started in a cpuacct control group of its
own (root; kernels' groups of other controllers do not move them out of it), whose
``cpuacct.usage`` is read when it is done. Without root, the machine-wide busy time
of ``/proc/stat`` over the run is used instead (other work on the machine then
counts too). Both figures are printed when both exist. The scores must be
identical between the two graders and full marks for every student.

``python -m bench.grading_cpu [--students N] [--assignments 01,03] [--profile]``
prints one JSON line per assignment and the table rows; ``--profile`` also runs
`gradkit grade --profile` and prints its per-phase table.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def _proc_stat_busy() -> float:
    """Seconds of CPU the whole machine has been busy (not idle, not waiting for I/O)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    # guest time is already counted in user/nice
    busy = sum(ticks[:8]) - idle
    return busy / os.sysconf("SC_CLK_TCK")


class _Accounting:
    """A cpuacct group to run a command in, when this process may make one."""

    def __init__(self) -> None:
        self.path: Path | None = None
        if os.geteuid() == 0 and (CPUACCT / "cpuacct.usage").is_file():
            path = CPUACCT / f"gradkit-bench-{os.getpid()}-{secrets.token_hex(3)}"
            try:
                path.mkdir()
                self.path = path
            except OSError:
                self.path = None

    def wrap(self, argv: list[str]) -> list[str]:
        if self.path is None:
            return argv
        return ["/bin/sh", "-c", f'echo $$ > "{self.path}/cgroup.procs" && exec "$@"', "h", *argv]

    def seconds(self) -> float | None:
        if self.path is None:
            return None
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        if self.path is not None:
            for _ in range(100):
                try:
                    self.path.rmdir()
                    return
                except OSError:
                    time.sleep(0.05)


def measure(argv: list[str], **kw) -> dict:
    """Run ``argv``; its CPU seconds (control group, and machine-wide) and wall seconds."""
    acct = _Accounting()
    try:
        busy0, t0 = _proc_stat_busy(), time.perf_counter()
        res = subprocess.run(acct.wrap(argv), capture_output=True, text=True, **kw)
        wall = time.perf_counter() - t0
        machine = _proc_stat_busy() - busy0
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
    import nbformat

    from gradkit.course.demo import make_submission
    from gradkit.course.directory import Course
    from gradkit.course.nbgrader_plugins import MarkGradedCells

    root = tmp / "gradkit"
    shutil.copytree(REPO / "solutions" / assignment, root / "solutions" / assignment)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    gk = [sys.executable, "-m", "gradkit", "--course", str(root)]
    subprocess.run([*gk, "secret", "--new"], check=True, capture_output=True)
    subprocess.run([*gk, "release", assignment], check=True, capture_output=True, env=_env())
    course = Course(root)
    subs = tmp / "subs"
    for k in range(students):
        make_submission(course, assignment, subs / f"student{k:02d}", "full")
    plain = tmp / "plain"
    src = plain / "source" / assignment
    src.mkdir(parents=True)
    mark = MarkGradedCells()
    for path in sorted((REPO / "solutions" / assignment).glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for i, cell in enumerate(nb.cells):
            mark.preprocess_cell(cell, {}, i)
        nbformat.write(nb, str(src / path.name))
    (plain / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "bench"\n'
        'c.CourseDirectory.ignore = ["*"]\n'
    )
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


def run_assignment(assignment: str, students: int, profile: bool, plain: bool = True) -> dict:
    from gradkit.course.sandbox import probe

    sandbox, _ = probe()
    with tempfile.TemporaryDirectory(prefix="gradkit-bench-cpu-") as tmp_name:
        root, subs, plain_root = prepare(Path(tmp_name), assignment, students)
        notebooks = students * len(list((root / "assignments" / assignment).glob("*.ipynb")))
        argv = [
            sys.executable,
            "-m",
            "gradkit",
            "--course",
            str(root),
            "grade",
            assignment,
            "--submissions",
            str(subs),
            "--no-progress",
        ]
        argv += [] if sandbox else ["--no-sandbox"]
        argv += ["--profile"] if profile else []
        gk = measure(argv, env=_env())
        gk_scores = _totals(root / "gradebook.db", assignment)
        row = {
            "assignment": assignment,
            "notebooks": notebooks,
            "sandbox": sandbox,
            "gradkit": {k: v for k, v in gk.items() if k != "stdout"},
            "scores": gk_scores,
        }
        if profile:
            row["profile"] = gk["stdout"]
        if plain:
            nb = measure(_nbgrader(plain_root, "autograde", assignment), cwd=plain_root, env=_env())
            row["nbgrader"] = {k: v for k, v in nb.items() if k != "stdout"}
            row["nbgrader_scores"] = _totals(plain_root / "gradebook.db", assignment)
    return row


def rows_of(results: list[dict]) -> list[dict]:
    rows = []
    total_nb = sum(r["notebooks"] for r in results)
    for r in results + ([{"assignment": "all", "all": True}] if len(results) > 1 else []):
        if r.get("all"):
            gk_cpu = sum(x["gradkit"]["cpu"] for x in results)
            gk_wall = sum(x["gradkit"]["wall"] for x in results)
            nb_cpu = sum(x.get("nbgrader", {}).get("cpu", 0) for x in results)
            n = total_nb
            same = all(x.get("same", True) for x in results)
        else:
            n = r["notebooks"]
            gk_cpu, gk_wall = r["gradkit"]["cpu"], r["gradkit"]["wall"]
            nb_cpu = r.get("nbgrader", {}).get("cpu", 0)
            scores = set(r["scores"].values())
            same = len(scores) == 1 and (
                "nbgrader_scores" not in r or r["nbgrader_scores"] == r["scores"]
            )
            r["same"] = same
        per = gk_cpu / n
        measured = f"gradkit {per:.2f} CPU s/notebook ({gk_cpu:.1f} s, {gk_wall:.0f} s wall)"
        if nb_cpu:
            measured += f"; nbgrader {nb_cpu / n:.2f} CPU s/notebook"
        rows.append(
            {
                "benchmark": f"h) CPU per notebook, {r['assignment']}, {n} correct notebooks",
                "measured": measured,
                "result": (f"{nb_cpu / gk_cpu:.1f}× less CPU than nbgrader; " if nb_cpu else "")
                + f"scores {'identical' if same else 'DIFFER'}",
                "goal": f"≤ {GOAL_CPU_PER_NOTEBOOK:g} CPU s/notebook (sandboxed)",
                "met": per <= GOAL_CPU_PER_NOTEBOOK and same,
            }
        )
    return rows


def run(quick: bool = False) -> list[dict]:
    students = 1 if quick else 4
    return rows_of([run_assignment(a, students, profile=False) for a in ASSIGNMENTS])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.grading_cpu", description=__doc__)
    p.add_argument("--students", type=int, default=4)
    p.add_argument("--assignments", default="01,02,03,04,05", help="e.g. 01,03")
    p.add_argument("--profile", action="store_true", help="also print gradkit grade --profile")
    p.add_argument("--no-nbgrader", action="store_true", help="skip plain nbgrader")
    args = p.parse_args(argv)
    wanted = [a for a in ASSIGNMENTS if a[:2] in args.assignments.split(",")]
    if not wanted:
        p.error(f"no assignment matches {args.assignments!r}")
    results = []
    for assignment in wanted:
        r = run_assignment(assignment, args.students, args.profile, plain=not args.no_nbgrader)
        prof = r.pop("profile", "")
        print(json.dumps(r), flush=True)
        if prof:
            print(prof, flush=True)
        results.append(r)
    from .__main__ import print_table

    print_table(rows_of(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
