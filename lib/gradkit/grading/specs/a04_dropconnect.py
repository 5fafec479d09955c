"""Specs of assignment 04, part 1 (penalties_and_dropout.ipynb): DropConnect.

An affine layer whose weights are kept with probability p (one mask for the
minibatch, drawn as ``np.random.default_rng(seed).random(w.shape) < p``) and
rescaled by 1/p at train time; a plain affine layer at test time. Hidden
cases have N >= 2 and D >= 2, so a mask on the input (shape (N, D)) never
looks like a mask on the weights (shape (D, M)).
"""

from __future__ import annotations

import numpy as np

from ... import dropout as dl
from ..spec import Case, Inputs, Mistake, inputs
from ._random_layers import P_AS_DROP, draw_mask, dropout_pair, mixed_seed, p_as_drop

ASSIGNMENT = "04_regularization"


def dc_case(shape: tuple[int, ...], m: int, p: float, mode: str = "train", seed: int = 0):
    def make(rng: np.random.Generator):
        d = int(np.prod(shape[1:]))
        x, w, b = rng.standard_normal(shape), rng.standard_normal((d, m)), rng.standard_normal(m)
        return inputs(x, w, b, {"p": p, "mode": mode, "seed": seed})

    return make


def _hidden_dc(rng: np.random.Generator) -> Inputs:
    # N >= 2 and D >= 2: the input's mask and the weights' mask have different shapes;
    # the weights' mask keeps some weights and drops some.
    shape = (int(rng.integers(2, 6)), int(rng.integers(2, 5)), int(rng.integers(1, 4)))
    m = int(rng.integers(2, 6))
    p = float(rng.choice([rng.uniform(0.2, 0.4), rng.uniform(0.6, 0.85)]))
    seed = mixed_seed(rng, (shape[1] * shape[2], m), p)
    return dc_case(shape, m, p, seed=seed)(rng)


def _dc_mask_input(x, w, b, param):
    if param["mode"] == "test":
        return dl.dropconnect_forward(x, w, b, param)
    x2 = np.asarray(x, dtype=float).reshape(len(x), -1)
    x_used = x2 * draw_mask(x2.shape, param) / param["p"]
    cache = {"kind": "dropconnect", "x": x_used.reshape(np.shape(x)), "w_used": w, "mask": None}
    return x_used @ w + b, cache


def _dc_not_rescaled(x, w, b, param):
    if param["mode"] == "test":
        return dl.dropconnect_forward(x, w, b, param)
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    keep = draw_mask(w.shape, param).astype(float)
    cache = {"kind": "dropconnect", "x": x, "w_used": w * keep, "mask": keep}
    return x.reshape(len(x), -1) @ cache["w_used"] + b, cache


def _dc_masked_at_test(x, w, b, param):
    return dl.dropconnect_forward(x, w, b, {**param, "mode": "train"})


def _dc_dw_unmasked(dout, cache):
    dx, _, db = dl.dropconnect_backward(dout, cache)
    x = cache["x"]
    return dx, x.reshape(len(x), -1).T @ dout, db


def _dc_forward_keeping_w(x, w, b, param):
    out, cache = dl.dropconnect_forward(x, w, b, param)
    return out, {**cache, "w": np.asarray(w, dtype=float)}


def _dc_dx_unmasked(dout, cache):
    _, dw, db = dl.dropconnect_backward(dout, cache)
    return (dout @ cache["w"].T).reshape(cache["x"].shape), dw, db


DC_TRAIN = Case("x (3, 2, 2), w (4, 5), p=0.7, train", dc_case((3, 2, 2), 5, 0.7, seed=7), 71)
DC_CASES = [
    DC_TRAIN,
    Case("x (4, 6), w (6, 3), p=0.3, train", dc_case((4, 6), 3, 0.3, seed=8), 72),
    Case("x (2, 5), w (5, 4), p=0.6, test", dc_case((2, 5), 4, 0.6, "test", seed=9), 73),
]

DROPCONNECT_FWD, DROPCONNECT_BWD = dropout_pair(
    "dropconnect_forward",
    "dropconnect_backward",
    (dl.dropconnect_forward, dl.dropconnect_backward),
    DC_CASES,
    _hidden_dc,
    forward_mistakes=[
        Mistake(
            "mask_on_input",
            "your layer masks the inputs x (that is dropout on the input): DropConnect masks "
            "the weights",
            _dc_mask_input,
        ),
        Mistake(*P_AS_DROP, p_as_drop(dl.dropconnect_forward, at=3)),
        Mistake(
            "not_rescaled",
            "in train mode your kept weights are not divided by p, so the expected output "
            "differs from the test-time output",
            _dc_not_rescaled,
        ),
        Mistake(
            "masked_at_test",
            "in test mode your layer still drops weights: at test time it is a plain affine layer",
            _dc_masked_at_test,
        ),
    ],
    backward_mistakes=[
        Mistake(
            "dw_unmasked",
            "your dw is nonzero for weights the forward pass dropped",
            {"dropconnect_backward": _dc_dw_unmasked},
        ),
        Mistake(
            "dx_unmasked",
            "your dx uses all of w, not the masked weights the forward pass used",
            {"dropconnect_forward": _dc_forward_keeping_w, "dropconnect_backward": _dc_dx_unmasked},
        ),
    ],
    wrt=(0, 1, 2),
    grads=("dx", "dw", "db"),
    param_at=3,
    title="DropConnect",
)

SPECS = [DROPCONNECT_FWD, DROPCONNECT_BWD]
