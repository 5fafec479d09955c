"""Specs of assignment 02, part 1 (backprop_layers.ipynb): the affine layer, maxout and the
affine-ReLU sandwich, forward and backward.

The staged computational graph is in :mod:`.a02_graph`, the element-wise activations in
:mod:`.a02_activations`, the loss layers and the two-layer network in :mod:`.a02_networks`.
"""

from __future__ import annotations

import numpy as np

from ... import layers
from ..kinds import layer_specs
from ..spec import Case, Inputs, Mistake, inputs

ASSIGNMENT = "02_backprop"


# ------------------------------------------------------------------------------- affine


def _affine_case(shape: tuple[int, ...], m: int):
    def make(rng: np.random.Generator) -> Inputs:
        d = int(np.prod(shape[1:]))
        return inputs(
            rng.standard_normal(shape), rng.standard_normal((d, m)), rng.standard_normal(m)
        )

    return make


def _affine_hidden(rng: np.random.Generator) -> Inputs:
    # Always three dimensions (a flattened dx has the wrong shape) and N ≠ M (a db summed
    # over the wrong axis has the wrong length).
    n, m = int(rng.integers(3, 7)), int(rng.integers(7, 10))
    shape = (n, int(rng.integers(2, 4)), int(rng.integers(2, 4)))
    return _affine_case(shape, m)(rng)


def _affine_no_bias(x, w, b):
    out, cache = layers.affine_forward(x, w, b)
    return out - b, cache


def _affine_dx_flat(dout, cache):
    x, _ = cache
    dx, dw, db = layers.affine_backward(dout, cache)
    return dx.reshape(x.shape[0], -1), dw, db


def _affine_db_wrong_axis(dout, cache):
    dx, dw, _ = layers.affine_backward(dout, cache)
    return dx, dw, dout.sum(axis=1)


def _affine_dw_no_x(dout, cache):
    dx, _, db = layers.affine_backward(dout, cache)
    x, w = cache
    return dx, np.broadcast_to(dout.sum(axis=0), w.shape).copy(), db  # x left out of dw


AFFINE_CASES = [
    Case("x of shape (3, 2, 2), w (4, 5)", _affine_case((3, 2, 2), 5), seed=21),
    Case("x of shape (4, 6), w (6, 3)", _affine_case((4, 6), 3), seed=22),
]

affine_forward_spec, affine_backward_spec = layer_specs(
    "affine_forward",
    "affine_backward",
    (layers.affine_forward, layers.affine_backward),
    AFFINE_CASES,
    _affine_hidden,
    wrt=(0, 1, 2),
    grads=("dx", "dw", "db"),
    forward_mistakes=[Mistake("no_bias", "your output does not add the bias b", _affine_no_bias)],
    backward_mistakes=[
        Mistake(
            "dx_flat",
            "your dx has the flattened shape (N, D), not the shape of x",
            {"affine_backward": _affine_dx_flat},
        ),
        Mistake(
            "db_wrong_axis",
            "your db sums dout over the outputs (one value per example) instead of over the "
            "examples",
            {"affine_backward": _affine_db_wrong_axis},
        ),
        Mistake(
            "dw_without_x",
            "your dw repeats the column sums of dout in every row: x is missing from it",
            {"affine_backward": _affine_dw_no_x},
        ),
    ],
    title="affine layer",
)


# ------------------------------------------------------------------------------- maxout


def _maxout_case(shape: tuple[int, ...], k: int, m: int):
    def make(rng: np.random.Generator) -> Inputs:
        d = int(np.prod(shape[1:]))
        return inputs(
            rng.standard_normal(shape),
            rng.standard_normal((k, d, m)),
            rng.standard_normal((k, m)),
        )

    return make


def _maxout_hidden(rng: np.random.Generator) -> Inputs:
    # k ≥ 2 pieces and N·M ≥ 9 outputs: some piece always loses somewhere.
    shape = (int(rng.integers(3, 6)), int(rng.integers(2, 5)))
    return _maxout_case(shape, int(rng.integers(2, 4)), int(rng.integers(3, 5)))(rng)


def _maxout_route_all(dout, cache):
    x, w, winner = cache
    everyone = np.zeros_like(winner)
    grads = [layers.maxout_backward(dout, (x, w, everyone + j)) for j in range(w.shape[0])]
    dx = sum(g[0] for g in grads)
    dw = sum(g[1] for g in grads)
    db = sum(g[2] for g in grads)
    return dx, dw, db


def _maxout_split_evenly(dout, cache):
    dx, dw, db = _maxout_route_all(dout, cache)
    k = cache[1].shape[0]
    return dx / k, dw / k, db / k


MAXOUT_CASES = [
    Case("x of shape (4, 3), k=2 pieces, M=3", _maxout_case((4, 3), 2, 3), seed=31),
    Case("x of shape (3, 2, 2), k=3 pieces, M=2", _maxout_case((3, 2, 2), 3, 2), seed=32),
]

maxout_forward_spec, maxout_backward_spec = layer_specs(
    "maxout_forward",
    "maxout_backward",
    (layers.maxout_forward, layers.maxout_backward),
    MAXOUT_CASES,
    _maxout_hidden,
    wrt=(0, 1, 2),
    grads=("dx", "dw", "db"),
    backward_mistakes=[
        Mistake(
            "route_to_all_pieces",
            "your gradients reach every piece, as if each had won the max",
            {"maxout_backward": _maxout_route_all},
        ),
        Mistake(
            "split_evenly",
            "your gradients are shared equally among the k pieces instead of going to the "
            "winning piece",
            {"maxout_backward": _maxout_split_evenly},
        ),
    ],
    title="maxout layer",
)


# ------------------------------------------------------------------------- affine + ReLU


def _affine_relu_hidden(rng: np.random.Generator) -> Inputs:
    # N·M ≥ 12 pre-activations from standard normals: some are always negative.
    shape = (int(rng.integers(3, 6)), int(rng.integers(2, 4)), 2)
    return _affine_case(shape, int(rng.integers(4, 7)))(rng)


def _relu_first(x, w, b):
    x = np.asarray(x)
    rx = np.maximum(x, 0)
    out = rx.reshape(x.shape[0], -1) @ w + b
    return out, ((rx, w), np.ones_like(out))


def _sandwich_no_mask(dout, cache):
    fc_cache, _ = cache
    return layers.affine_backward(dout, fc_cache)


affine_relu_forward_spec, affine_relu_backward_spec = layer_specs(
    "affine_relu_forward",
    "affine_relu_backward",
    (layers.affine_relu_forward, layers.affine_relu_backward),
    [Case("x of shape (4, 3, 2), w (6, 5)", _affine_case((4, 3, 2), 5), seed=41)],
    _affine_relu_hidden,
    wrt=(0, 1, 2),
    grads=("dx", "dw", "db"),
    forward_mistakes=[
        Mistake(
            "relu_before_affine",
            "your output applies the ReLU to x before the affine layer, not after it",
            _relu_first,
        )
    ],
    backward_mistakes=[
        Mistake(
            "mask_missing",
            "your gradients pass through the ReLU unmasked, also where the affine output "
            "was negative",
            {"affine_relu_backward": _sandwich_no_mask},
        )
    ],
    title="affine-ReLU sandwich",
)

SPECS = [
    affine_forward_spec,
    affine_backward_spec,
    maxout_forward_spec,
    maxout_backward_spec,
    affine_relu_forward_spec,
    affine_relu_backward_spec,
]
