"""Specs of assignment 03, part 2 (preprocessing.ipynb): PCA fitted on the training split, the
projection onto the top k components, its inverse, and whitening with an epsilon.

``fit_pca`` returns ``{'mean' (D,), 'components' (D, k), 'variances' (k,)}`` with the
sign convention of :mod:`gradkit.preprocessing.pca` (each column's entry of largest
magnitude is positive), which the notebook states, so any correct route (SVD of the
covariance, ``eigh``, SVD of the centred data) gives the same numbers.
"""

from __future__ import annotations

import numpy as np

from ... import preprocessing as pp
from ..checks import HiddenCases, NoMutation, Outputs
from ..spec import Case, Mistake, Spec, inputs

ASSIGNMENT = "03_data_and_init"

PCA = "gradkit.preprocessing.pca"
#: Eigenvectors and eigenvalues found by different correct routes (SVD of the covariance,
#: eigh, SVD of the centred data) agree to ~1e-12 on these well-conditioned clouds; a wrong
#: normalization (1/(N−1)) is off by 1/N ≥ 1e-2 and a wrong basis by O(1).
PCA_RTOL = 1e-6
PCA_ATOL = 1e-9


def _source(rng: np.random.Generator, d: int):
    """A sampler of one correlated Gaussian distribution: distinct variances along random
    directions and a mean far from 0 (so forgetting to centre always shows)."""
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    scales = np.geomspace(3.0, 0.3, d) * rng.uniform(0.9, 1.1, d)
    mean = rng.uniform(2, 4, d) * rng.choice([-1, 1], d)

    return lambda n, shift=0.0: mean + shift + (rng.standard_normal((n, d)) * scales) @ basis.T


def _fit_case(n: int, d: int, k: int | None = None):
    def make(rng):
        X = _source(rng, d)(n)
        return inputs(X) if k is None else inputs(X, k)

    return make


def _hidden_fit(rng):
    # N > D and 1 <= k < D: every mistake below shows in every case.
    d = int(rng.integers(3, 8))
    return _fit_case(int(rng.integers(2 * d, 40)), d, int(rng.integers(1, d)))(rng)


def _transform_case(n: int, d: int, k_fit: int | None, k: int | None):
    """``inputs(X_val, stats[, k])``: PCA fitted on a training split, applied to another."""

    def make(rng):
        sample = _source(rng, d)
        stats = pp.fit_pca(sample(3 * n), k_fit)
        X_val = sample(n, shift=0.3)
        return inputs(X_val, stats) if k is None else inputs(X_val, stats, k)

    return make


def _hidden_transform(rng):
    d = int(rng.integers(3, 8))
    k_fit = int(rng.integers(2, d + 1))
    return _transform_case(int(rng.integers(3, 20)), d, k_fit, int(rng.integers(1, k_fit)))(rng)


def _inverse_case(n: int, d: int, k_fit: int, k: int):
    def make(rng):
        stats = pp.fit_pca(_source(rng, d)(3 * n), k_fit)
        return inputs(rng.standard_normal((n, k)) * 2, stats)

    return make


def _hidden_inverse(rng):
    d = int(rng.integers(2, 8))
    k_fit = int(rng.integers(1, d + 1))
    return _inverse_case(int(rng.integers(2, 15)), d, k_fit, int(rng.integers(1, k_fit + 1)))(rng)


def _whiten_case(n: int, d: int, k: int | None, eps: float | None):
    def make(rng):
        sample = _source(rng, d)
        stats = pp.fit_pca(sample(3 * n))
        X_val = sample(n, shift=0.3)
        kw = {"k": k, "eps": eps}
        return inputs(X_val, stats, **{key: v for key, v in kw.items() if v is not None})

    return make


def _rank_deficient(rng):
    X = _source(rng, 3)(30)
    X = np.column_stack([X, X[:, 0] - X[:, 1]])  # one direction with no variance at all
    return inputs(X[20:], pp.fit_pca(X[:20]), eps=1e-2)


def _hidden_whiten(rng):
    # eps >= 1e-2 (much more than rounding) and k < D: every mistake shows.
    d = int(rng.integers(3, 7))
    eps = float(10 ** rng.uniform(-2, 0))
    return _whiten_case(int(rng.integers(3, 15)), d, int(rng.integers(1, d)), eps)(rng)


def _checks(cases, hidden, weight=3.0, name="the output matches the reference ({n} cases)"):
    return [
        Outputs(cases, weight=weight, rtol=PCA_RTOL, atol=PCA_ATOL, name=name),
        HiddenCases(hidden, rtol=PCA_RTOL, atol=PCA_ATOL),
        NoMutation(),
    ]


# --- mistakes ----------------------------------------------------------------------------


def _pca_uncentred(X, k=None):
    moments = pp.fit_pca(np.vstack([X, -X]), k)  # mean 0 and covariance XᵀX/N: X uncentred
    return {**moments, "mean": X.mean(axis=0)}


def _pca_unbiased(X, k=None):
    stats = pp.fit_pca(X, k)
    return {**stats, "variances": stats["variances"] * len(X) / (len(X) - 1)}


def _pca_ascending(X, k=None):
    full = pp.fit_pca(X)
    order = np.arange(X.shape[1])[::-1][:k]  # eigh's ascending order, not reversed
    return {
        **full,
        "components": full["components"][:, order],
        "variances": full["variances"][order],
    }


def _pca_rows(X, k=None):
    stats = pp.fit_pca(X, k)
    return {**stats, "components": stats["components"].T.copy()}


def _transform_no_center(X, stats, k=None):
    k = stats["components"].shape[1] if k is None else k
    return X @ stats["components"][:, :k]


def _transform_refit(X, stats, k=None):
    return pp.pca_transform(X, pp.fit_pca(X, stats["components"].shape[1]), k)


def _inverse_no_mean(Z, stats):
    return Z @ stats["components"][:, : Z.shape[1]].T


def _whiten_no_eps(X, stats, k=None, eps=1e-5):
    return pp.whiten(X, stats, k, eps=0.0)


def _whiten_by_variance(X, stats, k=None, eps=1e-5):
    k = stats["components"].shape[1] if k is None else k
    return pp.pca_transform(X, stats, k) / (stats["variances"][:k] + eps)


def _whiten_no_center(X, stats, k=None, eps=1e-5):
    Z = _transform_no_center(X, stats, k)
    return Z / np.sqrt(stats["variances"][: Z.shape[1]] + eps)


def _whiten_refit(X, stats, k=None, eps=1e-5):
    return pp.whiten(X, pp.fit_pca(X), k, eps)


NO_CENTER = "your output is the projection of X itself: the training mean is not subtracted first"
REFIT = "your output equals the reference's with a PCA fitted on the split you were given"

# --- specs -------------------------------------------------------------------------------

fit_pca_spec = Spec(
    name="fit_pca",
    functions={"fit_pca": pp.fit_pca},
    returns={"fit_pca": "stats"},
    checks=_checks(
        [
            Case("X (40, 5), every component", _fit_case(40, 5), seed=21),
            Case("X (30, 6), k=2", _fit_case(30, 6, 2), seed=22),
        ],
        _hidden_fit,
        weight=4.0,
        name="mean, components and variances match the reference ({n} cases)",
    ),
    mistakes=[
        Mistake(
            "uncentred",
            "your components are those of the uncentred data: the mean is not subtracted "
            "before the covariance is formed",
            _pca_uncentred,
        ),
        Mistake(
            "unbiased",
            "your variances are the reference's times N/(N − 1): the covariance divides by N − 1, "
            "the course divides by N",
            _pca_unbiased,
        ),
        Mistake(
            "ascending",
            "your components come in increasing order of variance: the top k are the "
            "directions of *largest* variance",
            _pca_ascending,
        ),
        Mistake(
            "rows",
            "your components are stored as rows (k, D); the course keeps them as the columns of "
            "a (D, k) matrix",
            _pca_rows,
        ),
    ],
    title="PCA of the training split via the SVD of its covariance",
)

pca_transform_spec = Spec(
    name="pca_transform",
    functions={"pca_transform": pp.pca_transform},
    returns={"pca_transform": "out"},
    checks=_checks(
        [
            Case("X_val (10, 5), k=2", _transform_case(10, 5, None, 2), seed=23),
            Case("X_val (6, 4), every fitted component", _transform_case(6, 4, 3, None), seed=24),
        ],
        _hidden_transform,
    ),
    mistakes=[
        Mistake("no_center", NO_CENTER, _transform_no_center),
        Mistake(
            "all_components",
            "your output keeps every fitted component: the argument k is ignored",
            lambda X, stats, k=None: pp.pca_transform(X, stats),  # k ignored
        ),
        Mistake("refit", REFIT, _transform_refit),
    ],
    forbidden=(f"{PCA}.whiten",),
    title="project any split onto the top k principal components",
)

inverse_pca_spec = Spec(
    name="inverse_pca",
    functions={"inverse_pca": pp.inverse_pca},
    returns={"inverse_pca": "out"},
    checks=_checks(
        [
            Case("Z (6, 2), 3 fitted components of D=5", _inverse_case(6, 5, 3, 2), seed=25),
            Case("Z (4, 4), every component: exact", _inverse_case(4, 4, 4, 4), seed=26),
        ],
        _hidden_inverse,
    ),
    mistakes=[
        Mistake(
            "no_mean",
            "your reconstruction is centred on 0: the training mean is not added back",
            _inverse_no_mean,
        )
    ],
    forbidden=(f"{PCA}.inverse_whiten",),
    title="reconstruct from k principal coordinates",
)

whiten_spec = Spec(
    name="whiten",
    functions={"whiten": pp.whiten},
    returns={"whiten": "out"},
    checks=_checks(
        [
            Case("X_val (8, 4), k=3, eps=0.1", _whiten_case(8, 4, 3, 0.1), seed=27),
            Case("default k and eps", _whiten_case(8, 3, None, None), seed=28),
            Case("a direction without variance, eps=0.01", _rank_deficient, seed=29),
        ],
        _hidden_whiten,
    ),
    mistakes=[
        Mistake(
            "no_eps",
            "your output divides by √λ without the eps: directions of tiny variance blow up",
            _whiten_no_eps,
        ),
        Mistake(
            "by_variance",
            "your output divides by λ + eps instead of its square root",
            _whiten_by_variance,
        ),
        Mistake("no_center", NO_CENTER, _whiten_no_center),
        Mistake("refit", REFIT, _whiten_refit),
    ],
    forbidden=(f"{PCA}.pca_transform",),
    title="whiten any split with the training PCA",
)

SPECS = [fit_pca_spec, pca_transform_spec, inverse_pca_spec, whiten_spec]
