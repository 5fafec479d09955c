"""Specs of assignment 05, part 2 (training.ipynb): the learning-rate schedules.

Each schedule ``schedule(lr0, t, ...) -> lr`` is judged on whole horizons:
every step ``t`` from 0 to past the end of the schedule, all in one check,
so a rate that is wrong at a single step (the first one, or those after
``T``) costs the check. Hidden horizons draw ``lr0`` and the schedule's
lengths from the student's seed and always run past the end, so every
catalogued mistake shows in every hidden horizon.

Tolerance: the default ``VALUE_RTOL`` (1e-7) of :class:`~gradkit.grading.checks.Outputs`.
A schedule is one closed-form expression: equivalent forms (cos² for the
cosine, ``//`` for the floor) agree to ~1e-16, every catalogued mistake is
off by more than 1 % at some step of each horizon.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ... import schedules
from ..checks import Outputs
from ..kinds import Hidden, relabel, schedule_spec
from ..spec import Case, Inputs, Mistake, Spec, inputs

ASSIGNMENT = "05_optimization"

Draw = Callable[[np.random.Generator], tuple[float, Sequence[float], dict[str, Any]]]


def horizon(lr0: float, ts: Sequence[float], seed: int = 0, **kwargs: Any) -> list[Case]:
    """One case per step ``t`` of ``schedule(lr0, t, **kwargs)``; ``seed`` keeps horizons apart."""

    def at(t: float) -> Callable[[np.random.Generator], Inputs]:
        def make(rng: np.random.Generator) -> Inputs:
            return inputs(lr0, t, **kwargs)

        return make

    return [Case(f"t={t:g}", at(t), seed) for t in ts]


def _describe(lr0: float, kwargs: dict[str, Any]) -> str:
    return ", ".join([f"lr0 {lr0:g}"] + [f"{k} {v:g}" for k, v in kwargs.items()])


def _no_inputs(rng: np.random.Generator) -> Inputs:
    return inputs()


def schedule(
    name: str,
    reference: Callable[..., float],
    horizons: Sequence[tuple[float, Sequence[float], dict[str, Any]]],
    hidden: Draw,
    mistakes: Sequence[Mistake],
    title: str,
) -> Spec:
    """A schedule spec: the first horizon through ``schedule_spec``, then the others, then
    two hidden horizons drawn by ``hidden(rng) -> (lr0, ts, kwargs)``."""
    (lr0, ts, kw), *others = horizons
    spec = schedule_spec(name, reference, horizon(lr0, ts, **kw), mistakes, title)
    first = spec.checks[0]
    checks: list[Any] = [replace(first, name=f"{first.name} ({_describe(lr0, kw)})")]
    for i, (lr0, ts, kw) in enumerate(others, start=1):
        checks.append(
            Outputs(
                horizon(lr0, ts, seed=i, **kw),
                combine=True,
                weight=1.5,
                name=f"the learning rate at every step ({_describe(lr0, kw)})",
            )
        )

    def hidden_check(case: Case) -> Outputs:
        lr0, ts, kw = hidden(np.random.default_rng(case.seed))
        return Outputs(horizon(lr0, ts, seed=case.seed, **kw), combine=True)

    checks.append(Hidden(hidden_check, _no_inputs))
    return relabel(spec, checks=checks)


def _lr0(rng: np.random.Generator) -> float:
    return float(10 ** rng.uniform(-2, 0))


# --- step decay -------------------------------------------------------------------------


def _step_no_floor(lr0, t, step_size, gamma=0.1):
    return lr0 * gamma ** (t / step_size)


def _step_early(lr0, t, step_size, gamma=0.1):
    return lr0 * gamma ** (math.floor(t / step_size) + 1)


def _hidden_step(rng):
    s = int(rng.integers(2, 6))
    return _lr0(rng), range(3 * s + 2), {"step_size": s, "gamma": float(rng.uniform(0.2, 0.8))}


step_decay = schedule(
    "step_decay",
    schedules.step_decay,
    [
        (0.1, [*range(11), 4.5], {"step_size": 3, "gamma": 0.5}),
        (1.0, [0, 1, 3, 4, 5, 8, 11, 12], {"step_size": 4}),
    ],
    _hidden_step,
    [
        Mistake(
            "no_floor",
            "your rate decays a little at every step instead of dropping once every step_size "
            "steps",
            _step_no_floor,
        ),
        Mistake(
            "early_drop",
            "your rate has already dropped once at t = 0",
            _step_early,
        ),
    ],
    "step decay",
)

# --- cosine -------------------------------------------------------------------------------


def _cosine_full_period(lr0, t, T, lr_min=0.0):
    if t >= T:
        return lr_min
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(2 * math.pi * t / T))


def _cosine_no_clip(lr0, t, T, lr_min=0.0):
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(math.pi * t / T))


def _cosine_no_floor(lr0, t, T, lr_min=0.0):
    return 0.5 * lr0 * (1 + math.cos(math.pi * min(t, T) / T))


def _hidden_cosine(rng):
    lr0, T = _lr0(rng), int(rng.integers(5, 21))
    return lr0, range(T + 4), {"T": T, "lr_min": float(rng.uniform(0.1, 0.3)) * lr0}


cosine = schedule(
    "cosine",
    schedules.cosine,
    [(0.1, range(13), {"T": 10}), (0.5, range(11), {"T": 8, "lr_min": 0.05})],
    _hidden_cosine,
    [
        Mistake(
            "full_period",
            "your rate goes through a whole period of the cosine (back up to lr0 at t = T), "
            "not half of one",
            _cosine_full_period,
        ),
        Mistake(
            "rises_after_T",
            "after t = T your rate climbs back up the cosine instead of staying at the end value",
            _cosine_no_clip,
        ),
        Mistake(
            "ignores_lr_min",
            "your rate anneals down to 0 whatever lr_min is",
            _cosine_no_floor,
        ),
    ],
    "cosine annealing",
)

# --- linear decay ------------------------------------------------------------------------


def _linear_no_clip(lr0, t, T):
    return lr0 * (1 - t / T)


def _linear_early(lr0, t, T):
    return lr0 * max(0.0, 1 - (t + 1) / T)


def _hidden_linear(rng):
    T = int(rng.integers(4, 16))
    return _lr0(rng), range(T + 4), {"T": T}


linear_decay = schedule(
    "linear_decay",
    schedules.linear_decay,
    [(0.1, range(14), {"T": 10}), (2.0, [0, 2.5, 5, 6, 7.5], {"T": 5})],
    _hidden_linear,
    [
        Mistake("not_clipped", "after t = T your rate goes negative", _linear_no_clip),
        Mistake(
            "early_decay",
            "your rate at t = 0 is already below lr0: the decay starts one step early",
            _linear_early,
        ),
    ],
    "linear decay",
)

# --- inverse square root --------------------------------------------------------------------


def _inv_t(lr0, t, warmup=1):
    return lr0 * warmup / max(t, warmup)


def _inv_shifted(lr0, t, warmup=1):
    return lr0 * math.sqrt(warmup / max(t + 1, warmup))


def _inv_no_warmup(lr0, t, warmup=1):
    return lr0 / math.sqrt(max(t, 1))


def _hidden_inverse_sqrt(rng):
    w = int(rng.integers(2, 7))
    return _lr0(rng), [*range(3 * w + 4), 16 * w], {"warmup": w}


inverse_sqrt = schedule(
    "inverse_sqrt",
    schedules.inverse_sqrt,
    [(0.1, [0, 1, 2, 3, 4, 9, 16, 25, 100], {}), (0.01, [*range(13), 16, 64], {"warmup": 4})],
    _hidden_inverse_sqrt,
    [
        Mistake("inverse_t", "your rate decays like 1/t, not 1/√t", _inv_t),
        Mistake(
            "shifted_by_one",
            "your rate at step t is the reference's rate at step t + 1",
            _inv_shifted,
        ),
        Mistake(
            "warmup_ignored",
            "your rate starts decaying at once: it ignores warmup",
            _inv_no_warmup,
        ),
    ],
    "inverse square-root decay",
)

# --- linear warm-up ---------------------------------------------------------------------------


def _warm_lr0(lr0, t, warmup_steps):
    return lr0


def _warm_zero(lr0, t, warmup_steps):
    return lr0 * min(1.0, t / warmup_steps)


def _warm_forever(lr0, t, warmup_steps):
    return lr0 * (t + 1) / warmup_steps


def _hidden_warmup(rng):
    w = int(rng.integers(3, 11))
    return _lr0(rng), range(w + 5), {"warmup_steps": w}


linear_warmup = schedule(
    "linear_warmup",
    schedules.linear_warmup,
    [(0.1, range(9), {"warmup_steps": 5}), (1.0, [0, 1, 2, 3, 8, 9, 20], {"warmup_steps": 8})],
    _hidden_warmup,
    [
        Mistake(
            "starts_at_lr0",
            "your warm-up starts at the full lr0: the rate does not ramp up",
            _warm_lr0,
        ),
        Mistake(
            "starts_at_zero",
            "your warm-up starts at rate 0, so the first step does not move the weights",
            _warm_zero,
        ),
        Mistake(
            "keeps_ramping",
            "your rate keeps growing after the warm-up, past lr0",
            _warm_forever,
        ),
    ],
    "linear warm-up",
)

SPECS = [step_decay, cosine, linear_decay, inverse_sqrt, linear_warmup]
