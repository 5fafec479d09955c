"""d) Grading a class: plain `nbgrader autograde` against `gradkit grade`, on the same submissions.

Twenty (five with --quick) correct submissions of assignment 01 are graded
twice, in one run:

* by plain nbgrader (serial, nbgrader's default configuration: no gradkit
  plugin, so each test cell runs `grade(...)` inside the student's kernel and
  every cell of the notebook is executed);
* by `gradkit grade` with its defaults (one worker per core, the sandbox when
  the machine has it, demonstration cells skipped, checks in the grader).

Both must give every student full marks; the row reports both wall times,
the ratio and the time per student.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_linear_models"
GOAL = 3.0


def plain_course(root: Path, assignment: str = ASSIGNMENT) -> Path:
    """A course for plain nbgrader: the solutions with nbgrader metadata, default config."""
    from gradkit.course.nbgrader_plugins import MarkGradedCells

    src = root / "source" / assignment
    src.mkdir(parents=True)
    mark = MarkGradedCells()
    for path in sorted((REPO / "solutions" / assignment).glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for i, cell in enumerate(nb.cells):
            mark.preprocess_cell(cell, {}, i)
        nbformat.write(nb, str(src / path.name))
    (root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "bench"\n'
        'c.CourseDirectory.ignore = ["*"]\n'
    )
    return root


def _nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(bindir / "nbgrader"), *args], cwd=root, capture_output=True, text=True, env=env
    )


def _totals(db: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        return {s.student.id: float(s.score) for s in gb.find_assignment(ASSIGNMENT).submissions}


def run(quick: bool = False) -> list[dict]:
    from gradkit.course.demo import make_submission
    from gradkit.course.directory import Course
    from gradkit.course.sandbox import probe

    students = 5 if quick else 20
    sandbox, _ = probe()
    with tempfile.TemporaryDirectory(prefix="gradkit-bench-") as tmp_name:
        tmp = Path(tmp_name)
        # gradkit's course: the repository's assignment 01, released by gradkit.
        course_root = tmp / "gradkit"
        shutil.copytree(REPO / "solutions" / ASSIGNMENT, course_root / "solutions" / ASSIGNMENT)
        shutil.copy(REPO / "nbgrader_config.py", course_root / "nbgrader_config.py")
        gk = [sys.executable, "-m", "gradkit", "--course", str(course_root)]
        subprocess.run([*gk, "secret", "--new"], check=True, capture_output=True)
        subprocess.run([*gk, "release"], check=True, capture_output=True)
        course = Course(course_root)
        subs = tmp / "subs"
        for k in range(students):
            make_submission(course, ASSIGNMENT, subs / f"student{k:02d}", "full")
        # Plain nbgrader's course, with the same submissions.
        plain = plain_course(tmp / "plain")
        res = _nbgrader(plain, "generate_assignment", ASSIGNMENT)
        if res.returncode:
            raise RuntimeError(f"nbgrader generate_assignment failed: {res.stderr[-300:]}")
        for k in range(students):
            shutil.copytree(
                subs / f"student{k:02d}", plain / "submitted" / f"student{k:02d}" / ASSIGNMENT
            )
        t0 = time.perf_counter()
        res = _nbgrader(plain, "autograde", ASSIGNMENT)
        t_plain = time.perf_counter() - t0
        if res.returncode:
            raise RuntimeError(f"nbgrader autograde failed: {res.stderr[-300:]}")
        t0 = time.perf_counter()
        args = [*gk, "grade", ASSIGNMENT, "--submissions", str(subs), "--no-progress"]
        res = subprocess.run(
            args + ([] if sandbox else ["--no-sandbox"]), capture_output=True, text=True
        )
        t_gradkit = time.perf_counter() - t0
        if res.returncode:
            raise RuntimeError(f"gradkit grade failed: {res.stderr[-300:]}")
        plain_scores = _totals(plain / "gradebook.db")
        gradkit_scores = _totals(course_root / "gradebook.db")
    same = plain_scores == gradkit_scores and len(set(plain_scores.values())) == 1
    ratio = t_plain / t_gradkit
    return [
        {
            "benchmark": f"d) grade {students} correct 01 submissions, {os.cpu_count()} cores",
            "measured": (
                f"nbgrader autograde {t_plain:.1f} s ({t_plain / students:.2f} s/student), "
                f"gradkit grade {t_gradkit:.1f} s ({t_gradkit / students:.2f} s/student, "
                f"{'sandboxed' if sandbox else 'no sandbox on this machine'})"
            ),
            "result": f"{ratio:.1f}× faster; scores {'identical' if same else 'DIFFER'} "
            f"({sorted(set(gradkit_scores.values()))})",
            "goal": f"≥ {GOAL:g}× faster",
            "met": ratio >= GOAL and same,
        }
    ]
