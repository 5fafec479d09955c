"""Specs of assignment 05, part 1 (update_rules.ipynb): AdaGrad, RMSProp and Adam.

Per-parameter learning rates: each rule divides by a running root mean
square of the gradients. Where ε sits only shows when it is not negligible
next to √cache, so the cases that judge it use small gradients (~1e-3) and
ε ~ 1e-4: a misplaced or missing ε then changes the step by > 1 %, far above
the 1e-7 tolerance (the default ``VALUE_RTOL`` of ``Steps``; correct variants
written in another order agree to ~1e-15). Hidden cases always do, and resume
from a non-zero state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import optim
from ..kinds import update_rule_spec
from ..spec import Case, Inputs, Mistake
from .a05_update_rules import filled, hidden_shape, rule_case

ASSIGNMENT = "05_optimization"


def _cache(scale: float):
    def state(rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        return {"cache": (scale * rng.standard_normal(shape)) ** 2}

    return state


def _adaptive_step(w, dw, config, cache, where="outside"):
    lr, eps = config["learning_rate"], config["epsilon"]
    if where == "inside":
        return w - lr * dw / np.sqrt(cache + eps)
    if where == "none":
        return w - lr * dw / np.sqrt(cache)
    return w - lr * dw / (np.sqrt(cache) + eps)


def _hidden_adaptive(extra: dict[str, tuple[float, float]]):
    """Small gradients and ε in [1e-4, 1e-3] (ε matters), a cache to resume from."""

    def make(rng: np.random.Generator) -> Inputs:
        scale = float(10 ** rng.uniform(-3, -2))
        config = {
            "learning_rate": float(rng.uniform(1e-3, 1e-1)),
            "epsilon": float(10 ** rng.uniform(-4, -3)),
            **{k: float(rng.uniform(*span)) for k, span in extra.items()},
        }
        return rule_case(hidden_shape(rng), 3, config, scale, _cache(scale))(rng)

    return make


SMALL = "small gradients (~1e-3), epsilon 1e-4"
EPS_INSIDE = "your step divides by √(cache + ε): ε is under the square root"
NO_EPS = "your step divides by √cache alone: ε is missing from the denominator"

# --- AdaGrad ------------------------------------------------------------------------


def _adagrad_mistake(where: str = "outside", accumulate: bool = True):
    def rule(w, dw, config=None):
        config = filled(config, learning_rate=1e-2, epsilon=1e-8)
        old = config.get("cache")
        cache = dw * dw + (0 if old is None or not accumulate else old)
        return _adaptive_step(w, dw, config, cache, where), {**config, "cache": cache}

    return rule


adagrad = update_rule_spec(
    "adagrad",
    optim.adagrad,
    [
        Case("w (4, 3), 4 steps, lr 0.1", rule_case((4, 3), 4, {"learning_rate": 0.1}), 11),
        Case(
            f"w (3, 3), 3 steps, {SMALL}, resuming with a cache",
            rule_case((3, 3), 3, {"learning_rate": 0.01, "epsilon": 1e-4}, 1e-3, _cache(1e-3)),
            12,
        ),
    ],
    state=("cache",),
    defaults=("learning_rate", "epsilon"),
    hidden=_hidden_adaptive({}),
    mistakes=[
        Mistake("eps_inside_sqrt", EPS_INSIDE, _adagrad_mistake("inside")),
        Mistake("no_eps", NO_EPS, _adagrad_mistake("none")),
        Mistake(
            "cache_not_accumulated",
            "your cache holds only the latest squared gradient: it does not sum over the steps",
            _adagrad_mistake(accumulate=False),
        ),
    ],
    title="AdaGrad",
)

# --- RMSProp ------------------------------------------------------------------------


def _rmsprop_mistake(where: str = "outside", old_weight=None, new_weight=None):
    def rule(w, dw, config=None):
        config = filled(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
        d = config["decay_rate"]
        old = config.get("cache")
        old = np.zeros_like(w) if old is None else old
        a = d if old_weight is None else old_weight(d)
        b = 1 - d if new_weight is None else new_weight(d)
        cache = a * old + b * dw * dw
        return _adaptive_step(w, dw, config, cache, where), {**config, "cache": cache}

    return rule


rmsprop = update_rule_spec(
    "rmsprop",
    optim.rmsprop,
    [
        Case("w (4, 3), 4 steps, lr 0.01", rule_case((4, 3), 4, {"learning_rate": 0.01}), 13),
        Case(
            f"w (2, 4), 3 steps, {SMALL}, decay_rate 0.9, resuming with a cache",
            rule_case(
                (2, 4),
                3,
                {"learning_rate": 0.01, "epsilon": 1e-4, "decay_rate": 0.9},
                1e-3,
                _cache(1e-3),
            ),
            14,
        ),
    ],
    state=("cache",),
    defaults=("learning_rate", "decay_rate", "epsilon"),
    hidden=_hidden_adaptive({"decay_rate": (0.8, 0.99)}),
    mistakes=[
        Mistake("eps_inside_sqrt", EPS_INSIDE, _rmsprop_mistake("inside")),
        Mistake("no_eps", NO_EPS, _rmsprop_mistake("none")),
        Mistake(
            "decay_swapped",
            "your cache keeps the fraction 1 − decay_rate of its old value and gives decay_rate "
            "to the new dw²: the two weights are swapped",
            _rmsprop_mistake(old_weight=lambda d: 1 - d, new_weight=lambda d: d),
        ),
        Mistake(
            "full_weight_gradient",
            "your cache adds the new dw² at full weight: it is a decaying sum, not an average",
            _rmsprop_mistake(new_weight=lambda d: 1.0),
        ),
    ],
    title="RMSProp",
)

# --- Adam -----------------------------------------------------------------------------


def _adam_mistake(correct=True, late_t=False, swap=False, store_t=True):
    def rule(w, dw, config=None):
        config = filled(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0)
        b1, b2 = config["beta1"], config["beta2"]
        if swap:
            b1, b2 = b2, b1
        m, v = config.get("m"), config.get("v")
        m = b1 * (np.zeros_like(w) if m is None else m) + (1 - b1) * dw
        v = b2 * (np.zeros_like(w) if v is None else v) + (1 - b2) * dw * dw
        t = config["t"] if late_t else config["t"] + 1
        m_hat, v_hat = (m / (1 - b1**t), v / (1 - b2**t)) if correct else (m, v)
        next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
        new_t = config["t"] + 1 if store_t else config["t"]
        return next_w, {**config, "m": m, "v": v, "t": new_t}

    return rule


def _adam_state(t: int):
    def state(rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        return {
            "m": 0.1 * rng.standard_normal(shape),
            "v": 0.05 * rng.random(shape) + 0.01,
            "t": t,
        }

    return state


def _hidden_adam(rng: np.random.Generator) -> Inputs:
    config = {
        "learning_rate": float(rng.uniform(1e-3, 1e-2)),
        "beta1": float(rng.uniform(0.8, 0.95)),
        "beta2": float(rng.uniform(0.99, 0.9999)),
    }
    state = _adam_state(int(rng.integers(1, 11)))
    return rule_case(hidden_shape(rng), 3, config, state=state)(rng)


adam = update_rule_spec(
    "adam",
    optim.adam,
    [
        Case(
            "w (3, 4), 4 steps from t = 0, lr 0.01",
            rule_case((3, 4), 4, {"learning_rate": 0.01}),
            15,
        ),
        Case(
            "w (4,), 3 steps resuming at t = 5 with m and v, beta1 0.8, beta2 0.99",
            rule_case(
                (4,), 3, {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99}, state=_adam_state(5)
            ),
            16,
        ),
    ],
    state=("m", "v", "t"),
    defaults=("learning_rate", "beta1", "beta2", "epsilon", "t"),
    hidden=_hidden_adam,
    mistakes=[
        Mistake(
            "no_bias_correction",
            "your steps match Adam without the bias correction of m and v",
            _adam_mistake(correct=False),
        ),
        Mistake(
            "late_t",
            "your bias correction uses t before it is incremented (from t = 0 it divides by "
            "1 − β⁰ = 0)",
            _adam_mistake(late_t=True),
        ),
        Mistake(
            "betas_swapped",
            "your m decays with beta2 and your v with beta1: the two betas are swapped",
            _adam_mistake(swap=True),
        ),
        Mistake(
            "t_not_stored",
            "your config['t'] does not advance: every step bias-corrects as if it were the first",
            _adam_mistake(store_t=False),
        ),
    ],
    title="Adam with bias correction",
)

SPECS = [adagrad, rmsprop, adam]
