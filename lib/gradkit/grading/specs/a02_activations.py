"""Specs of assignment 02, part 1 (backprop_layers.ipynb): the element-wise activation layers
ReLU, leaky ReLU, sigmoid, tanh and ELU, forward and backward.

A backward pass is fed the student's own cache, so each mistake below is written against
gradkit's cache (the forward's output for sigmoid and tanh, ``x`` for ReLU, ``(x, alpha)``
for leaky ReLU, ``(x, out, alpha)`` for ELU).

Not catalogued: "ReLU backward masks with the output instead of the input". For ReLU,
leaky ReLU and ELU, ``out > 0`` exactly where ``x > 0``, so that backward is correct.
The output/input confusion that does change the result is catalogued where it does:
ELU's slope evaluated at the output (``alpha·e^out``), sigmoid's derivative taken of the
stored output as if it were the input, and a ReLU mask ``out >= 0`` (true everywhere).
"""

from __future__ import annotations

import numpy as np

from ... import layers
from ..kinds import layer_specs
from ..spec import Case, Inputs, Mistake, inputs

ASSIGNMENT = "02_backprop"


def _x_case(shape: tuple[int, ...], scale: float = 1.0, **kwargs: float):
    def make(rng: np.random.Generator) -> Inputs:
        return inputs(scale * rng.standard_normal(shape), **kwargs)

    return make


def _hidden(alpha: tuple[float, float] | None = None):
    """Hidden inputs: at least 20 entries of both signs (a mistake confined to one sign, or
    to where dout and x disagree in sign, shows in every case), ``alpha`` drawn away from 1
    (a forgotten alpha shows)."""

    def make(rng: np.random.Generator) -> Inputs:
        shape = (int(rng.integers(4, 7)), int(rng.integers(5, 9)))
        x = float(rng.uniform(0.5, 2.5)) * rng.standard_normal(shape)
        x.flat[0], x.flat[1] = abs(x.flat[0]) + 0.1, -abs(x.flat[1]) - 0.1
        if alpha is None:
            return inputs(x)
        return inputs(x, alpha=float(rng.uniform(*alpha)))

    return make


# ----------------------------------------------------------------------------- ReLU


def _relu_in_place(x):
    x[x < 0] = 0  # the caller's array is changed
    return x, x


def _relu_mask_everywhere(dout, cache):
    out = np.maximum(cache, 0)
    return dout * (out >= 0)  # true for every entry


def _relu_mask_from_dout(dout, cache):
    return np.maximum(dout, 0)  # the forward formula applied to the upstream gradient


relu_forward_spec, relu_backward_spec = layer_specs(
    "relu_forward",
    "relu_backward",
    (layers.relu_forward, layers.relu_backward),
    [Case("x of shape (4, 5)", _x_case((4, 5)), seed=51)],
    _hidden(),
    forward_mistakes=[
        Mistake(
            "in_place",
            "your forward pass writes the zeros into the caller's x",
            _relu_in_place,
        )
    ],
    backward_mistakes=[
        Mistake(
            "mask_everywhere",
            "your dx passes dout through everywhere, also where x < 0 (a mask such as "
            "out >= 0 is true for every entry)",
            {"relu_backward": _relu_mask_everywhere},
        ),
        Mistake(
            "mask_from_dout",
            "your dx keeps the positive entries of dout, wherever x is: the mask comes from "
            "the sign of the upstream gradient instead of the layer's input",
            {"relu_backward": _relu_mask_from_dout},
        ),
    ],
    title="ReLU",
)


# ----------------------------------------------------------------------- leaky ReLU


def _leaky_zero_slope(dout, cache):
    x, _ = cache
    return np.where(x > 0, dout, 0.0)


def _leaky_slope_without_dout(dout, cache):
    x, alpha = cache
    return np.where(x > 0, dout, alpha)


leaky_relu_forward_spec, leaky_relu_backward_spec = layer_specs(
    "leaky_relu_forward",
    "leaky_relu_backward",
    (layers.leaky_relu_forward, layers.leaky_relu_backward),
    [
        Case("x of shape (4, 5), default alpha", _x_case((4, 5)), seed=52),
        Case("x of shape (3, 4), alpha=0.2", _x_case((3, 4), alpha=0.2), seed=53),
    ],
    _hidden(alpha=(0.05, 0.4)),
    backward_mistakes=[
        Mistake(
            "zero_slope",
            "your dx is 0 where x < 0, as for a plain ReLU: the slope there is alpha",
            {"leaky_relu_backward": _leaky_zero_slope},
        ),
        Mistake(
            "slope_without_dout",
            "your dx where x < 0 is alpha itself, not alpha times the upstream gradient",
            {"leaky_relu_backward": _leaky_slope_without_dout},
        ),
    ],
    title="leaky ReLU",
)


# -------------------------------------------------------------------------- sigmoid


def _sigmoid_sigma_only(dout, cache):
    return dout * cache


def _sigmoid_of_output(dout, cache):
    s = 1 / (1 + np.exp(-cache))  # σ applied again to the stored output σ(x)
    return dout * s * (1 - s)


def _sigmoid_without_dout(dout, cache):
    return cache * (1 - cache)


sigmoid_forward_spec, sigmoid_backward_spec = layer_specs(
    "sigmoid_forward",
    "sigmoid_backward",
    (layers.sigmoid_forward, layers.sigmoid_backward),
    [Case("x of shape (4, 5), entries up to ±6", _x_case((4, 5), scale=2.0), seed=54)],
    _hidden(),
    backward_mistakes=[
        Mistake(
            "sigma_only",
            "your derivative is σ(x), not σ(x)(1 − σ(x))",
            {"sigmoid_backward": _sigmoid_sigma_only},
        ),
        Mistake(
            "sigmoid_of_output",
            "your derivative is evaluated at σ(x) instead of x: the sigmoid was applied to "
            "the stored output once more",
            {"sigmoid_backward": _sigmoid_of_output},
        ),
        Mistake(
            "without_dout",
            "your dx is the local derivative σ(x)(1 − σ(x)) alone, not multiplied by the "
            "upstream gradient",
            {"sigmoid_backward": _sigmoid_without_dout},
        ),
    ],
    title="sigmoid",
)


# ----------------------------------------------------------------------------- tanh


def _tanh_not_squared(dout, cache):
    return dout * (1 - cache)


def _tanh_sigmoid_formula(dout, cache):
    return dout * cache * (1 - cache)


tanh_forward_spec, tanh_backward_spec = layer_specs(
    "tanh_forward",
    "tanh_backward",
    (layers.tanh_forward, layers.tanh_backward),
    [Case("x of shape (4, 5)", _x_case((4, 5), scale=1.5), seed=55)],
    _hidden(),
    backward_mistakes=[
        Mistake(
            "not_squared",
            "your derivative is 1 − tanh(x): differentiate 2σ(2x) − 1 again",
            {"tanh_backward": _tanh_not_squared},
        ),
        Mistake(
            "sigmoid_formula",
            "your derivative is tanh(x)(1 − tanh(x)), the sigmoid's formula applied to tanh",
            {"tanh_backward": _tanh_sigmoid_formula},
        ),
    ],
    title="tanh",
)


# ------------------------------------------------------------------------------ ELU


def _elu_without_alpha(x, alpha=1.0):
    x = np.asarray(x, dtype=np.float64)
    out = np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
    return out, (x, out, alpha)


def _elu_exp_of_output(dout, cache):
    x, out, alpha = cache
    return np.where(x > 0, dout, dout * alpha * np.exp(out))


def _elu_forward_value_as_slope(dout, cache):
    x, out, _ = cache
    return np.where(x > 0, dout, dout * out)


elu_forward_spec, elu_backward_spec = layer_specs(
    "elu_forward",
    "elu_backward",
    (layers.elu_forward, layers.elu_backward),
    [
        Case("x of shape (4, 5), default alpha", _x_case((4, 5), scale=1.5), seed=56),
        Case("x of shape (3, 4), alpha=0.5", _x_case((3, 4), scale=1.5, alpha=0.5), seed=57),
    ],
    _hidden(alpha=(0.2, 0.8)),
    forward_mistakes=[
        Mistake(
            "alpha_missing",
            "your output for x ≤ 0 is e^x − 1 whatever alpha is: alpha is missing",
            _elu_without_alpha,
        )
    ],
    backward_mistakes=[
        Mistake(
            "slope_at_output",
            "your slope for x ≤ 0 is alpha·e^out, the derivative evaluated at the layer's "
            "output instead of its input",
            {"elu_backward": _elu_exp_of_output},
        ),
        Mistake(
            "forward_value_as_slope",
            "your slope for x ≤ 0 is the forward value alpha·(e^x − 1), not its derivative",
            {"elu_backward": _elu_forward_value_as_slope},
        ),
    ],
    title="ELU",
)

SPECS = [
    relu_forward_spec,
    relu_backward_spec,
    leaky_relu_forward_spec,
    leaky_relu_backward_spec,
    sigmoid_forward_spec,
    sigmoid_backward_spec,
    tanh_forward_spec,
    tanh_backward_spec,
    elu_forward_spec,
    elu_backward_spec,
]
