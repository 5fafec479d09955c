"""Specs of assignment 05, part 1 (update_rules.ipynb): SGD, SGD with momentum, Nesterov.

Every rule is ``rule(w, dw, config=None) -> (next_w, config)`` and is run for
several steps with its state carried in ``config`` (see
:func:`~gradkit.grading.kinds.update_rule_spec`). The adaptive rules
(AdaGrad, RMSProp, Adam) are in :mod:`.a05_adaptive`.

Hidden cases always resume from a non-zero velocity, so each catalogued
mistake already changes the first step of every hidden case.

Tolerance: the default of :class:`~gradkit.grading.checks_state.Steps`
(``VALUE_RTOL`` = 1e-7). An update is a few element-wise float64 operations:
correct implementations written in another order agree to ~1e-15, and every
catalogued mistake changes a step by more than 1e-4 relative.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ... import optim
from ..kinds import update_rule_spec
from ..spec import Case, Inputs, Mistake, inputs

ASSIGNMENT = "05_optimization"

StateMaker = Callable[[np.random.Generator, tuple[int, ...]], dict[str, Any]]


def rule_case(
    shape: tuple[int, ...],
    steps: int,
    config: dict[str, Any] | None = None,
    scale: float = 1.0,
    state: StateMaker | None = None,
) -> Callable[[np.random.Generator], Inputs]:
    """``make(rng) -> inputs(w, [dw_1, ..., dw_steps], config)``.

    Gradients are N(0, scale²); ``state(rng, shape)`` adds state arrays
    (a velocity, a cache, m and v) to the config, as a resumed run has them.
    """

    def make(rng: np.random.Generator) -> Inputs:
        cfg = dict(config or {})
        if state is not None:
            cfg.update(state(rng, shape))
        w = rng.standard_normal(shape)
        return inputs(w, [scale * rng.standard_normal(shape) for _ in range(steps)], cfg)

    return make


def hidden_shape(rng: np.random.Generator) -> tuple[int, int]:
    """A small random shape with at least two entries."""
    return int(rng.integers(2, 6)), int(rng.integers(1, 5))


def filled(config: dict[str, Any] | None, **defaults: Any) -> dict[str, Any]:
    """A new config: the caller's keys over the defaults (what every mistake starts from)."""
    return {**defaults, **(config or {})}


def _velocity(scale: float) -> StateMaker:
    def state(rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
        return {"velocity": scale * rng.standard_normal(shape)}

    return state


# --- SGD --------------------------------------------------------------------------


def _sgd_uphill(w, dw, config=None):
    config = filled(config, learning_rate=1e-2)
    return w + config["learning_rate"] * dw, config


def _sgd_default_wins(w, dw, config=None):
    config = {**(config or {}), "learning_rate": 1e-2}  # the default overwrites the caller's
    return w - config["learning_rate"] * dw, config


def _hidden_sgd(rng: np.random.Generator) -> Inputs:
    lr = float(rng.uniform(0.05, 0.5))  # never the default 1e-2
    return rule_case(hidden_shape(rng), int(rng.integers(2, 5)), {"learning_rate": lr})(rng)


sgd = update_rule_spec(
    "sgd",
    optim.sgd,
    [Case("w (3, 4), 3 steps, learning_rate 0.1", rule_case((3, 4), 3, {"learning_rate": 0.1}), 1)],
    state=(),
    defaults=("learning_rate",),
    hidden=_hidden_sgd,
    mistakes=[
        Mistake(
            "uphill", "your step moves w along the gradient (uphill), not against it", _sgd_uphill
        ),
        Mistake(
            "default_overwrites_config",
            "your step uses the default learning rate 1e-2 whatever config['learning_rate'] says",
            _sgd_default_wins,
        ),
    ],
    title="vanilla SGD step",
)


# --- SGD with momentum --------------------------------------------------------------


def _momentum_parts(w, dw, config):
    config = filled(config, learning_rate=1e-2, momentum=0.9)
    v = config.get("velocity")
    return config, (np.zeros_like(w) if v is None else v)


def _momentum_not_carried(w, dw, config=None):
    config, _ = _momentum_parts(w, dw, config)
    v = -config["learning_rate"] * dw  # the velocity restarts from zero at every step
    return w + v, {**config, "velocity": v}


def _momentum_gradient_sum(w, dw, config=None):
    config, v = _momentum_parts(w, dw, config)
    v = config["momentum"] * v + dw  # the other form: v accumulates gradients, w -= lr * v
    return w - config["learning_rate"] * v, {**config, "velocity": v}


def _momentum_stale(w, dw, config=None):
    config, v = _momentum_parts(w, dw, config)
    next_w = w + v  # moves with the previous step's velocity
    return next_w, {**config, "velocity": config["momentum"] * v - config["learning_rate"] * dw}


def _hidden_momentum(rng: np.random.Generator) -> Inputs:
    config = {
        "learning_rate": float(rng.uniform(0.02, 0.2)),
        "momentum": float(rng.uniform(0.5, 0.95)),
    }
    return rule_case(hidden_shape(rng), 3, config, state=_velocity(0.1))(rng)


VELOCITY_NOT_CARRIED = (
    "velocity_not_carried",
    "your velocity starts from zero at every step: it is not carried over in config",
)

sgd_momentum = update_rule_spec(
    "sgd_momentum",
    optim.sgd_momentum,
    [
        Case("w (5,), 4 steps from rest, lr 0.1", rule_case((5,), 4, {"learning_rate": 0.1}), 2),
        Case(
            "w (2, 3), 3 steps resuming with a velocity, lr 0.05, momentum 0.5",
            rule_case((2, 3), 3, {"learning_rate": 0.05, "momentum": 0.5}, state=_velocity(0.2)),
            3,
        ),
    ],
    state=("velocity",),
    defaults=("learning_rate", "momentum"),
    hidden=_hidden_momentum,
    mistakes=[
        Mistake(*VELOCITY_NOT_CARRIED, _momentum_not_carried),
        Mistake(
            "gradient_sum_velocity",
            "your config['velocity'] accumulates raw gradients (the v = ρv + dw form), not the "
            "step this function stores",
            _momentum_gradient_sum,
        ),
        Mistake(
            "stale_velocity",
            "your w moves by the previous step's velocity: the new velocity is computed after "
            "the position update (the first step from rest does not move w at all)",
            _momentum_stale,
        ),
    ],
    title="SGD with momentum",
)


# --- Nesterov momentum ----------------------------------------------------------------


def _nesterov_not_carried(w, dw, config=None):
    config, _ = _momentum_parts(w, dw, config)
    v = -config["learning_rate"] * dw
    return w + (1 + config["momentum"]) * v, {**config, "velocity": v}


def _nesterov_no_lookback(w, dw, config=None):
    config, v_prev = _momentum_parts(w, dw, config)
    v = config["momentum"] * v_prev - config["learning_rate"] * dw
    return w + (1 + config["momentum"]) * v, {**config, "velocity": v}  # no −ρ·v_prev


def _hidden_nesterov(rng: np.random.Generator) -> Inputs:
    return _hidden_momentum(rng)


nesterov_momentum = update_rule_spec(
    "nesterov_momentum",
    optim.nesterov_momentum,
    [
        Case("w (5,), 4 steps from rest, lr 0.1", rule_case((5,), 4, {"learning_rate": 0.1}), 4),
        Case(
            "w (3, 2), 3 steps resuming with a velocity, lr 0.05, momentum 0.8",
            rule_case((3, 2), 3, {"learning_rate": 0.05, "momentum": 0.8}, state=_velocity(0.2)),
            5,
        ),
    ],
    state=("velocity",),
    defaults=("learning_rate", "momentum"),
    hidden=_hidden_nesterov,
    mistakes=[
        Mistake(
            "plain_momentum",
            "your steps are those of plain momentum (w += v): the look-ahead correction is missing",
            optim.sgd_momentum,
        ),
        Mistake(*VELOCITY_NOT_CARRIED, _nesterov_not_carried),
        Mistake(
            "no_lookback",
            "your w moves by (1 + ρ)·v without taking back the previous look-ahead ρ·v_prev",
            _nesterov_no_lookback,
        ),
    ],
    title="Nesterov momentum",
)

SPECS = [sgd, sgd_momentum, nesterov_momentum]
