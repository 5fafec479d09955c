"""What the issue on teaching quality asks of every assignment, read from the notebooks.

- Every sentence the prose states about an output is checked by a ``claim(...)`` in a
  cell tagged ``claim`` (gradkit.claims); every solution notebook has such cells and
  the release has none.
- Every assignment has at least three written questions graded by hand, each with a
  model answer and a rubric that says what earns full, half and no credit.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
ASSIGNMENTS = sorted({path.parent.name for path in SOLUTIONS})
WRITTEN_PER_ASSIGNMENT = 3
_CALLS_CLAIM = re.compile(r"(^|[^\w.])claim\(", re.M)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_claims_live_in_cells_tagged_claim(path):
    cells = _cells(path)
    untagged = [
        i
        for i, cell in enumerate(cells)
        if cell["cell_type"] == "code"
        and _CALLS_CLAIM.search(_source(cell))
        and "claim" not in _tags(cell)
    ]
    assert not untagged, f"cells {untagged} call claim() but are not tagged claim"
    tagged = [cell for cell in cells if "claim" in _tags(cell)]
    assert tagged, "the notebook checks none of its prose's claims (no cell tagged claim)"
    for cell in tagged:
        assert cell["cell_type"] == "code" and "nbgrader" not in cell["metadata"], (
            "a claim cell is a plain code cell: the release drops it"
        )


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_release_has_no_claims(path):
    released = ROOT / "assignments" / path.parent.name / path.name
    cells = _cells(released)
    assert not [c for c in cells if "claim" in _tags(c)]
    assert not [c for c in cells if c["cell_type"] == "code" and _CALLS_CLAIM.search(_source(c))]


def _written(assignment: str) -> list[tuple[str, str]]:
    found = []
    for path in SOLUTIONS:
        if path.parent.name != assignment:
            continue
        for cell in _cells(path):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell["cell_type"] == "markdown" and meta.get("grade") and meta.get("solution"):
                found.append((meta["grade_id"], _source(cell)))
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_assignment_asks_written_questions_with_a_rubric(assignment):
    written = _written(assignment)
    assert len(written) >= WRITTEN_PER_ASSIGNMENT, (
        f"{assignment} has {len(written)} written questions; expected at least "
        f"{WRITTEN_PER_ASSIGNMENT}"
    )
    for grade_id, answer in written:
        assert re.search(r"\*\*Model answer", answer), f"{grade_id}: no **Model answer.**"
        rubric = answer.split("**Rubric", 1)
        assert len(rubric) == 2, f"{grade_id}: no **Rubric** after the model answer"
        for level in ("full", "half", "no credit"):
            assert re.search(rf"\b{level}\b", rubric[1], re.I), f"{grade_id}: rubric lacks {level}"
