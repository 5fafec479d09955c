"""Spec of gradkit.grading shared by every checker, and the helpers its tests use.

Every checker gives gradkit's reference full marks (with and without hidden
cases), scores a stub 0 with a hint, and keeps warnings of correct code from
costing points or reaching stderr. Planted mistakes, one section per checker:
tests/test_grading_checkers.py; delegation, tampering and hidden seeds:
tests/test_grading_guard.py.
"""

from __future__ import annotations

import sys
import warnings

import pytest
from threadpoolctl import threadpool_limits

from gradkit import gradcheck, linear
from gradkit.grading import CHECKERS, GradingFailure, guard

#: Checkers round the score to 4 decimals.
SCORE_ATOL = 1e-4
HIDDEN = "gradkit:hidden:test-student"

REFERENCES = {
    "svm_loss_naive": linear.svm_loss_naive,
    "svm_loss_vectorized": linear.svm_loss_vectorized,
    "softmax_loss_naive": linear.softmax_loss_naive,
    "softmax_loss_vectorized": linear.softmax_loss_vectorized,
    "least_squares": linear.least_squares,
    "ridge": linear.ridge,
    "logistic_regression_loss": linear.logistic_regression_loss,
    "eval_numerical_gradient": gradcheck.eval_numerical_gradient,
}


@pytest.fixture(autouse=True)
def _clean_guard():
    """Each test starts and ends with no recorded tampering."""
    guard.reset()
    yield
    guard.reset()


@pytest.fixture(autouse=True)
def _single_blas_thread():
    """Run BLAS single-threaded so the speed sub-check compares stable times.

    On a loaded machine a multi-threaded BLAS call waits for a free core: the
    reference's best-of-5 time swings from 0.5 ms to 40 ms, which is enough to
    let a Python loop pass (or a correct loss fail) the 10x speed check.
    """
    with threadpool_limits(limits=1):
        yield


def grade(checker, fn, capsys, **kwargs):
    """Run ``checker``; return (score, stdout lines).

    Nothing may reach stderr or escape as a warning.
    """
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        score = checker(fn, **kwargs)
    out = capsys.readouterr()
    assert out.err == ""
    assert [str(w.message) for w in leaked] == []
    return score, out.out.splitlines()


def grade_zero(checker, fn, capsys, **kwargs):
    """Run a checker that must award nothing; return (GradingFailure message, stdout lines)."""
    with pytest.raises(GradingFailure) as info:
        checker(fn, **kwargs)
    out = capsys.readouterr()
    assert out.err == ""
    return str(info.value), out.out.splitlines()


def fail_lines(lines):
    return [ln for ln in lines if ln.startswith("FAIL  ")]


def fail_line(lines, check):
    """The FAIL line of sub-check ``check`` (asserting there is exactly one)."""
    found = [ln for ln in fail_lines(lines) if ln.startswith(f"FAIL  {check}")]
    assert len(found) == 1, f"expected one FAIL line for {check!r} in:\n" + "\n".join(lines)
    return found[0]


def assert_partial(score, points, n_failed, lines):
    """0 < score < points, and the score is points × (passed / total) for unit weights."""
    results = [ln for ln in lines if ln.startswith(("PASS  ", "FAIL  "))]
    assert len(fail_lines(lines)) == n_failed, "\n".join(lines)
    assert 0 < score < points
    assert score == pytest.approx(points * (len(results) - n_failed) / len(results), abs=SCORE_ATOL)


def not_implemented(*args, **kwargs):
    raise NotImplementedError


# --- every checker -------------------------------------------------------------


@pytest.mark.parametrize("hidden", [None, HIDDEN])
@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_reference_gets_full_marks(name, hidden, capsys):
    score, lines = grade(
        CHECKERS[name], REFERENCES[name], capsys, points=3, hidden=hidden, allow_reference=True
    )
    assert score == 3.0
    assert fail_lines(lines) == []
    assert any(ln.startswith("PASS  hidden case") for ln in lines) == (hidden is not None)
    assert lines[-1].startswith(f"{name}: ") and lines[-1].endswith("3/3 points")


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_stub_scores_zero_and_says_implement_it(name, capsys):
    message, lines = grade_zero(CHECKERS[name], not_implemented, capsys, points=2)
    assert message == f"{name}: no check passed (0/2 points); see the lines above"
    assert not any(ln.startswith("PASS") for ln in lines)
    assert any(
        "not implemented yet (NotImplementedError) — hint: implement the function" in ln
        for ln in lines
    )


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_not_a_function_is_reported(name):
    with pytest.raises(
        GradingFailure,
        match=f"expected a function, got NoneType; did the cell that defines {name} run",
    ):
        CHECKERS[name](None)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_warning_from_correct_code_costs_nothing(name, capsys):
    ref = REFERENCES[name]

    def noisy(*args, **kwargs):
        warnings.warn("x", RuntimeWarning, stacklevel=2)
        return ref(*args, **kwargs)

    score, _ = grade(CHECKERS[name], noisy, capsys, points=2, allow_reference=True)
    assert score == 2.0


@pytest.mark.parametrize(
    "module",
    [
        "checker",
        "seeds",
        "guard",
        "delegation",
        "check_regression",
        "check_gradcheck",
        "check_linear",
    ],
)
def test_star_import_of_each_grading_module_works(module):
    namespace = {}
    exec(f"from gradkit.grading.{module} import *", namespace)
    assert set(vars(sys.modules[f"gradkit.grading.{module}"])["__all__"]) <= set(namespace)
