"""gradkit.solver.step.solver_step, and the Solver making every update through it."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import gradkit.solver
from gradkit import optim
from gradkit.models import TwoLayerNet
from gradkit.solver import Solver, solver_step


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.standard_normal((3, 2)), "b1": rng.standard_normal(2)}
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    return params, grads


def test_each_parameter_is_updated_by_the_rule_with_its_own_config():
    params, grads = _problem()
    configs = {"W1": {"learning_rate": 0.1, "momentum": 0.5}}  # b1 has none: starts from {}
    new_params, new_configs = solver_step(params, grads, configs, "sgd_momentum")
    for k in params:
        want_w, want_cfg = optim.sgd_momentum(params[k], grads[k], dict(configs.get(k, {})))
        assert np.array_equal(new_params[k], want_w)
        assert new_configs[k].keys() == want_cfg.keys()
        assert np.array_equal(new_configs[k]["velocity"], want_cfg["velocity"])
    # hand computed: the first momentum step is -lr·dw
    assert np.allclose(new_params["W1"], params["W1"] - 0.1 * grads["W1"])
    assert np.allclose(new_params["b1"], params["b1"] - 1e-2 * grads["b1"])


def test_the_schedules_rate_replaces_the_configs_and_nothing_passed_in_changes():
    params, grads = _problem(1)
    configs = {k: {"learning_rate": 0.5} for k in params}
    before = copy.deepcopy((params, grads, configs))
    new_params, new_configs = solver_step(params, grads, configs, "sgd", learning_rate=0.02)
    for k in params:
        assert np.array_equal(new_params[k], params[k] - 0.02 * grads[k])
        assert new_configs[k]["learning_rate"] == 0.02
        assert new_params[k] is not params[k] and new_configs[k] is not configs[k]
    assert new_params is not params and new_configs is not configs
    for k in params:
        assert np.array_equal(before[0][k], params[k]) and np.array_equal(before[1][k], grads[k])
    assert configs == before[2]


def test_a_rule_may_be_given_as_a_function():
    params, grads = _problem(2)
    new_params, _ = solver_step(params, grads, {}, optim.adam)
    by_name, _ = solver_step(params, grads, {}, "adam")
    assert all(np.array_equal(new_params[k], by_name[k]) for k in params)


def test_bad_input_raises():
    params, grads = _problem()
    del grads["b1"]
    with pytest.raises(ValueError, match="got none for 'b1'"):
        solver_step(params, grads, {}, "sgd")
    with pytest.raises(ValueError, match="unknown update rule 'sgdd'"):
        solver_step(*_problem(), {}, "sgdd")


def _data(seed=3):
    rng = np.random.default_rng(seed)
    return {
        "X_train": rng.standard_normal((30, 4)),
        "y_train": rng.integers(3, size=30),
        "X_val": rng.standard_normal((6, 4)),
        "y_val": rng.integers(3, size=6),
    }


@pytest.mark.parametrize("rule", ["rmsprop", optim.rmsprop])
def test_the_solver_makes_every_update_through_solver_step(monkeypatch, rule):
    calls = []

    def recording(params, grads, configs, update_rule, learning_rate=None):
        calls.append((update_rule, learning_rate))
        return solver_step(params, grads, configs, update_rule, learning_rate)

    monkeypatch.setattr(gradkit.solver, "solver_step", recording)
    model = TwoLayerNet(4, 5, 3, weight_scale=0.1, seed=0)
    solver = Solver(
        model,
        _data(),
        update_rule=rule,
        lr_schedule=("step", {"step_size": 3}),
        batch_size=10,
        num_epochs=2,
        progress=False,
        verbose=False,
        seed=0,
    )
    solver.train()
    assert len(calls) == solver.t == 6
    assert {r for r, _ in calls} == {rule}  # a name stays a name, a function a function
    assert [lr for _, lr in calls] == solver.lr_history


def test_a_rule_replaced_after_construction_is_the_one_used(monkeypatch):
    calls = []

    def recording(params, grads, configs, update_rule, learning_rate=None):
        calls.append(update_rule)
        return solver_step(params, grads, configs, update_rule, learning_rate)

    monkeypatch.setattr(gradkit.solver, "solver_step", recording)
    solver = Solver(
        TwoLayerNet(4, 5, 3, seed=0),
        _data(),
        update_rule="sgd",
        batch_size=10,
        num_epochs=1,
        progress=False,
        verbose=False,
    )
    solver.update_rule = optim.adam
    solver.train()
    assert calls and set(calls) == {optim.adam}
    assert all("t" in cfg for cfg in solver.optim_configs.values())  # Adam's state
