"""Row h's arithmetic: a class's CPU split into each further notebook and what a run
spends once, from the class and its first student graded alone."""

from __future__ import annotations

import pytest

from bench.grading_cpu import rows_of, split_costs


def _row(assignment, cpu, alone_cpu, notebooks=8, alone_notebooks=2, score=20.0):
    return {
        "assignment": assignment,
        "notebooks": notebooks,
        "gradkit": {"cpu": cpu, "wall": 10.0},
        "scores": {f"s{k}": score for k in range(notebooks // 2)},
        "alone": {"cpu": alone_cpu, "wall": 4.0},
        "alone_notebooks": alone_notebooks,
        "alone_scores": {"s0": score},
    }


def test_each_further_notebook_and_the_run_are_split_from_the_two_runs():
    # a run spends 3 s once and 1.25 s per notebook: 8 notebooks 13 s, 2 notebooks 5.5 s
    each, once = split_costs(_row("05", 13.0, 5.5))
    assert each == pytest.approx(1.25)
    assert once == pytest.approx(3.0)
    assert split_costs({**_row("05", 13.0, 5.5), "alone_notebooks": 8}) is None
    assert split_costs({k: v for k, v in _row("05", 13.0, 5.5).items() if k != "alone"}) is None


def test_the_rows_say_both_and_refuse_a_student_scored_differently_alone():
    rows = rows_of([_row("01", 13.0, 5.5), _row("02", 17.0, 6.5)])
    assert "each further notebook 1.25, once per run 3.0" in rows[0]["measured"]
    assert "each further notebook 1.75, once per run 3.0" in rows[1]["measured"]
    # all 16 notebooks: (30 - 12) / (16 - 4) each; (12 - 4 * 1.5) / 2 runs once per run
    assert "each further notebook 1.50, once per run 3.0" in rows[2]["measured"]
    assert all("identical" in r["result"] for r in rows)
    differ = _row("01", 13.0, 5.5)
    differ["alone_scores"] = {"s0": 19.0}
    assert "DIFFER" in rows_of([differ])[0]["result"]
