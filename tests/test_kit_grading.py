"""Grading sees only the kit: a sandboxed student kernel imports the assignment's student
kit in place of gradkit's library, so no reference is within reach of a student's code,
whatever it does to the delegation watch; the grader keeps the full library.

Two students try what the delegation watch cannot see: one runs gradkit's reference in
a thread of its own, one reads the reference's source and answers only when the answer
is there. Under the kit both get nothing; an honest student beside them full marks.
"""

from __future__ import annotations

import nbformat
import pytest

from course_helpers import ASSIGNMENT, NOTEBOOK, SANDBOX, make_course, needs_sandbox
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course
from gradkit.course.grade import grade
from gradkit.course.kit import kit_library, pack_library, unpack_library
from gradkit.course.release import release

pytestmark = [pytest.mark.slow, pytest.mark.a01]

THIEF = (
    "import threading\n"
    "import gradkit.linear.regression as _R\n"
    "def least_squares(X, y):\n"
    "    box = {}\n"
    "    def _run():\n"
    "        try:\n"
    "            box['w'] = _R.least_squares(X, y)\n"
    "        except BaseException as exc:\n"
    "            box['w'] = exc\n"
    "    t = threading.Thread(target=_run)\n"
    "    t.start()\n"
    "    t.join()\n"
    "    if isinstance(box['w'], BaseException):\n"
    "        raise box['w']\n"
    "    return box['w']\n"
)
READER = (
    "import inspect\n"
    "import gradkit.linear.regression as _R\n"
    "_SOURCE = inspect.getsource(_R)\n"
    "def least_squares(X, y):\n"
    "    if 'np.linalg.solve' not in _SOURCE:\n"
    "        return np.zeros(X.shape[1])\n"
    "    return np.linalg.solve(X.T @ X, X.T @ y)\n"
)


def _answer(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@needs_sandbox
def test_a_sandboxed_kernel_reaches_no_reference(tmp_path):
    course = Course(make_course(tmp_path / "course"))
    release(course, ASSIGNMENT, log=lambda m: None)
    subs = tmp_path / "subs"
    for student in ("ada", "thief", "reader"):
        make_submission(course, ASSIGNMENT, subs / student, "full")
    for student, source in (("thief", THIEF), ("reader", READER)):
        path = subs / student / f"{NOTEBOOK}.ipynb"
        nb = nbformat.read(str(path), as_version=4)
        _answer(nb, "least_squares").source = source
        nbformat.write(nb, str(path))
    records = grade(course, ASSIGNMENT, subs, progress=False, jobs=2, sandbox=SANDBOX)
    tests = {s: {t.test: t for t in records[s][NOTEBOOK].tests} for s in records}
    assert tests["ada"]["least_squares"].score == tests["ada"]["least_squares"].points
    for student in ("thief", "reader"):
        result = tests[student]["least_squares"]
        assert result.score == 0, (student, result.text())
        # Their other function is their own and keeps its marks.
        other = tests[student]["eval_numerical_gradient"]
        assert other.score == other.points


def test_the_kit_library_stubs_the_graded_functions(tmp_path):
    course = Course(make_course(tmp_path / "course"))
    folder = kit_library(course, ASSIGNMENT)
    text = (folder / "gradkit" / "linear" / "regression.py").read_text()
    assert "def least_squares(" in text and "np.linalg.solve" not in text
    assert kit_library(course, ASSIGNMENT) == folder  # cached: built once per library
    packed = pack_library(course, ASSIGNMENT)
    unpacked = unpack_library(packed)
    assert (unpacked / "gradkit" / "linear" / "regression.py").read_text() == text
    assert unpack_library(packed) == unpacked
    with pytest.raises(ValueError, match="digest"):
        unpack_library({"digest": "../../etc", "zip": packed["zip"]})
    with pytest.raises(ValueError, match="does not match"):
        unpack_library({"digest": "0" * 24, "zip": packed["zip"]})


def test_gradkit_kit_builds_and_publishes_into_an_exchange(tmp_path):
    """The command line: a kit of the tiny course, released into a local exchange where
    nbgrader's fetch looks; a second build into the same folder is refused in one line."""
    import subprocess
    import sys

    course = Course(make_course(tmp_path / "course"))
    release(course, ASSIGNMENT, log=lambda m: None)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    cmd = [sys.executable, "-m", "gradkit", "--course", str(course.root), "kit", ASSIGNMENT]
    res = subprocess.run(
        [*cmd, "--exchange", str(exchange), "--course-id", "nn101"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "graded functions self-check from recorded data" in res.stdout
    outbound = exchange / "nn101" / "outbound" / ASSIGNMENT
    names = sorted(p.name for p in outbound.iterdir())
    assert f"{NOTEBOOK}.ipynb" in names and "README.md" in names
    assert any(n.endswith("+kit01-py3-none-any.whl") for n in names), names
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "not an empty folder" in again.stderr
