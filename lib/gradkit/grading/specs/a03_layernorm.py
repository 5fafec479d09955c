"""Specs of assignment 03, part 5 (init_and_batchnorm.ipynb): layer normalization, forward and
backward (each example standardized over its own features; no running statistics)."""

from __future__ import annotations

import numpy as np

from ... import normalization as nm
from ..kinds import layer_specs
from ..spec import Case, Mistake, inputs

ASSIGNMENT = "03_data_and_init"
GRADS = ("dx", "dgamma", "dbeta")


def _ln_case(n: int, d: int, ln_param: dict | None):
    def make(rng):
        x = rng.uniform(-2, 2, (n, 1)) + rng.uniform(0.5, 3, (n, 1)) * rng.standard_normal((n, d))
        args = (x, rng.uniform(0.5, 2, d), rng.standard_normal(d))
        return inputs(*args) if ln_param is None else inputs(*args, dict(ln_param))

    return make


def _hidden_ln(rng):
    d = int(rng.integers(3, 8))
    n = int(rng.integers(2, 8))
    return _ln_case(n + (n == d), d, {"eps": float(10 ** rng.uniform(-5, -2))})(rng)


LN_CASES = [
    Case("x (4, 6), no ln_param", _ln_case(4, 6, None), seed=41),
    Case(
        "x (7, 3), ln_param={'eps': 1e-3, 'mode': 'train'}",
        _ln_case(7, 3, {"eps": 1e-3, "mode": "train"}),
        seed=42,
    ),
]


# --- mistakes ------------------------------------------------------------------------------


def _ln_over_batch(x, gamma, beta, ln_param=None):
    eps = (ln_param or {}).get("eps", 1e-5)
    mu, var = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)
    istd = 1 / np.sqrt(var + eps)
    xhat = (x - mu) * istd
    return gamma * xhat + beta, {"xhat": xhat, "istd": istd, "gamma": gamma}


def _ln_backward_constants(dout, cache):
    _, dgamma, dbeta = nm.layernorm_backward(dout, cache)
    return dout * cache["gamma"] * cache["istd"], dgamma, dbeta


def _ln_backward_batch_sums(dout, cache):
    xhat, istd, gamma = cache["xhat"], cache["istd"], cache["gamma"]
    _, dgamma, dbeta = nm.layernorm_backward(dout, cache)
    g, n = dout * gamma, dout.shape[0]
    dx = (istd / n) * (n * g - g.sum(axis=0) - xhat * np.sum(g * xhat, axis=0))
    return dx, dgamma, dbeta


# --- specs -------------------------------------------------------------------------------

layernorm_forward, layernorm_backward = layer_specs(
    "layernorm_forward",
    "layernorm_backward",
    (nm.layernorm_forward, nm.layernorm_backward),
    LN_CASES,
    _hidden_ln,
    wrt=(0, 1, 2),
    grads=GRADS,
    forward_mistakes=[
        Mistake(
            "over_batch",
            "your output normalizes each feature over the batch (that is batch norm): layer "
            "norm normalizes each example over its own features",
            _ln_over_batch,
        )
    ],
    backward_mistakes=[
        Mistake(
            "constants",
            "your dx is dout·gamma/σ: it treats each example's mean and variance as constants",
            {"layernorm_backward": _ln_backward_constants},
        ),
        Mistake(
            "batch_sums",
            "your dx takes its mean terms over the batch (batch norm's formula) instead of over "
            "each example's features",
            {"layernorm_backward": _ln_backward_batch_sums},
        ),
    ],
    title="layer normalization",
)

SPECS = [layernorm_forward, layernorm_backward]
