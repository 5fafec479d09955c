"""FullyConnectedNet: a classifier of any depth with optional batch/layer norm and dropout.

{affine - [norm] - relu - [dropout]} × (L−1) - affine - softmax. Parameters
live in the public dict ``model.params`` (W1, b1, …; gamma1, beta1, … for
normalized hidden layers) and the L2 strength in ``model.reg``; both are read
on every call of ``model.loss``. Regularization is ½·reg·Σw² over the weight
matrices (gradient reg·w); biases and gamma/beta are never regularized.

Taught in assignments 03 (normalization), 04 (dropout) and 05 (training it
with the Solver).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast, overload

import numpy as np
import numpy.typing as npt

from .._validation import check_count, check_probability, get_rng
from ..dropout import dropout_backward, dropout_forward
from ..init import bias_init, small_random_init
from ..layers import affine_backward, affine_forward, relu_backward, relu_forward
from ..losses import softmax_loss
from ..normalization import (
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)
from ..regularization import penalty_over_params
from ._inputs import check_inputs

__all__ = ["FullyConnectedNet", "NORMALIZATIONS"]

#: Accepted values of ``FullyConnectedNet(normalization=...)``.
NORMALIZATIONS = (None, "batchnorm", "layernorm")

#: ``init(fan_in, fan_out, rng) -> W``, as :mod:`gradkit.init` provides them.
Initializer = Callable[[int, int, np.random.Generator], np.ndarray]


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
        weight_scale: std of the N(0, 1)·weight_scale weights when ``init`` is None
            (:func:`gradkit.init.small_random_init`; biases are
            :func:`gradkit.init.bias_init`'s zeros either way).
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

    def __init__(
        self,
        hidden_dims: Sequence[int] = (100, 100),
        input_dim: int = 64,
        num_classes: int = 10,
        dropout_keep_ratio: float = 1,
        normalization: str | None = None,
        reg: float = 0.0,
        weight_scale: float = 1e-2,
        dtype: npt.DTypeLike = np.float32,
        seed: int | None = None,
        init: str | Initializer | None = None,
        dropout_rng: np.random.Generator | None = None,
    ) -> None:
        where = "FullyConnectedNet"
        if np.isscalar(hidden_dims):
            raise ValueError(
                f"{where}: hidden_dims must be a list of layer sizes; got {hidden_dims!r}"
            )
        hidden = [check_count(f"hidden_dims[{i}]", h, where) for i, h in enumerate(hidden_dims)]
        D = check_count("input_dim", input_dim, where)
        C = check_count("num_classes", num_classes, where)
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
        self.params: dict[str, np.ndarray] = {}
        for l, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            # The initializers of assignment 03 (in the student kit, the student's own).
            if draw is not None:
                W = draw(fan_in, fan_out, rng)
            elif weight_scale > 0:
                W = small_random_init(fan_in, fan_out, rng, weight_scale)
            else:  # small_random_init takes positive scales only; these are zeros
                W = weight_scale * rng.standard_normal((fan_in, fan_out))
            self.params[f"W{l}"] = W
            self.params[f"b{l}"] = bias_init(fan_out)
            if normalization is not None and l < self.num_layers:
                self.params[f"gamma{l}"] = np.ones(fan_out)
                self.params[f"beta{l}"] = np.zeros(fan_out)
        for k, v in self.params.items():
            self.params[k] = np.asarray(v).astype(dtype)

        # Per-layer state: batch-norm running statistics, dropout settings.
        self.bn_params: list[dict[str, Any]] = (
            [{"mode": "train"} for _ in hidden] if normalization else []
        )
        self._mask_rng: np.random.Generator | None
        if dropout_rng is not None:
            self._mask_rng = get_rng(rng=dropout_rng)
        elif seed is None:
            self._mask_rng = np.random.default_rng()
        else:
            self._mask_rng = None  # fixed masks derived from seed
        self.dropout_params: list[dict[str, Any]] = [{"mode": "train", "p": keep} for _ in hidden]
        if not self.use_dropout:
            self.dropout_params = []

    def _dropout_seed(self, layer: int) -> int:
        if self._mask_rng is None:
            # One fixed seed per layer, derived from the model's seed (never None here).
            seed = int(cast(int, self.seed))
            return int(np.random.SeedSequence([seed, layer]).generate_state(1)[0])
        return int(self._mask_rng.integers(2**32))

    @overload
    def loss(self, X: npt.ArrayLike, y: None = None) -> np.ndarray: ...
    @overload
    def loss(self, X: npt.ArrayLike, y: npt.ArrayLike) -> tuple[float, dict[str, np.ndarray]]: ...
    @overload
    def loss(
        self, X: npt.ArrayLike, y: npt.ArrayLike | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]: ...
    def loss(
        self, X: npt.ArrayLike, y: npt.ArrayLike | None = None
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Scores for ``X``, or ``(loss, grads)`` when labels ``y`` are given.

        loss = mean_i −log softmax(s_i)[y_i] + ½·reg·Σ_l ΣW_l²; biases, gamma
        and beta are not regularized.

        Shapes: X (N, D) or (N, d1, ..., dk) [, y (N,)] -> scores (N, C) or
        (float, {name: grad of params[name]'s shape}).
        """
        p = self.params
        X, y = check_inputs(X, y, p, "FullyConnectedNet.loss")
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

        data_loss, dout = softmax_loss(scores, y)
        # W1..WL only: biases and gamma/beta are skipped by penalty_over_params.
        reg_loss, reg_grads = penalty_over_params(p, self.reg)
        grads: dict[str, np.ndarray] = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, last_cache)
        for l in range(L - 1, 0, -1):
            fc, nc, rc, dc = caches[l - 1]
            norm_cache = cast(dict[str, Any], nc)  # not None when normalization is on
            if dc is not None:
                dout = dropout_backward(dout, dc)
            dout = relu_backward(dout, rc)
            if self.normalization == "batchnorm":
                dout, grads[f"gamma{l}"], grads[f"beta{l}"] = batchnorm_backward_alt(
                    dout, norm_cache
                )
            elif self.normalization == "layernorm":
                dout, grads[f"gamma{l}"], grads[f"beta{l}"] = layernorm_backward(dout, norm_cache)
            dout, grads[f"W{l}"], grads[f"b{l}"] = affine_backward(dout, fc)
        for name, g in reg_grads.items():
            grads[name] = grads[name] + g
        grads = {k: np.asarray(g).astype(p[k].dtype, copy=False) for k, g in grads.items()}
        return float(data_loss + reg_loss), grads


def _initializer(init: str | Initializer, where: str) -> Initializer:
    """Return ``draw(fan_in, fan_out, rng) -> W`` for a :mod:`gradkit.init` name or a callable."""
    if callable(init):
        return init
    from ..init import get_initializer

    try:
        return get_initializer(init)
    except ValueError as err:
        raise ValueError(
            f"{where}: init must name a gradkit.init scheme or be callable ({err})"
        ) from None
