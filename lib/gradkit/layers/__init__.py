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

from .activations import (
    elu_backward,
    elu_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_dead_fraction,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from .affine import affine_backward, affine_forward, affine_relu_backward, affine_relu_forward
from .maxout import maxout_backward, maxout_forward

__all__ = [
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "relu_dead_fraction",
    "leaky_relu_forward",
    "leaky_relu_backward",
    "sigmoid_forward",
    "sigmoid_backward",
    "tanh_forward",
    "tanh_backward",
    "elu_forward",
    "elu_backward",
    "maxout_forward",
    "maxout_backward",
    "affine_relu_forward",
    "affine_relu_backward",
]
