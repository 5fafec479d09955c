"""Releasing never loses files: a refused or failed release leaves the course as it was.

A tiny course is released, three students are graded, then the instructor changes
solutions/ and releases again. nbgrader refuses to add or remove cells of a notebook
that has submissions; every other failure, too, must leave assignments/, solutions/
and the gradebook (its bytes and its tables) exactly as they were, and say why in
one line.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from course_helpers import ASSIGNMENT, NOTEBOOK, SANDBOX, SECOND, make_course
from gradkit.course import nbgrader_plugins
from gradkit.course import release as release_module
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course, UserError
from gradkit.course.grade import grade
from gradkit.course.nbgrader_plugins import parse_test_cell
from gradkit.course.release import release
from gradkit.course.report import scores
from gradkit.course.results import NOT_SUBMITTED, NotebookRecord, load, save

pytestmark = pytest.mark.slow

STUDENTS = {"ada": "full", "brook": "untouched", "cyd": "partial"}
REMOVED = "eval_numerical_gradient"  # the test the instructor deletes after grading


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    """A released tiny course (two notebooks) with every student's submission graded."""
    root = make_course(tmp_path_factory.mktemp("graded") / "course", second=True)
    course = Course(root)
    release(course, ASSIGNMENT, log=lambda m: None)
    subs = root.parent / "submissions"
    for student, kind in STUDENTS.items():
        make_submission(course, ASSIGNMENT, subs / student, kind)
    grade(course, ASSIGNMENT, subs, progress=False, sandbox=SANDBOX)
    rows = scores(course, ASSIGNMENT)
    assert {r["student"] for r in rows} == set(STUDENTS)
    assert len({r["total"] for r in rows}) > 1, "the scores should tell the students apart"
    return root


@pytest.fixture
def course(graded, tmp_path) -> Course:
    """A private copy of the graded course for one test."""
    root = tmp_path / "course"
    shutil.copytree(graded, root, symlinks=True)
    return Course(root)


# -- helpers ---------------------------------------------------------------------------


def _tree(folder: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``folder`` (hidden ones included)."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _dump(db: Path) -> list[str]:
    """The gradebook's content: its schema and every row, as SQL."""
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as con:
        return list(con.iterdump())


def _state(course: Course) -> dict:
    """Everything a refused release must leave as it was."""
    return {
        "assignments": _tree(course.assignments_dir),
        "solutions": _tree(course.solutions),
        "gradebook bytes": hashlib.sha256(course.db_path.read_bytes()).hexdigest(),
        "gradebook tables": _dump(course.db_path),
        "scores": scores(course, ASSIGNMENT),
        "records": {
            s: {n: (r.status, r.score, r.fingerprint) for n, r in mine.items()}
            for s, mine in load(course.db_path, ASSIGNMENT).items()
        },
        "course root": sorted(os.listdir(course.root)),
    }


def _edit(course: Course, notebook: str, change) -> None:
    """Apply ``change`` to the solution notebook ``notebook``, as an instructor would."""
    path = course.solutions / ASSIGNMENT / f"{notebook}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    change(nb)
    nbformat.write(nb, str(path))


def _test_cell(nb, function: str):
    return next(c for c in nb.cells if (parse_test_cell(c.source) or ("",))[0] == function)


def _remove_test(nb) -> None:
    nb.cells.remove(_test_cell(nb, REMOVED))


def _edit_markdown(nb) -> None:
    nb.cells[0].source += "\n\nRevised after the first class."


def _cli_release(course: Course) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gradkit", "--course", str(course.root), "release", ASSIGNMENT],
        capture_output=True,
        text=True,
        timeout=300,
    )


# -- refusals --------------------------------------------------------------------------


def test_removing_a_graded_test_is_refused_in_one_line_and_changes_nothing(course):
    points = dict(
        filter(None, (parse_test_cell(c.source) for c in _solution(course, NOTEBOOK).cells))
    )[REMOVED]
    _edit(course, NOTEBOOK, _remove_test)
    # The other notebook changes too, and comes first: nbgrader commits its new points
    # to the gradebook before it refuses this one.
    _edit(course, SECOND, lambda nb: _set_points(nb, "least_squares", 5))
    before = _state(course)

    res = _cli_release(course)

    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert line.startswith(f"gradkit: error: cannot release {ASSIGNMENT}: {NOTEBOOK}.ipynb ")
    assert f"submissions from {len(STUDENTS)} students" in line
    assert f"test cell test_{REMOVED} ({points:g} points)" in line
    assert f"Put it back in solutions/{ASSIGNMENT}/{NOTEBOOK}.ipynb" in line
    assert "Traceback" not in res.stderr and "Please see" not in res.stderr
    assert _state(course) == before


def test_adding_graded_cells_is_refused_with_their_names(course):
    def add(nb):
        nb.cells.append(
            new_code_cell(
                "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
            )
        )
        nb.cells.append(new_code_cell('grade("double", points=1)'))

    _edit(course, NOTEBOOK, add)
    before = _state(course)
    with pytest.raises(UserError) as err:
        release(course, ASSIGNMENT, log=lambda m: None)
    message = str(err.value)
    assert "would gain answer cell double, test cell test_double (1 point)" in message
    assert f"Remove them from solutions/{ASSIGNMENT}/{NOTEBOOK}.ipynb" in message
    assert "\n" not in message
    assert _state(course) == before


def test_removing_a_graded_notebook_is_refused(course):
    (course.solutions / ASSIGNMENT / f"{SECOND}.ipynb").unlink()
    before = _state(course)
    with pytest.raises(UserError) as err:
        release(course, ASSIGNMENT, log=lambda m: None)
    message = str(err.value)
    assert f"submissions from {len(STUDENTS)} students" in message
    assert f"removes {SECOND}.ipynb" in message
    assert _state(course) == before
    assert (course.assignments_dir / ASSIGNMENT / f"{SECOND}.ipynb").is_file()


# -- success ---------------------------------------------------------------------------


def test_a_harmless_change_replaces_the_release_and_keeps_the_grades(course, tmp_path):
    from nbgrader.api import Gradebook

    _edit(course, NOTEBOOK, _edit_markdown)
    before = _state(course)

    assert release(course, ASSIGNMENT, log=lambda m: None) == [ASSIGNMENT]

    after = _state(course)
    assert (
        after["assignments"][f"{ASSIGNMENT}/{NOTEBOOK}.ipynb"]
        != (before["assignments"][f"{ASSIGNMENT}/{NOTEBOOK}.ipynb"])
    )
    assert (
        after["assignments"][f"{ASSIGNMENT}/{SECOND}.ipynb"]
        == (before["assignments"][f"{ASSIGNMENT}/{SECOND}.ipynb"])
    )
    # byte for byte what a fresh course releases from the same solutions
    fresh = Course(tmp_path / "fresh")
    shutil.copytree(course.solutions, fresh.solutions)
    shutil.copy(course.root / "nbgrader_config.py", fresh.root)
    release(fresh, ASSIGNMENT, log=lambda m: None)
    assert after["assignments"] == _tree(fresh.assignments_dir)
    # the grades are kept; the gradebook got the edited cell
    assert after["scores"] == before["scores"] and after["records"] == before["records"]
    text = _solution(course, NOTEBOOK).cells[0].source
    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        intro = gb.find_source_cell("intro", NOTEBOOK, ASSIGNMENT)
        assert intro.source == text
    # nothing left behind: no half-built folders, no gradebook copies
    assert sorted(os.listdir(course.assignments_dir)) == [ASSIGNMENT]
    assert after["course root"] == before["course root"]


def test_changed_points_reach_the_gradebook(course):
    from nbgrader.api import Gradebook

    _edit(course, SECOND, lambda nb: _set_points(nb, "least_squares", 5))
    release(course, ASSIGNMENT, log=lambda m: None)
    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        cell = gb.find_grade_cell("test_least_squares", SECOND, ASSIGNMENT)
        assert cell.max_score == 5


# -- failures after nbgrader succeeded -----------------------------------------------------


def test_an_unsafe_build_leaves_the_old_release(course, monkeypatch):
    _edit(course, NOTEBOOK, _edit_markdown)
    before = _state(course)
    monkeypatch.setattr(
        release_module, "_problems_in", lambda folder, notebooks, shown: [f"{shown} leaked"]
    )
    with pytest.raises(UserError, match=f"the new release of {ASSIGNMENT} is unsafe"):
        release(course, ASSIGNMENT, log=lambda m: None)
    assert _state(course) == before


def test_a_failed_gradebook_write_puts_the_old_release_back(course, monkeypatch):
    _edit(course, NOTEBOOK, _edit_markdown)
    before = _state(course)

    def disk_full(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(release_module._GradebookCopy, "write_back", disk_full)
    with pytest.raises(UserError, match="No space left on device"):
        release(course, ASSIGNMENT, log=lambda m: None)
    assert _state(course) == before


def test_a_gradebook_written_during_the_release_is_not_overwritten(course, monkeypatch):
    _edit(course, NOTEBOOK, _edit_markdown)
    before = _state(course)
    generate = release_module._generate

    def generate_while_grading(*args):
        result = generate(*args)
        save(course.db_path, ASSIGNMENT, "zed", NOTEBOOK, NotebookRecord(NOT_SUBMITTED))
        return result

    monkeypatch.setattr(release_module, "_generate", generate_while_grading)
    with pytest.raises(UserError, match="changed by another program"):
        release(course, ASSIGNMENT, log=lambda m: None)
    assert _state(course)["assignments"] == before["assignments"]
    assert load(course.db_path, ASSIGNMENT)["zed"][NOTEBOOK].status == NOT_SUBMITTED


def test_a_failed_swap_puts_the_old_folder_back(tmp_path, monkeypatch):
    built, dest = tmp_path / "built", tmp_path / "assignments" / "a"
    built.mkdir()
    (built / "nb.ipynb").write_text("new")
    dest.mkdir(parents=True)
    (dest / "nb.ipynb").write_text("old")
    rename = os.rename
    calls = []

    def second_rename_fails(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        rename(src, dst)

    monkeypatch.setattr(release_module.os, "rename", second_rename_fails)
    committed = []
    with pytest.raises(UserError, match="Input/output error"):
        release_module._install(built, dest, lambda: committed.append(True))
    assert (dest / "nb.ipynb").read_text() == "old"
    assert os.listdir(dest.parent) == ["a"] and committed == []


# -- nbgrader's other failures -------------------------------------------------------------


def test_any_nbgrader_failure_is_one_line_with_its_reason(tmp_path):
    course = Course(make_course(tmp_path / "course"))
    release(course, ASSIGNMENT, log=lambda m: None)
    bad = 'grade("least_squares", points=0)'
    with pytest.raises(nbgrader_plugins.TestCellError) as reason:
        parse_test_cell(bad)
    nb = _solution(course, NOTEBOOK)
    index = nb.cells.index(_test_cell(nb, "least_squares"))
    _edit(course, NOTEBOOK, lambda nb: setattr(nb.cells[index], "source", bad))
    before = {
        "assignments": _tree(course.assignments_dir),
        "gradebook": _dump(course.db_path),
    }

    res = _cli_release(course)

    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"gradkit: error: nbgrader could not release {ASSIGNMENT} ")
    assert f"TestCellError: cell {index}: {reason.value}" in lines[0]
    assert "Please see" not in lines[0]
    assert before == {
        "assignments": _tree(course.assignments_dir),
        "gradebook": _dump(course.db_path),
    }


def test_a_first_release_that_fails_creates_nothing(tmp_path):
    course = Course(make_course(tmp_path / "course"))
    _edit(
        course,
        NOTEBOOK,
        lambda nb: setattr(_test_cell(nb, "least_squares"), "source", 'grade("x", points=-1)'),
    )
    with pytest.raises(UserError, match="TestCellError"):
        release(course, ASSIGNMENT, log=lambda m: None)
    assert not course.assignments_dir.exists()
    assert not course.db_path.exists()


# -- small helpers used above ---------------------------------------------------------------


def _solution(course: Course, notebook: str):
    return nbformat.read(str(course.solutions / ASSIGNMENT / f"{notebook}.ipynb"), as_version=4)


def _set_points(nb, function: str, points: float) -> None:
    _test_cell(nb, function).source = f'grade("{function}", points={points:g})'
