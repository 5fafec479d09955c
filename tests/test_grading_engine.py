"""The engine against implementations a student might write: what each check reports and costs.

Every behaviour the assignment 01 checkers had keeps a test here (values
against the reference, the own-gradient check, mutation, stability at 1e4,
no inversion, vectorization speed, centred differences), plus the engine's
rules: extras count once the values are right, one hint per cascade, a
diagnosis instead of a fixed hint, delegation scores 0.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from gradkit import linear
from gradkit.grading import GradingFailure, get_spec, grade
from gradkit.grading.callee import DirectCallee
from gradkit.grading.engine import run_spec
from gradkit.grading.result import TestResult

TOKEN = "pytest-student"
pytestmark = pytest.mark.a01  # the implementations below are assignment 01's functions


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


def run(name, fn, points=3.0, token=TOKEN, **extra):
    spec = get_spec(name)
    functions = {name: fn, **extra}
    return run_spec(
        spec, DirectCallee(functions, forbidden=tuple(spec.forbidden_names())), points, token
    )


def check(result: TestResult, start: str):
    found = [c for c in result.checks if c.name.startswith(start)]
    assert found, f"no check named {start!r} in:\n{result.text()}"
    return found[0]


@pytest.mark.parametrize("name", sorted(STUDENTS))
def test_own_correct_implementation_gets_full_marks(name):
    result = run(name, STUDENTS[name])
    assert result.score == 3.0, result.text()


# --- the four mistakes of the issue: the message names the mistake ----------------


def test_svm_summing_the_correct_class_term_is_diagnosed():
    def counts_j_eq_y(W, X, y, reg):
        n = X.shape[0]
        S = X @ W
        M = np.maximum(0.0, S - S[np.arange(n), y][:, None] + 1.0)  # no M[rows, y] = 0
        G = (M > 0).astype(float)
        G[np.arange(n), y] -= G.sum(axis=1)
        return M.sum() / n + 0.5 * reg * np.sum(W * W), X.T @ G / n + reg * W

    result = run("svm_loss_naive", counts_j_eq_y)
    loss = check(result, "loss matches")
    assert not loss.passed and "sums the j = y_i term" in loss.diagnosis
    assert check(result, "dW matches").passed
    assert "average" not in result.text()


@pytest.mark.parametrize("name", ["svm_loss_naive", "svm_loss_vectorized"])
def test_svm_missing_1_over_n_in_dW_is_diagnosed_once_with_no_unrelated_hints(name):
    result = run(name, partial(svm_student, dW_over_n=False))
    dW = check(result, "dW matches")
    assert "without the 1/N average (your loss has it)" in dW.diagnosis
    text = result.text()
    assert "np.sum(W * W)" not in text and "exponentiat" not in text
    assert check(result, "regularization term in loss").passed
    assert check(result, "regularization term in dW").passed
    assert 0 < result.score < 3


def test_softmax_without_max_subtraction_fails_only_stability():
    result = run("softmax_loss_vectorized", partial(softmax_student, shift=False))
    stable = check(result, "stable for scores of magnitude 1e4")
    assert not stable.passed and "your loss is nan" in stable.detail and "overflow" in stable.hint
    assert all(c.passed for c in result.checks if c.kind == "values")
    assert 0 < result.score < 3


def test_softmax_with_reg_without_half_costs_the_regularization_check():
    result = run("softmax_loss_naive", partial(softmax_student, reg_factor=1.0))
    reg_loss = check(result, "regularization term in loss")
    assert "twice the course's ½·reg·ΣW²" in reg_loss.diagnosis
    assert check(result, "loss matches").passed and check(result, "dW matches").passed


# --- scoring rules ----------------------------------------------------------------


def test_mutating_W_fails_only_the_mutation_check():
    result = run("svm_loss_naive", partial(svm_student, mutate_W=True))
    mutation = check(result, "inputs are not modified")
    assert not mutation.passed and "changed an argument" in mutation.detail
    assert [c.name for c in result.checks if not c.passed] == [mutation.name]
    assert 0 < result.score < 3


def test_extras_count_only_once_the_values_are_right():
    wrong = run("svm_loss_naive", lambda W, X, y, reg: (0.0, np.zeros_like(W)))
    assert check(wrong, "inputs are not modified").passed
    assert check(wrong, "inputs are not modified").credit == 0
    every_value_wrong = all(not c.passed for c in wrong.checks if c.kind == "values")
    assert every_value_wrong and wrong.score == 0


def test_only_the_first_failure_gets_a_hint():
    result = run("logistic_regression_loss", lambda w, X, y, reg=0.0, bias_last=False: (0.0, w))
    failed = [c for c in result.checks if not c.passed]
    assert len(failed) > 2
    assert failed[0].hint and not any(c.hint for c in failed[1:])


def test_a_crash_is_reported_once_then_as_the_same_error():
    def crashes(W, X, y, reg):
        raise ValueError("shapes do not align")

    result = run("svm_loss_naive", crashes)
    first = check(result, "loss matches")
    assert first.detail == "your function raised ValueError: shapes do not align"
    assert check(result, "dW matches").detail == "(same error as above)"
    assert result.score == 0


def test_loss_returning_a_float_is_told_it_must_return_a_tuple():
    result = run("svm_loss_naive", lambda W, X, y, reg: 1.0)
    assert "returned a float instead of a tuple of 2 values" in check(result, "loss matches").detail


def test_a_name_that_is_not_a_function_is_reported():
    spec = get_spec("ridge")
    result = run_spec(spec, DirectCallee({"ridge": 3}), 2, None)
    assert "is a int" in result.text() and result.score == 0


def test_warnings_and_prints_from_correct_code_cost_nothing(capsys):
    def noisy(W, X, y, reg):
        import warnings

        warnings.warn("x", RuntimeWarning, stacklevel=2)
        print("debug", W.shape)
        return linear.softmax_loss_vectorized(W.copy(), X, y, reg)

    spec = get_spec("softmax_loss_vectorized")
    result = run_spec(spec, DirectCallee({"softmax_loss_vectorized": noisy}), 3, TOKEN)
    assert result.score == 3
    assert capsys.readouterr().out == ""


# --- checks that are not about values ------------------------------------------------


def test_vectorized_loss_with_python_loops_fails_the_speed_check():
    result = run("svm_loss_vectorized", svm_python_loops)
    speed = check(result, "fast enough")
    assert not speed.passed and "slower than the reference" in speed.detail
    assert "remove the Python loops" in speed.hint
    assert 0 < result.score < 3


def test_least_squares_via_inverse_loses_the_solve_check():
    result = run("least_squares", partial(least_squares_student, invert=True))
    solve = check(result, "solves the system")
    assert not solve.passed and "numpy.linalg.inv" in solve.detail
    assert 0 < result.score < 3


def test_ridge_that_ignores_bias_last_is_diagnosed():
    result = run("ridge", partial(ridge_student, honour_bias_last=False))
    assert "still penalizes the bias" in check(result, "bias_last=True").diagnosis


def test_logistic_with_logs_of_probabilities_is_unstable():
    def naive_logs(w, X, y, reg=0.0, bias_last=False):
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        pen = w.copy()
        if bias_last:
            pen[-1] = 0.0
        loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + 0.5 * reg * np.sum(pen * pen)
        return loss, X.T @ (p - y) / X.shape[0] + reg * pen

    result = run("logistic_regression_loss", naive_logs)
    assert not check(result, "stable for |Xw| ~ 1e4").passed
    assert "np.logaddexp" in check(result, "stable for |Xw| ~ 1e4").hint


def test_numgrad_one_sided_is_diagnosed_and_restore_is_checked():
    one_sided = run("eval_numerical_gradient", partial(numgrad_student, centred=False))
    assert "one-sided difference" in check(one_sided, "gradient of a smooth").diagnosis
    unrestored = run("eval_numerical_gradient", partial(numgrad_student, restore=False))
    assert not check(unrestored, "x holds its original values").passed


def test_numgrad_passing_single_entries_to_f_is_noticed():
    def per_entry(f, x, h=1e-5):
        return np.array([(f(v + h) - f(v - h)) / (2 * h) for v in x.ravel()]).reshape(x.shape)

    result = run("eval_numerical_gradient", per_entry)
    shape = check(result, "f is called with arrays of x's shape")
    assert not shape.passed and "[()]" in shape.detail


# --- delegation ------------------------------------------------------------------------


def test_an_exec_copy_of_the_reference_is_caught():
    import inspect
    import textwrap

    source = textwrap.dedent(inspect.getsource(linear.svm_loss_vectorized))
    namespace = dict(vars(inspect.getmodule(linear.svm_loss_vectorized)))
    exec(compile(source, "<student cell>", "exec"), namespace)
    result = run("svm_loss_vectorized", namespace["svm_loss_vectorized"])
    assert result.score == 0 and "gradkit's reference" in result.problem


def test_own_code_sharing_a_generic_generator_with_the_reference_is_not_delegation():
    """The reference's nested ``(cache[k] for k in ...)`` is generic: a student's function
    with the same generator is their own code; the reference itself is still caught."""
    import types

    from gradkit import normalization
    from gradkit.grading.delegation import Watch, _fingerprint, code_objects

    def own(cache):
        return list(cache[k] for k in ("xhat", "gamma"))

    ref_gen = code_objects(normalization.batchnorm_backward)[1]
    own_gen = next(c for c in own.__code__.co_consts if isinstance(c, types.CodeType))
    assert _fingerprint(own_gen) == _fingerprint(ref_gen)  # what used to be flagged

    watch = Watch({"ref": normalization.batchnorm_backward})
    with watch:
        own({"xhat": 1, "gamma": 2})
    assert watch.hits == []
    _, cache = normalization.batchnorm_forward(
        np.ones((3, 2)), np.ones(2), np.zeros(2), {"mode": "train"}
    )
    with watch:
        normalization.batchnorm_backward(np.ones((3, 2)), cache)
    assert watch.hits == ["ref"]


# --- the in-kernel entry point ------------------------------------------------------------


def test_grade_in_a_namespace_returns_the_score_and_prints_the_lines(capsys):
    namespace = {"least_squares": least_squares_student}
    assert grade("least_squares", points=2, namespace=namespace) == 2
    out = capsys.readouterr().out
    assert "PASS  w matches the closed-form solution" in out
    assert "PASS  practice case 1" in out and "NOTE  practice cases are drawn at random" in out
    assert "least_squares: 7/7 checks passed, 2/2 points" in out


def test_practice_cases_catch_what_only_the_hidden_cases_would():
    """A function right only on the public cases' shapes: full marks on the public cases,
    points lost on practice cases, as on the hidden cases of the graded run."""
    from gradkit.grading.seeds import practice_token

    spec = get_spec("least_squares")
    public = {c.build().args[0].shape for check in spec.checks for c in getattr(check, "cases", [])}

    def only_public_shapes(X, y):
        if X.shape in public:
            return linear.least_squares(X, y)
        return np.zeros((X.shape[1],) + y.shape[1:])

    callee = DirectCallee({"least_squares": only_public_shapes})
    assert run_spec(spec, callee, 2, None).score == 2
    practice = run_spec(
        spec, DirectCallee({"least_squares": only_public_shapes}), 2, practice_token()
    )
    graded = run_spec(spec, DirectCallee({"least_squares": only_public_shapes}), 2, "student-token")
    assert practice.score < 2 and graded.score < 2
    assert practice.note and not graded.note
    assert any(c.name.startswith("practice case") and not c.passed for c in practice.checks)


def test_grade_raises_a_short_failure_when_nothing_passes(capsys):
    with pytest.raises(GradingFailure) as info:
        grade("least_squares", points=2, namespace={})
    assert info.value._render_traceback_() == [
        "\x1b[31mGradingFailure\x1b[0m: least_squares: no check passed (0/2 points); "
        "see the lines above"
    ]
    assert "is not defined; run the cell that defines least_squares" in capsys.readouterr().out


def test_results_survive_a_json_round_trip():
    import json

    result = run("ridge", partial(ridge_student, honour_bias_last=False))
    again = TestResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again.lines() == result.lines() and again.score == result.score
    assert "<table" in again.html() and "✗" in again.html()


def test_a_test_cells_outputs_are_the_ones_nbformat_makes_and_valid():
    """The grader builds a test cell's outputs without validating each one (the notebook
    is validated whole when written): they must equal nbformat's own, validated, outputs."""
    import nbformat
    from nbformat.v4 import new_output

    from gradkit.course.execute import result_outputs
    from gradkit.grading.result import MIME

    passed = run("ridge", partial(ridge_student, honour_bias_last=False))
    failed = TestResult(test="ridge", points=2.0, problem="the function is missing")
    assert passed.score > 0 and failed.score == 0
    for result in (passed, failed):
        outputs = result_outputs(result, execution_count=7)
        data = {"text/plain": result.text(), "text/html": result.html(), MIME: result.to_dict()}
        message = f"ridge: no check passed (0/{result.points:g} points)"
        expected = [
            new_output("display_data", data=data),
            new_output("execute_result", data={"text/plain": repr(result.score)}, execution_count=7)
            if result.score > 0
            else new_output(
                "error",
                ename="GradingFailure",
                evalue=message,
                traceback=[f"GradingFailure: {message}"],
            ),
        ]
        assert outputs == expected
        for output in outputs:
            nbformat.validate(output, ref="output", version=4)


def test_hints_and_diagnoses_appear_only_beside_failed_checks():
    from gradkit.grading.result import CheckResult

    result = TestResult(
        test="least_squares",
        points=2,
        checks=[
            CheckResult("solves", True, 1.0, "extra", hint="use solve"),
            CheckResult("values", False, 1.0, "values", "off by 1", hint="check the bias"),
        ],
    )
    for rendering in (result.html(), result.text()):
        assert "use solve" not in rendering and "check the bias" in rendering


def test_extras_count_in_proportion_to_the_values_that_are_right():
    def dW_without_reg(W, X, y, reg):
        loss, dW = svm_student(W, X, y, reg)
        return loss, dW - reg * W

    result = run("svm_loss_vectorized", dW_without_reg)
    values = [c for c in result.checks if c.kind == "values"]
    share = sum(c.weight for c in values if c.passed) / sum(c.weight for c in values)
    mutation = check(result, "inputs are not modified")
    assert 0 < share < 1 and mutation.passed and mutation.credit == pytest.approx(share)
    assert "the share of the value checks passed" in mutation.line()


#: Independent mistakes of the linear-classifier losses should cost comparable shares
#: of the points; the issue that introduced the engine measured 1.5/3 against 0.43/3.
COMPARABLE_COST_RATIO = 1.5


@pytest.mark.parametrize(
    "name",
    ["svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized"],
)
def test_each_catalogued_mistake_costs_a_comparable_share(name):
    spec = get_spec(name)
    costs = [
        1 - run_spec(spec, DirectCallee(spec.implementation(m)), 1.0, TOKEN).score
        for m in spec.mistakes
    ]
    assert min(costs) > 0.3 and max(costs) / min(costs) <= COMPARABLE_COST_RATIO, costs
