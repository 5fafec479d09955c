"""Layers as forward/backward pairs: affine, the activations, maxout, affine-ReLU.

The modular-backprop API of assignment 02. ``X_forward(x, ...)`` returns
``(out, cache)``: the output and whatever the backward pass needs.
``X_backward(dout, cache)`` takes the upstream gradient ``dout`` (the shape of
``out``) and returns the gradient with respect to each input — ``dx`` for an
activation, ``(dx, dw, db)`` for a layer with parameters. A backward pass
reads only its cache; no function here modifies its arguments.

The package has three parts: :mod:`~gradkit.layers.affine` (the affine layer
and the affine-ReLU sandwich), :mod:`~gradkit.layers.activations` (the
element-wise nonlinearities) and :mod:`~gradkit.layers.maxout`; import every
name from ``gradkit.layers``.
Taught in assignment 02.
"""

from . import activations, affine, maxout
from .activations import *  # noqa: F403
from .affine import *  # noqa: F403
from .maxout import *  # noqa: F403

# The package's API is the union of its parts' (each part's __all__ lists its names).
__all__: list[str] = []
__all__ += affine.__all__
__all__ += activations.__all__
__all__ += maxout.__all__
