"""Specs of assignment 01, part 1 (linear_regression.ipynb): least squares, ridge and logistic
regression."""

from __future__ import annotations

import numpy as np

from ... import linear
from .. import mistakes as mk
from ..checks import Avoids, HiddenCases, NoMutation, Outputs, OwnGradient
from ..spec import Case, Mistake, Spec, inputs

ASSIGNMENT = "01_linear_models"

#: Closed-form solutions computed by different stable routes (solve, lstsq,
#: Cholesky) agree to ~1e-12 on these well-conditioned problems.
SOLVE_RTOL = 1e-6
SOLVE_ATOL = 1e-8
#: A logistic loss at |Xw| ~ 1e4 is exact to ~1e-12 when computed stably;
#: log(1 − σ(s)) computed naively gives inf there.
STABLE_RTOL = 1e-6
INVERSES = ("numpy.linalg.inv", "numpy.linalg.pinv")


def regression_problem(n: int, d: int, k: int | None = None, reg: float | None = None):
    """Inputs ``(X (n, d), y (n,) or (n, k)[, reg])`` from a random linear model, a little noise."""
    kwargs = {} if reg is None else {"reg": reg}

    def make(rng: np.random.Generator):
        X = rng.standard_normal((n, d))
        w = rng.standard_normal(d if k is None else (d, k))
        y = X @ w + 0.1 * rng.standard_normal(n if k is None else (n, k))
        return inputs(X, y, **kwargs)

    return make


def _hidden_regression(reg: float | None = None):
    def make(rng: np.random.Generator):
        # D >= 2: with one feature "reg on every entry of XᵀX" is the diagonal, and that
        # mistake would pass some students' hidden cases and not others'.
        n, d = int(rng.integers(5, 40)), int(rng.integers(2, 5))
        return regression_problem(n, d, reg=reg)(rng)

    return make


def _singular(rng: np.random.Generator):
    X = rng.standard_normal((12, 2))
    X = np.hstack([X, X[:, :1]])  # a repeated column: XᵀX is singular
    return inputs(X, X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(12), reg=1.0)


def _with_bias(rng: np.random.Generator):
    X = linear.add_bias_column(rng.standard_normal((12, 3)))
    return inputs(
        X,
        X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.standard_normal(12),
        reg=2.0,
        bias_last=True,
    )


def _predictions(X, y, reg=0.0, bias_last=False):
    return X @ linear.ridge(X, y, reg, bias_last=bias_last)


def _reg_everywhere(X, y, reg, bias_last=False):
    return np.linalg.solve(X.T @ X + reg, X.T @ y)  # + reg on every entry, not the diagonal


def _bias_penalized(X, y, reg, bias_last=False):
    return linear.ridge(X, y, reg, bias_last=False)


SMALL = Case("N=20, D=4", regression_problem(20, 4), seed=11)
MULTI = Case("y of shape (N, K): N=15, D=3, K=2", regression_problem(15, 3, k=2), seed=12)
PREDICTIONS = Mistake(
    "predictions",
    "your function returns the predictions X·w (one per example) "
    "instead of the weights w (one per feature)",
    _predictions,
)

least_squares = Spec(
    name="least_squares",
    functions={"least_squares": linear.least_squares},
    checks=[
        Outputs(
            [SMALL],
            weight=3.0,
            rtol=SOLVE_RTOL,
            atol=SOLVE_ATOL,
            name="w matches the closed-form solution",
            hint="set up the normal equations XᵀX w = Xᵀy",
        ),
        Outputs(
            [MULTI],
            weight=1.0,
            rtol=SOLVE_RTOL,
            atol=SOLVE_ATOL,
            name="several outputs: y of shape (N, K) gives w of shape (D, K)",
        ),
        HiddenCases(_hidden_regression(), rtol=SOLVE_RTOL, atol=SOLVE_ATOL),
        Avoids(
            SMALL,
            INVERSES,
            "solves the system instead of inverting XᵀX",
            "np.linalg.solve is faster and more accurate than an inverse",
        ),
        NoMutation(),
    ],
    mistakes=[PREDICTIONS],
    forbidden=("gradkit.linear.regression.ridge",),
    title="least squares by the normal equations",
)

ridge = Spec(
    name="ridge",
    functions={"ridge": linear.ridge},
    checks=[
        Outputs(
            [Case("N=20, D=4, reg=0.7", regression_problem(20, 4, reg=0.7), seed=11)],
            weight=3.0,
            rtol=SOLVE_RTOL,
            atol=SOLVE_ATOL,
            name="w matches the closed-form solution",
        ),
        Outputs(
            [Case("bias column, bias_last=True", _with_bias, seed=5)],
            rtol=SOLVE_RTOL,
            atol=SOLVE_ATOL,
            name="bias_last=True leaves the bias unpenalized",
            hint="the penalty matrix has a 0 where the bias is",
        ),
        Outputs(
            [Case("XᵀX singular, reg=1", _singular, seed=6)],
            rtol=SOLVE_RTOL,
            atol=SOLVE_ATOL,
            name="reg > 0 solves a problem whose XᵀX is singular",
        ),
        HiddenCases(_hidden_regression(reg=0.5), rtol=SOLVE_RTOL, atol=SOLVE_ATOL),
        Avoids(
            Case("N=20, D=4, reg=0.7", regression_problem(20, 4, reg=0.7), seed=11),
            INVERSES,
            "solves the system instead of inverting",
            "np.linalg.solve is faster and more accurate than an inverse",
        ),
        NoMutation(),
    ],
    mistakes=[
        Mistake(
            "reg_everywhere",
            "your function adds reg to every entry of XᵀX, not only to its diagonal",
            _reg_everywhere,
        ),
        Mistake(
            "bias_penalized",
            "with bias_last=True your solution still penalizes the bias weight",
            _bias_penalized,
        ),
        PREDICTIONS,
    ],
    forbidden=("gradkit.linear.regression.least_squares",),
    title="ridge regression, closed form",
)


def logistic_problem(n: int, d: int, **kwargs: float | bool):
    def make(rng: np.random.Generator):
        return inputs(
            rng.standard_normal(d), rng.standard_normal((n, d)), rng.integers(2, size=n), **kwargs
        )

    return make


def _logistic_huge(rng: np.random.Generator):
    X = np.array([[2.0, -1.5], [-3.0, 1.0], [1.0, 1.0]])
    return inputs(np.array([3e3, -3e3]), X, np.array([0, 1, 1]))


def _hidden_logistic(rng: np.random.Generator):
    # N >= 3 and reg > 0: every catalogued mistake shows in every hidden case.
    n, d = int(rng.integers(3, 30)), int(rng.integers(1, 8))
    w = rng.standard_normal(d) * rng.uniform(0.1, 5)
    reg = float(rng.uniform(0.1, 1))
    return inputs(w, rng.standard_normal((n, d)), rng.integers(2, size=n), reg=reg)


def _uphill(w, X, y, reg=0.0, bias_last=False):
    loss, dw = linear.logistic_regression_loss(w, X, y, reg, bias_last)
    _, dw0 = linear.logistic_regression_loss(w, X, y, 0.0, bias_last)
    return loss, (dw - dw0) - dw0  # Xᵀ(y − σ) instead of Xᵀ(σ − y)


def _logistic_bias_penalized(w, X, y, reg=0.0, bias_last=False):
    return linear.logistic_regression_loss(w, X, y, reg, False)


LOGISTIC = linear.logistic_regression_loss
LOGISTIC_SMALL = Case("N=9, D=4", logistic_problem(9, 4), seed=17)

logistic_regression_loss = Spec(
    name="logistic_regression_loss",
    functions={"logistic_regression_loss": LOGISTIC},
    returns={"logistic_regression_loss": ("loss", "dw")},
    checks=[
        Outputs(
            [LOGISTIC_SMALL],
            weight=1.0,
            hint={
                "loss": "the mean binary cross-entropy of σ(Xw)",
                "dw": "the gradient with respect to the scores is σ(s) − y",
            },
        ),
        Outputs(
            [Case("N=7, D=3, reg=0.5", logistic_problem(7, 3, reg=0.5), seed=18)],
            isolate={"reg": 0.0},
            name="regularization term in {output} (reg=0.5)",
        ),
        Outputs(
            [
                Case(
                    "reg=0.5, bias_last=True",
                    logistic_problem(7, 3, reg=0.5, bias_last=True),
                    seed=19,
                )
            ],
            combine=True,
            name="bias_last=True leaves the bias unpenalized",
        ),
        OwnGradient(LOGISTIC_SMALL, wrt=0, of="loss", grad="dw"),
        HiddenCases(_hidden_logistic),
        NoMutation(),
        Outputs(
            [Case("|Xw| ~ 1e4", _logistic_huge)],
            outputs=["loss"],
            kind="extra",
            weight=0.5,
            rtol=STABLE_RTOL,
            atol=STABLE_RTOL,
            name="stable for |Xw| ~ 1e4",
            hint="log(1 + e^−s) overflows for large |s|: np.logaddexp computes it safely",
        ),
    ],
    mistakes=[
        Mistake(
            "no_mean",
            "your loss and dw equal the reference's without the 1/N average over the examples",
            mk.without_mean(LOGISTIC, reg_at="reg"),
        ),
        Mistake(
            "reg_missing_in_dw",
            "your dw lacks the gradient of the regularization term",
            mk.reg_missing_in_grad(LOGISTIC, reg_at="reg"),
        ),
        Mistake(
            "reg_without_half",
            "your loss uses reg·Σw², twice the course's ½·reg·Σw²",
            mk.reg_without_half(LOGISTIC, reg_at="reg"),
        ),
        Mistake(
            "uphill", "your dw has the opposite sign of the gradient: it points uphill", _uphill
        ),
        Mistake(
            "bias_penalized",
            "with bias_last=True your loss still penalizes the bias weight",
            _logistic_bias_penalized,
        ),
    ],
    title="logistic regression loss and gradient",
)

SPECS = [least_squares, ridge, logistic_regression_loss]
