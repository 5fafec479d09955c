"""PCA, dimensionality reduction and whitening, fitted on the training split.

Taught in assignment 03; import from :mod:`gradkit.preprocessing`.

``fit_pca(X_train, k)`` returns ``stats = {'mean', 'components', 'variances'}``:
the training mean ``μ (D,)``, the eigenvectors of the training covariance as
the *columns* of ``components (D, k)`` sorted by decreasing variance, and
those variances (eigenvalues) ``λ (k,)``. The covariance uses 1/N, so the
PCA coordinates of the training split have exactly the variances ``λ`` and
whitened training data has covariance ≈ I.

Eigenvectors are only defined up to sign; each is flipped so that its entry
of largest magnitude is positive, which makes every result deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .._validation import check_positive
from ._inputs import as_output, check_example_shape, check_input, check_stats

__all__ = ["fit_pca", "pca_transform", "inverse_pca", "whiten", "inverse_whiten"]

_PCA_KEYS = ("mean", "components", "variances")


def _check_k(k: int | None, available: int, where: str) -> int:
    """k defaults to every available component; otherwise an integer in [1, available]."""
    if k is None:
        return available
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= available:
        raise ValueError(f"{where}: k must be an integer in [1, {available}]; got {k!r}")
    return int(k)


def fit_pca(X: npt.ArrayLike, k: int | None = None) -> dict[str, np.ndarray]:
    """Fit PCA on training data through the SVD of the covariance matrix.

    Math: Σ = (1/N) X̃ᵀX̃ with X̃ = X − μ; Σ = U diag(λ) Uᵀ (SVD, λ descending);
    keep the top k columns of U (default all D), sign-fixed as the module says.
    Shapes: X (N, D) -> stats {'mean' (D,), 'components' (D, k), 'variances' (k,)}.
    Taught in assignment 03.
    """
    where = "fit_pca"
    X = check_input(X, where, min_rows=1, ndim=2).astype(np.float64)
    k = _check_k(k, X.shape[1], where)
    mean = X.mean(axis=0)
    Xc = X - mean
    cov = Xc.T @ Xc / X.shape[0]
    U, S, _ = np.linalg.svd(cov)  # symmetric PSD: singular values = eigenvalues
    largest = U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])]
    U = U * np.where(largest < 0, -1.0, 1.0)
    return {"mean": mean, "components": U[:, :k].copy(), "variances": S[:k].copy()}


def _pca_input(
    X: npt.ArrayLike, stats: dict[str, Any], where: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """Validate X (N, D) against stats from fit_pca on D features."""
    X = check_input(X, where, ndim=2)
    stats = check_stats(stats, _PCA_KEYS, where, "fit_pca")
    check_example_shape(X, stats["mean"].shape, where)
    return X, stats


def _pca_coords(
    Z: npt.ArrayLike, stats: dict[str, Any], where: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """Validate PCA coordinates Z (N, k) with k at most the number of fitted components."""
    Z = check_input(Z, where, ndim=2)
    stats = check_stats(stats, _PCA_KEYS, where, "fit_pca")
    kept = stats["components"].shape[1]
    if Z.shape[1] > kept:
        raise ValueError(
            f"{where}: Z must have shape (N, k) with k <= {kept} fitted components; got {Z.shape}"
        )
    return Z, stats


def pca_transform(X: npt.ArrayLike, stats: dict[str, Any], k: int | None = None) -> np.ndarray:
    """Rotate into the PCA basis and keep the top k coordinates: (X − μ) U[:, :k].

    Shapes: X (N, D), stats from fit_pca on D features -> out (N, k).
    Taught in assignment 03.
    """
    where = "pca_transform"
    X, stats = _pca_input(X, stats, where)
    k = _check_k(k, stats["components"].shape[1], where)
    return as_output((X - stats["mean"]) @ stats["components"][:, :k], X)


def inverse_pca(Z: npt.ArrayLike, stats: dict[str, Any]) -> np.ndarray:
    """Reconstruct from the top k PCA coordinates: Z U[:, :k]ᵀ + μ (exact when k = D).

    Shapes: Z (N, k) with k <= the number of fitted components -> out (N, D).
    Taught in assignment 03.
    """
    Z, stats = _pca_coords(Z, stats, "inverse_pca")
    return as_output(Z @ stats["components"][:, : Z.shape[1]].T + stats["mean"], Z)


def whiten(
    X: npt.ArrayLike, stats: dict[str, Any], k: int | None = None, eps: float = 1e-5
) -> np.ndarray:
    """Whiten: PCA coordinates divided by sqrt(λ + eps), so the training covariance ≈ I.

    Math: x_white = (x − μ) U[:, :k] / sqrt(λ[:k] + eps). Whitening stretches
    directions of tiny variance -- mostly noise -- up to unit variance; eps limits
    that exaggeration. Shapes: X (N, D) -> out (N, k). Taught in assignment 03.
    """
    where = "whiten"
    eps = check_positive("eps", eps, where, allow_zero=True)
    X, stats = _pca_input(X, stats, where)
    k = _check_k(k, stats["components"].shape[1], where)
    rotated = (X - stats["mean"]) @ stats["components"][:, :k]
    return as_output(rotated / np.sqrt(stats["variances"][:k] + eps), X)


def inverse_whiten(Z: npt.ArrayLike, stats: dict[str, Any], eps: float = 1e-5) -> np.ndarray:
    """Undo :func:`whiten` (pass the same eps): inverse_pca(Z · sqrt(λ[:k] + eps)).

    Shapes: Z (N, k) -> out (N, D). Taught in assignment 03.
    """
    where = "inverse_whiten"
    eps = check_positive("eps", eps, where, allow_zero=True)
    Z, stats = _pca_coords(Z, stats, where)
    scaled = Z * np.sqrt(stats["variances"][: Z.shape[1]] + eps)
    return as_output(scaled @ stats["components"][:, : Z.shape[1]].T + stats["mean"], Z)
