"""`gradkit check NOTEBOOK`: a student's self-check, graded the way the autograder will.

The notebook is run top to bottom in a fresh kernel, on a copy in a
temporary folder (the student's file is never written), with the grader's
per-cell timeout and tamper guard, and each test cell is scored with
nbgrader's own rule.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat

from .directory import UserError, ensure_tools_on_path

__all__ = ["check_notebook", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 30  # seconds per cell, as in nbgrader_config.py


def check_notebook(path: Path, timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
    """Run ``path`` and return one row per test cell: grade_id, score, max_points, lines."""
    ensure_tools_on_path()
    from nbgrader.preprocessors import IgnorePattern

    from .nbgrader_plugins import GradkitExecute
    from .report import cell_report

    path = Path(path)
    if not path.is_file():
        raise UserError(f"notebook {path} not found")
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise UserError(
            f"{path} is not a readable notebook: {str(exc).splitlines()[0][:150]}"
        ) from None
    if not _test_cells(nb):
        raise UserError(f"{path} has no test cells (is it a gradkit assignment notebook?)")
    with tempfile.TemporaryDirectory(prefix="gradkit-check-") as tmp:
        for sibling in path.parent.iterdir():  # data files the notebook may read
            if (
                sibling.is_file()
                and sibling.suffix != ".ipynb"
                and sibling.stat().st_size < 50_000_000
            ):
                shutil.copy(sibling, tmp)
        ep = GradkitExecute(
            timeout=int(timeout), interrupt_on_timeout=True, raise_on_iopub_timeout=False
        )
        resources = {"metadata": {"path": tmp}, "nbgrader": {}}
        nb, resources = ep.preprocess(nb, resources)
        IgnorePattern(enabled=True, pattern=r"\w*Warning: ").preprocess(nb, resources)
    rows = []
    for cell in _test_cells(nb):
        score, max_points, lines = cell_report(cell)
        rows.append(
            {
                "grade_id": cell.metadata["nbgrader"].get("grade_id", "?"),
                "score": score,
                "max_points": max_points,
                "lines": lines,
            }
        )
    return rows


def _test_cells(nb) -> list:
    """The notebook's test cells (code cells nbgrader grades)."""
    return [
        c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    ]
