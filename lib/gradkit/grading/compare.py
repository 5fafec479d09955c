"""How the grader compares what a student's function returned with what was expected.

Plain functions on plain data (arrays, numbers, tuples, dicts), used by the
engine on both sides of the bridge and by the library tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["close", "deep_equal", "describe_diff", "non_finite", "summarize"]


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
    """``value`` as a float64 array, or None when it is not numbers (complex values are not:
    no graded function returns them)."""
    if isinstance(value, (str, bytes, dict, complex, np.complexfloating)) or value is None:
        return None
    if isinstance(value, np.ndarray) and value.dtype.kind not in "biuf":
        return None
    try:
        with np.errstate(all="ignore"):
            arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    except Exception:  # an object whose own conversion fails in another way
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


def non_finite(value: Any) -> bool:
    """True when ``value`` is numbers of which some are nan or infinite."""
    arr = _as_float_array(value)
    return arr is not None and not bool(np.all(np.isfinite(arr)))


def summarize(value: Any) -> str:
    """A short description of a value: its type, shape and dtype, never its numbers."""
    from .codec import Opaque

    if isinstance(value, Opaque):
        return value.kind
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} ({value.dtype})"
    if isinstance(value, (bool, np.bool_)):
        return "a bool"
    if isinstance(value, np.generic):
        return f"a numpy {value.dtype}"
    if isinstance(value, (int, float, complex)):
        return f"a {type(value).__name__}"
    if value is None:
        return "None"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))[:6]}"
    if isinstance(value, str):
        return "a str"
    return f"an object of type {type(value).__name__}"


def _expected(value: Any) -> str:
    """What the reference returned, in words (a shape, never numbers)."""
    e = _as_float_array(value)
    if e is not None and e.ndim == 0:
        return "a number"
    if e is not None:
        return f"an array of shape {e.shape}"
    return summarize(value)


def _non_finite(g: np.ndarray, what: str) -> str:
    """How a value that should be finite is not: "your loss is inf for these inputs"."""
    name = f"your {what}" if what and what != "value" else "your function's result"
    if g.ndim == 0:
        return f"{name} is {float(g)} for these inputs"
    bad = ~np.isfinite(g)
    first = tuple(int(k) for k in np.argwhere(bad)[0])
    kinds = sorted({str(float(v)) for v in g[bad].ravel()[:1000]})
    return (
        f"{name} has {int(bad.sum())} of {g.size} entries that are not finite "
        f"({', '.join(kinds)}; the first at index {first}) for these inputs"
    )


def describe_diff(got: Any, expected: Any, what: str = "") -> str:
    """One short phrase saying how ``got`` differs from ``expected`` (``what`` names it)."""
    g, e = _as_float_array(got), _as_float_array(expected)
    if g is None:
        return f"returned {summarize(got)}; expected {_expected(expected)}"
    if e is None:
        return f"got {summarize(got)}"
    if g.shape != e.shape:
        return f"expected shape {e.shape}, got {g.shape}"
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(e)):
        return _non_finite(g, what)
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
