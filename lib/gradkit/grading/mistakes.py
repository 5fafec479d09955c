"""Builders for classic mistakes that many graded functions share.

Each builder takes a reference ``f(..., reg) -> (loss, grad)`` (``grad`` an
array or a dict of arrays) and returns a function with the same signature
that makes one mistake, computed from the reference itself: the mistake is
defined by what it does to the result, so it is right for every function
it is applied to. Spec modules add their function-specific mistakes
(written out in full) next to these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "without_mean",
    "without_mean_in_grad",
    "reg_missing_in_grad",
    "reg_missing_in_loss",
    "reg_without_half",
    "reg_twice_in_grad",
]

LossFn = Callable[..., tuple[float, Any]]


def _lin(a: Any, b: Any, fa: float, fb: float) -> Any:
    """fa·a + fb·b for arrays, or key by key for dicts."""
    if isinstance(a, dict):
        return {k: _lin(a[k], b[k], fa, fb) for k in a}
    return fa * np.asarray(a) + fb * np.asarray(b)


def _at_reg(f: LossFn, args: tuple, kwargs: dict, reg: float, reg_at: int | str):
    if isinstance(reg_at, int) and len(args) > reg_at:
        args = (*args[:reg_at], reg, *args[reg_at + 1 :])
    else:
        kwargs = {**kwargs, "reg" if isinstance(reg_at, int) else reg_at: reg}
    return f(*args, **kwargs)


def _split(f: LossFn, reg_at: int | str, args: tuple, kwargs: dict):
    """(loss, grad) with the caller's reg and with reg = 0."""
    with_reg = f(*args, **kwargs)
    without = _at_reg(f, args, kwargs, 0.0, reg_at)
    return with_reg, without


def without_mean(f: LossFn, n_at: int = 1, reg_at: int | str = 3) -> LossFn:
    """Loss and gradient summed over the N examples instead of averaged."""

    def wrong(*args: Any, **kwargs: Any):
        (loss_r, g_r), (loss_0, g_0) = _split(f, reg_at, args, kwargs)
        n = len(args[n_at])
        return n * loss_0 + (loss_r - loss_0), _lin(g_0, _lin(g_r, g_0, 1, -1), n, 1)

    return wrong


def without_mean_in_grad(f: LossFn, n_at: int = 1, reg_at: int | str = 3) -> LossFn:
    """The loss averaged over N, its gradient summed."""

    def wrong(*args: Any, **kwargs: Any):
        (loss_r, g_r), (loss_0, g_0) = _split(f, reg_at, args, kwargs)
        n = len(args[n_at])
        return loss_r, _lin(g_0, _lin(g_r, g_0, 1, -1), n, 1)

    return wrong


def reg_missing_in_grad(f: LossFn, reg_at: int | str = 3) -> LossFn:
    """The penalty is in the loss but its gradient is missing."""

    def wrong(*args: Any, **kwargs: Any):
        (loss_r, _), (_, g_0) = _split(f, reg_at, args, kwargs)
        return loss_r, g_0

    return wrong


def reg_missing_in_loss(f: LossFn, reg_at: int | str = 3) -> LossFn:
    """The gradient has the penalty term but the loss does not."""

    def wrong(*args: Any, **kwargs: Any):
        (_, g_r), (loss_0, _) = _split(f, reg_at, args, kwargs)
        return loss_0, g_r

    return wrong


def reg_without_half(f: LossFn, reg_at: int | str = 3) -> LossFn:
    """The penalty written reg·Σw² (no ½), while the gradient stays reg·w."""

    def wrong(*args: Any, **kwargs: Any):
        (loss_r, g_r), (loss_0, _) = _split(f, reg_at, args, kwargs)
        return loss_0 + 2 * (loss_r - loss_0), g_r

    return wrong


def reg_twice_in_grad(f: LossFn, reg_at: int | str = 3) -> LossFn:
    """The penalty's gradient added twice (e.g. inside the loop and again after it)."""

    def wrong(*args: Any, **kwargs: Any):
        (loss_r, g_r), (_, g_0) = _split(f, reg_at, args, kwargs)
        return loss_r, _lin(g_r, g_0, 2, -1)

    return wrong
