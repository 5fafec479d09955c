"""Checkers that notebook test cells call, one per graded function.

A test cell looks like::

    from gradkit.grading import check_svm_loss_naive
    hidden = None
    ### BEGIN HIDDEN TESTS
    hidden = "gradkit:hidden"
    ### END HIDDEN TESTS
    check_svm_loss_naive(svm_loss_naive, points=3, hidden=hidden)

Each checker prints one line per sub-check and returns the points earned
(nbgrader's partial credit); see :mod:`gradkit.grading.checker`. The same
checkers run under pytest against the reference (full marks) and against
planted wrong implementations.
"""

from . import guard  # noqa: F401  (snapshot before anything else can change)
from .check_gradcheck import check_eval_numerical_gradient
from .check_linear import (
    check_softmax_loss_naive,
    check_softmax_loss_vectorized,
    check_svm_loss_naive,
    check_svm_loss_vectorized,
)
from .check_regression import check_least_squares, check_logistic_regression_loss, check_ridge
from .checker import GradingFailure

__all__ = [
    "GradingFailure",
    "check_least_squares",
    "check_ridge",
    "check_logistic_regression_loss",
    "check_svm_loss_naive",
    "check_svm_loss_vectorized",
    "check_softmax_loss_naive",
    "check_softmax_loss_vectorized",
    "check_eval_numerical_gradient",
]

#: Which checker grades which function, by the function's name (the test
#: cells' grade ids are ``test_<name>``).
CHECKERS = {name[len("check_") :]: globals()[name] for name in __all__ if name.startswith("check_")}
