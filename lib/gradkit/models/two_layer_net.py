"""TwoLayerNet: affine - ReLU - affine - softmax, the first complete network.

Parameters live in the public dict ``model.params`` and the L2 strength in
``model.reg``; both are read on every call of ``model.loss``. Regularization
is ½·reg·Σw² over the weight matrices (gradient reg·w); biases are not
regularized. The loss and its gradients are :func:`two_layer_net_loss`, a
function of the parameters (graded in assignment 02), which ``model.loss``
calls: in the student kit, the model runs on the student's own.

Taught in assignment 02.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast, overload

import numpy as np
import numpy.typing as npt

from .._validation import check_count, get_rng
from ..layers import affine_backward, affine_forward, affine_relu_backward, affine_relu_forward
from ..losses import softmax_loss
from ..regularization import penalty_over_params
from ._inputs import check_inputs

__all__ = ["TwoLayerNet", "two_layer_net_loss"]


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

    def __init__(
        self,
        input_dim: int = 64,
        hidden_dim: int = 100,
        num_classes: int = 10,
        weight_scale: float = 1e-3,
        reg: float = 0.0,
        seed: int | None = None,
    ) -> None:
        where = "TwoLayerNet"
        D = check_count("input_dim", input_dim, where)
        H = check_count("hidden_dim", hidden_dim, where)
        C = check_count("num_classes", num_classes, where)
        weight_scale = float(weight_scale)
        if not np.isfinite(weight_scale) or weight_scale < 0:
            raise ValueError(f"{where}: weight_scale must be >= 0 and finite; got {weight_scale}")
        rng = get_rng(seed=seed)
        self.reg = float(reg)
        self.params: dict[str, np.ndarray] = {
            "W1": weight_scale * rng.standard_normal((D, H)),
            "b1": np.zeros(H),
            "W2": weight_scale * rng.standard_normal((H, C)),
            "b2": np.zeros(C),
        }

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

        loss = mean_i −log softmax(s_i)[y_i] + ½·reg·(ΣW1² + ΣW2²); biases are
        not regularized.

        Shapes: X (N, D) [, y (N,)] -> scores (N, C) or (float, {name: grad of
        params[name]'s shape}).
        """
        p = self.params
        X, y = check_inputs(X, y, p, "TwoLayerNet.loss")
        if y is not None:  # rows flattened as affine_forward would: the graded function's X
            return two_layer_net_loss(p, X.reshape(X.shape[0], -1), y, self.reg)
        hidden, _ = affine_relu_forward(X, p["W1"], p["b1"])
        scores, _ = affine_forward(hidden, p["W2"], p["b2"])
        return scores


def two_layer_net_loss(
    params: Mapping[str, np.ndarray], X: npt.ArrayLike, y: npt.ArrayLike, reg: float = 0.0
) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients of the two-layer network affine - ReLU - affine - softmax.

    scores = max(0, X·W1 + b1)·W2 + b2; loss = softmax cross-entropy of the
    scores averaged over N + ½·reg·(ΣW1² + ΣW2²) (gradient reg·W; biases are
    not regularized); ``grads[k]`` is the gradient of the loss with respect to
    ``params[k]``. What :meth:`TwoLayerNet.loss` computes when given labels.

    Shapes: params {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)},
    X (N, D), y (N,) ints in [0, C) -> (loss float, grads keyed like params).

    Taught in assignment 02.
    """
    p = params
    if y is None:
        raise ValueError("two_layer_net_loss: y must hold the N labels; got None")
    X, labels = check_inputs(X, y, p, "two_layer_net_loss")
    hidden, cache1 = affine_relu_forward(X, p["W1"], p["b1"])
    scores, cache2 = affine_forward(hidden, p["W2"], p["b2"])
    data_loss, dscores = softmax_loss(scores, cast(np.ndarray, labels))
    reg_loss, reg_grads = penalty_over_params(p, reg)  # W1, W2; biases are skipped
    grads: dict[str, np.ndarray] = {}
    dhidden, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
    _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, cache1)
    for name, g in reg_grads.items():
        grads[name] = grads[name] + g
    return float(data_loss + reg_loss), grads
