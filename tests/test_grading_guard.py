"""Spec of what keeps grading honest: delegation watch, tamper guard, hidden seeds.

* Delegation: a function that runs gradkit's reference (called, or a copy of
  its code) scores 0 with a line naming the reference.
* Tampering: rebinding numpy or gradkit objects, before or while a checker
  runs, is detected, undone, and scores 0 with an "integrity" line.
* Hidden seeds: per-student cases, reproducible from the token alone.
"""

from __future__ import annotations

import inspect
import sys
import textwrap

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import gradkit
from gradkit import gradcheck, linear, losses
from gradkit.grading import (
    GradingFailure,
    check_eval_numerical_gradient,
    check_least_squares,
    check_linear,
    check_logistic_regression_loss,
    check_ridge,
    check_softmax_loss_vectorized,
    check_svm_loss_naive,
    check_svm_loss_vectorized,
    guard,
    seeds,
)

ORIGINAL_ALLCLOSE = np.allclose
ORIGINAL_VALUE_RTOL = check_linear.VALUE_RTOL
ORIGINAL_REL_ERROR = gradcheck.rel_error
ORIGINAL_SVM_CODE = linear.svm_loss_naive.__code__


@pytest.fixture(autouse=True)
def _clean_guard():
    """Forget recorded tampering before and after each test; put back anything the guard missed."""
    guard.reset()
    with threadpool_limits(limits=1):  # stable timings for the speed sub-check
        yield
    np.allclose = ORIGINAL_ALLCLOSE
    check_linear.VALUE_RTOL = ORIGINAL_VALUE_RTOL
    gradcheck.rel_error = ORIGINAL_REL_ERROR
    linear.svm_loss_naive.__code__ = ORIGINAL_SVM_CODE
    guard.reset()


def least_squares_ok(X, y):
    return np.linalg.solve(X.T @ X, X.T @ y)


def numgrad_ok(f, x, h=1e-5):
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


def grade_zero(checker, fn, capsys, **kwargs):
    with pytest.raises(GradingFailure, match="no check passed"):
        checker(fn, **kwargs)
    out = capsys.readouterr()
    assert out.err == ""
    return out.out.splitlines()


# --- delegation -----------------------------------------------------------------


def _scores_via_losses_svm(W, X, y, reg):
    loss, dS = losses.svm_loss(X @ W, y)
    return loss + 0.5 * reg * np.sum(W * W), X.T @ dS + reg * W


def _scores_via_losses_softmax(W, X, y, reg):
    loss, dS = losses.softmax_loss(X @ W, y)
    return loss + 0.5 * reg * np.sum(W * W), X.T @ dS + reg * W


DELEGATING = [
    (
        check_svm_loss_naive,
        lambda W, X, y, reg: gradkit.linear.svm_loss_naive(W, X, y, reg),
        "gradkit.linear.svm_loss_naive",
    ),
    (
        check_svm_loss_naive,
        lambda W, X, y, reg: gradkit.linear.svm_loss_vectorized(W, X, y, reg),
        "gradkit.linear.svm_loss_vectorized",
    ),
    (check_svm_loss_vectorized, linear.svm_loss_vectorized, "gradkit.linear.svm_loss_vectorized"),
    (check_svm_loss_vectorized, _scores_via_losses_svm, "gradkit.losses.svm_loss"),
    (check_softmax_loss_vectorized, _scores_via_losses_softmax, "gradkit.losses.softmax_loss"),
    (check_least_squares, lambda X, y: linear.ridge(X, y, 0.0), "gradkit.linear.ridge"),
    (
        check_logistic_regression_loss,
        lambda *a, **k: linear.logistic_regression_loss(*a, **k),
        "gradkit.linear.logistic_regression_loss",
    ),
    (
        check_eval_numerical_gradient,
        lambda f, x, h=1e-5: gradcheck.eval_numerical_gradient(f, x, h),
        "gradkit.gradcheck.eval_numerical_gradient",
    ),
    (
        check_eval_numerical_gradient,
        lambda f, x, h=1e-5: gradcheck.eval_numerical_gradient_array(
            lambda v: np.array(f(v)), x, np.array(1.0), h
        ),
        "gradkit.gradcheck.eval_numerical_gradient_array",
    ),
]


@pytest.mark.parametrize(
    "checker, fn, reference", DELEGATING, ids=[d[2] + "-" + d[0].__name__ for d in DELEGATING]
)
def test_delegating_to_the_reference_scores_zero(checker, fn, reference, capsys):
    lines = grade_zero(checker, fn, capsys)
    expected = f"your function ran {reference} (the reference)"
    failed = [ln for ln in lines if ln.startswith("FAIL")]
    assert failed and all(expected in ln for ln in failed)
    assert "yourself instead of calling gradkit's implementation" in failed[0]
    assert not any(ln.startswith("PASS") for ln in lines)


def _exec_copy(ref, prelude=""):
    """A student's 'own' function: the reference's source, exec'd with its module's globals."""
    namespace = dict(vars(sys.modules[ref.__module__]))
    exec(prelude + textwrap.dedent(inspect.getsource(ref)), namespace)
    return namespace[ref.__name__]


@pytest.mark.parametrize(
    "checker, ref",
    [
        pytest.param(check_svm_loss_naive, linear.svm_loss_naive, id="svm_loss_naive"),
        pytest.param(
            check_softmax_loss_vectorized,
            linear.softmax_loss_vectorized,
            id="softmax_loss_vectorized",
        ),
        pytest.param(check_ridge, linear.ridge, id="ridge"),
        pytest.param(
            check_logistic_regression_loss, linear.logistic_regression_loss, id="logistic"
        ),
        pytest.param(check_least_squares, linear.least_squares, id="least_squares"),
    ],
)
def test_exec_copy_of_the_reference_is_caught(checker, ref, capsys):
    lines = grade_zero(checker, _exec_copy(ref), capsys)
    assert any("(the reference)" in ln for ln in lines)


def test_exec_copy_compiled_like_its_module_is_caught(capsys):
    """When the copy's bytecode equals the reference's, the watch recognises it."""
    copy_ = _exec_copy(linear.svm_loss_naive, prelude="import numpy as np\n")
    lines = grade_zero(check_svm_loss_naive, copy_, capsys)
    assert "your function ran gradkit.linear.svm_loss_naive (the reference)" in lines[0]


def test_allow_reference_switches_the_watch_off(capsys):
    assert check_svm_loss_naive(linear.svm_loss_naive, points=3, allow_reference=True) == 3.0
    assert "(the reference)" not in capsys.readouterr().out


# --- tampering ---------------------------------------------------------------------


def _rebind_allclose():
    np.allclose = lambda *a, **k: True


def _rebind_value_rtol():
    gradkit.grading.check_linear.VALUE_RTOL = 1e9


def _rebind_rel_error():
    gradkit.gradcheck.rel_error = lambda a, b: 0.0


def _replace_reference_code():
    linear.svm_loss_naive.__code__ = (lambda W, X, y, reg: (0.0, W * 0)).__code__


TAMPERS = {
    "numpy.allclose was rebound": _rebind_allclose,
    "gradkit.grading.check_linear.VALUE_RTOL was rebound": _rebind_value_rtol,
    "gradkit.gradcheck.rel_error was rebound": _rebind_rel_error,
    "the code of gradkit.linear.classifier_losses.svm_loss_naive was replaced": (
        _replace_reference_code
    ),
}


def assert_untouched():
    assert np.allclose is ORIGINAL_ALLCLOSE
    assert check_linear.VALUE_RTOL == ORIGINAL_VALUE_RTOL
    assert gradcheck.rel_error is ORIGINAL_REL_ERROR
    assert linear.svm_loss_naive.__code__ is ORIGINAL_SVM_CODE


def assert_integrity_failure(lines, change):
    integrity = [ln for ln in lines if ln.startswith("FAIL  integrity:")]
    assert len(integrity) == 1 and change in integrity[0], "\n".join(lines)
    assert "this test scores 0; restart the kernel" in integrity[0]
    assert change in guard.tampering()


@pytest.mark.parametrize("change", sorted(TAMPERS))
@pytest.mark.parametrize(
    "checker, good",
    [
        (check_least_squares, least_squares_ok),
        (check_eval_numerical_gradient, numgrad_ok),
    ],
    ids=["least_squares", "eval_numerical_gradient"],
)
def test_tampering_while_called_scores_zero_and_is_undone(checker, good, change, capsys):
    def tampering_student(*args, **kwargs):
        TAMPERS[change]()
        return good(*args, **kwargs)

    lines = grade_zero(checker, tampering_student, capsys)
    assert_integrity_failure(lines, change)
    assert_untouched()


@pytest.mark.parametrize("change", sorted(TAMPERS))
def test_tampering_in_an_earlier_cell_is_undone_before_grading_starts(change, capsys):
    seen_during_calls = []

    def student(X, y):
        seen_during_calls.append(
            (
                np.allclose,
                check_linear.VALUE_RTOL,
                gradcheck.rel_error,
                linear.svm_loss_naive.__code__,
            )
        )
        return least_squares_ok(X, y)

    TAMPERS[change]()  # the earlier cell
    lines = grade_zero(check_least_squares, student, capsys)
    assert_integrity_failure(lines, change)
    assert_untouched()
    originals = (ORIGINAL_ALLCLOSE, ORIGINAL_VALUE_RTOL, ORIGINAL_REL_ERROR, ORIGINAL_SVM_CODE)
    assert seen_during_calls and all(seen == originals for seen in seen_during_calls)


def test_tampering_costs_every_later_check_until_reset(capsys):
    _rebind_allclose()
    grade_zero(check_least_squares, least_squares_ok, capsys)
    lines = grade_zero(check_least_squares, least_squares_ok, capsys)  # a clean cell, later
    assert_integrity_failure(lines, "numpy.allclose was rebound")
    guard.reset()
    assert guard.tampering() == []
    assert check_least_squares(least_squares_ok, points=2) == 2.0


def test_no_tampering_no_integrity_line(capsys):
    assert check_least_squares(least_squares_ok, points=2) == 2.0
    assert "integrity" not in capsys.readouterr().out
    assert guard.verify() == []


# --- hidden seeds -------------------------------------------------------------------


def hidden_lines(token, capsys):
    check_svm_loss_naive(
        linear.svm_loss_naive, hidden=f"{seeds.PLACEHOLDER}:{token}", allow_reference=True
    )
    return [ln for ln in capsys.readouterr().out.splitlines() if "hidden case" in ln]


def test_same_token_same_hidden_cases(capsys):
    first = hidden_lines("student-a", capsys)
    assert len(first) == 3
    assert hidden_lines("student-a", capsys) == first


def test_different_tokens_different_hidden_cases(capsys):
    assert hidden_lines("student-a", capsys) != hidden_lines("student-b", capsys)


def test_hidden_rng_depends_on_token_and_check():
    def draws(hidden, name="svm_loss_naive"):
        return seeds.hidden_rng(hidden, name).standard_normal(4)

    np.testing.assert_array_equal(draws("gradkit:hidden:t1"), draws("gradkit:hidden:t1"))
    assert not np.array_equal(draws("gradkit:hidden:t1"), draws("gradkit:hidden:t2"))
    assert not np.array_equal(draws("gradkit:hidden:t1"), draws("gradkit:hidden:t1", "ridge"))
    # The bare placeholder (an instructor's run) has its own fixed cases.
    np.testing.assert_array_equal(draws("gradkit:hidden"), draws("gradkit:hidden:instructor"))
    assert seeds.hidden_rng(None, "svm_loss_naive") is None


@pytest.mark.parametrize("bad", ["hidden", "", 42, "GRADKIT:HIDDEN"])
def test_hidden_rng_rejects_anything_but_the_token_string(bad):
    with pytest.raises(ValueError, match="hidden must be None or the grader's token string"):
        seeds.hidden_rng(bad, "svm_loss_naive")


def test_derive_token_is_a_deterministic_keyed_hash():
    base = dict(secret=b"course secret", assignment="01_linear", notebook="linear", student="ada")
    token = seeds.derive_token(**base)
    assert token == seeds.derive_token(**base)
    assert len(token) == 32 and int(token, 16) >= 0
    for key, other in [
        ("secret", b"other secret"),
        ("assignment", "02_backprop"),
        ("notebook", "softmax"),
        ("student", "grace"),
    ]:
        assert seeds.derive_token(**{**base, key: other}) != token, key


def test_inject_replaces_only_the_placeholder_literal():
    cell = (
        "hidden = None\n"
        "### BEGIN HIDDEN TESTS\n"
        'hidden = "gradkit:hidden"\n'
        "other = 'gradkit:hidden'\n"
        "### END HIDDEN TESTS\n"
        '# gradkit:hidden in a comment, "gradkit:hidden_case", "gradkit:hidden:abc"\n'
    )
    expected = cell.replace('"gradkit:hidden"\n', '"gradkit:hidden:tok"\n').replace(
        "'gradkit:hidden'\n", "'gradkit:hidden:tok'\n"
    )
    assert seeds.inject(cell, "tok") == expected
    assert seeds.inject(expected, "tok") == expected  # a second pass changes nothing
    assert seeds.inject("check(f)\n", "tok") == "check(f)\n"
