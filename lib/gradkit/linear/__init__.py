"""Linear models: the bias trick, least squares, ridge, logistic regression, linear classifiers.

Taught in assignment 01, in this order: the bias trick, least squares (a
linear neuron with Gaussian noise), ridge regression (least squares with a
Gaussian prior), logistic regression, then the multiclass SVM and softmax
losses on a weight matrix ``W`` and the minibatch-SGD ``LinearClassifier``.
The parts: :mod:`~gradkit.linear.regression` (bias trick, least squares,
ridge, logistic regression), :mod:`~gradkit.linear.classifier_losses` (SVM and
softmax losses on ``W``) and :mod:`~gradkit.linear.classifier`
(``LinearClassifier``); import every name from ``gradkit.linear``.

Closed forms are computed by solving the normal equations with
``np.linalg.solve``, never by forming an inverse: solving is cheaper and
more accurate.
"""

from .classifier import LinearClassifier, LinearSVM, Softmax
from .classifier_losses import (
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
)
from .regression import add_bias_column, least_squares, logistic_regression_loss, ridge

__all__ = [
    "add_bias_column",
    "least_squares",
    "ridge",
    "logistic_regression_loss",
    "svm_loss_naive",
    "svm_loss_vectorized",
    "softmax_loss_naive",
    "softmax_loss_vectorized",
    "LinearClassifier",
    "LinearSVM",
    "Softmax",
]
