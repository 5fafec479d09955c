"""Checkers for assignment 01's regression functions: least squares, ridge, logistic.

See :mod:`gradkit.grading.checker` for how sub-checks are scored.
"""

from __future__ import annotations

import numpy as np

from .. import gradcheck, linear
from .check_linear import NUM_HIDDEN_CASES, SELF_GRAD_TOL, VALUE_ATOL, VALUE_RTOL
from .checker import Checker, close, describe_diff
from .seeds import hidden_rng

__all__ = ["check_least_squares", "check_ridge", "check_logistic_regression_loss"]

#: Closed-form solutions computed by different but stable routes (solve, lstsq,
#: Cholesky) agree to ~1e-12 on well-conditioned problems.
SOLVE_RTOL = 1e-6
SOLVE_ATOL = 1e-8


def _regression_case(rng, n, d, k=None):
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d if k is None else (d, k))
    y = X @ w + 0.1 * rng.standard_normal(n if k is None else (n, k))
    return X, y


def _inverts(ck: Checker, *args) -> bool:
    """True when the student's function calls np.linalg.inv or pinv."""
    return (
        ck.observe({"numpy.linalg.inv": np.linalg.inv, "numpy.linalg.pinv": np.linalg.pinv}, *args)
        is not None
    )


def _solve_checks(ck: Checker, ref, extra: tuple, hidden):
    rng = np.random.default_rng(11)
    X, y = _regression_case(rng, 20, 4)
    res = ck.call(X, y, *extra)
    if not res.ok:
        ck.fail_call("runs on a small case (N=20, D=4)", res, weight=4)
    else:
        expected = ref(X, y, *extra)
        ck.record(
            "w has shape (D,) for y of shape (N,)",
            np.shape(res.value) == expected.shape,
            f"expected {expected.shape}, got {np.shape(res.value)}",
            "solve for one weight per feature",
        )
        ck.record(
            "w matches the closed-form solution",
            close(res.value, expected, SOLVE_RTOL, SOLVE_ATOL),
            describe_diff(res.value, expected),
            "form X.T @ X and X.T @ y, then np.linalg.solve",
        )
        ck.record(
            "inputs are not modified", not res.mutated, "X or y changed", "do not write into X or y"
        )
        ck.record(
            "solves the system instead of inverting X^T X",
            not _inverts(ck, X, y, *extra),
            "np.linalg.inv or pinv was called",
            "use np.linalg.solve(A, b): faster and more accurate",
        )
    Xk, yk = _regression_case(rng, 15, 3, k=2)
    res = ck.call(Xk, yk, *extra)
    if not res.ok:
        ck.fail_call("several outputs: y of shape (N, K)", res)
    else:
        expected = ref(Xk, yk, *extra)
        ck.record(
            "several outputs: y of shape (N, K) gives w of shape (D, K)",
            close(res.value, expected, SOLVE_RTOL, SOLVE_ATOL),
            describe_diff(res.value, expected),
            "np.linalg.solve handles a matrix right-hand side",
        )
    if hidden is not None:
        hrng = hidden_rng(hidden, ck.name)
        for k in range(NUM_HIDDEN_CASES):
            n, d = int(hrng.integers(5, 40)), int(hrng.integers(1, 5))
            Xh, yh = _regression_case(hrng, n, d)
            check = f"hidden case {k + 1} (N={n}, D={d})"
            res = ck.call(Xh, yh, *extra)
            if not res.ok:
                ck.fail_call(check, res)
            else:
                ck.record(
                    check,
                    close(res.value, ref(Xh, yh, *extra), SOLVE_RTOL, SOLVE_ATOL),
                    "w differs from the closed-form solution",
                    "test other shapes yourself",
                )


def check_least_squares(least_squares, points=2, hidden=None, allow_reference=False) -> float:
    """Check ``least_squares(X, y) -> w`` (normal equations, solved)."""
    ck = Checker(
        "least_squares",
        least_squares,
        points,
        {
            "gradkit.linear.least_squares": linear.least_squares,
            "gradkit.linear.ridge": linear.ridge,
        },
        allow_reference=allow_reference,
    )
    _solve_checks(ck, linear.least_squares, (), hidden)
    return ck.finish()


def check_ridge(ridge, points=2, hidden=None, allow_reference=False) -> float:
    """Check ``ridge(X, y, reg, bias_last=False) -> w``."""
    ck = Checker(
        "ridge",
        ridge,
        points,
        {
            "gradkit.linear.ridge": linear.ridge,
            "gradkit.linear.least_squares": linear.least_squares,
        },
        allow_reference=allow_reference,
    )
    _solve_checks(ck, linear.ridge, (0.7,), hidden)
    rng = np.random.default_rng(5)
    X = linear.add_bias_column(rng.standard_normal((12, 3)))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.standard_normal(12)
    res = ck.call(X, y, 2.0, bias_last=True)
    expected = linear.ridge(X, y, 2.0, bias_last=True)
    if not res.ok:
        ck.fail_call("bias_last=True leaves the bias unpenalized", res)
    else:
        ck.record(
            "bias_last=True leaves the bias unpenalized",
            close(res.value, expected, SOLVE_RTOL, SOLVE_ATOL),
            describe_diff(res.value, expected),
            "zero the last diagonal entry of the penalty matrix",
        )
    Xs = np.hstack([X[:, :2], X[:, :1]])  # a repeated column: X^T X is singular
    res = ck.call(Xs, y, 1.0)
    expected = linear.ridge(Xs, y, 1.0)
    if not res.ok:
        ck.fail_call("reg > 0 solves a problem whose X^T X is singular", res)
    else:
        ck.record(
            "reg > 0 solves a problem whose X^T X is singular",
            close(res.value, expected, SOLVE_RTOL, SOLVE_ATOL),
            describe_diff(res.value, expected),
            "add reg to the diagonal of X^T X before solving",
        )
    return ck.finish()


def check_logistic_regression_loss(
    logistic_regression_loss, points=3, hidden=None, allow_reference=False
) -> float:
    """Check ``logistic_regression_loss(w, X, y, reg=0.0, bias_last=False) -> (loss, dw)``."""
    ref = linear.logistic_regression_loss
    ck = Checker(
        "logistic_regression_loss",
        logistic_regression_loss,
        points,
        {"gradkit.linear.logistic_regression_loss": ref},
        allow_reference=allow_reference,
    )
    rng = np.random.default_rng(17)
    cases = [
        (
            "small case, reg=0",
            (rng.standard_normal(4), rng.standard_normal((9, 4)), rng.integers(2, size=9)),
            {},
        ),
        (
            "reg=0.5",
            (rng.standard_normal(3), rng.standard_normal((7, 3)), rng.integers(2, size=7)),
            {"reg": 0.5},
        ),
        (
            "reg=0.5, bias_last=True",
            (rng.standard_normal(3), rng.standard_normal((7, 3)), rng.integers(2, size=7)),
            {"reg": 0.5, "bias_last": True},
        ),
        (
            "stable for |Xw| ~ 1e4",
            (
                np.array([3e3, -3e3]),
                np.array([[2.0, -1.5], [-3.0, 1.0], [1.0, 1.0]]),
                np.array([0, 1, 1]),
            ),
            {},
        ),
    ]
    if hidden is not None:
        hrng = hidden_rng(hidden, ck.name)
        for k in range(NUM_HIDDEN_CASES):
            n, d = int(hrng.integers(1, 30)), int(hrng.integers(1, 8))
            args = (
                hrng.standard_normal(d) * hrng.uniform(0.1, 5),
                hrng.standard_normal((n, d)),
                hrng.integers(2, size=n),
            )
            cases.append(
                (f"hidden case {k + 1} (N={n}, D={d})", args, {"reg": float(hrng.uniform(0, 1))})
            )
    for i, (label, args, kw) in enumerate(cases):
        res = ck.call(*args, **kw)
        if not res.ok:
            ck.fail_call(label, res, weight=2 if i == 0 else 1)
            continue
        if not (isinstance(res.value, tuple) and len(res.value) == 2):
            ck.record(
                label,
                False,
                f"expected (loss, dw), got {type(res.value).__name__}",
                "return loss, dw",
            )
            continue
        loss, dw = res.value
        rl, rdw = ref(*args, **kw)
        if not close(loss, rl, VALUE_RTOL, VALUE_ATOL):
            ck.record(
                label,
                False,
                "loss: " + describe_diff(loss, rl),
                "mean binary cross-entropy; use np.logaddexp(0, -s) for log(1 + e^-s)",
            )
        else:
            ck.record(
                label,
                close(dw, rdw, VALUE_RTOL, VALUE_ATOL),
                "dw: " + describe_diff(dw, rdw),
                "dw = X.T @ (sigmoid(X @ w) - y) / N + reg * w",
            )
        if i == 0:
            ck.record(
                "inputs are not modified",
                not res.mutated,
                "w, X or y changed",
                "do not write into inputs",
            )
            w0, X0, y0 = args

            def f(wp, X0=X0, y0=y0):
                r = ck.call(wp, X0, y0)
                if not r.ok:
                    raise RuntimeError(r.error)
                return float(r.value[0])

            err = np.inf
            if np.shape(dw) == w0.shape:
                try:
                    err = gradcheck.rel_error(gradcheck.eval_numerical_gradient(f, w0.copy()), dw)
                except (RuntimeError, ValueError, TypeError):
                    pass
            ck.record(
                "dw agrees with the numeric gradient of your own loss",
                err < SELF_GRAD_TOL,
                f"relative error {err:.1e}",
                "differentiate the loss you wrote",
            )
    return ck.finish()
