"""End to end: release a tiny course, grade a class of tricky submissions, read the results.

One grading run covers every scenario (one student each) so the suite pays
nbgrader's start-up once. Scores are read from the gradebook, not from text.
Everything here but the snooping student is defeated by the grader itself, so it
runs sandboxed where the machine can and through ``--no-sandbox`` where it cannot.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_helpers import (
    ASSIGNMENT,
    NOTEBOOK,
    SANDBOX,
    kernels_left,
    make_course,
    needs_sandbox,
)
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course
from gradkit.course.grade import grade
from gradkit.course.release import release, release_problems
from gradkit.course.report import scores, write_feedback

pytestmark = [pytest.mark.slow, pytest.mark.a01]  # the demo and the tiny course grade 01

#: Per-cell timeout for these tests: long enough for the tiny checks (< 1 s),
#: short enough to keep the two hanging submissions cheap.
CELL_TIMEOUT = 6

LOOP = "def least_squares(X, y):\n    while True:\n        pass\n"
IGNORE_INTERRUPT_LOOP = (
    "import signal\n"
    "def least_squares(X, y):\n"
    "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
    "    while True:\n"
    "        pass\n"
)
DELEGATE = (
    "from gradkit.linear import least_squares as _ls\n"
    "def least_squares(X, y):\n"
    "    return _ls(X, y)\n"
)
WARNS = (
    "import warnings\n"
    "def least_squares(X, y):\n"
    "    warnings.warn('this is fine', RuntimeWarning)\n"
    "    np.log(np.zeros(1))  # numpy's own divide-by-zero warning\n"
    "    return np.linalg.solve(X.T @ X, X.T @ y)\n"
)
# Succeeds only if neither the course (solutions/, the secret) nor its path is
# reachable from the grading kernel.
SNOOP = (
    "import os\n"
    "def least_squares(X, y):\n"
    "    for up in range(1, 8):\n"
    "        base = os.path.join(*(['..'] * up))\n"
    "        if any(os.path.exists(os.path.join(base, d)) for d in ('solutions', '.gradkit')):\n"
    "            return np.zeros(X.shape[1])\n"
    "    if any(COURSE_ROOT in v for v in os.environ.values()) or COURSE_ROOT in os.getcwd():\n"
    "        return np.zeros(X.shape[1])\n"
    "    return np.linalg.solve(X.T @ X, X.T @ y)\n"
)
# Everything a notebook could do to the test cell's verdict in the kernel: replace
# grade(), make numpy's comparisons lie, and print a fake score after every cell.
TAMPER = (
    "import gradkit.grading, numpy\n"
    "from IPython import get_ipython\n"
    "def least_squares(X, y):\n"
    "    return np.zeros(X.shape[1])\n"
    "gradkit.grading.grade = lambda *a, **k: 2.0\n"
    "numpy.allclose = lambda *a, **k: True\n"
    "numpy.testing.assert_allclose = lambda *a, **k: None\n"
    "get_ipython().events.register('post_run_cell', lambda result: print(2.0))\n"
)

# Honest bugs and odd returns: each costs its own test only.
INF = "def least_squares(X, y):\n    return np.full(X.shape[1], np.inf)  # e.g. a log(0)\n"
FOREIGN = "class Foo:\n    pass\ndef least_squares(X, y):\n    return Foo()\n"
SYNTAX = "def least_squares(X, y):\n    return np.linalg.solve(X.T @ X, X.T @ y\n"


def _answer_cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _edit(path: Path, fn):
    nb = nbformat.read(str(path), as_version=4)
    fn(nb)
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("course"))
    course = Course(root)
    release(course, ASSIGNMENT, log=lambda m: None)
    subs = tmp_path_factory.mktemp("submissions")
    nbfile = f"{NOTEBOOK}.ipynb"
    for student, kind in [("full", "full"), ("untouched", "untouched"), ("partial", "partial")]:
        make_submission(course, ASSIGNMENT, subs / student, kind)
    scenarios = {
        "loop": LOOP,
        "sigign": IGNORE_INTERRUPT_LOOP,
        "delegate": DELEGATE,
        "warns": WARNS,
        "tamper": TAMPER,
        "snoop": f"COURSE_ROOT = {str(root)!r}\n" + SNOOP,
        "inf": INF,
        "foreign": FOREIGN,
        "syntax": SYNTAX,
    }
    for student, source in scenarios.items():
        make_submission(course, ASSIGNMENT, subs / student, "full")

        def put(nb, source=source):
            _answer_cell(nb, "least_squares").source = source

        _edit(subs / student / nbfile, put)
    make_submission(course, ASSIGNMENT, subs / "deleted", "full")
    _edit(
        subs / "deleted" / nbfile,
        lambda nb: nb.cells.remove(_answer_cell(nb, "test_least_squares")),
    )
    make_submission(course, ASSIGNMENT, subs / "edited", "full")

    def edit_test(nb):
        _answer_cell(nb, "test_least_squares").source = "2.0  # full marks, surely"

    _edit(subs / "edited" / nbfile, edit_test)
    make_submission(course, ASSIGNMENT, subs / "duplicated", "full")

    def dup(nb):
        cell = _answer_cell(nb, "test_least_squares")
        copy = nbformat.from_dict(json.loads(json.dumps(cell)))
        copy.id = "duplicate-of-test"  # a fresh cell id, as Jupyter gives a pasted cell
        nb.cells.insert(nb.cells.index(cell), copy)

    _edit(subs / "duplicated" / nbfile, dup)
    (subs / "corrupt").mkdir()
    (subs / "corrupt" / nbfile).write_text('{"cells": [ this is not json')
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in subs.rglob("*") if p.is_file()}
    records = grade(course, ASSIGNMENT, subs, timeout=CELL_TIMEOUT, progress=False, sandbox=SANDBOX)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in subs.rglob("*") if p.is_file()}
    rows = {r["student"]: r for r in scores(course, ASSIGNMENT)}
    return {"course": course, "records": records, "rows": rows, "before": before, "after": after}


def _cell_scores(course, student):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        nb = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, student)
        return {g.cell.name: (g.score, g.needs_manual_grade) for g in nb.grades}


def test_full_solution_scores_full_marks(graded):
    assert graded["rows"]["full"]["total"] == graded["rows"]["full"]["max"] == 4


def test_untouched_release_scores_zero_on_every_test(graded):
    cells = _cell_scores(graded["course"], "untouched")
    assert cells and all(score == 0 for score, _ in cells.values())


def test_wrong_functions_get_partial_credit(graded):
    assert 0 < graded["rows"]["partial"]["total"] < graded["rows"]["partial"]["max"]


def test_infinite_loop_costs_only_its_own_test(graded):
    for student in ("loop", "sigign"):
        cells = _cell_scores(graded["course"], student)
        assert cells["test_least_squares"][0] == 0, student
        assert cells["test_eval_numerical_gradient"][0] == 2, student
    assert kernels_left() == []  # the kernels that ignored interrupts were killed


def test_calling_the_reference_scores_zero(graded):
    cells = _cell_scores(graded["course"], "delegate")
    assert cells["test_least_squares"][0] == 0
    assert cells["test_eval_numerical_gradient"][0] == 2
    text = (
        graded["course"].root / "autograded" / "delegate" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    ).read_text()
    assert "ran gradkit.linear.regression.least_squares (gradkit's reference)" in text


def test_warnings_from_correct_code_keep_full_marks(graded):
    assert graded["rows"]["warns"]["total"] == 4


def test_tampering_does_not_gain_points(graded):
    cells = _cell_scores(graded["course"], "tamper")
    assert cells["test_least_squares"][0] == 0
    assert cells["test_eval_numerical_gradient"][0] == 2


def test_deleted_test_cell_is_restored_and_scored(graded):
    cells = _cell_scores(graded["course"], "deleted")
    assert cells["test_least_squares"] == (
        2,
        False,
    )  # restored, run, full marks; not "needs grading"


def test_a_restored_test_cell_is_said_in_the_feedback(graded):
    for student, how in (("deleted", "deleted"), ("edited", "changed")):
        record = graded["records"][student][NOTEBOOK]
        assert record.score == 4, student  # graded as released
        assert f"test_least_squares was {how} in your notebook" in record.note, record.note
    pages = write_feedback(graded["course"], ASSIGNMENT)
    page = next(p for p in pages if p.parts[-3] == "edited").read_text()
    assert "test_least_squares was changed in your notebook: restored as released" in page
    assert "was changed" not in graded["records"]["full"][NOTEBOOK].note


def _test(graded, student, test):
    return next(t for t in graded["records"][student][NOTEBOOK].tests if t.test == test)


def test_a_non_finite_return_costs_only_its_test_and_says_so(graded):
    least = _test(graded, "inf", "least_squares")
    assert least.score < 2 and least.problem == ""
    said = "your function's result has 4 of 4 entries that are not finite (inf"
    assert said in least.text(), least.text()
    assert _test(graded, "inf", "eval_numerical_gradient").score == 2
    assert graded["records"]["inf"][NOTEBOOK].status == "graded"


def test_an_object_that_is_not_data_is_named(graded):
    least = _test(graded, "foreign", "least_squares")
    assert least.score == 0 and "returned an object of type Foo" in least.text(), least.text()
    assert _test(graded, "foreign", "eval_numerical_gradient").score == 2


def test_a_syntax_error_is_named_with_its_line(graded):
    least = _test(graded, "syntax", "least_squares")
    assert "least_squares is not defined: the cell that defines it has a SyntaxError at line 2" in (
        least.text()
    ), least.text()
    assert _test(graded, "syntax", "eval_numerical_gradient").score == 2


def test_duplicated_graded_cell_does_not_stop_the_batch(graded):
    record = graded["records"]["duplicated"][NOTEBOOK]
    assert graded["rows"]["duplicated"]["total"] == 4
    # the copy runs as a plain cell: its grade(...) shows a result the grader does not read
    assert [i["kind"] for i in record.incidents] == ["result outside a test cell ignored"]


def test_corrupt_notebook_is_reported_not_silently_zero(graded):
    assert graded["records"]["corrupt"][NOTEBOOK].status == "could not be graded"
    assert "not a valid notebook" in graded["rows"]["corrupt"]["problems"]
    assert graded["rows"]["full"]["total"] == 4  # the others were graded


@needs_sandbox
def test_student_code_cannot_reach_the_course_or_its_secret(graded):
    assert graded["rows"]["snoop"]["total"] == 4


def test_submitted_files_are_never_modified(graded):
    assert graded["before"] == graded["after"]


def test_feedback_shows_checks_but_no_hidden_code_inputs_or_tracebacks(graded):
    pages = write_feedback(graded["course"], ASSIGNMENT)
    page = next(p for p in pages if p.parts[-3] == "partial").read_text()
    assert "FAIL" in page and "PASS" in page
    for leak in ("BEGIN HIDDEN", "gradkit:hidden", "Traceback", "hidden = "):
        assert leak not in page
    hidden = [item for item in page.split("<li") if "hidden case" in item]
    assert hidden and not any("expected" in ln or "got" in ln for ln in hidden)


def test_feedback_and_csv_agree_with_the_gradebook(graded):
    course = graded["course"]
    for student, mine in graded["records"].items():
        record = mine.get(NOTEBOOK)
        if record is not None and record.status == "graded":
            cells = _cell_scores(course, student)
            by_test = {f"test_{t.test}": t.score for t in record.tests}
            assert by_test == {k: v for k, (v, _) in cells.items()}, student


def test_grading_adds_hidden_cases_that_the_self_check_leaves_out(graded):
    record = graded["records"]["full"][NOTEBOOK]
    assert all(any(c.hidden for c in t.checks) for t in record.tests)


def test_release_is_leak_free(graded):
    assert release_problems(graded["course"], ASSIGNMENT) == []


def _gradkit(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "gradkit", *args], cwd=cwd, capture_output=True, text=True
    )


def test_self_check_exit_status(graded):
    course = graded["course"]
    stub = course.assignments_dir / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    res = _gradkit("check", str(stub), cwd=course.root)
    assert res.returncode == 1, res.stdout + res.stderr
    solved = course.root / "autograded" / "full" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    res = _gradkit("check", str(solved), cwd=course.root)
    assert res.returncode == 0, res.stdout + res.stderr


def test_self_check_and_validate_report_a_non_finite_return_in_one_test(graded):
    from gradkit.course.jupyter import validate

    course = graded["course"]
    path = course.root / "autograded" / "inf" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    res = _gradkit("check", str(path), cwd=course.root)
    assert res.returncode == 1 and "Traceback" not in res.stdout + res.stderr, res.stderr
    lines = res.stdout.splitlines()
    assert any(ln.startswith("FAIL  least_squares") for ln in lines), res.stdout
    assert any(ln.startswith("ok    eval_numerical_gradient") for ln in lines), res.stdout
    assert "entries that are not finite (inf" in res.stdout
    reply = validate(path)
    assert reply["success"] is True
    failed = reply["value"]["failed"]
    assert [f["source"].split(":")[0] for f in failed] == ["least_squares"]
    assert "not finite" in failed[0]["error"]


@pytest.mark.parametrize(
    "args, words",
    [
        (("grade", "nope", "--submissions", "."), "unknown assignment 'nope'"),
        (("grade", ASSIGNMENT, "--submissions", "/no/such/dir"), "not found"),
        (("check", "/no/such.ipynb"), "not found"),
        (("feedback", "nope"), "unknown assignment"),
    ],
)
def test_user_mistakes_get_one_line(graded, args, words):
    res = _gradkit(*args, cwd=graded["course"].root)
    assert res.returncode == 2
    assert (
        words in res.stderr
        and len(res.stderr.strip().splitlines()) == 1
        and "Traceback" not in res.stderr
    )


def test_missing_secret_is_one_clear_line(tmp_path):
    root = make_course(tmp_path / "c", secret=False)
    res = _gradkit("grade", ASSIGNMENT, "--submissions", str(tmp_path), cwd=root)
    assert res.returncode == 2 and "gradkit secret --new" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_lms_zip_of_flat_files_is_graded(tmp_path):
    """A flat zip in Canvas's layout (name, user id, file id) keys the student by the user
    id and keeps the name for display; other LMS layouts key by the prefix."""
    import zipfile

    root = make_course(tmp_path / "c")
    course = Course(root)
    release(course, ASSIGNMENT, log=lambda m: None)
    make_submission(course, ASSIGNMENT, tmp_path / "s" / "x", "full")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tmp_path / "s" / "x" / f"{NOTEBOOK}.ipynb", f"lovelace_1234_5678_{NOTEBOOK}.ipynb")
        zf.write(tmp_path / "s" / "x" / f"{NOTEBOOK}.ipynb", f"turing_attempt_{NOTEBOOK}.ipynb")
    records = grade(
        course, ASSIGNMENT, archive, timeout=CELL_TIMEOUT, progress=False, sandbox=SANDBOX
    )
    assert set(records) == {"lovelace", "turing"}  # one name not Canvas's: the zip is not
    canvas = tmp_path / "canvas.zip"
    with zipfile.ZipFile(canvas, "w") as zf:
        zf.write(tmp_path / "s" / "x" / f"{NOTEBOOK}.ipynb", f"lovelace_1234_5678_{NOTEBOOK}.ipynb")
    records = grade(
        course, ASSIGNMENT, canvas, timeout=CELL_TIMEOUT, progress=False, sandbox=SANDBOX
    )
    assert records["1234"][NOTEBOOK].status == "graded"
    rows = {r["student"]: r for r in scores(course, ASSIGNMENT)}
    assert rows["1234"]["name"] == "lovelace" and rows["1234"]["canvas_id"] == "1234"
    assert rows["1234"]["total"] == rows["lovelace"]["total"] == 4


def test_commands_work_without_an_activated_venv(tmp_path):
    """nbgrader runs `alembic` by name; gradkit must not rely on the venv's bin being on PATH."""
    import sqlite3

    root = make_course(tmp_path / "c")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    res = subprocess.run(
        [sys.executable, "-m", "gradkit", "release"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    with sqlite3.connect(root / "gradebook.db") as db:
        assert db.execute("select count(*) from alembic_version").fetchone()[0] == 1
