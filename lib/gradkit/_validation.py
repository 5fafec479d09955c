"""Input checks shared by every module.

Every public function validates what it is given and raises ``ValueError``
with a message naming what was expected and what came, e.g.::

    affine_forward: w must have shape (12, M) to match x with 12 features per row; got (10, 5)

These helpers keep those messages uniform. They never copy or modify the
arrays they are given (the numeric gradient checks rely on that).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

__all__ = [
    "as_array",
    "check_ndim",
    "check_shape",
    "check_same_shape",
    "check_labels",
    "check_probability",
    "check_positive",
    "check_count",
    "check_dout",
    "get_rng",
]


def _shape_str(shape: Sequence[object]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def as_array(name: str, value: npt.ArrayLike, where: str, *, floating: bool = True) -> np.ndarray:
    """Return ``value`` as an ndarray without copying when it already is one.

    With ``floating=True`` the result must have a real floating or integer
    dtype; integer and boolean arrays are converted to float64 (a new array,
    so the caller's data is never touched).
    """
    arr = np.asarray(value)
    if floating:
        if arr.dtype.kind in "biu":
            arr = arr.astype(np.float64)
        elif arr.dtype.kind != "f":
            raise ValueError(f"{where}: {name} must be a real numeric array; got dtype {arr.dtype}")
    return arr


def check_ndim(name: str, arr: np.ndarray, ndim: int | Iterable[int], where: str) -> None:
    """Raise unless ``arr.ndim`` equals ``ndim`` (an int or a tuple of allowed ints)."""
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(
            f"{where}: {name} must be {want}; got shape {_shape_str(arr.shape)} ({arr.ndim}-D)"
        )


def check_shape(
    name: str, arr: np.ndarray, expected: Iterable[int | None], where: str, why: str = ""
) -> None:
    """Raise unless ``arr.shape`` matches ``expected``; ``None`` in ``expected`` is a wildcard."""
    expected = tuple(expected)
    ok = arr.ndim == len(expected) and all(e is None or e == s for e, s in zip(expected, arr.shape))
    if not ok:
        want = "(" + ", ".join("*" if e is None else str(e) for e in expected)
        want += ",)" if len(expected) == 1 else ")"
        reason = f" {why}" if why else ""
        raise ValueError(
            f"{where}: {name} must have shape {want}{reason}; got {_shape_str(arr.shape)}"
        )


def check_same_shape(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray, where: str) -> None:
    """Raise unless ``a`` and ``b`` have the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{where}: {name_a} and {name_b} must have the same shape; "
            f"got {_shape_str(a.shape)} and {_shape_str(b.shape)}"
        )


def check_labels(y: npt.ArrayLike, num_examples: int, num_classes: int, where: str) -> np.ndarray:
    """Validate integer class labels ``y`` of shape ``(N,)`` with values in ``[0, C)``."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and y.size and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        elif y.size == 0 and y.dtype.kind == "f":
            y = y.astype(np.int64)
        else:
            raise ValueError(f"{where}: y must hold integer class labels; got dtype {y.dtype}")
    check_shape("y", y, (num_examples,), where, f"(one label per row of the {num_examples} scores)")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{where}: labels must lie in [0, {num_classes}); "
            f"got values from {y.min()} to {y.max()}"
        )
    return y


def check_probability(name: str, p: float, where: str, *, allow_zero: bool = False) -> float:
    """Raise unless ``0 < p <= 1`` (or ``0 <= p <= 1`` with ``allow_zero``)."""
    p = float(p)
    low_ok = p >= 0 if allow_zero else p > 0
    if not (low_ok and p <= 1):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{where}: {name} must lie in {interval}; got {p}")
    return p


def check_positive(name: str, value: float, where: str, *, allow_zero: bool = False) -> float:
    """Raise unless ``value > 0`` (or ``>= 0`` with ``allow_zero``)."""
    value = float(value)
    if not (value > 0 or (allow_zero and value == 0)) or not np.isfinite(value):
        want = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{where}: {name} must be {want} finite number; got {value}")
    return value


@overload
def check_count(
    name: str, value: Any, where: str, *, minimum: int = ..., optional: Literal[False] = ...
) -> int: ...
@overload
def check_count(
    name: str, value: Any, where: str, *, minimum: int = ..., optional: bool
) -> int | None: ...
def check_count(
    name: str, value: Any, where: str, *, minimum: int = 1, optional: bool = False
) -> int | None:
    """Return ``value`` as an int, raising unless it is an integer ``>= minimum``.

    Integral floats (``3.0``) are accepted; booleans are not. With
    ``optional=True``, ``None`` is returned unchanged.
    """
    if optional and value is None:
        return None
    ok = not isinstance(value, bool)
    try:
        ok = ok and float(value).is_integer() and value >= minimum
    except (TypeError, ValueError):
        ok = False
    if not ok:
        want = {0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}"
        )
        raise ValueError(
            f"{where}: {name} must be {want}{' or None' if optional else ''}; got {value!r}"
        )
    return int(value)


def check_dout(dout: npt.ArrayLike, shape: Iterable[int | None], where: str) -> np.ndarray:
    """Return the upstream gradient ``dout`` as a float array of the forward output's ``shape``."""
    dout = as_array("dout", dout, where)
    check_shape("dout", dout, shape, where, "(the shape of the forward output)")
    return dout


def get_rng(rng: np.random.Generator | None = None, seed: int | None = None) -> np.random.Generator:
    """Return a Generator from an explicit ``rng`` or ``seed``; never the global state.

    With neither given a fresh, OS-seeded generator is returned (results then
    differ between calls, which is what an unseeded call means).
    """
    if rng is not None and seed is not None:
        raise ValueError("pass either rng or seed, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise ValueError(
                f"rng must be a numpy.random.Generator (np.random.default_rng(seed)); "
                f"got {type(rng).__name__}"
            )
        return rng
    return np.random.default_rng(seed)
