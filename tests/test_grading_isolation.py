"""No state passes from one graded notebook to the next one of the same worker.

A student whose notebook changes what a kernel could carry over (a module's
attribute, a builtin, an environment variable, a file in its working folder, a
global of the notebook) is graded just before a student whose function checks for
each of them and answers wrongly when it finds one. Graded by one worker, one after
the other, the second must keep full marks; a third student who leaves and checks in
the same notebook proves that the check finds what was left.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from course_helpers import ASSIGNMENT, NOTEBOOK, SANDBOX, make_course
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course
from gradkit.course.grade import grade
from gradkit.course.release import release

pytestmark = [pytest.mark.slow, pytest.mark.a01]
CELL_TIMEOUT = 8
#: The points of the tiny assignment's least_squares test (course_helpers).
FULL_MARKS = 2

#: Changes a notebook leaves behind in its kernel and its working folder (and, sandboxed,
#: in its /tmp, which is the host's own without the sandbox).
LEAVE = """
import builtins, os, numpy, gradkit
numpy.left_by_a_student = 1
gradkit.left_by_a_student = 1
builtins.left_by_a_student = 1
os.environ["LEFT_BY_A_STUDENT"] = "1"
with open("left_by_a_student", "w") as f:
    f.write("1")
if TMP_TOO:
    with open("/tmp/left_by_a_student", "w") as f:
        f.write("1")
LEFT_BY_A_STUDENT = 1
"""

#: A correct least_squares that answers zeros when it finds anything LEAVE leaves.
CHECK = """
import builtins, os, numpy, gradkit

def _found():
    modules = {"numpy": numpy, "gradkit": gradkit, "builtins": builtins}
    found = [name for name, m in modules.items() if hasattr(m, "left_by_a_student")]
    found += ["environment"] * ("LEFT_BY_A_STUDENT" in os.environ)
    found += ["working folder"] * os.path.exists("left_by_a_student")
    found += ["/tmp"] * os.path.exists("/tmp/left_by_a_student")
    found += ["global"] * ("LEFT_BY_A_STUDENT" in globals())
    return found

def least_squares(X, y):
    if _found():
        return np.zeros(X.shape[1])
    return np.linalg.solve(X.T @ X, X.T @ y)
"""


CORRECT = """
def least_squares(X, y):
    return np.linalg.solve(X.T @ X, X.T @ y)
"""


def _answer(path: Path, source: str) -> None:
    nb = nbformat.read(str(path), as_version=4)
    cell = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "least_squares"
    )
    cell.source = f"TMP_TOO = {SANDBOX}\n" + source
    nbformat.write(nb, str(path))


def test_nothing_a_notebook_leaves_reaches_the_next_notebook_of_the_worker(tmp_path):
    course = Course(make_course(tmp_path / "course"))
    release(course, ASSIGNMENT, log=lambda m: None)
    subs = tmp_path / "subs"
    answers = {
        "a_leaves": LEAVE + CORRECT,
        "b_checks": CHECK,
        "c_leaves_and_checks": LEAVE + CHECK,
    }
    for student, source in answers.items():
        make_submission(course, ASSIGNMENT, subs / student, "full")
        _answer(subs / student / f"{NOTEBOOK}.ipynb", source)
    records = grade(
        course, ASSIGNMENT, subs, timeout=CELL_TIMEOUT, progress=False, jobs=1, sandbox=SANDBOX
    )

    def least_squares(student: str) -> float:
        tests = records[student][NOTEBOOK].tests
        return next(t.score for t in tests if t.test == "least_squares")

    assert least_squares("a_leaves") == FULL_MARKS
    assert least_squares("c_leaves_and_checks") == 0  # the check finds what a notebook leaves
    assert least_squares("b_checks") == FULL_MARKS  # ... and nothing of a_leaves's


def test_a_fork_server_started_after_a_probe_does_not_probe_again(monkeypatch):
    """grade() probes the sandbox and says so (isolate.sandbox_probed): the fork server it
    starts then takes the answer from its environment instead of probing again."""
    from gradkit.course import isolate, pipeline, sandbox

    calls = []
    monkeypatch.setattr(sandbox, "probe", lambda: calls.append(1) or (False, "probed"))
    for value, expected in ((isolate.PROBED, (True, "")), ("1", (False, "probed"))):
        monkeypatch.setenv(isolate.PROBE_ENV, value)
        pipeline._sandbox_here.cache_clear()
        assert pipeline._sandbox_here() == expected
    pipeline._sandbox_here.cache_clear()
    assert calls == [1]
