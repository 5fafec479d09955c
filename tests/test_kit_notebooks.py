"""The solution notebooks run on a simulated student kit of their own assignment.

Every graded library function of the assignment is a stub (``tests/kit_helpers.py``), so
the library's machinery (models, Solver, update rules by name) runs on the functions the
notebooks define, or load from a sibling notebook with ``gradkit.yours.load``. A demo that
needs a function of another notebook without loading it fails here with NotWrittenYet.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
NOTEBOOKS = sorted((REPO / "solutions").glob("*/*.ipynb"))
#: Demos that run before the cell defining what they need, in the same notebook: the text
#: above them tells a kit's user to run that cell first.
RUN_BEFORE_ITS_FUNCTION = {
    ("training", "tr_demo_10"): "solver_step",
    ("training", "tr_demo_12"): "solver_step",
}
#: Seconds a cell may take (the heavier demos shrink under NBGRADER_EXECUTION).
CELL_TIMEOUT = 120


def _params():
    for path in NOTEBOOKS:
        assignment = path.parent.name
        marks = [pytest.mark.slow, getattr(pytest.mark, f"a{assignment[:2]}")]
        yield pytest.param(path, id=f"{assignment}/{path.stem}", marks=marks)


@pytest.mark.parametrize("path", list(_params()))
def test_the_demos_run_on_the_kit_of_their_assignment(path, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "1")  # the kernel inherits it: FAST demos
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(str(path), as_version=4)
    kit = f"import sys; sys.path.insert(0, {str(TESTS)!r}); import kit_helpers\n"
    kit += f"kit_helpers.install([{path.parent.name!r}])"
    nb.cells.insert(0, nbformat.v4.new_code_cell(kit))
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    failed = {}
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", cell.source[:40])
            failed[grade_id] = f"{errors[0]['ename']}: {errors[0]['evalue']}"
    expected = {g: f for (nb_name, g), f in RUN_BEFORE_ITS_FUNCTION.items() if nb_name == path.stem}
    assert set(failed) == set(expected), failed
    for grade_id, function in expected.items():
        assert failed[grade_id].startswith(f"NotWrittenYet: `{function}` is yours to write in")
