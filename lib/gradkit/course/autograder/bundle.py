"""The grader's half of every platform autograder: a course folder without the answers.

``gradkit autograder`` writes it into each platform's artifact as ``grader/``:

* ``course/``: ``nbgrader_config.py``, the release notebooks of the assignment
  (``assignments/<a>/``) and a gradebook that knows only that assignment's cells
  (nbgrader restores edited test cells from it), with no student in it;
* ``secret``: the course secret (mode 0600), which seeds each student's hidden cases;
* ``kit.json``: the student kit's library, packed (:func:`gradkit.course.kit.pack_library`),
  which a sandboxed kernel sees in place of gradkit's: no reference within its reach;
* ``manifest.json``: the assignment, its notebooks, each notebook's graded tests with
  their points and the points of its written answers (graded by hand).

No ``solutions/``: the grader's process judges with the full library installed on the
platform (the wheel beside this folder), never with the instructor's notebooks.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..directory import Course, UserError

__all__ = ["GRADER", "Manifest", "build_grader", "read_manifest"]

#: The folder of a platform's artifact that holds the grader's half.
GRADER = "grader"
#: Tables gradkit keeps beside nbgrader's (students' grades, names, roster): emptied.
_GRADKIT_TABLES = ("gradkit_result", "gradkit_student", "gradkit_roster")


@dataclass
class Manifest:
    """What the grader must know of the assignment before any notebook is graded."""

    assignment: str
    #: notebook -> [(test name, points)], in the notebook's order
    tests: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    #: notebook -> points of its written answers (graded by hand, not here)
    manual: dict[str, float] = field(default_factory=dict)

    @property
    def notebooks(self) -> list[str]:
        return sorted(self.tests)

    @property
    def max_score(self) -> float:
        return round(sum(p for tests in self.tests.values() for _, p in tests), 3)

    def to_json(self) -> str:
        return json.dumps(
            {"assignment": self.assignment, "tests": self.tests, "manual": self.manual}, indent=1
        )


def read_manifest(grader: Path) -> Manifest:
    path = Path(grader) / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(
            str(data["assignment"]),
            {nb: [(str(t), float(p)) for t, p in tests] for nb, tests in data["tests"].items()},
            {nb: float(p) for nb, p in data.get("manual", {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path} is not a gradkit autograder manifest ({exc})") from None


def _manifest(course: Course, assignment: str) -> Manifest:
    manifest = Manifest(assignment)
    for name in course.notebooks(assignment):
        nb = nbformat.read(str(course.assignments_dir / assignment / f"{name}.ipynb"), 4)
        tests, manual = [], 0.0
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            points = float(meta.get("points", 0))
            if meta.get("solution"):  # an answer graded by hand (a written question)
                manual += points
            elif str(meta.get("grade_id", "")).startswith("test_"):
                tests.append((meta["grade_id"][len("test_") :], points))
        manifest.tests[name] = tests
        manifest.manual[name] = manual
    return manifest


def _clean_gradebook(source: Path, dest: Path, assignment: str) -> None:
    """Copy the course's gradebook with only ``assignment``'s definition: no student,
    no submission, no other assignment."""
    from nbgrader.api import Gradebook

    with sqlite3.connect(source) as src, sqlite3.connect(dest) as out:
        src.backup(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy chatter
        with Gradebook(f"sqlite:///{dest}") as gb:
            for student in [s.id for s in gb.students]:
                gb.remove_student(student)
            for other in [a.name for a in gb.assignments if a.name != assignment]:
                gb.remove_assignment(other)
    with sqlite3.connect(dest) as con:
        for table in _GRADKIT_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
    con = sqlite3.connect(dest)
    try:
        con.execute("VACUUM")  # nothing deleted stays in the file's free pages
    finally:
        con.close()


def build_grader(course: Course, assignment: str, dest: Path) -> Manifest:
    """Write the grader's half of ``assignment`` into ``dest`` (created, must not exist)."""
    from ..kit import pack_library

    course.require_assignment(assignment)
    release = course.assignments_dir / assignment
    if not release.is_dir() or not any(release.glob("*.ipynb")) or not course.db_path.is_file():
        raise UserError(
            f"{assignment} was never released here; run `gradkit release {assignment}` first"
        )
    secret = course.require_secret().read_bytes().strip()
    dest = Path(dest)
    root = dest / "course"
    (root / "assignments" / assignment).mkdir(parents=True)
    shutil.copyfile(course.root / "nbgrader_config.py", root / "nbgrader_config.py")
    for name in course.notebooks(assignment):
        shutil.copyfile(
            release / f"{name}.ipynb", root / "assignments" / assignment / f"{name}.ipynb"
        )
    _clean_gradebook(course.db_path, root / "gradebook.db", assignment)
    (dest / "secret").write_bytes(secret + b"\n")
    (dest / "secret").chmod(0o600)
    (dest / "kit.json").write_text(json.dumps(pack_library(course, assignment)))
    manifest = _manifest(course, assignment)
    (dest / "manifest.json").write_text(manifest.to_json() + "\n")
    return manifest
