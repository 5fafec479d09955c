"""Specs of assignment 04, part 1 (penalties_and_dropout.ipynb): vanilla and inverted dropout.

``p`` is the KEEP probability; cases pass a ``seed`` so masks compare bit for
bit (see :mod:`._random_layers`, which also judges each hidden case in both
modes). Vanilla dropout scales by p at test time; inverted dropout divides
by p at train time and is the identity at test time.
"""

from __future__ import annotations

import zlib

import numpy as np

from ... import dropout as dl
from ..spec import Case, Inputs, Mistake, inputs
from ._random_layers import (
    MASK_MESSAGE,
    P_AS_DROP,
    dropout_pair,
    mask_reused,
    mixed_seed,
    p_as_drop,
)

ASSIGNMENT = "04_regularization"


def x_case(shape: tuple[int, ...], p: float, mode: str = "train", seed: int = 0):
    def make(rng: np.random.Generator):
        return inputs(rng.standard_normal(shape), {"p": p, "mode": mode, "seed": seed})

    return make


def _hidden_x(rng: np.random.Generator) -> Inputs:
    # p away from 0.5 (keep and drop probabilities differ) and 1; x never 0; at
    # least one unit kept and one dropped (else train mode hides the scaling); at
    # least 48 units, so a redrawn mask equals the first with probability < 1e-6.
    if rng.random() < 0.5:
        shape: tuple[int, ...] = (int(rng.integers(4, 9)), int(rng.integers(15, 30)))
    else:
        shape = tuple(int(k) for k in rng.integers(4, 8, size=3))
    p = float(rng.choice([rng.uniform(0.2, 0.4), rng.uniform(0.6, 0.85)]))
    seed = mixed_seed(rng, shape, p)
    x = rng.standard_normal(shape)
    x[np.abs(x) < 0.05] = 0.5
    return inputs(x, {"p": p, "mode": "train", "seed": seed})


# --------------------------------------------------------------------------- vanilla


def _vanilla_not_scaled(x, dropout_param):
    out, cache = dl.vanilla_dropout_forward(x, dropout_param)
    return (np.array(x, dtype=float) if dropout_param["mode"] == "test" else out), cache


def _redrawn_keys(dout) -> np.ndarray:
    """Uniform draws for a mask drawn again in the backward pass, independent of the
    forward's: from a generator seeded by ``dout`` itself, so the mistake's output is the
    same in every run (a kit's recording is reproducible) and numpy's global state is
    left alone."""
    dout = np.ascontiguousarray(dout)
    return np.random.default_rng(zlib.crc32(dout.tobytes())).random(dout.shape)


def _vanilla_redrawn(dout, cache):
    if cache["mask"] is None:
        return dl.vanilla_dropout_backward(dout, cache)
    return dout * (_redrawn_keys(dout) < cache["p"])


TRAIN_CASES = [
    Case("x (4, 5), p=0.6, train", x_case((4, 5), 0.6, "train", seed=3), seed=61),
    Case("x (2, 3, 4), p=0.8, train", x_case((2, 3, 4), 0.8, "train", seed=11), seed=62),
]
TEST_CASE = Case("x (3, 4), p=0.7, test", x_case((3, 4), 0.7, "test", seed=5), seed=63)
VANILLA_FWD, VANILLA_BWD = dropout_pair(
    "vanilla_dropout_forward",
    "vanilla_dropout_backward",
    (dl.vanilla_dropout_forward, dl.vanilla_dropout_backward),
    [*TRAIN_CASES, TEST_CASE],
    _hidden_x,
    forward_mistakes=[
        Mistake(*P_AS_DROP, p_as_drop(dl.vanilla_dropout_forward)),
        Mistake(
            "not_scaled_at_test",
            "in test mode your output is x itself: vanilla dropout must scale it to match the "
            "expected training-time output",
            _vanilla_not_scaled,
        ),
    ],
    backward_mistakes=[
        Mistake("mask_redrawn", MASK_MESSAGE, {"vanilla_dropout_backward": _vanilla_redrawn})
    ],
    extra=[mask_reused("vanilla_dropout_forward", "vanilla_dropout_backward", TRAIN_CASES[0])],
    title="vanilla dropout",
)

# --------------------------------------------------------------------------- inverted


def _inverted_scaled_at_test(x, dropout_param):
    out, cache = dl.dropout_forward(x, dropout_param)
    if dropout_param["mode"] == "test":
        out = dropout_param["p"] * np.array(x, dtype=float)
    return out, cache


def _inverted_not_rescaled(x, dropout_param):
    out, cache = dl.dropout_forward(x, dropout_param)
    if dropout_param["mode"] == "train":
        out = out * dropout_param["p"]
    return out, cache


def _inverted_redrawn(dout, cache):
    if cache["mask"] is None:
        return dl.dropout_backward(dout, cache)
    keep = _redrawn_keys(dout) < cache["p"]
    return dout * keep / cache["p"]


def _inverted_bwd_unscaled(dout, cache):
    if cache["mask"] is None:
        return dl.dropout_backward(dout, cache)
    return dout * (cache["mask"] != 0)


DROPOUT_FWD, DROPOUT_BWD = dropout_pair(
    "dropout_forward",
    "dropout_backward",
    (dl.dropout_forward, dl.dropout_backward),
    [*TRAIN_CASES, TEST_CASE],
    _hidden_x,
    forward_mistakes=[
        Mistake(*P_AS_DROP, p_as_drop(dl.dropout_forward)),
        Mistake(
            "scaled_at_test",
            "in test mode your output is p·x, as in vanilla dropout: inverted dropout already "
            "rescaled at training time",
            _inverted_scaled_at_test,
        ),
        Mistake(
            "not_rescaled",
            "in train mode your kept units are not divided by p, so the expected output is p·x",
            _inverted_not_rescaled,
        ),
    ],
    backward_mistakes=[
        Mistake("mask_redrawn", MASK_MESSAGE, {"dropout_backward": _inverted_redrawn}),
        Mistake(
            "backward_not_rescaled",
            "your dx routes the gradient through the kept units without the forward's 1/p",
            {"dropout_backward": _inverted_bwd_unscaled},
        ),
    ],
    extra=[mask_reused("dropout_forward", "dropout_backward", TRAIN_CASES[0])],
    title="inverted dropout",
)

SPECS = [VANILLA_FWD, VANILLA_BWD, DROPOUT_FWD, DROPOUT_BWD]
