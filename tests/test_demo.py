"""The demo, i.e. the whole instructor cycle on the real assignment 01."""

import pytest

from gradkit.course.demo import run_demo
from gradkit.course.directory import UserError

pytestmark = [pytest.mark.slow, pytest.mark.a01]  # the demo and the tiny course grade 01


def test_demo_scores_full_zero_and_partial(tmp_path):
    result = run_demo(tmp_path / "demo", log=lambda m: None)
    from nbgrader.api import Gradebook

    rows = {r["student"]: r for r in result["rows"]}
    with Gradebook(f"sqlite:///{result['course'].db_path}") as gb:
        assignment = gb.find_assignment("01_linear_models")
        autograded, written = float(assignment.max_code_score), float(assignment.max_written_score)
        questions = sum(
            1 for nb in assignment.notebooks for c in nb.grade_cells if c.cell_type == "markdown"
        )
    # the written answers await a TA in formgrader; everything autograded is full marks
    assert written > 0 and rows["ada"]["max"] == pytest.approx(autograded + written)
    assert rows["ada"]["total"] == pytest.approx(autograded) and autograded > 0
    assert rows["ada"]["pending_manual"] == questions > 0
    assert rows["brook"]["total"] == 0 and rows["brook"]["pending_manual"] == 0
    assert 0 < rows["cyd"]["total"] < rows["cyd"]["max"]
    assert all(r["status"] == "graded" for r in rows.values())
    assert len(result["feedback"]) == 3 * len(result["course"].notebooks("01_linear_models"))
    assert result["csv"].read_text().startswith("student,")


def test_demo_never_overwrites_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(UserError, match="not made by `gradkit demo`"):
        run_demo(tmp_path, log=lambda m: None)
    assert (tmp_path / "mine.txt").read_text() == "precious"


def test_demo_runs_on_a_machine_that_cannot_sandbox(tmp_path, monkeypatch):
    """No bubblewrap (or no root and no user namespaces): the demo grades its own samples
    unsandboxed and says so, where `gradkit grade` of real students would refuse."""
    monkeypatch.setattr("gradkit.course.sandbox.find_bwrap", lambda: None)
    said = []
    result = run_demo(tmp_path / "demo", log=said.append)
    assert any("NOT sandboxed" in line and "bubblewrap" in line for line in said)
    totals = {r["student"]: r["total"] for r in result["rows"]}
    assert totals["ada"] > totals["cyd"] > totals["brook"] == 0
