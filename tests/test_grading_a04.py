"""Assignment 04's specs, beyond the registry-wide bar of test_grading_specs.py.

* every catalogued mistake that changes a value fails *every* hidden case,
  for many students' seeds (the same mistake costs every student the same);
* students' alternative correct implementations (their own cache layout,
  a loop over columns, another stable formula, their own penalties called
  by name) earn full marks;
* a backward pass that redraws its mask from numpy's global generator is
  named, and some partial-credit levels are what the weights promise.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from gradkit.grading import all_specs, get_spec
from gradkit.grading.callee import DirectCallee
from gradkit.grading.engine import run_spec

SPECS = {n: s for n, s in all_specs().items() if s.assignment == "04_regularization"}
#: Mistakes that return the right values (they are caught by the no-mutation check).
NOT_A_VALUE = {("max_norm_project", "in_place")}
VALUE_MISTAKES = [
    (name, m.id) for name, s in SPECS.items() for m in s.mistakes if (name, m.id) not in NOT_A_VALUE
]


def _student(spec, functions):
    return DirectCallee(functions, forbidden=tuple(spec.forbidden_names()))


def test_assignment_04_grades_sixteen_functions():
    assert len(SPECS) == 16


@pytest.mark.parametrize("name, mistake", VALUE_MISTAKES)
def test_every_value_mistake_fails_every_hidden_case(name, mistake):
    spec = SPECS[name]
    m = next(m for m in spec.mistakes if m.id == mistake)
    for token in (f"student-{k}" for k in range(6)):
        result = run_spec(spec, DirectCallee(spec.implementation(m)), 1.0, token)
        hidden = [c for c in result.checks if c.hidden]
        assert hidden and not any(c.passed for c in hidden), (token, result.text())


# --- students' own, correct implementations ------------------------------------------------


def _keep(shape, param):
    rng = np.random.default_rng(param.get("seed"))
    return rng.random(shape) < param["p"]


def my_dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    if mode == "test":
        return x.copy(), (None, p)
    keep = _keep(x.shape, dropout_param)
    return np.where(keep, x / p, 0.0), (keep, p)  # a boolean mask and p, as a tuple


def my_dropout_backward(dout, cache):
    keep, p = cache
    return dout.copy() if keep is None else np.where(keep, dout / p, 0.0)


def my_vanilla_forward(x, dropout_param):
    p = dropout_param["p"]
    if dropout_param["mode"] == "test":
        return x * p, {"p": p}
    mask = _keep(x.shape, dropout_param) * 1.0
    return x * mask, {"mask": mask}


def my_vanilla_backward(dout, cache):
    return dout * cache["mask"] if "mask" in cache else dout * cache["p"]


def my_dropconnect_forward(x, w, b, param):
    flat = x.reshape(x.shape[0], -1)
    scale = None if param["mode"] == "test" else _keep(w.shape, param) / param["p"]
    used = w if scale is None else w * scale
    return flat @ used + b, (x, used, scale)


def my_dropconnect_backward(dout, cache):
    x, used, scale = cache
    dw = x.reshape(x.shape[0], -1).T @ dout
    dx = (dout @ used.T).reshape(x.shape)
    return dx, (dw if scale is None else dw * scale), dout.sum(axis=0)


def my_max_norm_project(w, c, axis=0):
    out = np.array(w, dtype=float)
    vectors = out.T if axis == 0 else out  # a view: rows of it are the units
    for v in vectors:
        norm = np.linalg.norm(v)
        if norm > c:
            v *= c / norm
    return out


def my_sigmoid_cross_entropy_loss(x, y01):
    n = x.shape[0]
    loss = np.sum(np.maximum(x, 0) - x * y01 + np.log1p(np.exp(-np.abs(x)))) / n
    e = np.exp(-np.abs(x))
    sig = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return float(loss), (sig - y01) / n


def l2_penalty(w, reg):  # the student's own, called by name from penalty_over_params
    return 0.5 * reg * float(np.sum(w * w)), reg * w


def l1_penalty(w, reg):
    return reg * float(np.sum(np.abs(w))), reg * np.sign(w)


def elastic_net_penalty(w, l1, l2):
    a, ga = l1_penalty(w, l1)
    b, gb = l2_penalty(w, l2)
    return a + b, ga + gb


def my_penalty_over_params(params, reg, kind="l2", skip=("b", "gamma", "beta")):
    total, grads = 0.0, {}
    for name, value in params.items():
        if name.startswith(tuple(skip)):
            continue
        if kind == "elastic_net":
            pen, grad = elastic_net_penalty(value, *reg)
        else:
            pen, grad = {"l2": l2_penalty, "l1": l1_penalty}[kind](value, reg)
        total += pen
        grads[name] = grad
    return total, grads


ALTERNATIVES = {
    "dropout_forward": {"dropout_forward": my_dropout_forward},
    "dropout_backward": {
        "dropout_backward": my_dropout_backward,
        "dropout_forward": my_dropout_forward,
    },
    "vanilla_dropout_forward": {"vanilla_dropout_forward": my_vanilla_forward},
    "vanilla_dropout_backward": {
        "vanilla_dropout_backward": my_vanilla_backward,
        "vanilla_dropout_forward": my_vanilla_forward,
    },
    "dropconnect_forward": {"dropconnect_forward": my_dropconnect_forward},
    "dropconnect_backward": {
        "dropconnect_backward": my_dropconnect_backward,
        "dropconnect_forward": my_dropconnect_forward,
    },
    "max_norm_project": {"max_norm_project": my_max_norm_project},
    "sigmoid_cross_entropy_loss": {"sigmoid_cross_entropy_loss": my_sigmoid_cross_entropy_loss},
    "penalty_over_params": {"penalty_over_params": my_penalty_over_params},
    "l2_penalty": {"l2_penalty": l2_penalty},
    "l1_penalty": {"l1_penalty": l1_penalty},
}


@pytest.mark.parametrize("name", sorted(ALTERNATIVES))
def test_an_alternative_correct_implementation_earns_full_marks(name):
    spec = get_spec(name)
    result = run_spec(spec, _student(spec, ALTERNATIVES[name]), 2.0, "student-a")
    assert result.score == 2.0, result.text()


# --- diagnoses and partial credit ----------------------------------------------------------


def test_a_backward_that_redraws_from_the_global_generator_is_named():
    def backward(dout, cache):
        keep, p = cache
        if keep is None:
            return dout.copy()
        return dout * (np.random.rand(*dout.shape) < p) / p

    spec = get_spec("dropout_backward")
    functions = {"dropout_forward": my_dropout_forward, "dropout_backward": backward}
    result = run_spec(spec, _student(spec, functions), 2.0, "student-b")
    assert result.score < 1.0
    named = [c for c in result.checks if c.mistake == "mask_redrawn"]
    assert named and named[0].name == "backward reuses the forward's mask", result.text()


def test_an_unstable_sigmoid_loss_keeps_the_credit_of_its_right_values():
    spec = get_spec("sigmoid_cross_entropy_loss")
    unstable = next(m for m in spec.mistakes if m.id == "unstable")
    result = run_spec(spec, DirectCallee(spec.implementation(unstable)), 2.0, "student-c")
    passed = {c.name for c in result.checks if c.passed}
    assert {"loss matches the reference", "dx matches the reference"} <= passed
    assert 0 < result.score < 1.5
    assert not any(c.passed for c in result.checks if c.hidden)


def test_max_norm_in_place_loses_only_the_no_mutation_credit():
    spec = get_spec("max_norm_project")
    in_place = next(m for m in spec.mistakes if m.id == "in_place")
    result = run_spec(spec, DirectCallee(spec.implementation(in_place)), 2.0, "student-d")
    failed = [c for c in result.checks if not c.passed]
    assert [c.name for c in failed] == ["inputs are not modified"]
    assert failed[0].mistake == "in_place"
    assert 1.5 < result.score < 2.0


# --- graded work that teaches: derived functions weigh more, and the kit does not dictate them ---

#: Graded functions whose formula the notebook does not give: the student derives it.
DERIVED = {
    "squared_hinge_loss": "losses",
    "sigmoid_cross_entropy_loss": "losses",
    "max_norm_project": "regularization",
    "dropconnect_backward": "dropout",
}
_SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions" / "04_regularization"


def _points() -> dict[str, float]:
    found: dict[str, float] = {}
    for nb in sorted(_SOLUTIONS.glob("*.ipynb")):
        text = nb.read_text(encoding="utf-8")
        for name, points in re.findall(r'grade\(\\"(\w+)\\", points=([0-9.]+)', text):
            found[name] = float(points)
    return found


def test_derived_functions_carry_more_points_than_stated_formulas():
    points = _points()
    assert set(points) == set(SPECS)
    derived = [points[name] for name in DERIVED]
    stated = [p for name, p in points.items() if name not in DERIVED]
    assert min(derived) > max(stated), points


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_the_kit_docstring_of_a_derived_function_gives_no_formula(name):
    module = importlib.import_module(f"gradkit.{DERIVED[name]}")
    shown = (inspect.getdoc(getattr(module, name)) or "").split("\n\n", 1)[0]  # what a kit shows
    assert not re.search(r"=|σ|sign\(|min\(|max\(|logaddexp|\bM\b", shown), shown
