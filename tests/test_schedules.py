"""Tests for gradkit.schedules: learning-rate schedules and make_schedule."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradkit.schedules import (
    SCHEDULES,
    Schedule,
    constant,
    cosine,
    inverse_sqrt,
    linear_decay,
    linear_warmup,
    make_schedule,
    scale_lr_for_batch,
    step_decay,
)

# Hand values below are exact decimals or short products; only float
# rounding separates them from the computed ones.
HAND_RTOL = 1e-12

approx = lambda v: pytest.approx(v, rel=HAND_RTOL, abs=1e-15)  # noqa: E731


def test_constant():
    assert constant(0.3, 0) == 0.3
    assert constant(0.3, 1e6) == 0.3


def test_step_decay_by_hand():
    # 0.1 · 0.5^⌊t/10⌋
    assert step_decay(0.1, 0, 10, gamma=0.5) == approx(0.1)
    assert step_decay(0.1, 9, 10, gamma=0.5) == approx(0.1)
    assert step_decay(0.1, 10, 10, gamma=0.5) == approx(0.05)
    assert step_decay(0.1, 25, 10, gamma=0.5) == approx(0.025)
    assert step_decay(1.0, 30, 10) == approx(1e-3)  # default gamma 0.1, three drops


def test_cosine_by_hand():
    assert cosine(1.0, 0, 100) == approx(1.0)
    assert cosine(1.0, 25, 100) == approx(0.5 * (1 + math.sqrt(0.5)))  # cos(π/4) = √½
    assert cosine(1.0, 50, 100) == approx(0.5)
    assert cosine(1.0, 100, 100) == approx(0.0)
    assert cosine(1.0, 150, 100) == 0.0  # clamped after T
    # With a floor: 0.1 + ½·0.9·(1 + cos(π/2)) = 0.55
    assert cosine(1.0, 50, 100, lr_min=0.1) == approx(0.55)
    assert cosine(1.0, 100, 100, lr_min=0.1) == approx(0.1)
    assert cosine(1.0, 400, 100, lr_min=0.1) == approx(0.1)


def test_linear_decay_by_hand():
    assert linear_decay(0.2, 0, 100) == approx(0.2)
    assert linear_decay(0.2, 25, 100) == approx(0.15)
    assert linear_decay(0.2, 100, 100) == 0.0
    assert linear_decay(0.2, 150, 100) == 0.0


def test_inverse_sqrt_by_hand():
    assert inverse_sqrt(0.1, 0) == approx(0.1)  # t = 0 treated as t = 1
    assert inverse_sqrt(0.1, 1) == approx(0.1)
    assert inverse_sqrt(0.1, 4) == approx(0.05)
    assert inverse_sqrt(0.1, 100) == approx(0.01)
    # warmup = 4: flat at 0.1 until t = 4, then 0.1·√(4/t)
    assert inverse_sqrt(0.1, 2, warmup=4) == approx(0.1)
    assert inverse_sqrt(0.1, 16, warmup=4) == approx(0.05)


def test_linear_warmup_by_hand():
    # 0.1·(t + 1)/4 for t < 4, then constant 0.1
    assert [linear_warmup(0.1, t, 4) for t in range(6)] == [
        approx(0.025),
        approx(0.05),
        approx(0.075),
        approx(0.1),
        approx(0.1),
        approx(0.1),
    ]
    half = lambda t: 0.05  # noqa: E731
    assert linear_warmup(0.1, 3, 4, after=half) == approx(0.1)
    assert linear_warmup(0.1, 4, 4, after=half) == approx(0.05)


def test_linear_warmup_passes_global_step_to_after():
    seen = []
    linear_warmup(0.1, 7, 4, after=lambda t: seen.append(t) or 0.1)
    assert seen == [7]


def test_scale_lr_for_batch_by_hand():
    assert scale_lr_for_batch(0.1, 512, 128) == approx(0.4)
    assert scale_lr_for_batch(0.1, 64, 256) == approx(0.025)


steps = st.floats(0, 1e4, allow_nan=False)
rates = st.floats(1e-5, 10.0)


@given(lr0=rates, t1=steps, t2=steps, T=st.floats(1.0, 1e4), frac=st.floats(0, 1))
def test_decaying_schedules_are_monotone_and_bounded(lr0, t1, t2, T, frac):
    lo, hi = sorted((t1, t2))
    lr_min = frac * lr0
    for f in (
        lambda t: step_decay(lr0, t, T / 3, gamma=0.5),
        lambda t: cosine(lr0, t, T, lr_min=lr_min),
        lambda t: linear_decay(lr0, t, T),
        lambda t: inverse_sqrt(lr0, t, warmup=T / 10),
    ):
        assert 0 <= f(hi) <= f(lo) <= lr0 * (1 + 1e-12)
    assert cosine(lr0, hi, T, lr_min=lr_min) >= lr_min * (1 - 1e-12)


@given(lr0=rates, t1=steps, t2=steps, W=st.floats(1.0, 1e4))
def test_warmup_is_non_decreasing_and_reaches_lr0(lr0, t1, t2, W):
    lo, hi = sorted((t1, t2))
    assert 0 < linear_warmup(lr0, lo, W) <= linear_warmup(lr0, hi, W) <= lr0
    assert linear_warmup(lr0, W, W) == lr0


@pytest.mark.parametrize("W", [1, 5, 40])
def test_warmup_hands_over_continuously(W):
    # Consecutive steps never change the rate by more than one ramp increment
    # lr0/W: no jump when the decay takes over.
    lr0, T = 0.2, 10 * W
    schedules = [
        make_schedule("linear_warmup", lr0, warmup_steps=W, after="inverse_sqrt", warmup=W),
        Schedule(linear_warmup, lr0, warmup_steps=W, after=lambda s: cosine(lr0, s - W, T - W)),
    ]
    for sched in schedules:
        values = [sched(t) for t in range(T)]
        assert max(values) == approx(lr0)
        assert values[W - 1] == approx(lr0) and values[W] == approx(lr0)
        jumps = [abs(b - a) for a, b in zip(values, values[1:])]
        assert max(jumps) <= lr0 / W * (1 + 1e-12)


def test_schedules_are_pure_functions_of_t():
    sched = make_schedule("cosine", 0.1, T=50)
    first = [sched(t) for t in (30, 0, 10)]
    assert first == [sched(t) for t in (30, 0, 10)]
    assert sched(10) == cosine(0.1, 10, 50)


@pytest.mark.parametrize(
    "name, kwargs, func",
    [
        ("step_decay", {"step_size": 3, "gamma": 0.5}, step_decay),
        ("step", {"step_size": 3}, step_decay),
        ("cosine", {"T": 20, "lr_min": 0.01}, cosine),
        ("linear_decay", {"T": 20}, linear_decay),
        ("linear", {"T": 20}, linear_decay),
        ("inverse_sqrt", {}, inverse_sqrt),
        ("linear_warmup", {"warmup_steps": 4}, linear_warmup),
        ("constant", {}, constant),
        (None, {}, constant),
    ],
)
def test_make_schedule_matches_the_function(name, kwargs, func):
    sched = make_schedule(name, 0.1, **kwargs)
    assert callable(sched)
    for t in (0, 1, 7, 19, 100):
        assert sched(t) == func(0.1, t, **kwargs)
    assert func.__name__ in repr(sched)


def test_make_schedule_after_by_name():
    sched = make_schedule("linear_warmup", 0.1, warmup_steps=5, after="step", step_size=10)
    assert sched(2) == approx(0.06)
    assert sched(5) == approx(0.1)
    assert sched(12) == approx(0.01)


def test_make_schedule_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="'exponential'; expected one of .*'cosine'.*'warmup'"):
        make_schedule("exponential", 0.1)
    documented = {"step_decay", "cosine", "linear_decay", "inverse_sqrt", "linear_warmup"}
    assert documented <= set(SCHEDULES)


def test_make_schedule_bad_parameters_raise_at_construction():
    with pytest.raises(ValueError, match=r"'cosine' takes parameters \['T', 'lr_min'\]; got \[\]"):
        make_schedule("cosine", 0.1)
    with pytest.raises(ValueError, match=r"got \['T', 'gamma'\]"):
        make_schedule("cosine", 0.1, T=10, gamma=0.5)
    with pytest.raises(ValueError, match="T must be a positive"):
        make_schedule("cosine", 0.1, T=0)
    with pytest.raises(ValueError, match="lr0 must be a positive"):
        make_schedule("linear_decay", -0.1, T=10)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: step_decay(0.1, -1, 10), "step_decay: t must be a finite number >= 0; got -1"),
        (lambda: cosine(0.1, float("nan"), 10), "cosine: t must be a finite number >= 0"),
        (lambda: linear_decay(0.1, "3", 10), "linear_decay: t must be a number >= 0; got '3'"),
        (lambda: inverse_sqrt(0.1, None), "inverse_sqrt: t must be a number >= 0; got None"),
        (lambda: step_decay(0.0, 1, 10), "lr0 must be a positive"),
        (lambda: step_decay(0.1, 1, 0), "step_size must be a positive"),
        (lambda: step_decay(0.1, 1, 10, gamma=1.5), r"gamma must lie in \(0, 1\]; got 1.5"),
        (lambda: step_decay(0.1, 1, 10, gamma=0), "gamma must lie in"),
        (lambda: cosine(0.1, 1, -5), "T must be a positive"),
        (lambda: cosine(0.1, 1, 10, lr_min=0.2), "lr_min must not exceed lr0 = 0.1; got 0.2"),
        (lambda: cosine(0.1, 1, 10, lr_min=-0.1), "lr_min must be a non-negative"),
        (lambda: linear_decay(0.1, 1, 0), "T must be a positive"),
        (lambda: inverse_sqrt(0.1, 1, warmup=0), "warmup must be a positive"),
        (lambda: linear_warmup(0.1, 1, 0), "warmup_steps must be a positive"),
        (lambda: linear_warmup(0.1, 1, 5, after=0.3), "after must be a schedule callable"),
        (lambda: scale_lr_for_batch(0.1, 0, 128), "batch_size must be a positive integer; got 0"),
        (lambda: scale_lr_for_batch(0.1, 64, 12.5), "base_batch_size must be a positive integer"),
        (lambda: scale_lr_for_batch(-1, 64, 128), "lr0 must be a positive"),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
