"""nbgrader preprocessors for authoring and sanitizing (wired in by nbgrader_config.py).

* :class:`MarkGradedCells` — at release, turns the instructor's one-line test
  cells ``grade("name", points=N)`` into locked nbgrader test cells (points
  written into the metadata from that one line, the only place they live),
  and marks every cell fenced by ``### BEGIN SOLUTION`` as an answer cell.
* :class:`DropEmptyNbgraderMetadata` — nbgrader's DeduplicateIds empties the
  metadata of a duplicated graded cell, which then makes CheckCellMetadata
  abort the whole batch; removing the emptied dict turns the duplicate into
  an ordinary cell instead.

The execution side (grading test cells in the grader's process) is
:mod:`gradkit.course.execute`.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from nbgrader.preprocessors import NbGraderPreprocessor

__all__ = ["MarkGradedCells", "DropEmptyNbgraderMetadata", "parse_test_cell", "TestCellError"]

_SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*$", re.M)
_DEF = re.compile(r"^def ([A-Za-z_]\w*)\(", re.M)


class TestCellError(ValueError):
    """A cell that calls grade(...) but is not a valid one-line test cell."""


def parse_test_cell(source: str) -> tuple[str, float] | None:
    """``(name, points)`` if ``source`` is a test cell ``grade("name", points=N)``, else None.

    The cell may also import ``grade`` and hold comments; anything else in a
    cell that calls ``grade`` is an error (the cell is regenerated at release).
    """
    if "grade(" not in source:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    calls = [
        node
        for node in tree.body
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "grade"
    ]
    if not calls:
        return None
    others = [
        n for n in tree.body if not (n in calls or isinstance(n, (ast.Import, ast.ImportFrom)))
    ]
    call = calls[0].value
    assert isinstance(call, ast.Call)
    if len(calls) > 1 or others:
        raise TestCellError("a test cell holds one grade(...) call and nothing else")
    points: ast.expr | None = next((k.value for k in call.keywords if k.arg == "points"), None)
    ok = (
        len(call.args) == 1
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
        and points is not None
        and isinstance(points, ast.Constant)
        and isinstance(points.value, (int, float))
        and points.value > 0
        and {k.arg for k in call.keywords} == {"points"}
    )
    if not ok:
        raise TestCellError(
            'a test cell is written grade("function_name", points=N) with N > 0; '
            f"got {ast.unparse(call)[:80]!r}"
        )
    assert isinstance(points, ast.Constant) and isinstance(call.args[0], ast.Constant)
    assert isinstance(points.value, (int, float))
    return str(call.args[0].value), float(points.value)


def test_cell_source(name: str, points: float) -> str:
    """The source of the locked test cell the release writes for ``name``."""
    return (
        f"# Checks {name} ({points:g} points). When graded, the same checks run in the\n"
        "# grader's own process, with hidden cases added. This cell is locked.\n"
        "from gradkit.grading import grade\n"
        "\n"
        f'grade("{name}", points={points:g})'
    )


class MarkGradedCells(NbGraderPreprocessor):
    """Give test cells and answer cells their nbgrader metadata at release."""

    def preprocess_cell(self, cell: Any, resources: dict, index: int):
        if cell.cell_type != "code":
            return cell, resources
        meta = cell.metadata.get("nbgrader", {})
        try:
            parsed = parse_test_cell(cell.source)
        except TestCellError as exc:
            raise TestCellError(f"cell {index}: {exc}") from None
        if parsed is not None:
            name, points = parsed
            cell.source = test_cell_source(name, points)
            cell.metadata["nbgrader"] = {
                "grade": True,
                "grade_id": f"test_{name}",
                "locked": True,
                "points": points,
                "schema_version": 3,
                "solution": False,
                "task": False,
            }
        elif _SOLUTION.search(cell.source) and not meta.get("solution"):
            match = _DEF.search(cell.source)
            grade_id = match.group(1) if match else f"answer_{index}"
            cell.metadata["nbgrader"] = {
                "grade": False,
                "grade_id": grade_id,
                "locked": False,
                "schema_version": 3,
                "solution": True,
                "task": False,
            }
        return cell, resources


CLAIM_TAG = "claim"


class DropClaimCells(NbGraderPreprocessor):
    """Leave out of the release the cells tagged ``claim`` (see :mod:`gradkit.claims`).

    They check the prose against the reference's outputs when the solution notebooks
    run; a student's notebook shows the student's own outputs.
    """

    def preprocess(self, nb: Any, resources: dict):
        nb.cells = [c for c in nb.cells if CLAIM_TAG not in c.get("metadata", {}).get("tags", [])]
        return nb, resources


class DropEmptyNbgraderMetadata(NbGraderPreprocessor):
    """Remove ``nbgrader`` metadata that DeduplicateIds emptied."""

    def preprocess_cell(self, cell: Any, resources: dict, index: int):
        if "nbgrader" in cell.metadata and not cell.metadata["nbgrader"]:
            del cell.metadata["nbgrader"]
        return cell, resources
