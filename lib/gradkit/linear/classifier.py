"""LinearClassifier (and its LinearSVM and Softmax flavours): scores X @ W trained by minibatch SGD.

``X`` carries the bias column (:func:`gradkit.linear.add_bias_column`), so the
bias is the last row of ``W``. Taught in assignment 01.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import cast

import numpy as np
import numpy.typing as npt

from .._validation import (
    as_array,
    check_count,
    check_labels,
    check_ndim,
    check_positive,
    check_shape,
    get_rng,
)
from .classifier_losses import softmax_loss_vectorized, svm_loss_vectorized

__all__ = ["LinearClassifier", "LinearSVM", "Softmax"]


class LinearClassifier(ABC):
    """A linear classifier ``scores = X @ W`` trained by minibatch SGD.

    ``X`` must already carry the bias column (:func:`gradkit.linear.add_bias_column`),
    so the bias is the last row of ``W``. ``W`` is public: it is created at the
    first :meth:`train` call as ``0.001 · randn(D, C)`` from the instance's
    generator (``np.random.default_rng(seed)``), and every later call continues
    from it. It is abstract: subclasses define :meth:`loss`.

    Shapes: X (N, D) with the bias column, y (N,) -> W (D, C).
    Taught in assignment 01.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.W: np.ndarray | None = None
        self.rng = get_rng(seed=seed)

    def train(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        learning_rate: float = 1e-3,
        reg: float = 1e-5,
        num_iters: int = 100,
        batch_size: int = 200,
        verbose: bool = False,
    ) -> list[float]:
        """Minibatch SGD: ``num_iters`` steps ``W −= learning_rate · dW`` on resampled batches.

        Each step samples ``batch_size`` rows of X uniformly with replacement
        (from the instance's generator) and follows the gradient of
        :meth:`loss` on them. The number of classes is ``max(y) + 1`` at the
        first call. ``reg`` uses the ½·reg·ΣW² convention over the whole W,
        the bias-trick row included. Returns the loss of every step.

        Shapes: X (N, D) with the bias column, y (N,) labels
        -> loss_history (list of num_iters floats).
        """
        where = f"{type(self).__name__}.train"
        X = as_array("X", X, where)
        check_ndim("X", X, 2, where)
        n, d = X.shape
        if n == 0:
            raise ValueError(
                f"{where}: X must hold at least one example (row); got shape {X.shape}"
            )
        learning_rate = check_positive("learning_rate", learning_rate, where)
        reg = check_positive("reg", reg, where, allow_zero=True)
        num_iters = check_count("num_iters", num_iters, where, minimum=0)
        batch_size = check_count("batch_size", batch_size, where, minimum=1)
        if self.W is None:
            y = np.asarray(y)
            guess = int(np.max(y)) + 1 if y.size and y.dtype.kind in "iuf" else 1
            y = check_labels(y, n, max(guess, 1), where)
            num_classes = int(np.max(y)) + 1
            self.W = (0.001 * self.rng.standard_normal((d, num_classes))).astype(X.dtype)
        else:
            check_shape(
                "X",
                X,
                (None, self.W.shape[0]),
                where,
                f"to match the trained W with {self.W.shape[0]} rows",
            )
            y = check_labels(y, n, self.W.shape[1], where)

        loss_history = []
        for it in range(num_iters):
            idx = self.rng.integers(0, n, size=batch_size)
            loss, grad = self.loss(X[idx], y[idx], reg)
            self.W = self.W - learning_rate * grad
            loss_history.append(float(loss))
            if verbose and it % 100 == 0:
                print(f"iteration {it} / {num_iters}: loss {loss:f}")
        return loss_history

    def predict(self, X: npt.ArrayLike) -> np.ndarray:
        """Predicted class of each row: the index of its highest score.

        Shapes: X (N, D) with the bias column -> y_pred (N,) integers.
        """
        where = f"{type(self).__name__}.predict"
        if self.W is None:
            raise ValueError(f"{where}: the classifier has no weights yet; call train first")
        X = as_array("X", X, where)
        check_ndim("X", X, 2, where)
        check_shape(
            "X",
            X,
            (None, self.W.shape[0]),
            where,
            f"to match the trained W with {self.W.shape[0]} rows",
        )
        return np.argmax(X @ self.W, axis=1)

    @abstractmethod
    def loss(
        self, X_batch: np.ndarray, y_batch: np.ndarray, reg: float
    ) -> tuple[float, np.ndarray]:
        """Loss and gradient on a minibatch; defined by each subclass.

        Shapes: X_batch (B, D), y_batch (B,) -> loss float, dW (D, C).
        """


class LinearSVM(LinearClassifier):
    """Linear classifier trained on the multiclass SVM loss (:func:`svm_loss_vectorized`).

    Taught in assignment 01.
    """

    def loss(
        self, X_batch: np.ndarray, y_batch: np.ndarray, reg: float
    ) -> tuple[float, np.ndarray]:
        """SVM loss and gradient on a minibatch (½·reg·ΣW², whole W incl. the bias row)."""
        # Before train() W is None, which the loss rejects with a ValueError.
        return svm_loss_vectorized(cast(np.ndarray, self.W), X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """Linear classifier trained on the softmax cross-entropy (:func:`softmax_loss_vectorized`).

    Taught in assignment 01.
    """

    def loss(
        self, X_batch: np.ndarray, y_batch: np.ndarray, reg: float
    ) -> tuple[float, np.ndarray]:
        """Softmax loss and gradient on a minibatch (½·reg·ΣW², whole W incl. the bias row)."""
        # Before train() W is None, which the loss rejects with a ValueError.
        return softmax_loss_vectorized(cast(np.ndarray, self.W), X_batch, y_batch, reg)
