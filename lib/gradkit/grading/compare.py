"""How the grader compares what a student's function returned with what was expected.

Plain functions on plain data (arrays, numbers, tuples, dicts), used by the
engine on both sides of the bridge and by the library tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["close", "deep_equal", "describe_diff", "summarize"]


def deep_equal(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` hold the same arrays (shape, dtype, bits) in the same structure.

    Arrays are compared exactly (NaN equals NaN); dicts by keys and values,
    lists and tuples item by item; any other object counts as equal (a
    cache or a callable is not data the grader can compare).
    """
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        )
    if isinstance(a, dict):
        return (
            isinstance(b, dict) and a.keys() == b.keys() and all(deep_equal(a[k], b[k]) for k in a)
        )
    if isinstance(a, (list, tuple)):
        return (
            isinstance(b, (list, tuple))
            and len(a) == len(b)
            and all(deep_equal(x, y) for x, y in zip(a, b))
        )
    return True


def _as_float_array(value: Any) -> np.ndarray | None:
    if isinstance(value, (str, bytes, dict)) or value is None:
        return None
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def close(got: Any, expected: Any, rtol: float, atol: float = 0.0) -> bool:
    """True when ``got`` has ``expected``'s shape and agrees within ``atol + rtol·|expected|``.

    Non-finite values never agree (a loss of NaN is wrong even next to NaN).
    """
    g, e = _as_float_array(got), _as_float_array(expected)
    if g is None or e is None or g.shape != e.shape:
        return False
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(e))):
        return False
    return bool(np.all(np.abs(g - e) <= atol + rtol * np.abs(e)))


def summarize(value: Any) -> str:
    """A short description of a value: its type, shape and dtype, never its numbers."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} ({value.dtype})"
    if isinstance(value, (bool, np.bool_)):
        return f"bool {bool(value)}"
    if isinstance(value, (int, float, np.number)):
        return type(value).__name__
    if isinstance(value, tuple):
        return f"tuple of {len(value)}"
    if isinstance(value, list):
        return f"list of {len(value)}"
    if isinstance(value, dict):
        return f"dict with keys {sorted(map(str, value))[:6]}"
    return type(value).__name__


def describe_diff(got: Any, expected: Any) -> str:
    """One short phrase saying how ``got`` differs from ``expected``."""
    g, e = _as_float_array(got), _as_float_array(expected)
    if g is None:
        return f"expected a number or an array, got {summarize(got)}"
    if e is None:
        return f"got {summarize(got)}"
    if g.shape != e.shape:
        return f"expected shape {e.shape}, got {g.shape}"
    if not np.all(np.isfinite(g)):
        return "got non-finite values (nan or inf)"
    if g.ndim == 0:
        return f"expected {float(e):.6g}, got {float(g):.6g}"
    if g.size == 0:
        return "both are empty"
    err = np.abs(g - e)
    i = np.unravel_index(int(np.argmax(err)), err.shape)
    where = tuple(int(k) for k in i)
    return f"largest difference at index {where}: expected {e[i]:.6g}, got {g[i]:.6g}"
