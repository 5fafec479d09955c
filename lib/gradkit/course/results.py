"""gradkit's part of the gradebook: each notebook's status and the structured test results.

nbgrader's tables in ``gradebook.db`` hold the scores; this module adds one
table to the same SQLite file for what nbgrader has no place for: whether a
submitted notebook could be graded (and why not), and the full
:class:`~gradkit.grading.result.TestResult` of every test, from which the
feedback, the CSV and the class report are rendered. Only the grader's
process writes it, one transaction per notebook.
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
    "load",
    "results_from_notebook",
]

GRADED = "graded"
INCIDENTS = "graded with incidents"
NOT_GRADED = "could not be graded"
NOT_SUBMITTED = "not submitted"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gradkit_result (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    notebook TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    tests TEXT NOT NULL DEFAULT '[]',
    graded_at REAL NOT NULL,
    PRIMARY KEY (assignment, student, notebook)
)
"""


@dataclass
class NotebookRecord:
    """What grading one student's notebook produced."""

    status: str
    note: str = ""
    tests: list[TestResult] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)


@contextmanager
def _connect(db_path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(str(db_path), timeout=30)) as con:
        con.execute(_SCHEMA)
        yield con


def save(
    db_path: Path, assignment: str, student: str, notebook: str, record: NotebookRecord
) -> None:
    """Store (replace) one notebook's record, atomically."""
    tests = json.dumps([t.to_dict() for t in record.tests])
    with _connect(db_path) as con, con:
        con.execute(
            "INSERT OR REPLACE INTO gradkit_result VALUES (?, ?, ?, ?, ?, ?, ?)",
            (assignment, student, notebook, record.status, record.note, tests, time.time()),
        )


def load(db_path: Path, assignment: str) -> dict[str, dict[str, NotebookRecord]]:
    """student -> notebook -> record for ``assignment`` (empty if never graded)."""
    if not Path(db_path).is_file():
        return {}
    out: dict[str, dict[str, NotebookRecord]] = {}
    with _connect(db_path) as con:
        rows = con.execute(
            "SELECT student, notebook, status, note, tests FROM gradkit_result "
            "WHERE assignment = ? ORDER BY student, notebook",
            (assignment,),
        ).fetchall()
    for student, notebook, status, note, tests in rows:
        results = [TestResult.from_dict(t) for t in json.loads(tests)]
        out.setdefault(student, {})[notebook] = NotebookRecord(status, note, results)
    return out


def results_from_notebook(nb: Any) -> list[TestResult]:
    """The test results the grader wrote into an executed notebook's test cells."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {}) if output.get("output_type") == "display_data" else {}
            if MIME in data:
                found.append(TestResult.from_dict(dict(data[MIME])))
    return found
