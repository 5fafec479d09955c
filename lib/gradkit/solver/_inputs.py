"""Argument checks of :class:`gradkit.solver.Solver` (kept apart so solver.py reads as the loop).

Taught in assignment 05 (with the Solver).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import as_array

DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")

#: What ``Solver(lr_schedule=...)`` accepts: None, a name, a (name, kwargs) pair or ``t -> lr``.
LRSchedule = str | tuple[str, dict[str, Any]] | Callable[[int], float] | None


def check_data(data: object) -> dict[str, np.ndarray]:
    """Validate the Solver's data dict; return its four arrays (no copies)."""
    where = "Solver"
    if not isinstance(data, dict):
        raise ValueError(
            f"{where}: data must be a dict with keys {DATA_KEYS}; got {type(data).__name__}"
        )
    missing = [k for k in DATA_KEYS if k not in data]
    if missing:
        raise ValueError(f"{where}: data is missing keys {missing}; expected {list(DATA_KEYS)}")
    out = {}
    for split in ("train", "val"):
        X = as_array(f"X_{split}", data[f"X_{split}"], where)
        y = np.asarray(data[f"y_{split}"])
        if X.ndim < 2 or X.shape[0] == 0:
            raise ValueError(
                f"{where}: X_{split} must have shape (N, D) with N >= 1; got {X.shape}"
            )
        if y.shape != (X.shape[0],):
            raise ValueError(
                f"{where}: y_{split} must have shape ({X.shape[0]},) to match X_{split} of shape "
                f"{X.shape}; got {y.shape}"
            )
        if y.dtype.kind not in "iu":
            raise ValueError(f"{where}: y_{split} must hold integer labels; got dtype {y.dtype}")
        out[f"X_{split}"], out[f"y_{split}"] = X, y
    if out["X_train"].shape[1:] != out["X_val"].shape[1:]:
        raise ValueError(
            f"{where}: X_train and X_val must have the same shape per example; got "
            f"{out['X_train'].shape} and {out['X_val'].shape}"
        )
    return out


def norm_state(model: Any) -> list[dict[str, np.ndarray]]:
    """Copies of the batch-norm running statistics that go with the current params."""
    return [
        {k: np.array(bn[k], copy=True) for k in ("running_mean", "running_var") if k in bn}
        for bn in getattr(model, "bn_params", None) or []
    ]


def check_schedule(lr_schedule: LRSchedule) -> LRSchedule:
    """Accept None, a schedule name, a (name, kwargs) pair or a callable ``t -> lr``."""
    ok = (
        lr_schedule is None
        or callable(lr_schedule)
        or isinstance(lr_schedule, str)
        or (
            isinstance(lr_schedule, (tuple, list))
            and len(lr_schedule) == 2
            and isinstance(lr_schedule[0], str)
            and isinstance(lr_schedule[1], dict)
        )
    )
    if not ok:
        raise ValueError(
            "Solver: lr_schedule must be None, a schedule name, a (name, kwargs) pair or a "
            f"callable t -> lr; got {lr_schedule!r}"
        )
    return lr_schedule
