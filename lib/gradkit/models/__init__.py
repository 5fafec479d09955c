"""Neural-network classifiers built from the layer functions: TwoLayerNet, FullyConnectedNet.

A model holds its parameters in the public dict ``model.params`` and its L2
strength in ``model.reg``; both are read on every call of ``model.loss``, so a
notebook (or a gradient check) may replace them after construction.
``model.loss(X)`` returns class scores; ``model.loss(X, y)`` returns
``(loss, grads)`` with ``grads`` keyed like ``params``.

Regularization is ½·reg·Σw² over the weight matrices (gradient reg·w); biases
and the normalization parameters gamma/beta are never regularized.

Taught in assignment 02 (TwoLayerNet), 03 (batch/layer norm in the
FullyConnectedNet), 04 (dropout) and 05 (training it with the Solver).
"""

from . import fc_net, two_layer_net
from .fc_net import *  # noqa: F403
from .two_layer_net import *  # noqa: F403

# The package's API is the union of its parts' (each part's __all__ lists its names).
__all__: list[str] = []
__all__ += two_layer_net.__all__
__all__ += fc_net.__all__
