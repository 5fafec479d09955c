"""Batch normalization and layer normalization, forward and backward.

Both standardize the pre-activations of a layer and then rescale them with
learned ``gamma`` (scale) and ``beta`` (shift). Batch norm computes the mean
and variance of each feature over the batch (and keeps running averages for
test time); layer norm computes them over the features of each example.

Shapes: x (N, D), gamma (D,), beta (D,). Variances are biased (divide by N
for batch norm, by D for layer norm). Taught in assignment 03.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ._validation import (
    as_array,
    check_dout,
    check_ndim,
    check_positive,
    check_probability,
    check_shape,
)

__all__ = [
    "batchnorm_forward",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "layernorm_forward",
    "layernorm_backward",
]

#: Default ``eps`` added to the variance before the square root.
DEFAULT_EPS = 1e-5
#: Default ``momentum`` of batch norm's running averages.
DEFAULT_MOMENTUM = 0.9
_BN_MODES = ("train", "test")


def _check_affine_params(
    x: npt.ArrayLike, gamma: npt.ArrayLike, beta: npt.ArrayLike, where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate x (N, D) and the per-feature gamma, beta (D,)."""
    x = as_array("x", x, where)
    check_ndim("x", x, 2, where)
    D = x.shape[1]
    if D == 0:
        raise ValueError(f"{where}: x must have at least one feature; got shape {x.shape}")
    gamma = as_array("gamma", gamma, where)
    beta = as_array("beta", beta, where)
    check_shape("gamma", gamma, (D,), where, f"to match x with {D} features")
    check_shape("beta", beta, (D,), where, f"to match x with {D} features")
    return x, gamma, beta


# -------------------------------------------------------------- batch normalization


def batchnorm_forward(
    x: npt.ArrayLike,
    gamma: npt.ArrayLike,
    beta: npt.ArrayLike,
    bn_param: MutableMapping[str, Any],
) -> tuple[np.ndarray, dict[str, Any]]:
    """Batch normalization: standardize each feature with batch (train) or running (test) stats.

    ``out = gamma·(x − μ)/√(σ² + eps) + beta``; in 'train' mode μ, σ² are the
    batch mean and biased variance of each feature, and the running averages
    are updated as ``running = momentum·running + (1 − momentum)·batch``; in
    'test' mode μ, σ² are ``running_mean``, ``running_var``.

    ``bn_param`` keys: ``mode`` ('train' or 'test', required), ``eps``
    (default 1e-5), ``momentum`` (default 0.9), ``running_mean`` and
    ``running_var`` (zeros of shape (D,) when absent). This dict is the one
    documented exception to "inputs are never modified": missing running
    statistics are stored in it, and in train mode the updated ones replace
    them (as new arrays; the previous arrays are left as they were).

    Shapes: x (N, D), gamma (D,), beta (D,) -> out (N, D). Taught in assignment 03.
    """
    where = "batchnorm_forward"
    x, gamma, beta = _check_affine_params(x, gamma, beta, where)
    if not isinstance(bn_param, MutableMapping):
        raise ValueError(
            f"{where}: bn_param must be a dict with at least 'mode'; got {type(bn_param).__name__}"
        )
    mode = bn_param.get("mode")
    if mode not in _BN_MODES:
        got = "no 'mode' key" if "mode" not in bn_param else repr(mode)
        raise ValueError(f"{where}: bn_param['mode'] must be 'train' or 'test'; got {got}")
    eps = check_positive("bn_param['eps']", bn_param.get("eps", DEFAULT_EPS), where)
    momentum = check_probability(
        "bn_param['momentum']", bn_param.get("momentum", DEFAULT_MOMENTUM), where, allow_zero=True
    )
    D = x.shape[1]
    running: dict[str, np.ndarray] = {}
    for key in ("running_mean", "running_var"):
        value = bn_param.get(key)
        if value is None:
            value = np.zeros(D, dtype=x.dtype)
            bn_param[key] = value
        value = as_array(f"bn_param[{key!r}]", value, where)
        check_shape(f"bn_param[{key!r}]", value, (D,), where, f"to match x with {D} features")
        running[key] = value

    if mode == "train":
        if x.shape[0] == 0:
            raise ValueError(f"{where}: train mode needs at least one example; got shape {x.shape}")
        mu = x.mean(axis=0)
        xc = x - mu
        var = np.mean(xc * xc, axis=0)
        bn_param["running_mean"] = momentum * running["running_mean"] + (1 - momentum) * mu
        bn_param["running_var"] = momentum * running["running_var"] + (1 - momentum) * var
    else:
        xc = x - running["running_mean"]
        var = running["running_var"]
    std = np.sqrt(var + eps)
    istd = 1 / std
    xhat = xc * istd
    out = gamma * xhat + beta
    cache = {"mode": mode, "xc": xc, "xhat": xhat, "std": std, "istd": istd, "gamma": gamma}
    return out, cache


def batchnorm_backward(
    dout: npt.ArrayLike, cache: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`batchnorm_forward`, one node of the graph at a time.

    Train-mode graph: ``μ = mean(x)``, ``xc = x − μ``, ``σ² = mean(xc²)``,
    ``std = √(σ² + eps)``, ``istd = 1/std``, ``x̂ = xc·istd``,
    ``out = gamma·x̂ + beta``; each line below undoes one of these. In test
    mode μ and σ² are constants, so only ``dx = dout·gamma·istd`` remains.

    Shapes: dout (N, D), cache from batchnorm_forward -> dx (N, D), dgamma (D,), dbeta (D,).
    Taught in assignment 03.
    """
    xc, xhat, std, istd, gamma = (cache[k] for k in ("xc", "xhat", "std", "istd", "gamma"))
    dout = check_dout(dout, xhat.shape, "batchnorm_backward")
    N = xhat.shape[0]
    dbeta = dout.sum(axis=0)  # out = gamma·x̂ + beta
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dxc = dxhat * istd  # x̂ = xc·istd, the path through xc
    if cache["mode"] == "test":
        return dxc, dgamma, dbeta
    distd = np.sum(dxhat * xc, axis=0)  # ... and the path through istd
    dstd = -distd / (std * std)  # istd = 1/std
    dvar = dstd / (2 * std)  # std = √(σ² + eps)
    dsq = np.broadcast_to(dvar / N, xc.shape)  # σ² = mean over the batch of xc²
    dxc = dxc + 2 * xc * dsq  # xc² (xc now has both of its paths)
    dmu = -np.sum(dxc, axis=0)  # xc = x − μ, the path through μ
    dx = dxc + dmu / N  # μ = mean over the batch of x
    return dx, dgamma, dbeta


def batchnorm_backward_alt(
    dout: npt.ArrayLike, cache: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`batchnorm_forward` in simplified closed form.

    ``dx = (1/N)·gamma·istd·(N·dout − Σ_n dout − x̂·Σ_n(dout·x̂))`` with
    ``istd = 1/√(σ² + eps)``; ``dgamma = Σ_n dout·x̂``, ``dbeta = Σ_n dout``.
    (Test mode: ``dx = dout·gamma·istd``.) Same result as
    :func:`batchnorm_backward`, in a few array operations.

    Shapes: dout (N, D), cache from batchnorm_forward -> dx (N, D), dgamma (D,), dbeta (D,).
    Taught in assignment 03.
    """
    xhat, istd, gamma = cache["xhat"], cache["istd"], cache["gamma"]
    dout = check_dout(dout, xhat.shape, "batchnorm_backward_alt")
    N = xhat.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    if cache["mode"] == "test":
        return dout * (gamma * istd), dgamma, dbeta
    dx = (gamma * istd / N) * (N * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


# -------------------------------------------------------------- layer normalization


def layernorm_forward(
    x: npt.ArrayLike,
    gamma: npt.ArrayLike,
    beta: npt.ArrayLike,
    ln_param: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Layer normalization: standardize each example over its own features.

    ``out = gamma·(x − μ_n)/√(σ²_n + eps) + beta``, with μ_n and the biased
    σ²_n taken over the D features of row n. Train and test behave the same
    (no running statistics). ``ln_param`` may hold ``eps`` (default 1e-5);
    other keys (e.g. ``mode``) are ignored and the dict is never modified.

    Shapes: x (N, D), gamma (D,), beta (D,) -> out (N, D). Taught in assignment 03.
    """
    where = "layernorm_forward"
    x, gamma, beta = _check_affine_params(x, gamma, beta, where)
    ln_param = {} if ln_param is None else ln_param
    if not hasattr(ln_param, "get"):
        raise ValueError(f"{where}: ln_param must be a dict or None; got {type(ln_param).__name__}")
    eps = check_positive("ln_param['eps']", ln_param.get("eps", DEFAULT_EPS), where)
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=1, keepdims=True)
    istd = 1 / np.sqrt(var + eps)
    xhat = xc * istd
    out = gamma * xhat + beta
    return out, {"xhat": xhat, "istd": istd, "gamma": gamma}


def layernorm_backward(
    dout: npt.ArrayLike, cache: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`layernorm_forward` (batch norm's closed form, per row).

    With ``g = dout·gamma``: ``dx = (1/D)·istd·(D·g − Σ_d g − x̂·Σ_d(g·x̂))``,
    sums over the features of each row; ``dgamma = Σ_n dout·x̂``, ``dbeta = Σ_n dout``.

    Shapes: dout (N, D), cache from layernorm_forward -> dx (N, D), dgamma (D,), dbeta (D,).
    Taught in assignment 03.
    """
    xhat, istd, gamma = cache["xhat"], cache["istd"], cache["gamma"]
    dout = check_dout(dout, xhat.shape, "layernorm_backward")
    D = xhat.shape[1]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    g = dout * gamma
    dx = (istd / D) * (
        D * g - g.sum(axis=1, keepdims=True) - xhat * np.sum(g * xhat, axis=1, keepdims=True)
    )
    return dx, dgamma, dbeta
