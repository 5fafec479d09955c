"""Specs of assignment 02, part 1 (backprop_layers.ipynb): a small computational graph whose
forward and backward passes the student writes node by node."""

from __future__ import annotations

import numpy as np

from ..checks import HiddenCases, Outputs, OwnGradient
from ..spec import Case, Inputs, Mistake, Spec, inputs

ASSIGNMENT = "02_backprop"


def _sigma(v: float) -> float:
    return float(1.0 / (1.0 + np.exp(-v)))


def _staged(x, y, z, fork="add", gate_max="route", gate_mul="swap", local_sigmoid="s(1-s)"):
    """f = σ(x)·(x·y + max(y, z)) and (df/dx, df/dy, df/dz), one staged pass per node.

    The keywords switch on the classic slips of a hand-written backward pass.
    """
    x, y, z = float(x), float(y), float(z)
    # forward, one node at a time
    a = x * y
    m = max(y, z)
    s = a + m
    g = _sigma(x)
    f = s * g

    def mul_grads(u, v, up):  # d(u·v)/du = v, d(u·v)/dv = u
        return (up * v, up * u) if gate_mul == "swap" else (up * u, up * v)

    # backward, in reverse order; each input sums the gradients of every node it feeds
    ds, dg = mul_grads(s, g, 1.0)
    local = g * (1 - g) if local_sigmoid == "s(1-s)" else g
    dx_sig = dg * local
    da, dm = ds, ds
    y_wins = y > z
    dy_max = dm if (y_wins or gate_max == "both") else 0.0
    dz = dm if (not y_wins or gate_max == "both") else 0.0
    dx_mul, dy_mul = mul_grads(x, y, da)
    if fork == "add":
        dx, dy = dx_sig + dx_mul, dy_max + dy_mul
    else:  # "=" instead of "+=": the node handled last overwrites the other path
        dx, dy = dx_mul, dy_mul
    return f, dx, dy, dz


def staged_backprop(x, y, z):
    """Reference: f(x, y, z) = σ(x)·(x·y + max(y, z)) and its three partial derivatives."""
    return _staged(x, y, z)


def _point(x: float, y: float, z: float):
    def make(rng: np.random.Generator):
        return inputs(x, y, z)

    return make


def _hidden_point(rng: np.random.Generator) -> Inputs:
    # Away from the max gate's tie (|y − z| > 0.3) and from the points where a slip
    # leaves a gradient unchanged (x = 0, y = 0, s = 0, σ(x)(1 − σ(x)) = σ(x)): every
    # catalogued mistake then changes at least one output by far more than the tolerance.
    while True:
        x, y, z = (float(v) for v in rng.uniform(-3, 3, size=3))
        s = x * y + max(y, z)
        if abs(y - z) > 0.3 and min(abs(x), abs(y), abs(s)) > 0.3:
            return inputs(x, y, z)


#: The worked point of the notebook (y wins the max gate) and one where z wins it.
GRAPH_WORKED = Case("the worked point x=1, y=2, z=−1", _point(1.0, 2.0, -1.0))
GRAPH_Z_WINS = Case("x=2, y=−1, z=3 (z wins the max gate)", _point(2.0, -1.0, 3.0))

staged_backprop_spec = Spec(
    name="staged_backprop",
    functions={"staged_backprop": staged_backprop},
    returns={"staged_backprop": ("f", "dx", "dy", "dz")},
    checks=[
        Outputs(
            [GRAPH_WORKED, GRAPH_Z_WINS],
            weight={"f": 0.5, "dx": 1.0, "dy": 1.0, "dz": 1.0},
            name="{output} is right at the {n} given points (x, y, z)",
            hint={
                "f": "evaluate the nodes one at a time: a = x·y, m = max(y, z), s = a + m, …",
                "dx": "x feeds two nodes: add up the gradient from each",
                "dy": "y feeds two nodes: add up the gradient from each",
                "dz": "the max gate sends the upstream gradient to the larger input only",
            },
        ),
        HiddenCases(_hidden_point),
        *[
            OwnGradient(
                GRAPH_WORKED,
                wrt=i,
                of="f",
                grad=g,
                weight=1 / 3,
                hint="your gradient and your f disagree: differentiate the f you wrote",
            )
            for i, g in enumerate(("dx", "dy", "dz"))
        ],
    ],
    mistakes=[
        Mistake(
            "fork_overwritten",
            "your dx and dy each keep the gradient of one path only: x and y each feed two "
            "nodes, and a later path's gradient overwrote the earlier one",
            lambda x, y, z: _staged(x, y, z, fork="="),
        ),
        Mistake(
            "max_routes_both",
            "your max gate passes the upstream gradient to both of its inputs",
            lambda x, y, z: _staged(x, y, z, gate_max="both"),
        ),
        Mistake(
            "mul_no_swap",
            "your multiply gates give each input the upstream gradient times its own value",
            lambda x, y, z: _staged(x, y, z, gate_mul="same"),
        ),
        Mistake(
            "sigmoid_local_sigma",
            "your sigmoid node's local gradient is σ(x), not σ(x)(1 − σ(x))",
            lambda x, y, z: _staged(x, y, z, local_sigmoid="s"),
        ),
    ],
    title="a staged computational graph: forward and backward by hand",
)

SPECS = [staged_backprop_spec]
