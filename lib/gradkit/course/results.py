"""gradkit's part of the gradebook: each notebook's status, incidents and structured results.

nbgrader's tables in ``gradebook.db`` hold the scores; this module adds one
table to the same SQLite file for what nbgrader has no place for: whether a
submitted notebook could be graded (and why not), what happened while it ran
(timeouts, restarted kernels, truncated output), the fingerprint of what was
graded (so an unchanged submission is not graded again), whether the LMS marked
the file late (Canvas's ``LATE``), and the full
:class:`~gradkit.grading.result.TestResult` of every test, from which the
feedback, the CSV and the class report are rendered. Only the grader's
process writes it; :func:`save_graded` writes a notebook's grades and its
record in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..grading.result import MIME, TestResult

__all__ = [
    "GRADED",
    "INCIDENTS",
    "NOT_GRADED",
    "NOT_SUBMITTED",
    "NotebookRecord",
    "save",
    "set_late",
    "save_graded",
    "load",
    "results_from_notebook",
    "incident_place",
    "incidents_from_notebook",
]

GRADED = "graded"
INCIDENTS = "graded with incidents"
NOT_GRADED = "could not be graded"
NOT_SUBMITTED = "not submitted"
#: Statuses whose scores come from the gradebook.
SCORED = (GRADED, INCIDENTS)

_COLUMNS = (
    "assignment",
    "student",
    "notebook",
    "status",
    "note",
    "tests",
    "incidents",
    "fingerprint",
    "graded_at",
    "late",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS gradkit_result (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    notebook TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    tests TEXT NOT NULL DEFAULT '[]',
    incidents TEXT NOT NULL DEFAULT '[]',
    fingerprint TEXT NOT NULL DEFAULT '',
    graded_at REAL NOT NULL,
    late INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (assignment, student, notebook)
)
"""
_INSERT = (
    f"INSERT OR REPLACE INTO gradkit_result ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)


@dataclass
class NotebookRecord:
    """What grading one student's notebook produced."""

    status: str
    note: str = ""
    tests: list[TestResult] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    fingerprint: str = ""
    late: bool = False

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    def row(self, assignment: str, student: str, notebook: str) -> tuple:
        return (
            assignment,
            student,
            notebook,
            self.status,
            self.note,
            json.dumps([t.to_dict() for t in self.tests]),
            json.dumps(self.incidents),
            self.fingerprint,
            time.time(),
            int(self.late),
        )


def _ensure_schema(con: sqlite3.Connection) -> None:
    con.execute(_SCHEMA)
    have = {row[1] for row in con.execute("PRAGMA table_info(gradkit_result)")}
    added = {"incidents": "TEXT NOT NULL DEFAULT '[]'", "fingerprint": "TEXT NOT NULL DEFAULT ''"}
    added["late"] = "INTEGER NOT NULL DEFAULT 0"
    for column, kind in added.items():  # tables written by earlier versions
        if column not in have:
            con.execute(f"ALTER TABLE gradkit_result ADD COLUMN {column} {kind}")


@contextmanager
def _connect(db_path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(str(db_path), timeout=60)) as con:
        _ensure_schema(con)
        yield con


def save(
    db_path: Path, assignment: str, student: str, notebook: str, record: NotebookRecord
) -> None:
    """Store (replace) one notebook's record, atomically."""
    with _connect(db_path) as con, con:
        con.execute(_INSERT, record.row(assignment, student, notebook))


def set_late(db_path: Path, assignment: str, student: str, notebook: str, late: bool) -> None:
    """Change only the late mark of a stored record (a notebook not graded again)."""
    with _connect(db_path) as con, con:
        con.execute(
            "UPDATE gradkit_result SET late = ? WHERE assignment = ? AND student = ? "
            "AND notebook = ?",
            (int(late), assignment, student, notebook),
        )


def save_graded(
    db_path: Path, assignment: str, student: str, notebook: str, nb: Any, record: NotebookRecord
) -> None:
    """Write a graded notebook's scores into nbgrader's tables and its record, in one transaction.

    What nbgrader's SaveAutoGrades does — the score of every graded cell as
    nbgrader reads it, "No response." for untouched answer cells — through
    nbgrader's own gradebook API, with the record added to the same session
    and a single commit: a run killed in between leaves neither.
    """
    from nbgrader import utils
    from nbgrader.api import Gradebook
    from sqlalchemy import text

    with _connect(db_path):
        pass  # the table exists before the session below writes to it
    with Gradebook(f"sqlite:///{db_path}") as gb:
        for cell in nb.cells:
            if not (utils.is_grade(cell) or utils.is_solution(cell)):
                continue
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            if utils.is_grade(cell):
                grade = gb.find_grade(grade_id, notebook, assignment, student)
                grade.auto_score, _ = utils.determine_grade(cell)
                grade.needs_manual_grade = (
                    grade.manual_score is not None or grade.auto_score is None
                )
            if utils.is_solution(cell):
                comment = gb.find_comment(grade_id, notebook, assignment, student)
                untouched = cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(
                    cell
                ) and not utils.is_task(cell)
                comment.auto_comment = "No response." if untouched else None
        names = dict(zip(_COLUMNS, record.row(assignment, student, notebook)))
        gb.db.execute(text(_INSERT.replace("?", "{}").format(*(f":{c}" for c in _COLUMNS))), names)
        gb.db.commit()


def load(db_path: Path, assignment: str) -> dict[str, dict[str, NotebookRecord]]:
    """student -> notebook -> record for ``assignment`` (empty if never graded)."""
    if not Path(db_path).is_file():
        return {}
    out: dict[str, dict[str, NotebookRecord]] = {}
    with _connect(db_path) as con:
        rows = con.execute(
            "SELECT student, notebook, status, note, tests, incidents, fingerprint, late "
            "FROM gradkit_result WHERE assignment = ? ORDER BY student, notebook",
            (assignment,),
        ).fetchall()
    for student, notebook, status, note, tests, incidents, fingerprint, late in rows:
        results = [TestResult.from_dict(t) for t in json.loads(tests)]
        record = NotebookRecord(
            status, note, results, json.loads(incidents), fingerprint, bool(late)
        )
        out.setdefault(student, {})[notebook] = record
    return out


def results_from_notebook(nb: Any) -> list[TestResult]:
    """The test results the grader wrote into an executed notebook's test cells (a result
    anywhere else was not written by the grader and is not read)."""
    found = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
            if MIME in data:
                found.append(TestResult.from_dict(dict(data[MIME])))
    return found


def incident_place(incident: dict[str, Any]) -> str:
    """Where an incident happened: ``cell 7``, or ``notebook`` for the whole run (cell -1)."""
    try:
        cell = int(incident.get("cell", 0))
    except (TypeError, ValueError):
        cell = 0
    return "notebook" if cell < 0 else f"cell {cell}"


def incidents_from_notebook(nb: Any) -> list[dict[str, Any]]:
    """What :class:`~gradkit.course.execute.GradkitExecute` recorded while the notebook ran."""
    meta = nb.get("metadata", {}).get("gradkit", {})
    incidents = meta.get("incidents", []) if isinstance(meta, dict) else []
    return [dict(i) for i in incidents if isinstance(i, dict)]
