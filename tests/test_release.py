"""The committed student release: in sync with solutions/, leak-free, every stub fails."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradkit.course.directory import Course
from gradkit.course.release import release, release_problems
from gradkit.course.selfcheck import check_notebook

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
COURSE = Course(REPO)
ASSIGNMENTS = COURSE.assignments()


def test_course_has_assignments():
    assert "01_linear_models" in ASSIGNMENTS


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """Release every assignment into a copy of the course; the checkout is not touched."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "solutions", root / "solutions")
    course = Course(root)
    release(course, log=lambda m: None)
    return course


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_in_sync_byte_for_byte(regenerated, assignment):
    for nb in COURSE.notebooks(assignment):
        committed = COURSE.assignments_dir / assignment / f"{nb}.ipynb"
        fresh = regenerated.assignments_dir / assignment / f"{nb}.ipynb"
        assert committed.is_file(), (
            f"{committed} missing: run `gradkit release {assignment}` and commit"
        )
        assert committed.read_bytes() == fresh.read_bytes(), (
            f"{committed} is out of date: "
            f"run `gradkit release {assignment}` and commit assignments/"
        )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_leaks_nothing(assignment):
    assert release_problems(COURSE, assignment) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_helper_file_beside_the_solutions(assignment):
    """nbgrader would copy any such file into releases and grading folders."""
    extra = [p.name for p in (COURSE.solutions / assignment).iterdir() if p.suffix != ".ipynb"]
    assert extra == []


def _release_notebooks():
    return [(a, nb) for a in ASSIGNMENTS for nb in COURSE.notebooks(a)]


@pytest.mark.parametrize("assignment, notebook", _release_notebooks())
def test_every_stub_fails_every_test(assignment, notebook):
    path = COURSE.assignments_dir / assignment / f"{notebook}.ipynb"
    results = check_notebook(path, timeout=60)
    assert results, "no test cells"
    passing = [r.test for r in results if r.score > 0]
    assert passing == [], f"stubs earn points in {passing}"
    # the student's self-check says so through its exit status
    res = subprocess.run(
        [sys.executable, "-m", "gradkit", "check", str(path)], capture_output=True, text=True
    )
    assert res.returncode == 1, res.stdout + res.stderr


@pytest.mark.parametrize("assignment, notebook", _release_notebooks())
def test_released_test_cells_carry_the_points_of_the_solutions_one_line(assignment, notebook):
    """Points are written once, in grade("name", points=N); the release copies them."""
    import nbformat

    from gradkit.course.nbgrader_plugins import parse_test_cell

    source = nbformat.read(str(COURSE.solutions / assignment / f"{notebook}.ipynb"), as_version=4)
    wanted = dict(filter(None, (parse_test_cell(c.source) for c in source.cells)))
    released = nbformat.read(
        str(COURSE.assignments_dir / assignment / f"{notebook}.ipynb"), as_version=4
    )
    tests = {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in released.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    }
    assert wanted and set(tests) == {f"test_{name}" for name in wanted}
    for name, points in wanted.items():
        cell = tests[f"test_{name}"]
        assert cell.metadata["nbgrader"]["points"] == points
        assert cell.metadata["nbgrader"]["locked"] is True
        assert parse_test_cell(cell.source) == (name, points)
