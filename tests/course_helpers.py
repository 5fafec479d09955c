"""Build a tiny course for the end-to-end grading tests (fast to grade)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from gradkit.course.sandbox import probe

REPO = Path(__file__).resolve().parents[1]


def _sandbox_state() -> tuple[bool, str]:
    """Can the grading tests sandbox kernels here? Two switches make CI's two passes strict:

    * ``GRADKIT_REQUIRE_SANDBOX=1`` (the full suite under ``.ci/run``): the sandbox tests
      run even when the probe fails, so a broken sandbox fails them instead of skipping;
    * ``GRADKIT_EXPECT_NO_SANDBOX=1`` (the second pass, run with ``GRADKIT_BWRAP`` pointing
      nowhere): the probe must fail, so that pass really grades through ``--no-sandbox``.
    """
    ok, why = probe()
    if ok and os.environ.get("GRADKIT_EXPECT_NO_SANDBOX"):
        raise RuntimeError(
            "GRADKIT_EXPECT_NO_SANDBOX is set but this machine sandboxes kernels; "
            "set GRADKIT_BWRAP to a path that is not bubblewrap to hide it"
        )
    # Required but unavailable: grade sandboxed anyway, so the tests fail with the reason.
    return ok or bool(os.environ.get("GRADKIT_REQUIRE_SANDBOX")), why


#: Whether kernels are sandboxed in these tests, and why not. Tests of everything else
#: (scores, feedback, CSV, LMS zips, grader-side defences) pass ``sandbox=SANDBOX`` and run
#: in both worlds; tests that exist to prove the sandbox carry ``needs_sandbox``.
SANDBOX, WHY_NO_SANDBOX = _sandbox_state()
needs_sandbox = pytest.mark.skipif(
    not SANDBOX,
    reason=f"proves the sandbox, which this machine cannot run: {WHY_NO_SANDBOX}",
)
ASSIGNMENT = "tiny"
NOTEBOOK = "tiny"

LEAST_SQUARES = '''def least_squares(X, y):
    """Solve the normal equations X^T X w = X^T y."""
    ### BEGIN SOLUTION
    return np.linalg.solve(X.T @ X, X.T @ y)
    ### END SOLUTION
'''

NUMGRAD = '''def eval_numerical_gradient(f, x, h=1e-5):
    """Centred differences of a scalar f at x."""
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        fp = f(x)
        x[ix] = old - h
        fm = f(x)
        x[ix] = old
        grad[ix] = (fp - fm) / (2 * h)
    return grad
    ### END SOLUTION
'''


def _test(name, points):
    """The one-line test cell an instructor writes; the release makes it a locked test cell."""
    return f'grade("{name}", points={points})'


def _meta(kind, gid, points=None):
    m = {
        "grade": kind == "test",
        "solution": kind == "answer",
        "locked": kind != "answer",
        "grade_id": gid,
        "schema_version": 3,
    }
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def tiny_notebook():
    cells = [
        new_markdown_cell("# Tiny assignment", metadata=_meta("text", "intro")),
        new_code_cell(
            "import numpy as np\nfrom gradkit.grading import grade", metadata=_meta("text", "setup")
        ),
        new_code_cell(LEAST_SQUARES, metadata=_meta("answer", "least_squares")),
        new_code_cell(_test("least_squares", 2)),
        new_code_cell(NUMGRAD, metadata=_meta("answer", "eval_numerical_gradient")),
        new_code_cell(_test("eval_numerical_gradient", 2)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


SECOND = "second"


WRITTEN_ID = "why_solve"


def second_notebook(written: bool = False):
    """A second notebook of the tiny assignment: least squares alone (and, with ``written``,
    a question answered in words, graded by hand)."""
    nb = tiny_notebook()
    nb.cells = nb.cells[:4]
    if written:
        nb.cells.append(
            new_markdown_cell("Why solve instead of inverting?", metadata=_meta("text", "question"))
        )
        answer = _meta("answer", WRITTEN_ID, points=1)
        answer["nbgrader"]["grade"] = True
        nb.cells.append(new_markdown_cell("Solving is cheaper and more accurate.", metadata=answer))
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in ("intro", "setup"):
            cell.metadata["nbgrader"]["grade_id"] = f"{grade_id}_2"
    return nb


def make_course(
    root: Path, secret: bool = True, second: bool = False, written: bool = False
) -> Path:
    """A course with the real nbgrader_config.py and one tiny assignment (two notebooks
    with ``second``)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    src = root / "solutions" / ASSIGNMENT
    src.mkdir(parents=True)
    nbformat.write(tiny_notebook(), str(src / f"{NOTEBOOK}.ipynb"))
    if second:
        nbformat.write(second_notebook(written), str(src / f"{SECOND}.ipynb"))
    if secret:
        (root / ".gradkit").mkdir()
        (root / ".gradkit" / "secret").write_text("test-secret-0123456789\n")
    return root


def kernels_left(wait: float = 10.0, setups: bool = True) -> list[str]:
    """Graders' kernels still running after ``wait`` seconds (their command lines).

    Every kernel gradkit starts reads its connection file from a ``gradkit-run-*``
    scratch directory, so this finds any kernel that outlived its grader (of this test
    process: under this process's temporary folder, which is a worker's own with
    pytest-xdist). With
    ``setups=False`` it leaves out bubblewrap processes with no child: a sandbox caught
    in its setup when its grader was killed, which runs no kernel (the next run sweeps
    it, :func:`gradkit.course.isolate.sweep_orphans`).
    """
    deadline = time.monotonic() + wait
    while True:
        out = subprocess.run(
            ["pgrep", "-af", "gradkit-run-.*connection"], capture_output=True, text=True
        ).stdout
        mine = f"{tempfile.gettempdir()}/gradkit-run-"
        left = [
            line
            for line in out.strip().splitlines()
            if mine in line and (setups or not _setup(line))
        ]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def _setup(pgrep_line: str) -> bool:
    """Whether the process of a ``pgrep -a`` line is a bubblewrap with no children."""
    pid = pgrep_line.split(maxsplit=1)[0]
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return True  # gone meanwhile
    return comm == "bwrap" and not children
