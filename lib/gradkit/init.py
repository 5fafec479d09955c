"""Weight and bias initialization.

Taught in assignment 03 (setting up the data and the model).

Every weight initializer has the signature
``init(fan_in, fan_out, rng, ..., dtype=np.float64) -> w (fan_in, fan_out)``
for an affine layer ``x (N, fan_in) @ w (fan_in, fan_out)``. ``rng`` is a
``np.random.Generator`` (or an int seed for ``np.random.default_rng``); the
global numpy random state is never used, and the same seed gives the same
weights. Values are drawn in float64 and then cast to ``dtype``, so a float32
model gets the same numbers (rounded) as a float64 one.

Why the scales: a unit computes ``s = Σ_i w_i x_i`` over ``n = fan_in``
inputs, so with independent zero-mean ``w`` and ``x``,
``Var(s) = n · Var(w) · Var(x)``. ``Var(w) = 1/n`` keeps the variance of the
scores equal to that of the inputs (calibrated); ReLU zeroes half of its
inputs, which ``Var(w) = 2/n`` compensates (He).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = [
    "zeros_init",
    "small_random_init",
    "calibrated_init",
    "xavier_init",
    "he_init",
    "sparse_init",
    "bias_init",
    "get_initializer",
    "INITIALIZERS",
]


def _fans(fan_in: int, fan_out: int, where: str) -> tuple[int, int]:
    for name, value in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{where}: {name} must be a positive int; got {value!r}")
        if value < 1:
            raise ValueError(f"{where}: {name} must be a positive int; got {value}")
    return int(fan_in), int(fan_out)


def _rng(rng: np.random.Generator | int, where: str) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError(
        f"{where}: rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)) "
        f"or a non-negative int seed; got {rng!r}"
    )


def _dtype(dtype: npt.DTypeLike, where: str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise ValueError(
            f"{where}: dtype must be a floating dtype such as np.float64; got {dtype!r}"
        )
    return dt


def _gaussian(
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator | int,
    std: float,
    dtype: npt.DTypeLike,
    where: str,
) -> np.ndarray:
    fan_in, fan_out = _fans(fan_in, fan_out, where)
    dtype = _dtype(dtype, where)
    rng = _rng(rng, where)
    return (std * rng.standard_normal((fan_in, fan_out))).astype(dtype, copy=False)


def zeros_init(
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator | int | None = None,
    *,
    dtype: npt.DTypeLike = np.float64,
) -> np.ndarray:
    """All-zero weights: ``w = 0``. Do not use for hidden layers.

    Every hidden unit then computes the same output and receives the same
    gradient, so the units stay identical forever (symmetry is never broken).
    ``rng`` is accepted for a uniform signature and ignored.

    Shapes: -> w (fan_in, fan_out). Taught in assignment 03.
    """
    fan_in, fan_out = _fans(fan_in, fan_out, "zeros_init")
    return np.zeros((fan_in, fan_out), dtype=_dtype(dtype, "zeros_init"))


def small_random_init(
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator | int,
    scale: float = 0.01,
    *,
    dtype: npt.DTypeLike = np.float64,
) -> np.ndarray:
    """Small Gaussian weights: ``w ~ scale · N(0, 1)`` (scale 0.01).

    Breaks symmetry, but in a deep net the activations (and so the gradients)
    shrink by about ``scale·√fan_in`` per layer and vanish.

    Shapes: -> w (fan_in, fan_out). Taught in assignment 03.
    """
    where = "small_random_init"
    if not isinstance(scale, numbers.Real) or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"{where}: scale must be a positive finite number; got {scale!r}")
    return _gaussian(fan_in, fan_out, rng, float(scale), dtype, where)


def calibrated_init(
    fan_in: int, fan_out: int, rng: np.random.Generator | int, *, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """Calibrated weights: ``w = N(0, 1) / √fan_in``, so ``Var(w) = 1/fan_in``.

    Keeps ``Var(s) = fan_in · Var(w) · Var(x) = Var(x)`` for a linear unit.

    Shapes: -> w (fan_in, fan_out). Taught in assignment 03.
    """
    fan_in, fan_out = _fans(fan_in, fan_out, "calibrated_init")
    return _gaussian(fan_in, fan_out, rng, 1.0 / np.sqrt(fan_in), dtype, "calibrated_init")


def xavier_init(
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator | int,
    mode: str = "avg",
    *,
    dtype: npt.DTypeLike = np.float64,
) -> np.ndarray:
    """Xavier/Glorot weights: Gaussian with ``Var(w) = 2/(fan_in + fan_out)``.

    ``mode='avg'`` balances the forward (``1/fan_in``) and backward
    (``1/fan_out``) variance conditions; ``mode='in'`` uses ``Var(w) = 1/fan_in``
    (the same as :func:`calibrated_init`). Suited to tanh and sigmoid units.

    Shapes: -> w (fan_in, fan_out). Taught in assignment 03.
    """
    where = "xavier_init"
    fan_in, fan_out = _fans(fan_in, fan_out, where)
    if mode == "avg":
        var = 2.0 / (fan_in + fan_out)
    elif mode == "in":
        var = 1.0 / fan_in
    else:
        raise ValueError(f"{where}: mode must be 'avg' or 'in'; got {mode!r}")
    return _gaussian(fan_in, fan_out, rng, np.sqrt(var), dtype, where)


def he_init(
    fan_in: int, fan_out: int, rng: np.random.Generator | int, *, dtype: npt.DTypeLike = np.float64
) -> np.ndarray:
    """He (Kaiming) weights for ReLU: ``w = N(0, 1) · √(2/fan_in)``, ``Var(w) = 2/fan_in``.

    The factor 2 makes up for ReLU zeroing half of its inputs.

    Shapes: -> w (fan_in, fan_out). Taught in assignment 03.
    """
    fan_in, fan_out = _fans(fan_in, fan_out, "he_init")
    return _gaussian(fan_in, fan_out, rng, np.sqrt(2.0 / fan_in), dtype, "he_init")


def sparse_init(
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator | int,
    num_nonzero: int | None = None,
    scale: float = 0.01,
    *,
    dtype: npt.DTypeLike = np.float64,
) -> np.ndarray:
    """Sparse weights: each unit is connected to ``num_nonzero`` random inputs.

    Column ``j`` (the incoming weights of output unit ``j``) has exactly
    ``num_nonzero`` entries drawn from ``scale · N(0, 1)`` at rows chosen
    without replacement; every other entry is exactly 0. Default
    ``num_nonzero = min(10, fan_in)``.

    Shapes: -> w (fan_in, fan_out). Taught in assignment 03.
    """
    where = "sparse_init"
    fan_in, fan_out = _fans(fan_in, fan_out, where)
    if num_nonzero is None:
        k = min(10, fan_in)
    elif (
        isinstance(num_nonzero, (bool, np.bool_))
        or not isinstance(num_nonzero, numbers.Integral)
        or not 1 <= num_nonzero <= fan_in
    ):
        raise ValueError(
            f"{where}: num_nonzero must be an int in [1, fan_in={fan_in}]; got {num_nonzero!r}"
        )
    else:
        k = int(num_nonzero)
    if not isinstance(scale, numbers.Real) or not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"{where}: scale must be a positive finite number; got {scale!r}")
    dtype = _dtype(dtype, where)
    rng = _rng(rng, where)
    # For each column, the k rows with the smallest uniform keys: k distinct rows.
    rows = np.argsort(rng.random((fan_in, fan_out)), axis=0)[:k]
    cols = np.broadcast_to(np.arange(fan_out), rows.shape)
    w = np.zeros((fan_in, fan_out))
    w[rows, cols] = scale * rng.standard_normal((k, fan_out))
    return w.astype(dtype, copy=False)


def bias_init(n: int, value: float = 0.0, *, dtype: npt.DTypeLike = np.float64) -> np.ndarray:
    """Constant biases ``b = value``: 0 is the usual choice, 0.01 is sometimes used for ReLU.

    A small positive bias makes every ReLU unit fire at the start; symmetry is
    broken by the weights, so a constant bias is fine.

    Shapes: -> b (n,). Taught in assignment 03.
    """
    where = "bias_init"
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{where}: n must be a positive int; got {n!r}")
    if not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{where}: value must be a finite number; got {value!r}")
    return np.full(int(n), float(value), dtype=_dtype(dtype, where))


#: Name -> weight initializer, as accepted by :func:`get_initializer`.
INITIALIZERS: dict[str, Callable[..., np.ndarray]] = {
    "zeros": zeros_init,
    "small": small_random_init,
    "calibrated": calibrated_init,
    "xavier": xavier_init,
    "he": he_init,
    "sparse": sparse_init,
}


def get_initializer(name: str) -> Callable[..., np.ndarray]:
    """Look up a weight initializer by name.

    Valid names: 'zeros', 'small', 'calibrated', 'xavier', 'he', 'sparse'
    (case-insensitive). Returns the function itself, called as
    ``init(fan_in, fan_out, rng, ...)``.

    Taught in assignment 03.
    """
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in INITIALIZERS:
        valid = ", ".join(repr(k) for k in INITIALIZERS)
        raise ValueError(f"get_initializer: unknown initializer {name!r}; valid names: {valid}")
    return INITIALIZERS[key]
