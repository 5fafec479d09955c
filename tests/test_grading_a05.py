"""Assignment 05's specs, beyond the registry-wide bar of test_grading_specs.py.

* the notebook's own solutions earn full marks with hidden cases (and are not
  mistaken for the reference by the delegation watch);
* other correct ways of writing each function earn full marks too;
* every catalogued value mistake fails every hidden case, whatever the seed;
* the solver step's particular checks: a step that writes into its inputs
  loses only the no-mutation points, a broken return is reported clearly.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gradkit.grading import all_specs, get_spec
from gradkit.grading.callee import DirectCallee
from gradkit.grading.engine import run_spec
from gradkit.optim import get_update_rule

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "05_optimization"
SPECS = {n: s for n, s in all_specs().items() if s.assignment == ASSIGNMENT}
TOKENS = ["student-a", "student-b", "student-c", "student-d", "student-e"]


def _grade(name, functions, token="pytest-student", points=3.0):
    spec = get_spec(name)
    callee = DirectCallee(functions, forbidden=tuple(spec.forbidden_names()))
    return run_spec(spec, callee, points, token)


def test_the_assignment_grades_twelve_functions():
    assert sorted(SPECS) == sorted(
        [
            "sgd",
            "sgd_momentum",
            "nesterov_momentum",
            "adagrad",
            "rmsprop",
            "adam",
            "step_decay",
            "cosine",
            "linear_decay",
            "inverse_sqrt",
            "linear_warmup",
            "solver_step",
        ]
    )


def _notebook_solutions() -> dict:
    """The answer cells of both solution notebooks, executed in one namespace."""
    namespace = {"np": np, "math": math, "get_update_rule": get_update_rule}
    for path in sorted((REPO / "solutions" / ASSIGNMENT).glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("solution") and cell["cell_type"] == "code":
                exec(compile("".join(cell["source"]), str(path), "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", sorted(SPECS))
def test_notebook_solutions_earn_full_marks_with_hidden_cases(name):
    namespace = _notebook_solutions()
    functions = {fn: namespace[fn] for fn in SPECS[name].functions}
    for token in TOKENS[:2]:
        result = _grade(name, functions, token)
        assert result.score == 3.0, result.text()
        assert result.problem == ""


# --- other correct implementations ------------------------------------------------------------


def _adam_efficient(w, dw, config=None):
    """Adam with the corrections folded into the rate, ε added to √v̂ (still the spec's formula)."""
    c = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0}
    c.update(config or {})
    t = c["t"] + 1
    m = c["beta1"] * c.get("m", 0.0) + (1 - c["beta1"]) * dw
    v = c["beta2"] * c.get("v", 0.0) + (1 - c["beta2"]) * np.square(dw)
    step = c["learning_rate"] / (1 - np.power(c["beta1"], t))
    denom = np.sqrt(v / (1 - np.power(c["beta2"], t))) + c["epsilon"]
    return w - step * m / denom, {**c, "m": m + 0 * w, "v": v + 0 * w, "t": t}


def _momentum_get(w, dw, config=None):
    c = {"learning_rate": 1e-2, "momentum": 0.9, **(config or {})}
    v = -(c["learning_rate"] * dw - c["momentum"] * c.get("velocity", np.zeros_like(w)))
    return np.add(w, v), {**c, "velocity": v}


def _nesterov_lookahead(w, dw, config=None):
    # v_new = ρv − α·dw; w_new = w + v_new + ρ(v_new − v): the same update, regrouped
    c = {"learning_rate": 1e-2, "momentum": 0.9, **(config or {})}
    v = c.get("velocity", np.zeros_like(w))
    v_new = c["momentum"] * v - c["learning_rate"] * dw
    return w + v_new + c["momentum"] * (v_new - v), {**c, "velocity": v_new}


def _rmsprop_inplace_free(w, dw, config=None):
    c = dict(config or {})
    lr = c.setdefault("learning_rate", 1e-2)
    d = c.setdefault("decay_rate", 0.99)
    eps = c.setdefault("epsilon", 1e-8)
    cache = c.get("cache")
    cache = (1 - d) * dw**2 if cache is None else cache + (1 - d) * (dw**2 - cache)
    c["cache"] = cache
    return w - lr * dw / (eps + cache**0.5), c


def _solver_step_comprehension(params, grads, configs, update_rule, learning_rate=None):
    rule = get_update_rule(update_rule)
    rate = {} if learning_rate is None else {"learning_rate": learning_rate}
    out = {k: rule(params[k], grads[k], {**configs.get(k, {}), **rate}) for k in params}
    return {k: o[0] for k, o in out.items()}, {k: o[1] for k, o in out.items()}


ALTERNATIVES = {
    "sgd": lambda w, dw, config=None: (
        np.subtract(w, {"learning_rate": 1e-2, **(config or {})}["learning_rate"] * dw),
        {"learning_rate": 1e-2, **(config or {})},
    ),
    "sgd_momentum": _momentum_get,
    "nesterov_momentum": _nesterov_lookahead,
    "rmsprop": _rmsprop_inplace_free,
    "adam": _adam_efficient,
    "step_decay": lambda lr0, t, step_size, gamma=0.1: lr0 * gamma ** (t // step_size),
    "cosine": lambda lr0, t, T, lr_min=0.0: (
        lr_min + (lr0 - lr_min) * math.cos(math.pi * min(t, T) / (2 * T)) ** 2
    ),
    "linear_decay": lambda lr0, t, T: lr0 * (T - min(t, T)) / T,
    "inverse_sqrt": lambda lr0, t, warmup=1: lr0 if t < warmup else lr0 * math.sqrt(warmup / t),
    "linear_warmup": lambda lr0, t, warmup_steps: lr0 * min(1.0, (t + 1) / warmup_steps),
    "solver_step": _solver_step_comprehension,
}


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_other_correct_implementations_earn_full_marks(name):
    result = _grade(name, {name: ALTERNATIVES[name]})
    assert result.score == 3.0, result.text()


# --- hidden cases ---------------------------------------------------------------------------

#: Writing into the inputs does not change any value: only the no-mutation check sees it.
MUTATION_ONLY = {("solver_step", "in_place")}
VALUE_MISTAKES = [
    (name, m.id)
    for name, spec in SPECS.items()
    for m in spec.mistakes
    if (name, m.id) not in MUTATION_ONLY
]


@pytest.mark.parametrize("name, mistake", VALUE_MISTAKES)
def test_every_value_mistake_fails_every_hidden_case(name, mistake):
    spec = SPECS[name]
    m = next(m for m in spec.mistakes if m.id == mistake)
    for token in TOKENS:
        result = _grade(name, spec.implementation(m), token)
        hidden = [c for c in result.checks if c.hidden]
        assert hidden and not any(c.passed for c in hidden), (token, result.text())


# --- the solver step ---------------------------------------------------------------------------


def test_solver_step_writing_into_its_inputs_loses_only_the_mutation_points():
    spec = SPECS["solver_step"]
    m = next(m for m in spec.mistakes if m.id == "in_place")
    result = _grade("solver_step", spec.implementation(m))
    failed = [c for c in result.checks if not c.passed]
    assert [c.name for c in failed] == ["inputs are not modified"]
    total = sum(c.weight for c in result.checks)
    assert result.score == pytest.approx(3.0 * (total - failed[0].weight) / total, abs=1e-3)
    assert m.message in result.text()


def test_solver_step_with_a_broken_return_is_told_so():
    def params_only(params, grads, configs, update_rule, learning_rate=None):
        return _solver_step_comprehension(params, grads, configs, update_rule, learning_rate)[0]

    result = _grade("solver_step", {"solver_step": params_only})
    run = next(c for c in result.checks if c.name.startswith("a 6-step training run"))
    assert not run.passed and "instead of a tuple of 2 values" in run.detail
    assert result.score == 0


def test_solver_step_sharing_one_config_between_parameters_fails():
    def shared(params, grads, configs, update_rule, learning_rate=None):
        rule = get_update_rule(update_rule)
        config = dict(next(iter(configs.values()), {}))  # one config for every parameter
        if learning_rate is not None:
            config["learning_rate"] = learning_rate
        new = {}
        for k in params:
            try:
                new[k], config = rule(params[k], grads[k], config)
            except ValueError:  # a velocity of another parameter's shape
                new[k], config = params[k], config
        return new, {k: config for k in params}

    result = _grade("solver_step", {"solver_step": shared})
    assert result.score < 1.0, result.text()
