"""Build a tiny course for the end-to-end grading tests (fast to grade)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
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


def second_notebook():
    """A second notebook of the tiny assignment: least squares alone."""
    nb = tiny_notebook()
    nb.cells = nb.cells[:4]
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in ("intro", "setup"):
            cell.metadata["nbgrader"]["grade_id"] = f"{grade_id}_2"
    return nb


def make_course(root: Path, secret: bool = True, second: bool = False) -> Path:
    """A course with the real nbgrader_config.py and one tiny assignment (two notebooks
    with ``second``)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    src = root / "solutions" / ASSIGNMENT
    src.mkdir(parents=True)
    nbformat.write(tiny_notebook(), str(src / f"{NOTEBOOK}.ipynb"))
    if second:
        nbformat.write(second_notebook(), str(src / f"{SECOND}.ipynb"))
    if secret:
        (root / ".gradkit").mkdir()
        (root / ".gradkit" / "secret").write_text("test-secret-0123456789\n")
    return root
