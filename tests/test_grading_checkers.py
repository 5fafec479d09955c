"""Spec of each checker in gradkit.grading against planted mistakes.

One section per checker. Each grades an implementation with one planted
mistake, written here, and asserts the score (strictly between 0 and the
points when some sub-checks still pass) and the FAIL line a student would
read. The shared helpers and the every-checker specs: tests/test_grading.py.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from gradkit.grading import (
    CHECKERS,
    check_eval_numerical_gradient,
    check_least_squares,
    check_logistic_regression_loss,
    check_ridge,
    check_softmax_loss_naive,
    check_softmax_loss_vectorized,
    check_svm_loss_naive,
    check_svm_loss_vectorized,
)
from test_grading import (  # noqa: F401  (the autouse fixtures apply here too)
    HIDDEN,
    SCORE_ATOL,
    _clean_guard,
    _single_blas_thread,
    assert_partial,
    fail_line,
    fail_lines,
    grade,
    grade_zero,
)

# --- implementations a student might write (correct unless a flag plants a mistake) ---


def svm_student(W, X, y, reg, *, margin=1.0, dW_over_n=True, mutate_W=False):
    n, rows = X.shape[0], np.arange(X.shape[0])
    S = X @ W
    M = np.maximum(0.0, S - S[rows, y][:, None] + margin)
    M[rows, y] = 0.0
    loss = M.sum() / n + 0.5 * reg * np.sum(W * W)
    G = (M > 0).astype(float)
    G[rows, y] = -G.sum(axis=1)
    dW = X.T @ G / (n if dW_over_n else 1) + reg * W
    if mutate_W:
        W *= 0.5
    return loss, dW


def svm_python_loops(W, X, y, reg):
    """Correct values, but one Python step per (example, class) pair."""
    n, c = X.shape[0], W.shape[1]
    loss, dW = 0.0, np.zeros(W.shape)
    for i in range(n):
        s = X[i] @ W
        for j in range(c):
            m = s[j] - s[y[i]] + 1.0
            if j != y[i] and m > 0:
                loss += m
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    return loss / n + 0.5 * reg * np.sum(W * W), dW / n + reg * W


def softmax_student(W, X, y, reg, *, shift=True, reg_factor=0.5):
    n, rows = X.shape[0], np.arange(X.shape[0])
    S = X @ W
    if shift:
        S = S - S.max(axis=1, keepdims=True)
    E = np.exp(S)
    Z = E.sum(axis=1)
    loss = np.sum(np.log(Z) - S[rows, y]) / n + reg_factor * reg * np.sum(W * W)
    P = E / Z[:, None]
    P[rows, y] -= 1.0
    return loss, X.T @ P / n + 2 * reg_factor * reg * W


def least_squares_student(X, y, *, invert=False):
    if invert:
        return np.linalg.inv(X.T @ X) @ (X.T @ y)
    return np.linalg.solve(X.T @ X, X.T @ y)


def ridge_student(X, y, reg, bias_last=False, *, honour_bias_last=True):
    penalty = np.eye(X.shape[1])
    if bias_last and honour_bias_last:
        penalty[-1, -1] = 0.0
    return np.linalg.solve(X.T @ X + reg * penalty, X.T @ y)


def logistic_student(w, X, y, reg=0.0, bias_last=False, *, average=True):
    s = X @ w
    pen = w.copy()
    if bias_last:
        pen[-1] = 0.0
    n = X.shape[0] if average else 1
    loss = np.sum(np.logaddexp(0.0, s) - y * s) / n + 0.5 * reg * np.sum(pen * pen)
    sigma = 0.5 * (1.0 + np.tanh(0.5 * s))  # the logistic function, without overflow
    return loss, X.T @ (sigma - y) / n + reg * pen


def numgrad_student(f, x, h=1e-5, *, centred=True, restore=True):
    grad = np.zeros(x.shape)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        x[ix] = old + h
        fp = f(x)
        x[ix] = old - h if centred else old
        fm = f(x)
        if restore:
            x[ix] = old
        grad[ix] = (fp - fm) / (2 * h if centred else h)
    return grad


STUDENTS = {
    "svm_loss_naive": svm_student,
    "svm_loss_vectorized": svm_student,
    "softmax_loss_naive": softmax_student,
    "softmax_loss_vectorized": softmax_student,
    "least_squares": least_squares_student,
    "ridge": ridge_student,
    "logistic_regression_loss": logistic_student,
    "eval_numerical_gradient": numgrad_student,
}


@pytest.mark.parametrize("name", sorted(STUDENTS))
def test_own_correct_implementation_gets_full_marks(name, capsys):
    """No false delegation alarm, and the student's numbers agree within the tolerances."""
    score, lines = grade(CHECKERS[name], STUDENTS[name], capsys, points=2, hidden=HIDDEN)
    assert score == 2.0, "\n".join(lines)


# --- svm_loss_naive / svm_loss_vectorized --------------------------------------


@pytest.mark.parametrize("checker", [check_svm_loss_naive, check_svm_loss_vectorized])
def test_svm_missing_1_over_n_in_dW(checker, capsys):
    score, lines = grade(checker, partial(svm_student, dW_over_n=False), capsys, points=3)
    assert "check the 1/N" in fail_line(lines, "dW matches the reference (reg=0)")
    assert "relative error" in fail_line(
        lines, "dW agrees with the numeric gradient of your own loss"
    )
    assert "dW: largest difference" in fail_line(lines, "regularization 0.5*reg*sum(W**2)")
    assert_partial(score, 3, 3, lines)


def test_svm_margin_0_instead_of_1(capsys):
    score, lines = grade(check_svm_loss_naive, partial(svm_student, margin=0.0), capsys, points=3)
    assert "average the per-example losses over N" in fail_line(
        lines, "loss matches the reference (reg=0)"
    )
    assert "expected" in fail_line(lines, "loss matches the reference (reg=0)")
    assert fail_line(lines, "regularization").count("loss: expected") == 1
    assert 0 < score < 3


def test_svm_mutating_W_fails_only_the_mutation_check(capsys):
    score, lines = grade(
        check_svm_loss_naive, partial(svm_student, mutate_W=True), capsys, points=3
    )
    assert "W, X or y changed during the call" in fail_line(lines, "inputs are not modified")
    assert_partial(score, 3, 1, lines)


def test_svm_hidden_cases_report_sizes_not_inputs(capsys):
    score, lines = grade(
        check_svm_loss_naive, partial(svm_student, dW_over_n=False), capsys, hidden=HIDDEN
    )
    hidden = [ln for ln in fail_lines(lines) if ln.startswith("FAIL  hidden case")]
    assert len(hidden) == 3
    assert all("loss or dW differs from the reference" in ln and "[" not in ln for ln in hidden)
    assert 0 < score < 3


def test_svm_vectorized_with_python_loops_fails_the_speed_check(capsys):
    score, lines = grade(check_svm_loss_vectorized, svm_python_loops, capsys, points=3)
    line = fail_line(lines, "vectorized: ")
    assert "slower than the reference" in line and "remove the Python loops" in line
    assert_partial(score, 3, 1, lines)


def test_first_call_failure_counts_for_the_checks_it_blocks(capsys):
    """A crash on the first case costs that case's 5 sub-checks, not one."""

    def crashes_without_reg(W, X, y, reg):
        if reg == 0:
            raise ValueError("reg must be positive")
        return svm_student(W, X, y, reg)

    score, lines = grade(check_svm_loss_naive, crashes_without_reg, capsys, points=3)
    assert "your function raised ValueError: reg must be positive" in fail_line(
        lines, "runs on a small case"
    )
    assert score == pytest.approx(3 * 1 / (5 + 1 + 1), abs=SCORE_ATOL)  # only the reg case passes


def test_loss_returning_a_float_is_told_to_return_a_tuple(capsys):
    message, lines = grade_zero(check_svm_loss_naive, lambda W, X, y, reg: 1.0, capsys)
    assert "expected a tuple (loss, dW), got float — hint: end with: return loss, dW" in lines[0]
    assert "no check passed" in message


# --- softmax_loss_naive / softmax_loss_vectorized -------------------------------


@pytest.mark.parametrize("checker", [check_softmax_loss_naive, check_softmax_loss_vectorized])
def test_softmax_without_max_subtraction_is_unstable(checker, capsys):
    # grade() also asserts that the overflow warnings stayed inside the checker.
    score, lines = grade(checker, partial(softmax_student, shift=False), capsys, points=3)
    line = fail_line(lines, "stable for scores of magnitude 1e4")
    assert "non-finite" in line and "subtract each row's maximum score" in line
    assert_partial(score, 3, 1, lines)


@pytest.mark.parametrize("checker", [check_softmax_loss_naive, check_softmax_loss_vectorized])
def test_softmax_with_reg_times_sum_w2_instead_of_half(checker, capsys):
    score, lines = grade(checker, partial(softmax_student, reg_factor=1.0), capsys, points=3)
    line = fail_line(lines, "regularization 0.5*reg*sum(W**2)")
    assert "loss: expected" in line and "add 0.5 * reg * np.sum(W * W) to the loss" in line
    assert_partial(score, 3, 1, lines)


# --- least_squares ----------------------------------------------------------------


def test_least_squares_via_inverse_loses_the_solve_check(capsys):
    score, lines = grade(
        check_least_squares, partial(least_squares_student, invert=True), capsys, points=2
    )
    line = fail_line(lines, "solves the system instead of inverting X^T X")
    assert "np.linalg.inv or pinv was called" in line and "np.linalg.solve" in line
    assert_partial(score, 2, 1, lines)


def test_least_squares_without_transpose_fails_the_values(capsys):
    def no_normal_equations(X, y):
        return np.linalg.lstsq(X[: X.shape[1]], y[: X.shape[1]], rcond=None)[0]

    score, lines = grade(check_least_squares, no_normal_equations, capsys, points=2)
    assert "form X.T @ X and X.T @ y" in fail_line(lines, "w matches the closed-form solution")
    assert 0 < score < 2


# --- ridge ------------------------------------------------------------------------


def test_ridge_penalizing_the_bias_with_bias_last(capsys):
    score, lines = grade(
        check_ridge, partial(ridge_student, honour_bias_last=False), capsys, points=2
    )
    assert "zero the last diagonal entry" in fail_line(
        lines, "bias_last=True leaves the bias unpenalized"
    )
    assert_partial(score, 2, 1, lines)


def test_ridge_without_penalty_fails_on_singular_problem(capsys):
    score, lines = grade(
        check_ridge, lambda X, y, reg, bias_last=False: np.linalg.pinv(X) @ y, capsys
    )
    assert "add reg to the diagonal" in fail_line(
        lines, "reg > 0 solves a problem whose X^T X is singular"
    )
    assert 0 < score < 2


# --- logistic_regression_loss -----------------------------------------------------


def test_logistic_without_1_over_n(capsys):
    score, lines = grade(
        check_logistic_regression_loss, partial(logistic_student, average=False), capsys, points=3
    )
    assert "mean binary cross-entropy" in fail_line(lines, "small case, reg=0")
    for check in ("reg=0.5: ", "reg=0.5, bias_last=True", "stable for |Xw| ~ 1e4"):
        assert "loss: expected" in fail_line(lines, check)
    # Its gradient is consistent with its own loss, and it leaves inputs alone.
    assert_partial(score, 3, 4, lines)


def test_logistic_with_log_of_sigmoid_is_unstable(capsys):
    def naive_logs(w, X, y, reg=0.0, bias_last=False):
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        pen = w.copy()
        if bias_last:
            pen[-1] = 0.0
        loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + 0.5 * reg * np.sum(pen * pen)
        return loss, X.T @ (p - y) / X.shape[0] + reg * pen

    score, lines = grade(check_logistic_regression_loss, naive_logs, capsys, points=3)
    assert "np.logaddexp" in fail_line(lines, "stable for |Xw| ~ 1e4")
    assert_partial(score, 3, 1, lines)


# --- eval_numerical_gradient ------------------------------------------------------


def test_numgrad_one_sided_differences(capsys):
    score, lines = grade(
        check_eval_numerical_gradient, partial(numgrad_student, centred=False), capsys, points=2
    )
    for check in (
        "matches the exact gradient",
        "centred differences: accurate where one-sided ones are not",
    ):
        line = fail_line(lines, check)
        assert "relative error" in line and "use centred differences" in line
    # weights: the first case counts 2, the others 1 -> 2 of 5 pass
    assert score == pytest.approx(2 * 2 / 5, abs=SCORE_ATOL)


def test_numgrad_that_does_not_restore_x(capsys):
    score, lines = grade(
        check_eval_numerical_gradient, partial(numgrad_student, restore=False), capsys, points=2
    )
    assert "restore each entry after perturbing it" in fail_line(
        lines, "x holds its original values afterwards"
    )
    assert score == pytest.approx(2 * 4 / 5, abs=SCORE_ATOL)


def test_numgrad_passing_single_entries_to_f(capsys):
    def per_entry(f, x, h=1e-5):
        return np.array([(f(v + h) - f(v - h)) / (2 * h) for v in x.ravel()]).reshape(x.shape)

    score, lines = grade(check_eval_numerical_gradient, per_entry, capsys, points=2)
    assert "f saw shapes [()]" in fail_line(lines, "f is called with arrays of x's shape")
    assert 0 < score < 2
