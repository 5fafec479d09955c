"""Assignment 03 specs: what the registry-derived tests cannot see.

* the instructor's own solutions (the answer cells of the notebooks) earn full marks,
  hidden cases included;
* other correct implementations earn full marks too (PCA by ``eigh`` or by the SVD of the
  data, a sparse initializer that draws column by column, batch norm with its own cache);
* each catalogued mistake costs every student the same, whatever their hidden cases;
* specific partial credit (batch norm's output right, running averages not written back);
* the written answers are hand-graded cells whose model answers stay out of the release.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gradkit import normalization as nm
from gradkit import preprocessing as pp
from gradkit.grading import all_specs, get_spec
from gradkit.grading.callee import DirectCallee
from gradkit.grading.engine import run_spec

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "03_data_and_init"
SOLUTIONS = REPO / "solutions" / ASSIGNMENT
RELEASE = REPO / "assignments" / ASSIGNMENT
SPECS = {n: s for n, s in all_specs().items() if s.assignment == ASSIGNMENT}
TOKENS = ["student-a", "student-b", "student-c"]


def _grade(name, functions, token="pytest-student"):
    spec = get_spec(name)
    return run_spec(
        spec, DirectCallee(functions, forbidden=tuple(spec.forbidden_names())), 1.0, token
    )


def _answer_cells(notebook: str) -> dict:
    """The functions defined by the answer cells of a solution notebook."""
    namespace: dict = {"np": np}
    cells = json.loads((SOLUTIONS / f"{notebook}.ipynb").read_text())["cells"]
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "### BEGIN SOLUTION" in source:
            exec(compile(source, f"<{notebook}>", "exec"), namespace)
    return namespace


def test_every_graded_function_of_03_has_a_spec_module():
    assert len(SPECS) == 22
    assert {s.kind for s in SPECS.values()} == {"function", "initializer", "layer"}


@pytest.mark.parametrize("notebook", ["preprocessing", "init_and_batchnorm"])
def test_the_solutions_earn_full_marks_hidden_cases_included(notebook):
    namespace = _answer_cells(notebook)
    graded = [n for n in SPECS if n in namespace]
    assert graded
    for name in graded:
        spec = SPECS[name]
        result = _grade(name, {f: namespace[f] for f in spec.functions})
        assert result.score == 1.0, result.text()


# --- other correct implementations ---------------------------------------------------------


def _fit_pca_eigh(X, k=None):
    mean = X.mean(axis=0)
    lam, U = np.linalg.eigh(np.cov(X.T, bias=True))
    lam, U = lam[::-1], U[:, ::-1]
    k = X.shape[1] if k is None else k
    U = U[:, :k] * np.sign(U[np.argmax(np.abs(U[:, :k]), axis=0), np.arange(k)])
    return {"mean": mean, "components": U, "variances": lam[:k]}


def _fit_pca_data_svd(X, k=None):
    mean = X.mean(axis=0)
    _, S, Vt = np.linalg.svd(X - mean, full_matrices=False)
    k = X.shape[1] if k is None else k
    U = Vt[:k].T
    U = U * np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(k)])
    return {"mean": mean, "components": U, "variances": S[:k] ** 2 / len(X)}


@pytest.mark.parametrize("impl", [_fit_pca_eigh, _fit_pca_data_svd], ids=["eigh", "data_svd"])
def test_pca_by_another_correct_route_earns_full_marks(impl):
    result = _grade("fit_pca", {"fit_pca": impl})
    assert result.score == 1.0, result.text()


def test_minmax_by_another_formula_earns_full_marks():
    def minmax_scale(X, stats):
        span = stats["max"] - stats["min"]
        scaled = 2 * (X - stats["min"]) / np.where(span > 0, span, 1) - 1
        return np.where(span > 0, scaled, X - stats["min"])  # a constant feature maps to 0

    result = _grade("minmax_scale", {"minmax_scale": minmax_scale})
    assert result.score == 1.0, result.text()


def test_a_sparse_initializer_drawing_column_by_column_earns_full_marks():
    def sparse_init(fan_in, fan_out, rng, num_nonzero=None, scale=0.01):
        k = num_nonzero or min(10, fan_in)
        W = np.zeros((fan_in, fan_out))
        for j in range(fan_out):
            W[rng.permutation(fan_in)[:k], j] = rng.normal(0.0, scale, k)
        return W

    for token in TOKENS:
        result = _grade("sparse_init", {"sparse_init": sparse_init}, token)
        assert result.score == 1.0, result.text()


def test_the_hidden_fans_give_enough_draws_and_a_wrong_fan_changes_the_spread():
    """Over 2000 draws: 8·10^4 to 3·10^5 weights (the 3 % tolerance on their spread is then
    > 8 standard errors), and the two fans differ by a factor of at least 2, so a wrong fan
    changes the spread by at least 1 - 1/√2 = 29 %."""
    from gradkit.grading.specs.a03_init import _hidden_fans

    make, rng = _hidden_fans(), np.random.default_rng(2026)
    for _ in range(2000):
        fan_in, fan_out, _seed = make(rng).args
        assert 8 * 10**4 <= fan_in * fan_out <= 3 * 10**5
        assert max(fan_in, fan_out) >= 2 * min(fan_in, fan_out)


def test_the_hidden_sparse_cases_hold_enough_nonzeros_in_few_columns_and_separate_per_row():
    """What the hidden cases' docstring promises, over 2000 draws: at least 4·10^4 nonzeros
    (the 3 % tolerance on their spread is then > 8 standard errors), at most 400 columns
    (a student's initializer may loop over them), and nonzeros counted per row leave a share
    of zeros at least 6 points (3 times the tolerance of 2 points) below the right one."""
    from gradkit.grading.specs.a03_init import _hidden_sparse

    rng = np.random.default_rng(2026)
    for _ in range(2000):
        case = _hidden_sparse(rng)
        fan_in, fan_out, _seed = case.args
        k = case.kwargs["num_nonzero"]
        assert k * fan_out >= 4 * 10**4 and fan_out <= 400
        right_zeros, per_row_zeros = 1 - k / fan_in, 1 - min(k, fan_out) / fan_out
        assert right_zeros - per_row_zeros >= 0.06


def test_sparse_rows_drawn_with_replacement_fail_the_column_count():
    def sparse_init(fan_in, fan_out, rng, num_nonzero=None, scale=0.01):
        k = num_nonzero or min(10, fan_in)
        W = np.zeros((fan_in, fan_out))
        for j in range(fan_out):
            W[rng.integers(fan_in, size=k), j] = scale * rng.standard_normal(k)
        return W

    result = _grade("sparse_init", {"sparse_init": sparse_init})
    column = next(c for c in result.checks if c.name.startswith("each unit (column)"))
    assert not column.passed and result.score < 1.0


def test_an_initializer_drawing_from_the_global_rng_loses_reproducibility():
    def he_init(fan_in, fan_out, rng):
        return np.random.randn(fan_in, fan_out) * np.sqrt(2.0 / fan_in)

    result = _grade("he_init", {"he_init": he_init})
    repro = next(c for c in result.checks if c.name.startswith("reproducible"))
    assert not repro.passed and 0 < result.score < 1.0


def _bn_forward_tuple_cache(x, gamma, beta, bn_param):
    """Batch norm written another way, with its own cache layout (a tuple)."""
    mode, eps, m = bn_param["mode"], bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    D = x.shape[1]
    bn_param.setdefault("running_mean", np.zeros(D))
    bn_param.setdefault("running_var", np.zeros(D))
    if mode == "train":
        mu, var = x.mean(axis=0), x.var(axis=0)
        bn_param["running_mean"] = m * bn_param["running_mean"] + (1 - m) * mu
        bn_param["running_var"] = m * bn_param["running_var"] + (1 - m) * var
    else:
        mu, var = bn_param["running_mean"], bn_param["running_var"]
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, (mode, xhat, 1 / np.sqrt(var + eps), gamma)


def _bn_backward_tuple_cache(dout, cache):
    mode, xhat, istd, gamma = cache
    dbeta, dgamma = dout.sum(axis=0), (dout * xhat).sum(axis=0)
    if mode == "test":
        return dout * gamma * istd, dgamma, dbeta
    g = dout * gamma
    dx = istd * (g - g.mean(axis=0) - xhat * (g * xhat).mean(axis=0))
    return dx, dgamma, dbeta


@pytest.mark.parametrize(
    "name", ["batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt"]
)
def test_batchnorm_with_its_own_cache_earns_full_marks(name):
    functions = {
        "batchnorm_forward": _bn_forward_tuple_cache,
        "batchnorm_backward": _bn_backward_tuple_cache,
        "batchnorm_backward_alt": _bn_backward_tuple_cache,
    }
    result = _grade(name, {f: functions[f] for f in SPECS[name].functions})
    assert result.score == 1.0, result.text()


# --- the same mistake costs every student the same -------------------------------------------

MISTAKES = [(n, m.id) for n, s in SPECS.items() for m in s.mistakes]


@pytest.mark.parametrize("name, mistake", MISTAKES)
def test_a_mistake_costs_the_same_whatever_the_hidden_cases(name, mistake):
    spec = SPECS[name]
    m = next(m for m in spec.mistakes if m.id == mistake)
    scores = {run_spec(spec, DirectCallee(spec.implementation(m)), 1.0, t).score for t in TOKENS}
    assert len(scores) == 1, f"{name}/{mistake} scores {scores} across students"


# --- partial credit ---------------------------------------------------------------------------


def test_batchnorm_output_right_but_running_averages_lost_keeps_the_output_points():
    def forward(x, gamma, beta, bn_param):
        return nm.batchnorm_forward(x, gamma, beta, dict(bn_param))  # updates a copy

    result = run_spec(
        SPECS["batchnorm_forward"], DirectCallee({"batchnorm_forward": forward}), 4.0, "pytest"
    )
    failed = {c.name for c in result.checks if not c.passed}
    assert all("running" in n or n.startswith("hidden case") for n in failed), failed
    assert any(c.mistake == "not_written_back" for c in result.checks)
    assert 1.5 < result.score < 3.0


def test_an_apply_function_that_refits_is_named_and_scores_nothing():
    def standardize(X, stats):
        return pp.standardize(X, pp.fit_standardize(X))

    result = _grade("standardize", {"standardize": standardize})
    assert result.score == 0 and any(c.mistake == "refit" for c in result.checks)


# --- written answers -------------------------------------------------------------------------


@pytest.mark.parametrize("notebook", ["preprocessing", "init_and_batchnorm"])
def test_written_answers_are_hand_graded_and_their_model_answers_stay_out_of_the_release(notebook):
    source = json.loads((SOLUTIONS / f"{notebook}.ipynb").read_text())["cells"]
    released = {
        c["metadata"]["nbgrader"]["grade_id"]: c
        for c in json.loads((RELEASE / f"{notebook}.ipynb").read_text())["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id")
    }
    written = [
        c for c in source if c["cell_type"] == "markdown" and c["metadata"]["nbgrader"]["grade"]
    ]
    assert written
    for cell in written:
        meta = cell["metadata"]["nbgrader"]
        assert meta["solution"] and not meta["locked"] and meta["points"] > 0
        out = released[meta["grade_id"]]
        assert out["metadata"]["nbgrader"]["points"] == meta["points"]
        assert "".join(out["source"]).strip() == "YOUR ANSWER HERE"
        model = "".join(cell["source"])
        first_sentence = model.strip().split(".")[0]
        assert first_sentence not in (RELEASE / f"{notebook}.ipynb").read_text()


def test_at_least_three_written_answers():
    count = 0
    for notebook in ("preprocessing", "init_and_batchnorm"):
        for cell in json.loads((SOLUTIONS / f"{notebook}.ipynb").read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            count += cell["cell_type"] == "markdown" and bool(meta.get("grade"))
    assert count >= 3
