"""What a submission changed in the cells it may not change (nbgrader restores them).

nbgrader's sanitizer silently puts back every locked cell a student edited or
deleted, test cells included, before the notebook is graded. gradkit grades the
restored notebook too, and says so: the student learns that the test they changed
was graded as released.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

__all__ = ["changed_test_cells", "restored_note"]


def _test_cells(nb) -> dict[str, str]:
    """grade id -> source of each test cell (a graded cell that is not an answer)."""
    cells = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and meta.get("grade_id"):
            cells[str(meta["grade_id"])] = cell.source
    return cells


def changed_test_cells(submitted: Path, released: Path) -> dict[str, str]:
    """grade id -> ``"changed"`` or ``"deleted"`` for every test cell of ``released`` that
    ``submitted`` does not hold as released (compared by grade id and source)."""
    try:
        mine = _test_cells(nbformat.read(str(submitted), as_version=4))
        theirs = _test_cells(nbformat.read(str(released), as_version=4))
    except Exception:  # an unreadable notebook is reported elsewhere
        return {}
    out = {}
    for grade_id, source in theirs.items():
        if grade_id not in mine:
            out[grade_id] = "deleted"
        elif mine[grade_id].strip() != source.strip():
            out[grade_id] = "changed"
    return out


def restored_note(changes: dict[str, str]) -> str:
    """One sentence for the feedback, or "" when nothing was restored."""
    if not changes:
        return ""
    parts = [f"{gid} was {how}" for gid, how in sorted(changes.items())]
    return (
        f"test cell{'s' if len(parts) > 1 else ''} {'; '.join(parts)} in your notebook: "
        "restored as released and graded"
    )
