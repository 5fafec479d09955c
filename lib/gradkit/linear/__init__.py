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

from . import classifier, classifier_losses, regression
from .classifier import *  # noqa: F403
from .classifier_losses import *  # noqa: F403
from .regression import *  # noqa: F403

# The package's API is the union of its parts' (each part's __all__ lists its names).
__all__: list[str] = []
__all__ += regression.__all__
__all__ += classifier_losses.__all__
__all__ += classifier.__all__
