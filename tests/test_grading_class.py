"""Grading a hostile class: the sandbox, crash isolation, limits, honest statuses.

One grading run (two workers) of a class built to probe the grader, each student
trying one thing an issue measured against the earlier grader. Crashes, loud
output, slow notebooks and mangled files are the grader's to survive, sandbox or
not, so those students are graded on every machine (through ``--no-sandbox`` where
bubblewrap is missing). The students who attack the host (escaping, eating memory,
forking) join the class only where kernels are sandboxed, and their tests are
skipped elsewhere with the reason; under CI (`.ci/run` sets GRADKIT_REQUIRE_SANDBOX=1
and installs bubblewrap) they must run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import sqlite3
import subprocess
from pathlib import Path

import nbformat
import pytest

from course_helpers import ASSIGNMENT, NOTEBOOK, SANDBOX, SECOND, make_course, needs_sandbox
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course
from gradkit.course.grade import grade
from gradkit.course.release import release
from gradkit.course.report import export_canvas_csv, scores, write_feedback

pytestmark = [pytest.mark.slow, pytest.mark.a01]

CELL_TIMEOUT = 8
#: The sleepy student's notebook budget: its two answer cells sleep 4 s each, so the
#: cells after the second are over budget however fast the rest runs.
NOTEBOOK_BUDGET = 7.0
MARKER = "gradkit-test-sleeper-4242"

CORRECT = "def least_squares(X, y):\n    return np.linalg.solve(X.T @ X, X.T @ y)\n"
# Every way out the earlier grader left open. The function is right only if all failed.
ESCAPE = (
    "import os, sys, glob, socket, pathlib\n"
    "leaks = []\n"
    "def _try(what, fn):\n"
    "    try:\n"
    "        fn()\n"
    "        leaks.append(what)\n"
    "    except Exception:\n"
    "        pass\n"
    "def _cmdlines():\n"
    "    seen = ''.join(open(p, 'rb').read().decode(errors='replace')\n"
    "                   for p in glob.glob('/proc/*/cmdline'))\n"
    "    if COURSE in seen or SUBS in seen or '--submissions' in seen:\n"
    "        return\n"
    "    raise OSError('no course in any command line')\n"
    "_try('cmdline', _cmdlines)\n"
    "_try('write gradebook', lambda: open(COURSE + '/gradebook.db', 'r+b').write(b'x'))\n"
    "_try('read secret', lambda: open(COURSE + '/.gradkit/secret').read())\n"
    "_try('list solutions', lambda: os.listdir(COURSE + '/solutions'))\n"
    "_try('write submissions', lambda: open(SUBS + '/ada/tiny.ipynb', 'w').write('{}'))\n"
    "_try('network', lambda: socket.create_connection(('127.0.0.1', PORT), timeout=2))\n"
    "_try('kit solutions', lambda: os.listdir(\n"
    "    str(pathlib.Path(__import__('gradkit').__file__).parents[2] / 'solutions')))\n"
    "_try('home', lambda: os.listdir('/root/.gradkit'))\n"
    "def least_squares(X, y):\n"
    "    if leaks:\n"
    "        raise RuntimeError('escaped: ' + ', '.join(leaks))\n"
    "    return np.linalg.solve(X.T @ X, X.T @ y)\n"
)
CRASH = CORRECT + "import os\nos._exit(1)\n"
SEGFAULT = CORRECT + "import ctypes\nctypes.string_at(0)\n"
HUNGRY = (
    "def least_squares(X, y):\n    big = np.ones(6 * 2**30 // 8)\n    return big[:X.shape[1]]\n"
)
# Loud in messages under the grader's 4 MiB cap: kept, then truncated at 1 MB a cell (a
# message over the cap is dropped at the socket: tests/test_hardening.py, "shouter").
LOUD = (
    CORRECT + "import sys\nfor _ in range(3):\n    print('x' * 1_500_000)\n    sys.stdout.flush()\n"
)
FORKER = (
    CORRECT + "import subprocess\nstarted = 0\n"
    "for _ in range(200):\n"
    "    try:\n"
    f"        subprocess.Popen(['sleep', '1000', '{MARKER}'], start_new_session=True)\n"
    "        started += 1\n"
    "    except OSError:\n"
    "        break\n"
    "print('started', started)\n"
)
SLEEPY = CORRECT + "import time\ntime.sleep(4)\n"


def _answer(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _edit(path: Path, fn) -> None:
    nb = nbformat.read(str(path), as_version=4)
    fn(nb)
    nbformat.write(nb, str(path))


def _set(source: str, grade_id: str = "least_squares"):
    def put(nb):
        _answer(nb, grade_id).source = source

    return put


@pytest.fixture(scope="module")
def listener():
    """A server on the grader's loopback that a kernel must not reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listener):
    root = make_course(tmp_path_factory.mktemp("course"), second=True)
    course = Course(root)
    release(course, ASSIGNMENT, log=lambda m: None)
    subs = tmp_path_factory.mktemp("subs")
    students = ["ada", "crash", "segfault", "loud", "sleepy", "renamed", "stripped"]
    if SANDBOX:  # these attack the host: never run them unsandboxed
        students += ["escape", "hungry", "forker"]
    for student in students:
        make_submission(course, ASSIGNMENT, subs / student, "full")
    nbfile = subs / "{}" / f"{NOTEBOOK}.ipynb"
    if SANDBOX:
        prelude = f"COURSE = {str(root)!r}\nSUBS = {str(subs)!r}\nPORT = {listener}\n"
        _edit(Path(str(nbfile).format("escape")), _set(prelude + ESCAPE))
        _edit(Path(str(nbfile).format("hungry")), _set(HUNGRY))
        _edit(Path(str(nbfile).format("forker")), _set(FORKER))
    _edit(Path(str(nbfile).format("crash")), _set(CRASH))
    _edit(Path(str(nbfile).format("segfault")), _set(NUMGRAD_SEGFAULT, "eval_numerical_gradient"))
    _edit(Path(str(nbfile).format("loud")), _set(LOUD))
    _edit(Path(str(nbfile).format("sleepy")), _set(SLEEPY))
    _edit(Path(str(nbfile).format("sleepy")), _set(SLEEPY, "eval_numerical_gradient"))
    os.rename(
        nbfile.parent.parent / "renamed" / f"{NOTEBOOK}.ipynb",
        subs / "renamed" / f"{NOTEBOOK} (1).ipynb",
    )

    def strip(nb):
        for cell in nb.cells:
            cell.metadata.pop("nbgrader", None)

    _edit(Path(str(nbfile).format("stripped")), strip)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in subs.rglob("*") if p.is_file()}
    records = grade(
        course,
        ASSIGNMENT,
        subs,
        timeout=CELL_TIMEOUT,
        progress=False,
        jobs=2,
        notebook_timeout=NOTEBOOK_BUDGET,
        sandbox=SANDBOX,
    )
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in subs.rglob("*") if p.is_file()}
    return {"course": course, "records": records, "before": before, "after": after}


NUMGRAD_SEGFAULT = (
    "def eval_numerical_gradient(f, x, h=1e-5):\n"
    "    return np.zeros(x.shape)\n"
    "import ctypes\nctypes.string_at(0)\n"
)


def _tests(graded, student, notebook=NOTEBOOK):
    return {t.test: t for t in graded["records"][student][notebook].tests}


def test_a_correct_student_gets_full_marks_beside_a_hostile_class(graded):
    assert graded["records"]["ada"][NOTEBOOK].score == 4
    assert graded["records"]["ada"][SECOND].score == 2


@needs_sandbox
def test_student_code_reaches_neither_the_grader_nor_the_course_nor_the_network(graded):
    tests = _tests(graded, "escape")
    assert tests["least_squares"].score == 2, tests["least_squares"].text()


def test_the_gradebook_is_intact_and_the_submissions_untouched(graded):
    with sqlite3.connect(graded["course"].db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert graded["before"] == graded["after"]


def test_a_dying_kernel_costs_only_its_own_cell(graded):
    crash = graded["records"]["crash"]
    assert _tests(graded, "crash")["least_squares"].score == 0
    assert _tests(graded, "crash")["eval_numerical_gradient"].score == 2
    assert crash[NOTEBOOK].status == "graded with incidents"
    assert any(i["kind"] == "kernel died" for i in crash[NOTEBOOK].incidents)
    assert crash[SECOND].score == 2 and crash[SECOND].status == "graded"
    segfault = _tests(graded, "segfault")
    assert segfault["least_squares"].score == 2 and segfault["eval_numerical_gradient"].score == 0


@needs_sandbox
def test_memory_is_limited(graded):
    test = _tests(graded, "hungry")["least_squares"]
    assert test.score == 0 and "MemoryError" in test.text()


def test_output_is_capped_and_the_autograded_copy_stays_small(graded):
    loud = graded["records"]["loud"][NOTEBOOK]
    assert any(i["kind"] == "output truncated" for i in loud.incidents)
    path = graded["course"].root / "autograded" / "loud" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    assert path.stat().st_size < 3_000_000
    assert loud.score == 4


@needs_sandbox
def test_processes_are_limited_and_nothing_is_left_running(graded):
    assert graded["records"]["forker"][NOTEBOOK].score == 4
    left = subprocess.run(["pgrep", "-f", MARKER], capture_output=True, text=True).stdout
    assert left.strip() == ""


def test_the_notebook_time_budget_stops_a_slow_notebook(graded):
    sleepy = graded["records"]["sleepy"][NOTEBOOK]
    assert any(i["kind"] == "notebook time limit" for i in sleepy.incidents)
    late = _tests(graded, "sleepy")["eval_numerical_gradient"]
    assert late.score == 0 and "used up its" in late.problem


def test_a_renamed_notebook_is_matched_with_a_note(graded):
    renamed = graded["records"]["renamed"][NOTEBOOK]
    assert renamed.score == 4 and "tiny (1).ipynb was graded as tiny.ipynb" in renamed.note


def test_a_broken_notebook_never_costs_the_other(graded):
    stripped = graded["records"]["stripped"]
    assert stripped[SECOND].score == 2 and stripped[SECOND].status == "graded"
    assert stripped[NOTEBOOK].status in ("graded", "graded with incidents", "could not be graded")
    from gradkit.course.results import load

    saved = load(graded["course"].db_path, ASSIGNMENT)["stripped"]  # what the CSV shows
    assert {n: r.status for n, r in saved.items()} == {n: r.status for n, r in stripped.items()}
    if stripped[NOTEBOOK].status == "could not be graded":
        assert "Please see the above traceback" not in stripped[NOTEBOOK].note


def test_statuses_agree_across_csv_feedback_and_gradebook(graded):
    course = graded["course"]
    rows = {r["student"]: r for r in scores(course, ASSIGNMENT)}
    for student, mine in graded["records"].items():
        assert rows[student]["total"] == pytest.approx(sum(r.score for r in mine.values()))
    pages = write_feedback(course, ASSIGNMENT)
    crash_page = next(p for p in pages if p.parts[-3] == "crash" and p.stem == NOTEBOOK)
    assert "kernel died" in crash_page.read_text()
    canvas = export_canvas_csv(course, ASSIGNMENT, course.root / "canvas.csv")
    with open(canvas, newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert table[1][0].strip() == "Points Possible" and table[1][1:5] == ["", "", "", ""]
    assert float(table[1][5]) == rows["ada"]["max"]
    # Folder students have no Canvas user id: the folder name goes where Canvas matches a
    # login, and the score is the gradebook's total.
    body = {row[0]: row for row in table[2:]}
    assert set(body) == set(graded["records"])
    for student, row in body.items():
        assert row[1:5] == ["", "", student, ""]
        assert float(row[5]) == pytest.approx(rows[student]["total"], abs=5e-4)


def test_a_rerun_skips_unchanged_submissions(graded, tmp_path):
    course = graded["course"]
    stamps = _stamps(course)
    subs = next(iter(graded["before"])).parents[1]
    grade(
        course,
        ASSIGNMENT,
        subs,
        timeout=CELL_TIMEOUT,
        progress=False,
        jobs=2,
        notebook_timeout=NOTEBOOK_BUDGET,
        students=["ada", "crash"],
        sandbox=SANDBOX,
    )
    assert _stamps(course)[("ada", NOTEBOOK)] == stamps[("ada", NOTEBOOK)]
    grade(
        course,
        ASSIGNMENT,
        subs,
        timeout=CELL_TIMEOUT,
        progress=False,
        jobs=2,
        students=["ada"],
        force=True,
        sandbox=SANDBOX,
    )
    assert _stamps(course)[("ada", NOTEBOOK)] > stamps[("ada", NOTEBOOK)]


def _stamps(course):
    with sqlite3.connect(course.db_path) as db:
        rows = db.execute("SELECT student, notebook, graded_at FROM gradkit_result").fetchall()
    return {(s, n): t for s, n, t in rows}


def test_an_autograded_notebook_records_its_incidents(graded):
    path = graded["course"].root / "autograded" / "crash" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    meta = json.loads(path.read_text())["metadata"]["gradkit"]
    assert meta["incidents"][0]["kind"] == "kernel died"
