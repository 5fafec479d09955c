"""The first-order update rules, each ``rule(w, dw, config=None) -> (next_w, config)``.

See :mod:`gradkit.optim` for the config keys and defaults. Taught in assignment 05.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_positive, check_same_shape

__all__ = [
    "sgd",
    "sgd_momentum",
    "nesterov_momentum",
    "adagrad",
    "rmsprop",
    "adam",
    "get_update_rule",
    "UPDATE_RULES",
]

#: The signature every rule shares: ``rule(w, dw, config) -> (next_w, config)``.
UpdateRule = Callable[[np.ndarray, np.ndarray, dict[str, Any]], tuple[np.ndarray, dict[str, Any]]]


def _start(
    w: npt.ArrayLike,
    dw: npt.ArrayLike,
    config: dict[str, Any] | None,
    where: str,
    defaults: dict[str, float],
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Validate ``w``/``dw``; return float arrays of one dtype and a filled copy of config."""
    w = as_array("w", w, where)
    dw = as_array("dw", dw, where)
    check_same_shape("w", w, "dw", dw, where)
    if config is None:
        config = {}
    elif not isinstance(config, dict):
        raise ValueError(f"{where}: config must be a dict or None; got {type(config).__name__}")
    config = dict(config)  # shallow copy: the caller's dict is left as it was
    for key, value in defaults.items():
        config.setdefault(key, value)
    check_positive("learning_rate", config["learning_rate"], where)
    dtype = np.float32 if w.dtype == np.float32 else np.float64
    return w.astype(dtype, copy=False), dw.astype(dtype, copy=False), config


def _rate(config: dict[str, Any], key: str, where: str) -> float:
    """Read a decay rate that must lie in [0, 1)."""
    value = float(config[key])
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{where}: {key} must lie in [0, 1); got {value}")
    return value


def _state(config: dict[str, Any], key: str, w: np.ndarray, where: str) -> np.ndarray:
    """Return the state array ``config[key]`` (zeros when absent) checked against ``w``."""
    value = config.get(key)
    if value is None:
        return np.zeros_like(w)
    value = as_array(key, value, where)
    if value.shape != w.shape:
        raise ValueError(
            f"{where}: config[{key!r}] must have the shape of w {w.shape}; got {value.shape}"
        )
    return value.astype(w.dtype, copy=False)


def sgd(
    w: npt.ArrayLike, dw: npt.ArrayLike, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Vanilla stochastic gradient descent: step against the gradient.

    ``w ← w − α·dw``. Config: ``learning_rate`` (1e-2).

    Shapes: w (any), dw (same as w) -> next_w (same as w).

    Taught in assignment 05.
    """
    w, dw, config = _start(w, dw, config, "sgd", {"learning_rate": 1e-2})
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(
    w: npt.ArrayLike, dw: npt.ArrayLike, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """SGD with momentum: a velocity that accumulates past gradients.

    ``v ← ρ·v − α·dw;  w ← w + v``. This is the same trajectory as the form
    ``v' ← ρ·v' + dw;  w ← w − α·v'`` (``v = −α·v'`` for a constant α).
    Config: ``learning_rate`` (1e-2), ``momentum`` ρ (0.9), ``velocity``
    (state, zeros at first).

    Shapes: w (any), dw (same as w) -> next_w (same as w).

    Taught in assignment 05.
    """
    where = "sgd_momentum"
    w, dw, config = _start(w, dw, config, where, {"learning_rate": 1e-2, "momentum": 0.9})
    rho = _rate(config, "momentum", where)
    v = rho * _state(config, "velocity", w, where) - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def nesterov_momentum(
    w: npt.ArrayLike, dw: npt.ArrayLike, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Nesterov momentum: the gradient is taken at the look-ahead point.

    The textbook rule ``v ← ρ·v − α·∇f(x + ρ·v);  x ← x + v`` needs the
    gradient at ``x + ρ·v``. With the change of variables ``w = x + ρ·v``
    (the stored parameters *are* the look-ahead point, so ``dw = ∇f(w)`` is
    the gradient the rule needs) it becomes
    ``v_prev = v;  v ← ρ·v − α·dw;  w ← w − ρ·v_prev + (1 + ρ)·v``.
    Config: ``learning_rate`` (1e-2), ``momentum`` ρ (0.9), ``velocity``.

    Shapes: w (any), dw (same as w) -> next_w (same as w).

    Taught in assignment 05.
    """
    where = "nesterov_momentum"
    w, dw, config = _start(w, dw, config, where, {"learning_rate": 1e-2, "momentum": 0.9})
    rho = _rate(config, "momentum", where)
    v_prev = _state(config, "velocity", w, where)
    v = rho * v_prev - config["learning_rate"] * dw
    config["velocity"] = v
    return w - rho * v_prev + (1 + rho) * v, config


def adagrad(
    w: npt.ArrayLike, dw: npt.ArrayLike, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """AdaGrad: per-parameter rates that shrink with the sum of squared gradients.

    ``cache ← cache + dw²;  w ← w − α·dw / (√cache + ε)``. Config:
    ``learning_rate`` (1e-2), ``epsilon`` (1e-8), ``cache`` (state).

    Shapes: w (any), dw (same as w) -> next_w (same as w).

    Taught in assignment 05.
    """
    where = "adagrad"
    w, dw, config = _start(w, dw, config, where, {"learning_rate": 1e-2, "epsilon": 1e-8})
    eps = check_positive("epsilon", config["epsilon"], where)
    cache = _state(config, "cache", w, where) + dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + eps), config


def rmsprop(
    w: npt.ArrayLike, dw: npt.ArrayLike, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """RMSProp: AdaGrad with a leaky (moving) average of squared gradients.

    ``cache ← d·cache + (1 − d)·dw²;  w ← w − α·dw / (√cache + ε)``. Config:
    ``learning_rate`` (1e-2), ``decay_rate`` d (0.99), ``epsilon`` (1e-8),
    ``cache`` (state).

    Shapes: w (any), dw (same as w) -> next_w (same as w).

    Taught in assignment 05.
    """
    where = "rmsprop"
    defaults = {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}
    w, dw, config = _start(w, dw, config, where, defaults)
    decay = _rate(config, "decay_rate", where)
    eps = check_positive("epsilon", config["epsilon"], where)
    cache = decay * _state(config, "cache", w, where) + (1 - decay) * dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + eps), config


def adam(
    w: npt.ArrayLike, dw: npt.ArrayLike, config: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """Adam: momentum on the gradient, RMSProp on its square, both bias-corrected.

    ``t ← t + 1;  m ← β1·m + (1 − β1)·dw;  v ← β2·v + (1 − β2)·dw²;``
    ``m̂ = m / (1 − β1ᵗ);  v̂ = v / (1 − β2ᵗ);  w ← w − α·m̂ / (√v̂ + ε)``.
    ``t`` is incremented *before* the correction, so the first step uses
    t = 1 and moves every entry by about α·sign(dw). Config:
    ``learning_rate`` (1e-3), ``beta1`` (0.9), ``beta2`` (0.999),
    ``epsilon`` (1e-8), state ``m``, ``v`` (zeros) and ``t`` (0).

    Shapes: w (any), dw (same as w) -> next_w (same as w).

    Taught in assignment 05.
    """
    where = "adam"
    defaults = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0}
    w, dw, config = _start(w, dw, config, where, defaults)
    beta1 = _rate(config, "beta1", where)
    beta2 = _rate(config, "beta2", where)
    eps = check_positive("epsilon", config["epsilon"], where)
    t = int(config["t"])
    if t < 0 or t != config["t"]:
        raise ValueError(f"adam: t must be a non-negative integer step count; got {config['t']}")
    t += 1
    m = beta1 * _state(config, "m", w, where) + (1 - beta1) * dw
    v = beta2 * _state(config, "v", w, where) + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    config.update(m=m, v=v, t=t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + eps), config


#: Update rules by name, in the order assignment 05 teaches them.
UPDATE_RULES: dict[str, UpdateRule] = {
    "sgd": sgd,
    "sgd_momentum": sgd_momentum,
    "nesterov_momentum": nesterov_momentum,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
}


def get_update_rule(name_or_callable: str | UpdateRule) -> UpdateRule:
    """Return the update rule named ``name_or_callable``, or the callable itself.

    Lets a solver accept ``update_rule="adam"`` as well as a student's own
    function with the ``rule(w, dw, config) -> (next_w, config)`` signature.

    Taught in assignment 05.
    """
    if callable(name_or_callable):
        return name_or_callable
    valid = ", ".join(repr(k) for k in UPDATE_RULES)
    if isinstance(name_or_callable, str) and name_or_callable in UPDATE_RULES:
        return UPDATE_RULES[name_or_callable]
    raise ValueError(
        f"get_update_rule: unknown update rule {name_or_callable!r}; "
        f"expected a callable or one of {valid}"
    )
