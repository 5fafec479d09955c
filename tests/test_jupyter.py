"""gradkit's Jupyter server extension without a browser (tests/test_browser.py drives it in one).

Validate's reply must keep the JSON shape nbgrader's JavaScript reads; the
formgrader buttons that would bypass gradkit must refuse and name the command.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from course_helpers import ASSIGNMENT, NOTEBOOK, make_course
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course
from gradkit.course.jupyter import DIALOG_COLUMNS, REFUSALS, patch_nbgrader, validate
from gradkit.course.release import release

pytestmark = [pytest.mark.slow, pytest.mark.a01]
WRONG = "def least_squares(X, y):\n    return X @ np.linalg.solve(X.T @ X, X.T @ y)\n"


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    """The full solution of the tiny assignment, as a student would have it."""
    root = tmp_path_factory.mktemp("jupyter")
    course = Course(make_course(root / "course"))
    release(course, ASSIGNMENT, log=lambda m: None)
    make_submission(course, ASSIGNMENT, root / "ada", "full")
    return root / "ada" / f"{NOTEBOOK}.ipynb"


def _planted(student: Path, tmp_path: Path) -> Path:
    nb = nbformat.read(str(student), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "least_squares":
            cell.source = WRONG
    path = tmp_path / f"{NOTEBOOK}.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_validate_lists_only_the_test_below_full_marks_with_its_diagnosis(student, tmp_path):
    reply = validate(_planted(student, tmp_path))
    assert reply["success"] is True
    failed = reply["value"]["failed"]
    assert [f["source"] for f in failed] == ["least_squares: 0 / 2 points"]
    error = failed[0]["error"]
    assert "returns the predictions" in " ".join(error.split())
    assert "Traceback" not in error and str(tmp_path) not in error
    assert max(len(line) for line in error.splitlines()) <= DIALOG_COLUMNS
    assert reply["value"]["gradkit"] == {"score": 2.0, "points": 4.0}


def test_validate_of_a_complete_notebook_reports_no_failure(student):
    reply = validate(student)
    assert reply["success"] is True and "failed" not in reply["value"]
    assert reply["value"]["gradkit"] == {"score": 4.0, "points": 4.0}


def test_validate_of_an_unreadable_notebook_says_why_in_one_line(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    reply = validate(broken)
    assert reply["success"] is False
    assert "not a readable notebook" in reply["value"] and "\n" not in reply["value"]


class _Handler:
    """Stands in for a tornado handler: records what the refusal writes."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def write(self, text: str) -> None:
        self.written.append(text)


@pytest.mark.parametrize("name, command", sorted(REFUSALS.items()))
def test_formgrader_grading_handlers_refuse_and_name_the_command(name, command):
    from nbgrader.server_extensions.formgrader import apihandlers

    patch_nbgrader()
    handler = _Handler()
    args = ("ada",) if name in ("AutogradeHandler", "GenerateFeedbackHandler") else ()
    getattr(apihandlers, name).post(handler, ASSIGNMENT, *args)
    reply = json.loads(handler.written[0])
    run = command.format(assignment=ASSIGNMENT)
    assert reply["success"] is False
    assert run in reply["error"] and len(reply["error"].splitlines()) == 1
    assert run in " ".join(reply["log"].split())
