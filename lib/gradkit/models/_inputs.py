"""Argument and batch checks shared by the models (private)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_labels

__all__ = ["check_inputs", "num_classes"]


def check_inputs(
    X: npt.ArrayLike, y: npt.ArrayLike | None, params: Mapping[str, np.ndarray], where: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate a batch against the first weight matrix; return (X, y)."""
    X = as_array("X", X, where)
    if X.ndim < 2:
        raise ValueError(
            f"{where}: X must have shape (N, D) or (N, d1, ..., dk); got {X.shape} ({X.ndim}-D)"
        )
    D, C = params["W1"].shape[0], num_classes(params)
    features = int(np.prod(X.shape[1:]))
    if features != D:
        raise ValueError(
            f"{where}: X must have {D} features per row to match W1 of shape "
            f"{params['W1'].shape}; got X of shape {X.shape} ({features} features per row)"
        )
    if y is not None:
        y = check_labels(y, X.shape[0], C, where)
    return X, y


def num_classes(params: Mapping[str, np.ndarray]) -> int:
    last = max(int(k[1:]) for k in params if k.startswith("W") and k[1:].isdigit())
    return params[f"W{last}"].shape[1]
