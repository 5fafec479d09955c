"""The spec kinds (layer, update rule, initializer, model, schedule) on the library's functions.

Each kind is built here on a reference from the library and held to the
registry's bar: the reference earns full marks, a stub 0, each planted
mistake loses points and is named. Assignments 02–05 write their specs
the same way.
"""

from __future__ import annotations

import numpy as np
import pytest

from gradkit import init, layers, optim, schedules
from gradkit.grading import mistakes as mk
from gradkit.grading.callee import DirectCallee
from gradkit.grading.engine import run_spec
from gradkit.grading.kinds import (
    initializer_spec,
    layer_specs,
    model_spec,
    schedule_spec,
    update_rule_spec,
)
from gradkit.grading.spec import Case, Mistake, Rng, inputs
from gradkit.models import TwoLayerNet

TOKEN = "pytest-student"


# --- layers -------------------------------------------------------------------------


def _affine_case(shape, m):
    def make(rng):
        d = int(np.prod(shape[1:]))
        return inputs(
            rng.standard_normal(shape), rng.standard_normal((d, m)), rng.standard_normal(m)
        )

    return make


def _affine_hidden(rng):
    shape = (int(rng.integers(2, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    return _affine_case(shape, int(rng.integers(1, 5)))(rng)


def _affine_dx_flat(dout, cache):
    x, w = cache
    dx, dw, db = layers.affine_backward(dout, cache)
    return dx.reshape(x.shape[0], -1), dw, db  # not reshaped back to x's shape


def _affine_db_wrong_axis(dout, cache):
    dx, dw, _ = layers.affine_backward(dout, cache)
    return dx, dw, dout.sum(axis=1)


def _affine_no_bias(x, w, b):
    out, cache = layers.affine_forward(x, w, b)
    return out - b, cache


AFFINE_FWD, AFFINE_BWD = layer_specs(
    "affine_forward",
    "affine_backward",
    (layers.affine_forward, layers.affine_backward),
    [Case("x of shape (3, 2, 2), M=4", _affine_case((3, 2, 2), 4), seed=1)],
    _affine_hidden,
    wrt=(0, 1, 2),
    grads=("dx", "dw", "db"),
    forward_mistakes=[Mistake("no_bias", "your output does not add the bias b", _affine_no_bias)],
    backward_mistakes=[
        Mistake(
            "dx_flat",
            "your dx is not reshaped back to x's shape",
            {"affine_backward": _affine_dx_flat},
        ),
        Mistake(
            "db_axis",
            "your db sums dout over the wrong axis",
            {"affine_backward": _affine_db_wrong_axis},
        ),
    ],
)


def _sigmoid_derivative_sigma(dout, cache):
    return dout * cache  # σ instead of σ(1 − σ)


def _x_case(shape):
    def make(rng):
        return inputs(rng.standard_normal(shape))

    return make


SIGMOID_FWD, SIGMOID_BWD = layer_specs(
    "sigmoid_forward",
    "sigmoid_backward",
    (layers.sigmoid_forward, layers.sigmoid_backward),
    [Case("x of shape (4, 5)", _x_case((4, 5)), seed=2)],
    _x_case((3, 3)),
    backward_mistakes=[
        Mistake(
            "sigma_only",
            "your derivative is σ(x), not σ(x)(1 − σ(x))",
            {"sigmoid_backward": _sigmoid_derivative_sigma},
        )
    ],
)


# --- update rules -------------------------------------------------------------------------


def _rule_case(shape, steps, config):
    def make(rng):
        return inputs(
            rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(steps)], config
        )

    return make


def _adam_no_correction(w, dw, config=None):
    config = {
        "learning_rate": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "epsilon": 1e-8,
        "t": 0,
        **(config or {}),
    }
    m = config["beta1"] * config.get("m", np.zeros_like(w)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros_like(w)) + (1 - config["beta2"]) * dw**2
    config.update(m=m, v=v, t=config["t"] + 1)
    return w - config["learning_rate"] * m / (np.sqrt(v) + config["epsilon"]), config


def _adam_late_t(w, dw, config=None):
    config = {
        "learning_rate": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "epsilon": 1e-8,
        "t": 0,
        **(config or {}),
    }
    t = config["t"] + 1
    probe = dict(config, t=t - 1)
    # bias correction with the old t (t incremented after use): 1 − β^0 = 0 on the first step
    m = config["beta1"] * config.get("m", np.zeros_like(w)) + (1 - config["beta1"]) * dw
    v = config["beta2"] * config.get("v", np.zeros_like(w)) + (1 - config["beta2"]) * dw**2
    tc = max(probe["t"], 1)
    m_hat, v_hat = m / (1 - config["beta1"] ** tc), v / (1 - config["beta2"] ** tc)
    config.update(m=m, v=v, t=t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


ADAM = update_rule_spec(
    "adam",
    optim.adam,
    [Case("w (3, 4), 4 steps, lr 0.01", _rule_case((3, 4), 4, {"learning_rate": 1e-2}), seed=3)],
    state=("m", "v", "t"),
    defaults=("learning_rate", "beta1", "beta2", "epsilon"),
    hidden=_rule_case((2, 3), 3, {"learning_rate": 5e-3}),
    mistakes=[
        Mistake(
            "no_bias_correction",
            "your steps match Adam without the bias correction of m and v",
            _adam_no_correction,
        ),
        Mistake(
            "late_t",
            "your steps match Adam with t incremented after the bias correction",
            _adam_late_t,
        ),
    ],
)


def _momentum_forgets(w, dw, config=None):
    config = {"learning_rate": 1e-2, "momentum": 0.9, **(config or {})}
    v = -config["learning_rate"] * dw  # the velocity is never carried over
    config["velocity"] = v
    return w + v, config


MOMENTUM = update_rule_spec(
    "sgd_momentum",
    optim.sgd_momentum,
    [Case("w (5,), 3 steps", _rule_case((5,), 3, {"learning_rate": 0.1}), seed=4)],
    state=("velocity",),
    defaults=("learning_rate", "momentum"),
    hidden=_rule_case((4,), 3, {"learning_rate": 0.05}),
    mistakes=[
        Mistake(
            "velocity_not_carried",
            "your velocity starts from zero at every step",
            _momentum_forgets,
        )
    ],
)


# --- initializers ----------------------------------------------------------------------------


def _xavier_wrong_fan(fan_in, fan_out, rng):
    return np.random.default_rng(rng).standard_normal((fan_in, fan_out)) * np.sqrt(1.0 / fan_out)


def _xavier_global(fan_in, fan_out, rng):
    return np.random.randn(fan_in, fan_out) * np.sqrt(2.0 / (fan_in + fan_out))


XAVIER = initializer_spec(
    "xavier_init",
    init.xavier_init,
    [Case("fan_in 500, fan_out 200", lambda rng: inputs(500, 200, Rng(7)))],
    mistakes=[
        Mistake(
            "fan_out_only", "your weights have the spread of Var(w) = 1/fan_out", _xavier_wrong_fan
        ),
    ],
)


# --- a model ----------------------------------------------------------------------------------


def two_layer_loss(params, X, y, reg=0.0):
    net = TwoLayerNet(X.shape[1], params["W1"].shape[1], params["W2"].shape[1], reg=reg)
    net.params = dict(params)
    return net.loss(X, y)


def _net_case(n, d, h, c, reg):
    def make(rng):
        params = {
            "W1": 0.5 * rng.standard_normal((d, h)),
            "b1": 0.1 * rng.standard_normal(h),
            "W2": 0.5 * rng.standard_normal((h, c)),
            "b2": 0.1 * rng.standard_normal(c),
        }
        return inputs(params, rng.standard_normal((n, d)), rng.integers(c, size=n), reg=reg)

    return make


NET = model_spec(
    "two_layer_loss",
    two_layer_loss,
    [Case("N=5, D=4, H=6, C=3, reg=0.2", _net_case(5, 4, 6, 3, 0.2), seed=5)],
    hidden=_net_case(4, 3, 5, 3, 0.3),
    mistakes=[
        Mistake(
            "reg_missing_in_grads",
            "your grads lack the regularization gradient",
            mk.reg_missing_in_grad(two_layer_loss, reg_at="reg"),
        ),
        Mistake(
            "no_mean",
            "your loss and grads are sums over the examples, not averages",
            mk.without_mean(two_layer_loss, reg_at="reg"),
        ),
    ],
)


# --- a schedule --------------------------------------------------------------------------------


def _cosine_double_period(lr0, t, T):
    return 0.5 * lr0 * (1 + np.cos(2 * np.pi * t / T))


COSINE = schedule_spec(
    "cosine",
    schedules.cosine,
    [Case(f"t={t}", lambda rng, t=t: inputs(0.1, t, 10)) for t in range(0, 11, 2)],
    mistakes=[
        Mistake(
            "two_periods",
            "your rate goes through a whole period of the cosine, not half",
            _cosine_double_period,
        )
    ],
)

SPECS = [AFFINE_FWD, AFFINE_BWD, SIGMOID_FWD, SIGMOID_BWD, ADAM, MOMENTUM, XAVIER, NET, COSINE]
MISTAKES = [(s, m) for s in SPECS for m in s.mistakes]


def _student(spec, functions):
    return DirectCallee(functions, forbidden=tuple(spec.forbidden_names()))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_reference_full_marks_and_stub_zero(spec):
    ref = run_spec(spec, DirectCallee(spec.implementation()), 2.0, TOKEN)
    assert ref.score == 2.0, ref.text()

    def stub(*args, **kwargs):
        raise NotImplementedError()

    assert run_spec(spec, _student(spec, {f: stub for f in spec.functions}), 2.0, TOKEN).score == 0


@pytest.mark.parametrize(
    "spec, mistake", MISTAKES, ids=lambda x: getattr(x, "id", getattr(x, "name", ""))
)
def test_mistakes_lose_points_and_are_named(spec, mistake):
    result = run_spec(spec, _student(spec, spec.implementation(mistake)), 2.0, TOKEN)
    assert result.score < 2.0, result.text()
    assert mistake.message in result.text(), result.text()


def test_backward_is_fed_the_students_own_cache():
    """A forward that stores its cache its own way works with its own backward."""

    def forward(x, w, b):
        return layers.affine_forward(x, w, b)[0], {"x": x, "w": w}

    def backward(dout, cache):
        x, w = cache["x"], cache["w"]
        dx = (dout @ w.T).reshape(x.shape)
        return dx, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)

    functions = {"affine_forward": forward, "affine_backward": backward}
    result = run_spec(AFFINE_BWD, _student(AFFINE_BWD, functions), 2.0, TOKEN)
    assert result.score == 2.0, result.text()


def test_own_backward_catches_a_backward_inconsistent_with_its_forward():
    def backward(dout, cache):
        x, w = cache
        dw = x.reshape(x.shape[0], -1).T @ dout
        return (dout @ w.T).reshape(x.shape), dw.T.reshape(dw.shape), dout.sum(axis=0)

    functions = {"affine_forward": layers.affine_forward, "affine_backward": backward}
    result = run_spec(AFFINE_BWD, _student(AFFINE_BWD, functions), 2.0, TOKEN)
    own = next(c for c in result.checks if c.name.startswith("your backward agrees"))
    assert not own.passed and own.detail.startswith("dw: relative error")


def test_initializer_using_the_global_rng_is_not_reproducible():
    result = run_spec(XAVIER, _student(XAVIER, {"xavier_init": _xavier_global}), 2.0, None)
    repro = next(c for c in result.checks if c.name.startswith("reproducible"))
    assert not repro.passed and "global seed" in repro.detail


def test_update_rule_defaults_are_checked_from_config_none():
    def no_defaults(w, dw, config=None):
        return optim.sgd_momentum(w, dw, {"learning_rate": 0.1, "momentum": 0.9, **(config or {})})

    result = run_spec(MOMENTUM, _student(MOMENTUM, {"sgd_momentum": no_defaults}), 2.0, None)
    defaults = [c for c in result.checks if "config=None" in c.name and "config holds" in c.name]
    assert defaults and not defaults[0].passed and "learning_rate" in defaults[0].detail


def test_a_forward_mistake_given_as_any_mapping_reaches_the_backward_spec():
    """Mistake.impl may be any mapping (as Spec.implementation reads it), not only a dict."""
    from types import MappingProxyType

    fwd, bwd = layer_specs(
        "affine_forward",
        "affine_backward",
        (layers.affine_forward, layers.affine_backward),
        [Case("x of shape (3, 2, 2), M=4", _affine_case((3, 2, 2), 4), seed=1)],
        _affine_hidden,
        wrt=(0, 1, 2),
        grads=("dx", "dw", "db"),
        forward_mistakes=[
            Mistake(
                "no_bias",
                "your output does not add the bias b",
                MappingProxyType({"affine_forward": _affine_no_bias}),
            )
        ],
    )
    mistake = bwd.mistakes[0]
    assert dict(mistake.impl) == {"affine_forward": _affine_no_bias}
    assert bwd.implementation(mistake)["affine_forward"] is _affine_no_bias
