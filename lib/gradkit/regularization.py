"""Weight penalties (L2, L1, elastic net) and the max-norm constraint.

Taught in assignment 01 (section 7, why a loss needs a regularizer) and
assignment 04 (regularization, graded there).

Conventions used everywhere in gradkit:

* L2 is ``½·reg·Σw²`` with gradient ``reg·w`` -- the ½ makes the gradient a
  plain linear weight decay.
* Biases (and batch/layer-norm ``gamma``/``beta``) are not regularized: the
  penalties below take one weight array; :func:`penalty_over_params` sums a
  penalty over a params dict and skips those names.

Every penalty returns ``(penalty, grad)``: a Python float and an array with
the shape and floating dtype of ``w``. Nothing here modifies its inputs.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import cast

import numpy as np
import numpy.typing as npt

from ._validation import as_array, check_positive

__all__ = [
    "l2_penalty",
    "l1_penalty",
    "elastic_net_penalty",
    "penalty_over_params",
    "max_norm_project",
    "UNREGULARIZED_PREFIXES",
]

#: Parameter names starting with one of these are never penalized: biases
#: (``b``, ``b1``, ...) and the batch/layer-norm scale and shift (``gamma1``,
#: ``beta1``, ...).
UNREGULARIZED_PREFIXES = ("b", "gamma", "beta")


def _number(name: str, value: object, where: str, *, allow_zero: bool) -> float:
    """A real, finite, positive (or non-negative) number; strings and bools are refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        want = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{where}: {name} must be {want} finite number; got {value!r}")
    return check_positive(name, cast(float, value), where, allow_zero=allow_zero)


def _strength(name: str, value: object, where: str) -> float:
    return _number(name, value, where, allow_zero=True)


def l2_penalty(w: npt.ArrayLike, reg: float) -> tuple[float, np.ndarray]:
    """L2 penalty ``½·reg·Σw²`` and its gradient ``reg·w``.

    Regularization is ½·reg·Σw² everywhere in gradkit (gradient reg·w); pass a
    weight matrix only -- biases are not regularized.

    Shapes: w (any) -> (penalty float, grad same shape as w).
    Taught in assignments 01 and 04.
    """
    where = "l2_penalty"
    w = as_array("w", w, where)
    reg = _strength("reg", reg, where)
    penalty = 0.5 * reg * float(np.sum(w.astype(np.float64) ** 2))
    return penalty, w * w.dtype.type(reg)


def l1_penalty(w: npt.ArrayLike, reg: float) -> tuple[float, np.ndarray]:
    """L1 penalty ``reg·Σ|w|`` and its (sub)gradient ``reg·sign(w)``.

    Drives many weights to exactly zero (sparse weights). At ``w = 0`` the
    subgradient 0 is used. Pass a weight matrix only -- biases are not
    regularized.

    Shapes: w (any) -> (penalty float, grad same shape as w).
    Taught in assignment 04.
    """
    where = "l1_penalty"
    w = as_array("w", w, where)
    reg = _strength("reg", reg, where)
    penalty = reg * float(np.sum(np.abs(w.astype(np.float64))))
    return penalty, np.sign(w) * w.dtype.type(reg)


def elastic_net_penalty(w: npt.ArrayLike, l1: float, l2: float) -> tuple[float, np.ndarray]:
    """Elastic net ``l1·Σ|w| + ½·l2·Σw²`` and its gradient ``l1·sign(w) + l2·w``.

    Convention: the L2 part carries the same ½ as :func:`l2_penalty`, so
    ``elastic_net_penalty(w, 0, reg) == l2_penalty(w, reg)``; the textbook form
    ``λ1|w| + λ2·w²`` corresponds to ``l1 = λ1``, ``l2 = 2·λ2``. Pass a weight
    matrix only -- biases are not regularized.

    Shapes: w (any) -> (penalty float, grad same shape as w).
    Taught in assignment 04.
    """
    where = "elastic_net_penalty"
    w = as_array("w", w, where)
    l1 = _strength("l1", l1, where)
    l2 = _strength("l2", l2, where)
    w64 = w.astype(np.float64)
    penalty = l1 * float(np.sum(np.abs(w64))) + 0.5 * l2 * float(np.sum(w64**2))
    grad = np.sign(w) * w.dtype.type(l1) + w * w.dtype.type(l2)
    return penalty, grad


def penalty_over_params(
    params: Mapping[str, npt.ArrayLike],
    reg: float | Sequence[float],
    kind: str = "l2",
    skip: str | Iterable[str] = UNREGULARIZED_PREFIXES,
) -> tuple[float, dict[str, np.ndarray]]:
    """Sum one penalty over the weight arrays of a params dict, skipping biases.

    ``total = Σ_k penalty(params[k])`` over every name ``k`` that does not start
    with a prefix in ``skip`` (default: ``b``, ``gamma``, ``beta`` -- biases and
    normalization parameters are not regularized). ``kind`` is ``'l2'``
    (½·reg·Σw², gradient reg·w, gradkit's convention), ``'l1'``, or
    ``'elastic_net'`` with ``reg = (l1, l2)``. Returns ``(total, grads)`` where
    ``grads`` holds the penalty gradient for the penalized names only, ready
    to add to a model's data-loss gradients.

    Shapes: params {name: array} -> (total float, {name: array}).
    Taught in assignment 04.
    """
    where = "penalty_over_params"
    if not isinstance(params, Mapping):
        raise ValueError(
            f"{where}: params must be a dict of name -> array; got {type(params).__name__}"
        )
    skip = (skip,) if isinstance(skip, str) else tuple(skip)
    strengths: tuple[float, ...]
    penalty: Callable[..., tuple[float, np.ndarray]]
    if kind == "l2":
        strengths = (_strength("reg", reg, where),)
        penalty = l2_penalty
    elif kind == "l1":
        strengths = (_strength("reg", reg, where),)
        penalty = l1_penalty
    elif kind == "elastic_net":
        pair = cast(Sequence[float], reg)  # a scalar reg fails the np.ndim test first
        if isinstance(reg, (str, bytes)) or np.ndim(reg) != 1 or len(pair) != 2:
            raise ValueError(
                f"{where}: kind='elastic_net' needs reg = (l1, l2), a pair of strengths; "
                f"got {reg!r}"
            )
        strengths = (
            _strength("reg[0] (l1)", pair[0], where),
            _strength("reg[1] (l2)", pair[1], where),
        )
        penalty = elastic_net_penalty
    else:
        raise ValueError(f"{where}: kind must be one of 'l2', 'l1', 'elastic_net'; got {kind!r}")
    total = 0.0
    grads: dict[str, np.ndarray] = {}
    for name, value in params.items():
        if str(name).startswith(skip):
            continue
        value = as_array(f"params[{name!r}]", value, where)
        pen, grad = penalty(value, *strengths)
        total += pen
        grads[name] = grad
    return total, grads


def max_norm_project(w: npt.ArrayLike, c: float, axis: int = 0) -> np.ndarray:
    """Clamp each neuron's weight vector to Euclidean norm at most ``c`` (c ≈ 3–4).

    ``w_j ← w_j · min(1, c / ‖w_j‖₂)``, applied after each parameter update.
    With ``w (D, M)`` the incoming weights of unit ``j`` are column ``j``, so the
    norm is taken over ``axis=0`` by default (``axis=1`` clamps rows). Vectors
    already within ``c`` are returned unchanged, bit for bit. Returns a NEW
    array; ``w`` is not modified.

    Shapes: w (D, M) -> w_projected (D, M). Taught in assignment 04.
    """
    where = "max_norm_project"
    w = as_array("w", w, where)
    c = _number("c", c, where, allow_zero=False)
    if w.ndim < 1:
        raise ValueError(f"{where}: w must be an array of weight vectors; got a scalar")
    if (
        isinstance(axis, bool)
        or not isinstance(axis, (int, np.integer))
        or not (-w.ndim <= axis < w.ndim)
    ):
        raise ValueError(
            f"{where}: axis must be an int in [{-w.ndim}, {w.ndim}) for w of shape {w.shape}; "
            f"got {axis!r}"
        )
    norms = np.sqrt(np.sum(w.astype(np.float64) ** 2, axis=axis, keepdims=True))
    too_long = norms > c
    scale = np.where(too_long, c / np.where(too_long, norms, 1.0), 1.0)
    return np.where(too_long, w * scale.astype(w.dtype), w)
