"""Grading sees only the kit: a sandboxed student kernel imports the assignment's student
kit in place of gradkit's library, so no reference is within reach of a student's code,
whatever it does to the delegation watch; the grader keeps the full library.

Two students try what the delegation watch cannot see: one runs gradkit's reference in
a process of its own, one runs a renamed copy of the reference's source. Graded with the
full library (unsandboxed) both get full marks (measured: see the closing note of issue
17); under the kit both get nothing, an honest student beside them full marks.
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

THIEF = (  # runs gradkit's reference in a process of its own, out of the watch's sight
    "import json, subprocess, sys\n"
    "_CODE = ('import json, sys, numpy as np\\n'\n"
    "         'from gradkit.linear.regression import least_squares as f\\n'\n"
    "         'X, y = (np.array(a) for a in json.load(sys.stdin))\\n'\n"
    "         'print(json.dumps(f(X, y).tolist()))')\n"
    "def least_squares(X, y):\n"
    "    out = subprocess.run([sys.executable, '-c', _CODE], capture_output=True, text=True,\n"
    "                         input=json.dumps([X.tolist(), y.tolist()]), check=True)\n"
    "    return np.array(json.loads(out.stdout))\n"
)
READER = (  # runs a copy of the reference's module source, renamed so no byte matches
    "import inspect\n"
    "import gradkit.linear.regression as _R\n"
    "_copy = {'__name__': 'gradkit.linear.mine', '__package__': 'gradkit.linear'}\n"
    "_source = inspect.getsource(_R).replace('hint', 'advice')\n"
    "exec(compile(_source, 'mine', 'exec'), _copy)\n"
    "def least_squares(X, y):\n"
    "    return _copy['least_squares'](X, y)\n"
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
    assert "def least_squares(" in text and "X.T @ X" not in text and "_solve_normal" not in text
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
    assert any(n.endswith("-py3-none-any.whl") and "+kit" in n for n in names), names
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "not an empty folder" in again.stderr
