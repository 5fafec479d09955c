"""Probe functions a spec can pass as an argument, e.g. the ``f`` of a numeric gradient.

A function cannot cross the bridge to a student's kernel, so a spec names a
probe (``Fn.of("exp", a=3.0)``) and each side builds it from this table. A
built probe records the shape of every argument it is called with, so a
check can see how the student's code called it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .spec import Fn

__all__ = ["PROBES", "Probe", "build"]


def _cubic(x: np.ndarray) -> float:
    """Σ x³ + Σ x·sin(x): smooth, with a third derivative large enough that a one-sided
    difference (error ∝ h) is visibly worse than a centred one (error ∝ h²)."""
    return float(np.sum(x**3) + np.sum(np.sin(x) * x))


def _exp(x: np.ndarray, a: float = 1.0) -> float:
    """Σ exp(a·x): a second derivative a²·exp(a·x) makes an O(h) error visible."""
    return float(np.sum(np.exp(a * x)))


def _quadratic(x: np.ndarray) -> float:
    """½ Σ x²: the simplest smooth probe, gradient x."""
    return float(0.5 * np.sum(x * x))


#: Probe name -> function of an array (plus the Fn's keyword parameters).
PROBES: dict[str, Callable[..., float]] = {
    "cubic": _cubic,
    "exp": _exp,
    "quadratic": _quadratic,
}


class Probe:
    """A callable built from an :class:`~gradkit.grading.spec.Fn`; logs argument shapes."""

    def __init__(self, fn: Fn):
        if fn.name not in PROBES:
            raise ValueError(f"unknown probe {fn.name!r}; known: {sorted(PROBES)}")
        self._func = PROBES[fn.name]
        self._params = dict(fn.params)
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, x: Any) -> float:
        self.shapes.append(tuple(int(s) for s in np.shape(x)))
        return self._func(np.asarray(x, dtype=np.float64), **self._params)


def build(fn: Fn) -> Probe:
    return Probe(fn)
