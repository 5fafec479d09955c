"""Assignment 01's specs and notebooks: what the registry-derived tests cannot see.

The softmax gradient is now derived by the student, so it arrives in many correct forms:
each must earn full marks. And the points follow the rule of issue 18: a function whose
formula the notebook states is worth less than one whose gradient the student derives, and
the released stubs do not state the graded gradient.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from gradkit.grading import get_spec
from gradkit.grading.callee import DirectCallee
from gradkit.grading.engine import run_spec

pytestmark = pytest.mark.a01

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "pytest-student"


def _grade(name: str, **functions):
    spec = get_spec(name)
    callee = DirectCallee(functions, forbidden=tuple(spec.forbidden_names()))
    return run_spec(spec, callee, 2.0, TOKEN)


def _full(result) -> None:
    assert result.score == 2.0, result.text()
    assert any(c.hidden for c in result.checks)


# --- the softmax gradient in the forms students derive it ---------------------------------


def softmax_loss_naive(W, X, y, reg):
    # per example: dL/ds = p, minus 1 at the correct class; dW += outer(x, dL/ds)
    loss, dW = 0.0, np.zeros_like(W, dtype=float)
    for i in range(X.shape[0]):
        s = X[i] @ W
        s = s - s.max()
        total = np.exp(s).sum()
        loss += np.log(total) - s[y[i]]  # not −log p: p may underflow to 0
        p = np.exp(s) / total
        p[y[i]] -= 1.0
        dW += np.outer(X[i], p)
    n = X.shape[0]
    return loss / n + 0.5 * reg * np.sum(W * W), dW / n + reg * W


def softmax_loss_vectorized(W, X, y, reg):
    # with a one-hot matrix Y: dW = Xᵀ(P − Y)/N + reg·W; loss through log-sum-exp
    S = X @ W
    m = S.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(S - m).sum(axis=1))
    n = X.shape[0]
    Y = np.eye(W.shape[1])[y]
    P = np.exp(S - lse[:, None])
    loss = np.mean(lse - S[np.arange(n), y]) + 0.5 * reg * np.sum(W**2)
    return loss, X.T @ (P - Y) / n + reg * W


def test_softmax_gradient_per_example_outer_product_earns_full_marks():
    _full(_grade("softmax_loss_naive", softmax_loss_naive=softmax_loss_naive))


def test_softmax_gradient_with_a_one_hot_matrix_earns_full_marks():
    _full(_grade("softmax_loss_vectorized", softmax_loss_vectorized=softmax_loss_vectorized))


def logistic_regression_loss(w, X, y, reg=0.0, bias_last=False):
    # σ through tanh (no overflow), the loss through logaddexp, the penalty via a mask
    s = X @ w
    p = 0.5 * (1.0 + np.tanh(0.5 * s))
    mask = np.ones_like(w)
    if bias_last:
        mask[-1] = 0.0
    loss = np.mean(np.logaddexp(0.0, s) - y * s) + 0.5 * reg * np.sum((mask * w) ** 2)
    return loss, X.T @ (p - y) / X.shape[0] + reg * mask * w


def test_logistic_regression_through_tanh_earns_full_marks():
    _full(_grade("logistic_regression_loss", logistic_regression_loss=logistic_regression_loss))


def ridge(X, y, reg, bias_last=False):
    # least squares on the augmented system [X; √reg·P], never forming XᵀX
    penalty = np.full(X.shape[1], np.sqrt(reg))
    if bias_last:
        penalty[-1] = 0.0
    A = np.vstack([X, np.diag(penalty)])
    b = np.concatenate([y, np.zeros((X.shape[1],) + np.shape(y)[1:])])
    return np.linalg.lstsq(A, b, rcond=None)[0]


def test_ridge_as_an_augmented_least_squares_problem_earns_full_marks():
    _full(_grade("ridge", ridge=ridge))


# --- points and stubs -----------------------------------------------------------------------

NOTEBOOKS = ("linear_regression", "linear_classifiers")
_GRADE = re.compile(r'grade\("(\w+)", points=(\d+(?:\.\d+)?)\)')


def _cells(folder: str, name: str) -> list[dict]:
    return json.loads((ROOT / folder / "01_linear_models" / f"{name}.ipynb").read_text())["cells"]


def _points() -> dict[str, float]:
    found = {}
    for name in NOTEBOOKS:
        for cell in _cells("solutions", name):
            for fn, pts in _GRADE.findall("".join(cell["source"])):
                found[fn] = float(pts)
    return found


def test_the_derived_gradient_outweighs_the_stated_formulas():
    points = _points()
    stated = ("least_squares", "ridge", "svm_loss_naive", "eval_numerical_gradient")
    assert all(points["softmax_loss_naive"] > points[name] for name in stated), points


@pytest.mark.parametrize(
    "grade_id, formula",
    [
        ("softmax_loss_naive", "1[j = y"),
        ("softmax_loss_naive", "p_j"),
        ("softmax_loss_vectorized", "P − Y"),
        ("logistic_regression_loss", "Xᵀ(ŷ − y)"),
    ],
)
def test_released_stubs_do_not_state_the_graded_gradient(grade_id, formula):
    for name in NOTEBOOKS:
        for cell in _cells("assignments", name):
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
                assert formula not in "".join(cell["source"])
                return
    raise AssertionError(f"no cell {grade_id} in the release")
