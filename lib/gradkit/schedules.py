"""Learning-rate schedules: the learning rate as a pure function of the step.

Taught in assignment 05 (the schedules are graded there).

Every schedule takes the base rate ``lr0`` and the step ``t`` and returns the
learning rate for that step. ``t`` counts from 0 (the first update uses
``t = 0``) and may be an iteration or an epoch count, as long as the lengths
(``step_size``, ``T``, ``warmup_steps``) are in the same unit; it may be a
float (e.g. a fractional epoch). Shapes: scalars in -> a float out; nothing
is stored between calls.
:func:`make_schedule` binds the parameters once and returns a callable
``t -> lr`` for the :class:`~gradkit.solver.Solver`.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

from ._validation import check_count, check_positive

__all__ = [
    "constant",
    "step_decay",
    "cosine",
    "linear_decay",
    "inverse_sqrt",
    "linear_warmup",
    "scale_lr_for_batch",
    "Schedule",
    "make_schedule",
    "SCHEDULES",
]


def _check_t(t: float, where: str) -> float:
    """Return ``t`` as a float, raising unless it is a finite number >= 0."""
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise ValueError(f"{where}: t must be a number >= 0; got {t!r}")
    value = float(t)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{where}: t must be a finite number >= 0; got {t!r}")
    return value


def constant(lr0: float, t: float) -> float:
    """Constant learning rate: ``α_t = α_0``.

    Taught in assignment 05.
    """
    lr0 = check_positive("lr0", lr0, "constant")
    _check_t(t, "constant")
    return lr0


def step_decay(lr0: float, t: float, step_size: float, gamma: float = 0.1) -> float:
    """Step decay: multiply the rate by ``gamma`` every ``step_size`` steps.

    ``α_t = α_0 · γ^⌊t / step_size⌋`` (t from 0; 0 < γ <= 1).

    Taught in assignment 05.
    """
    where = "step_decay"
    lr0 = check_positive("lr0", lr0, where)
    t = _check_t(t, where)
    step_size = check_positive("step_size", step_size, where)
    gamma = float(gamma)
    if not 0 < gamma <= 1:
        raise ValueError(f"{where}: gamma must lie in (0, 1]; got {gamma}")
    return lr0 * gamma ** math.floor(t / step_size)


def cosine(lr0: float, t: float, T: float, lr_min: float = 0.0) -> float:
    """Cosine annealing from ``lr0`` at t = 0 down to ``lr_min`` at t = T.

    ``α_t = α_min + ½(α_0 − α_min)(1 + cos(π·t/T))`` for t < T, ``α_min`` for t >= T.

    Taught in assignment 05.
    """
    where = "cosine"
    lr0 = check_positive("lr0", lr0, where)
    t = _check_t(t, where)
    T = check_positive("T", T, where)
    lr_min = check_positive("lr_min", lr_min, where, allow_zero=True)
    if lr_min > lr0:
        raise ValueError(f"{where}: lr_min must not exceed lr0 = {lr0}; got {lr_min}")
    if t >= T:
        return lr_min
    return lr_min + 0.5 * (lr0 - lr_min) * (1 + math.cos(math.pi * t / T))


def linear_decay(lr0: float, t: float, T: float) -> float:
    """Linear decay from ``lr0`` at t = 0 to zero at t = T.

    ``α_t = α_0 · max(0, 1 − t/T)``.

    Taught in assignment 05.
    """
    where = "linear_decay"
    lr0 = check_positive("lr0", lr0, where)
    t = _check_t(t, where)
    T = check_positive("T", T, where)
    return lr0 * max(0.0, 1.0 - t / T)


def inverse_sqrt(lr0: float, t: float, warmup: float = 1) -> float:
    """Inverse-square-root decay without a horizon, flat for the first ``warmup`` steps.

    As in the Transformer recipe:
    ``α_t = α_0 · √(warmup / max(t, warmup))``: the rate stays at ``lr0`` up
    to step ``warmup`` and then decays as ``1/√t``, continuously. With the
    default ``warmup = 1`` this is exactly ``α_0/√t`` for t >= 1, and step
    t = 0 (where ``1/√t`` is undefined) gets ``lr0``. For a linear ramp
    before the decay wrap it: ``linear_warmup(lr0, t, w, after=lambda s:
    inverse_sqrt(lr0, s, warmup=w))``.

    Taught in assignment 05.
    """
    where = "inverse_sqrt"
    lr0 = check_positive("lr0", lr0, where)
    t = _check_t(t, where)
    warmup = check_positive("warmup", warmup, where)
    return lr0 * math.sqrt(warmup / max(t, warmup))


def linear_warmup(
    lr0: float,
    t: float,
    warmup_steps: float,
    after: Callable[[float], float] | None = None,
) -> float:
    """Linear warm-up to ``lr0`` over ``warmup_steps`` steps, then hand over to ``after``.

    ``α_t = α_0 · (t + 1) / warmup_steps`` for t < warmup_steps (so step 0
    already moves, and the last warm-up step uses the full ``lr0``); from
    t = warmup_steps on, ``after(t)`` (a schedule called with the *global*
    step t) or ``lr0`` when ``after`` is None. Pick an ``after`` with
    ``after(warmup_steps) ≈ lr0`` for a continuous hand-over, e.g.
    ``lambda s: cosine(lr0, s - warmup_steps, T - warmup_steps)``.

    Taught in assignment 05.
    """
    where = "linear_warmup"
    lr0 = check_positive("lr0", lr0, where)
    t = _check_t(t, where)
    warmup_steps = check_positive("warmup_steps", warmup_steps, where)
    if after is not None and not callable(after):
        raise ValueError(
            f"{where}: after must be a schedule callable t -> lr or None; got {after!r}"
        )
    if t < warmup_steps:
        return lr0 * min(1.0, (t + 1) / warmup_steps)
    return lr0 if after is None else float(after(t))


def scale_lr_for_batch(lr0: float, batch_size: int, base_batch_size: int) -> float:
    """Linear scaling rule: grow the learning rate in proportion to the batch size.

    ``α = α_0 · batch_size / base_batch_size`` (``lr0`` was tuned at ``base_batch_size``).

    Taught in assignment 05.
    """
    where = "scale_lr_for_batch"
    lr0 = check_positive("lr0", lr0, where)
    batch_size = check_count("batch_size", batch_size, where)
    base_batch_size = check_count("base_batch_size", base_batch_size, where)
    return lr0 * batch_size / base_batch_size


#: Schedules by the name :func:`make_schedule` accepts, with short aliases.
SCHEDULES: dict[str, Callable[..., float]] = {
    "constant": constant,
    "step_decay": step_decay,
    "step": step_decay,
    "cosine": cosine,
    "linear_decay": linear_decay,
    "linear": linear_decay,
    "inverse_sqrt": inverse_sqrt,
    "linear_warmup": linear_warmup,
    "warmup": linear_warmup,
}


class Schedule:
    """A schedule with its parameters bound: ``Schedule(cosine, 0.1, T=100)(t)``.

    Calling it with a step ``t`` returns the learning rate; ``name``, ``lr0``
    and ``kwargs`` say what it is (shown in the solver's progress output).
    """

    def __init__(self, func: Callable[..., float], lr0: float, **kwargs: Any) -> None:
        self.func, self.lr0, self.kwargs = func, lr0, dict(kwargs)
        self.name = getattr(func, "__name__", repr(func))

    def __call__(self, t: float) -> float:
        return float(self.func(self.lr0, t, **self.kwargs))

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.kwargs.items())
        return f"Schedule({self.name}, lr0={self.lr0!r}{args})"


def _bind(name: str, func: Callable[..., float], lr0: float, kwargs: dict[str, Any]) -> Schedule:
    """Build a Schedule, turning missing or unknown keyword arguments into ValueErrors."""
    params = [p for p in inspect.signature(func).parameters if p not in ("lr0", "t")]
    try:
        inspect.signature(func).bind(lr0, 0, **kwargs)
    except TypeError:
        raise ValueError(
            f"make_schedule: schedule {name!r} takes parameters {params}; got {sorted(kwargs)}"
        ) from None
    schedule = Schedule(func, lr0, **kwargs)
    schedule(0)  # validate every argument now rather than in the middle of training
    return schedule


def make_schedule(name: str | None, lr0: float, **kwargs: Any) -> Schedule:
    """Return a callable ``t -> learning rate`` for the schedule called ``name``.

    ``name`` is one of ``SCHEDULES`` (``None`` means constant) and ``kwargs``
    are that schedule's parameters, e.g. ``make_schedule("cosine", 0.1,
    T=100)``. For ``"linear_warmup"``, ``after`` may itself be a schedule
    name: the parameters the warm-up does not take go to it, so
    ``make_schedule("linear_warmup", 0.1, warmup_steps=5, after="cosine",
    T=100)`` ramps for 5 steps and then follows ``cosine(0.1, t, T=100)``.
    Every argument is validated here, not at the first call.

    Taught in assignment 05.
    """
    if name is None:
        name = "constant"
    if not isinstance(name, str) or name not in SCHEDULES:
        valid = ", ".join(repr(k) for k in SCHEDULES)
        raise ValueError(f"make_schedule: unknown schedule {name!r}; expected one of {valid}")
    func = SCHEDULES[name]
    if func is linear_warmup and isinstance(kwargs.get("after"), str):
        own = {k: kwargs.pop(k) for k in ("warmup_steps",) if k in kwargs}
        after_name = kwargs.pop("after")
        after = make_schedule(after_name, lr0, **kwargs)
        return _bind(name, func, lr0, {**own, "after": after})
    return _bind(name, func, lr0, kwargs)
