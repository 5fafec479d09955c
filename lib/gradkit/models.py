"""Neural-network classifiers built from the layer functions: TwoLayerNet, FullyConnectedNet.

A model holds its parameters in the public dict ``model.params`` and its L2
strength in ``model.reg``; both are read on every call of ``model.loss``, so a
notebook (or a gradient check) may replace them after construction.
``model.loss(X)`` returns class scores; ``model.loss(X, y)`` returns
``(loss, grads)`` with ``grads`` keyed like ``params``.

Regularization is ½·reg·Σw² over the weight matrices (gradient reg·w); biases
and the normalization parameters gamma/beta are never regularized.

Taught in assignment 02 (TwoLayerNet), 03 (batch/layer norm in the
FullyConnectedNet), 04 (dropout) and 05 (training it with the Solver).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_array, check_labels, check_probability, get_rng
from .dropout import dropout_backward, dropout_forward
from .layers import (
    affine_backward,
    affine_forward,
    affine_relu_backward,
    affine_relu_forward,
    relu_backward,
    relu_forward,
)
from .losses import softmax_loss
from .normalization import (
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)

__all__ = ["TwoLayerNet", "FullyConnectedNet", "NORMALIZATIONS"]

#: Accepted values of ``FullyConnectedNet(normalization=...)``.
NORMALIZATIONS = (None, "batchnorm", "layernorm")


def _positive_int(name: str, value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer; got {value!r}")
    return int(value)


def _check_inputs(X, y, params: dict, where: str):
    """Validate a batch against the first weight matrix; return (X, y)."""
    X = as_array("X", X, where)
    if X.ndim < 2:
        raise ValueError(
            f"{where}: X must have shape (N, D) or (N, d1, ..., dk); got {X.shape} ({X.ndim}-D)"
        )
    D, C = params["W1"].shape[0], _num_classes(params)
    features = int(np.prod(X.shape[1:]))
    if features != D:
        raise ValueError(
            f"{where}: X must have {D} features per row to match W1 of shape "
            f"{params['W1'].shape}; got X of shape {X.shape} ({features} features per row)"
        )
    if y is not None:
        y = check_labels(y, X.shape[0], C, where)
    return X, y


def _num_classes(params: dict) -> int:
    last = max(int(k[1:]) for k in params if k.startswith("W") and k[1:].isdigit())
    return params[f"W{last}"].shape[1]


class TwoLayerNet:
    """Two-layer classifier: affine - ReLU - affine - softmax.

    scores = max(0, X·W1 + b1)·W2 + b2; loss = softmax cross-entropy averaged
    over N + ½·reg·(ΣW1² + ΣW2²) (gradient reg·W; biases not regularized).

    Shapes: X (N, D) or (N, d1, ..., dk) with D = d1·…·dk; W1 (D, H), b1 (H,),
    W2 (H, C), b2 (C,) -> scores (N, C).

    Weights start as ``weight_scale``·N(0, 1) drawn from ``seed`` (reproducible
    when given), biases as zeros; parameters are float64.

    Taught in assignment 02.
    """

    def __init__(self, input_dim=64, hidden_dim=100, num_classes=10, weight_scale=1e-3,
                 reg=0.0, seed=None):
        where = "TwoLayerNet"
        D = _positive_int("input_dim", input_dim, where)
        H = _positive_int("hidden_dim", hidden_dim, where)
        C = _positive_int("num_classes", num_classes, where)
        weight_scale = float(weight_scale)
        if not np.isfinite(weight_scale) or weight_scale < 0:
            raise ValueError(f"{where}: weight_scale must be >= 0 and finite; got {weight_scale}")
        rng = get_rng(seed=seed)
        self.reg = float(reg)
        self.params = {
            "W1": weight_scale * rng.standard_normal((D, H)),
            "b1": np.zeros(H),
            "W2": weight_scale * rng.standard_normal((H, C)),
            "b2": np.zeros(C),
        }

    def loss(self, X, y=None):
        """Scores for ``X``, or ``(loss, grads)`` when labels ``y`` are given.

        loss = mean_i −log softmax(s_i)[y_i] + ½·reg·(ΣW1² + ΣW2²); biases are
        not regularized.

        Shapes: X (N, D) [, y (N,)] -> scores (N, C) or (float, {name: grad of
        params[name]'s shape}).
        """
        p = self.params
        X, y = _check_inputs(X, y, p, "TwoLayerNet.loss")
        hidden, cache1 = affine_relu_forward(X, p["W1"], p["b1"])
        scores, cache2 = affine_forward(hidden, p["W2"], p["b2"])
        if y is None:
            return scores
        reg = float(self.reg)
        data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + 0.5 * reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        grads = {}
        dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, cache1)
        grads["W1"] = grads["W1"] + reg * p["W1"]
        grads["W2"] = grads["W2"] + reg * p["W2"]
        return float(loss), grads


class FullyConnectedNet:
    """Fully connected classifier of any depth with optional normalization and dropout.

    {affine - [batchnorm | layernorm] - ReLU - [dropout]} × (L − 1) - affine - softmax,
    with L = len(hidden_dims) + 1 affine layers. loss = softmax cross-entropy
    averaged over N + ½·reg·Σ_l ΣW_l² (gradient reg·W; biases, gamma and beta
    are not regularized).

    Shapes: X (N, D) or (N, d1, ..., dk); W_l (fan_in, fan_out), b_l (fan_out,),
    gamma_l, beta_l (fan_out,) for each normalized hidden layer -> scores (N, C).

    Arguments:
        dropout_keep_ratio: probability of *keeping* a hidden unit, in (0, 1];
            1 means no dropout (inverted dropout, so test time is untouched).
        normalization: None, 'batchnorm' or 'layernorm'. Batch-norm running
            statistics live in ``model.bn_params`` (one dict per hidden layer);
            ``loss`` runs in 'train' mode when ``y`` is given, 'test' otherwise.
        weight_scale: std of the N(0, 1)·weight_scale weights when ``init`` is None.
        init: name of a :mod:`gradkit.init` scheme ('he', 'xavier', ...), or a
            callable ``init(fan_in, fan_out, rng) -> W``, used for every weight
            matrix instead of ``weight_scale``.
        dtype: dtype of every parameter and of the computation (float64 for
            gradient checks, float32 to train faster).
        seed: makes initialization reproducible *and* fixes each dropout
            layer's mask, which is then the same on every call (what a numeric
            gradient check needs).
        dropout_rng: a ``np.random.Generator`` to draw fresh dropout masks on
            every call (reproducible training with dropout); takes precedence
            over ``seed`` for the masks only. With neither, masks come from an
            OS-seeded generator owned by the model. The global numpy RNG is
            never used.

    Taught in assignments 03 (normalization), 04 (dropout) and 05 (training).
    """

    def __init__(self, hidden_dims=(100, 100), input_dim=64, num_classes=10,
                 dropout_keep_ratio=1, normalization=None, reg=0.0, weight_scale=1e-2,
                 dtype=np.float32, seed=None, init=None, dropout_rng=None):
        where = "FullyConnectedNet"
        if np.isscalar(hidden_dims):
            raise ValueError(
                f"{where}: hidden_dims must be a list of layer sizes; got {hidden_dims!r}"
            )
        hidden = [_positive_int(f"hidden_dims[{i}]", h, where) for i, h in enumerate(hidden_dims)]
        D = _positive_int("input_dim", input_dim, where)
        C = _positive_int("num_classes", num_classes, where)
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"{where}: normalization must be one of {NORMALIZATIONS}; got {normalization!r}"
            )
        keep = check_probability("dropout_keep_ratio", dropout_keep_ratio, where)
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"{where}: dtype must be a floating dtype; got {dtype}")
        weight_scale = float(weight_scale)
        if not np.isfinite(weight_scale) or weight_scale < 0:
            raise ValueError(f"{where}: weight_scale must be >= 0 and finite; got {weight_scale}")

        self.normalization = normalization
        self.use_dropout = keep < 1
        self.dropout_keep_ratio = keep
        self.reg = float(reg)
        self.num_layers = len(hidden) + 1
        self.dtype = dtype
        self.seed = seed
        rng = get_rng(seed=seed)
        draw = None if init is None else _initializer(init, where)

        dims = [D] + hidden + [C]
        self.params = {}
        for l, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            if draw is None:
                W = weight_scale * rng.standard_normal((fan_in, fan_out))
            else:
                W = draw(fan_in, fan_out, rng)
            self.params[f"W{l}"] = W
            self.params[f"b{l}"] = np.zeros(fan_out)
            if normalization is not None and l < self.num_layers:
                self.params[f"gamma{l}"] = np.ones(fan_out)
                self.params[f"beta{l}"] = np.zeros(fan_out)
        for k, v in self.params.items():
            self.params[k] = np.asarray(v).astype(dtype)

        # Per-layer state: batch-norm running statistics, dropout settings.
        self.bn_params = [{"mode": "train"} for _ in hidden] if normalization else []
        if dropout_rng is not None:
            self._mask_rng = get_rng(rng=dropout_rng)
        elif seed is None:
            self._mask_rng = np.random.default_rng()
        else:
            self._mask_rng = None  # fixed masks derived from seed
        self.dropout_params = [{"mode": "train", "p": keep} for _ in hidden]
        if not self.use_dropout:
            self.dropout_params = []

    def _dropout_seed(self, layer: int) -> int:
        if self._mask_rng is None:
            # One fixed seed per layer, derived from the model's seed.
            return int(np.random.SeedSequence([int(self.seed), layer]).generate_state(1)[0])
        return int(self._mask_rng.integers(2**32))

    def loss(self, X, y=None):
        """Scores for ``X``, or ``(loss, grads)`` when labels ``y`` are given.

        loss = mean_i −log softmax(s_i)[y_i] + ½·reg·Σ_l ΣW_l²; biases, gamma
        and beta are not regularized.

        Shapes: X (N, D) or (N, d1, ..., dk) [, y (N,)] -> scores (N, C) or
        (float, {name: grad of params[name]'s shape}).
        """
        p = self.params
        X, y = _check_inputs(X, y, p, "FullyConnectedNet.loss")
        X = X.astype(self.dtype, copy=False)
        mode = "test" if y is None else "train"
        caches = []
        h = X
        for l in range(1, self.num_layers):
            h, fc = affine_forward(h, p[f"W{l}"], p[f"b{l}"])
            nc = dc = None
            if self.normalization == "batchnorm":
                bn = self.bn_params[l - 1]
                bn["mode"] = mode
                h, nc = batchnorm_forward(h, p[f"gamma{l}"], p[f"beta{l}"], bn)
            elif self.normalization == "layernorm":
                h, nc = layernorm_forward(h, p[f"gamma{l}"], p[f"beta{l}"], self.bn_params[l - 1])
            h, rc = relu_forward(h)
            if self.use_dropout:
                dp = self.dropout_params[l - 1]
                dp["mode"] = mode
                dp["seed"] = self._dropout_seed(l) if mode == "train" else None
                h, dc = dropout_forward(h, dp)
            caches.append((fc, nc, rc, dc))
        L = self.num_layers
        scores, last_cache = affine_forward(h, p[f"W{L}"], p[f"b{L}"])
        if y is None:
            return scores

        reg = float(self.reg)
        data_loss, dout = softmax_loss(scores, y)
        weights = [p[f"W{l}"] for l in range(1, L + 1)]
        loss = data_loss + 0.5 * reg * sum(float(np.sum(W * W)) for W in weights)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, last_cache)
        for l in range(L - 1, 0, -1):
            fc, nc, rc, dc = caches[l - 1]
            if dc is not None:
                dout = dropout_backward(dout, dc)
            dout = relu_backward(dout, rc)
            if self.normalization == "batchnorm":
                dout, grads[f"gamma{l}"], grads[f"beta{l}"] = batchnorm_backward_alt(dout, nc)
            elif self.normalization == "layernorm":
                dout, grads[f"gamma{l}"], grads[f"beta{l}"] = layernorm_backward(dout, nc)
            dout, grads[f"W{l}"], grads[f"b{l}"] = affine_backward(dout, fc)
        for l in range(1, L + 1):
            grads[f"W{l}"] = grads[f"W{l}"] + reg * p[f"W{l}"]
        grads = {k: np.asarray(g).astype(p[k].dtype, copy=False) for k, g in grads.items()}
        return float(loss), grads


def _initializer(init, where: str):
    """Return ``draw(fan_in, fan_out, rng) -> W`` for a :mod:`gradkit.init` name or a callable."""
    if callable(init):
        return init
    from .init import get_initializer

    try:
        return get_initializer(init)
    except ValueError as err:
        raise ValueError(
            f"{where}: init must name a gradkit.init scheme or be callable ({err})"
        ) from None
