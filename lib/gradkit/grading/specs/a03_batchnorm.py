"""Specs of assignment 03, part 4 (init_and_batchnorm.ipynb): batch normalization, forward in
train and test mode with running averages, backward through the graph, and the closed-form
backward.

``batchnorm_forward`` writes its running averages back into ``bn_param`` (the API's one
exception to "inputs are not modified"), so its spec exempts that argument from the
mutation check and adds :class:`RunningStats`, which compares ``bn_param`` after each call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ... import normalization as nm
from ..callee import Call
from ..checks import (
    MISTAKE_SLACK,
    VALUE_ATOL,
    VALUE_RTOL,
    Backward,
    HiddenPairCases,
    NoMutation,
    OwnBackward,
    agree,
    tags,
)
from ..engine import REFERENCE, STUDENT, Context
from ..kinds import Hidden, layer_specs
from ..result import CheckResult
from ..spec import Case, Mistake, Spec, inputs

ASSIGNMENT = "03_data_and_init"

RUNNING = ("running_mean", "running_var")


@dataclass
class RunningStats:
    """``bn_param`` holds the reference's running_mean and running_var after each call."""

    cases: Sequence[Case]
    at: int = 3
    weight: float = 2.0
    name: str = "running_mean and running_var written back into bn_param ({n} cases)"
    hint: str = "store the updated averages in bn_param itself: the caller reads them from there"

    def run(self, ctx: Context) -> list[CheckResult]:
        fn, spec = ctx.spec.primary, ctx.spec
        requests = [  # the same calls as the Outputs check: their outcomes are reused
            (f"{fn}|{c.label}|{c.seed}", Call(fn, c.build(), returns=tags(spec, fn)))
            for c in self.cases
        ]
        outcomes = ctx.run_all(requests)
        name = self.name.format(n=len(self.cases))
        for i, case in enumerate(self.cases):
            student = outcomes[STUDENT][i]
            if not student.ok:
                return [
                    CheckResult(name, False, self.weight, detail=f"your function {student.error}")
                ]
            observed = {who: _running(outs[i], self.at) for who, outs in outcomes.items()}
            ok = _same(observed[STUDENT], observed[REFERENCE], VALUE_RTOL, VALUE_ATOL)
            candidates = ctx.diagnose(observed, _same_slack)
            if not ok:
                got = observed[STUDENT]
                missing = [k for k in RUNNING if got is None or got.get(k) is None]
                detail = f"({case.label}) " + (
                    f"bn_param has no {', '.join(missing)} after the call"
                    if missing
                    else "bn_param's running averages differ from the reference's"
                )
                return [
                    CheckResult(
                        name,
                        False,
                        self.weight,
                        detail=detail,
                        hint=self.hint,
                        candidates=candidates,
                    )
                ]
        return [CheckResult(name, True, self.weight)]


def _same(a: dict | None, b: dict | None, rtol: float, atol: float) -> bool:
    """Running averages agree key by key; a missing one agrees only with a missing one."""
    if a is None or b is None:
        return a is None and b is None
    return all(
        (a[k] is None and b[k] is None)
        or (a[k] is not None and b[k] is not None and agree(a[k], b[k], rtol, atol))
        for k in RUNNING
    )


def _same_slack(a: dict | None, b: dict | None) -> bool:
    return _same(a, b, VALUE_RTOL * MISTAKE_SLACK, VALUE_ATOL * MISTAKE_SLACK)


def _running(outcome, at: int) -> dict | None:
    if not outcome.ok or outcome.args_after is None:
        return None
    bn_param = outcome.args_after.args[at]
    if not isinstance(bn_param, dict):
        return None
    return {k: bn_param.get(k) for k in RUNNING}


# --- inputs ------------------------------------------------------------------------------


def _bn_case(n: int, d: int, mode: str, running: bool, **extra: float):
    def make(rng):
        x = rng.uniform(-2, 2, d) + rng.uniform(0.5, 3, d) * rng.standard_normal((n, d))
        gamma, beta = rng.uniform(0.5, 2, d), rng.standard_normal(d)
        bn_param: dict = {"mode": mode, **extra}
        if running:
            bn_param["running_mean"] = rng.standard_normal(d)
            bn_param["running_var"] = rng.uniform(0.5, 2, d)
        return inputs(x, gamma, beta, bn_param)

    return make


def _hidden_bn(rng):
    # Train mode, N >= 3, N != D, running averages given: every train-mode mistake shows.
    d = int(rng.integers(2, 7))
    n = int(rng.integers(3, 12))
    n = n + 1 if n == d else n
    return _bn_case(n, d, "train", True, momentum=float(rng.uniform(0.5, 0.95)))(rng)


BN_CASES = [
    Case("train mode, bn_param={'mode': 'train'}", _bn_case(8, 5, "train", False), seed=31),
    Case(
        "train mode, running averages given, momentum 0.8",
        _bn_case(6, 4, "train", True, momentum=0.8),
        seed=32,
    ),
    Case("test mode", _bn_case(5, 3, "test", True), seed=33),
]


# --- mistakes ----------------------------------------------------------------------------


def _bn_variant(
    ddof: int = 0,
    axis: int = 0,
    test_batch: bool = False,
    test_updates: bool = False,
    swap: bool = False,
    write: bool = True,
) -> Callable:
    """Batch norm with one classic mistake switched on (gradkit's cache layout, so the
    reference backward runs on its cache)."""

    def forward(x, gamma, beta, bn_param):
        mode, eps = bn_param["mode"], bn_param.get("eps", 1e-5)
        momentum = bn_param.get("momentum", 0.9)
        zeros = np.zeros(x.shape[1])
        running_mean = bn_param.get("running_mean", zeros)
        running_var = bn_param.get("running_var", zeros)
        batch = mode == "train" or test_batch
        if batch:
            mu = x.mean(axis=axis, keepdims=True)
            var = x.var(axis=axis, ddof=ddof, keepdims=True)
        else:
            mu, var = running_mean, running_var
        if mode == "train" or test_updates:
            a, b = (1 - momentum, momentum) if swap else (momentum, 1 - momentum)
            running_mean = a * running_mean + b * x.mean(axis=0)
            running_var = b * x.var(axis=0, ddof=ddof) + a * running_var
        if write:
            bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
        xc = x - mu
        std = np.sqrt(var + eps)
        xhat = xc / std
        cache = {"mode": mode, "xc": xc, "xhat": xhat, "std": std, "istd": 1 / std, "gamma": gamma}
        return gamma * xhat + beta, cache

    return forward


def _bn_backward_variant(kind: str) -> Callable:
    def backward(dout, cache):
        dx, dgamma, dbeta = nm.batchnorm_backward(dout, cache)
        if cache["mode"] == "test" and kind != "no_sum":
            return dx, dgamma, dbeta
        xhat, g = cache["xhat"], cache["gamma"] * cache["istd"]
        if kind == "constants":
            dx = g * dout
        elif kind == "no_mean_term":
            dx = g * (dout - xhat * np.mean(dout * xhat, axis=0))
        elif kind == "no_var_term":
            dx = g * (dout - np.mean(dout, axis=0))
        elif kind == "no_sum":
            dgamma, dbeta = dout * xhat, dout
        return dx, dgamma, dbeta

    return backward


def _bn_backward_mistakes(name: str) -> list[Mistake]:
    messages = {
        "constants": "your dx is dout·gamma/σ: it treats the batch mean and variance as "
        "constants, so both mean-of-gradient terms are missing",
        "no_mean_term": "your dx lacks the part of the gradient that flows through the batch "
        "mean μ",
        "no_var_term": "your dx lacks the part of the gradient that flows through the batch "
        "variance σ²",
        "no_sum": "your dgamma and dbeta have one row per example: they are not summed over "
        "the batch",
    }
    return [Mistake(k, m, {name: _bn_backward_variant(k)}) for k, m in messages.items()]


BN_UNBIASED = Mistake(
    "unbiased_var",
    "your output uses the unbiased batch variance (divided by N − 1); batch norm divides by N",
    _bn_variant(ddof=1),
)
BN_WRONG_AXIS = Mistake(
    "wrong_axis",
    "your output normalizes each example over its features (axis 1): batch norm normalizes "
    "each feature over the batch (axis 0)",
    _bn_variant(axis=1),
)
BN_TEST_BATCH = Mistake(
    "test_uses_batch",
    "in test mode your output is normalized with the test batch's own mean and variance "
    "instead of the running averages",
    _bn_variant(test_batch=True),
)
BN_WRITE_MISTAKES = [
    Mistake(
        "test_updates",
        "your function changes the running averages in test mode: only train mode updates them",
        _bn_variant(test_updates=True),
    ),
    Mistake(
        "momentum_swapped",
        "your running averages keep (1 − momentum) of the old value and add momentum times "
        "the batch statistic: the weights are swapped",
        _bn_variant(swap=True),
    ),
    Mistake(
        "not_written_back",
        "bn_param is unchanged after a train-mode call: the updated running averages never "
        "reach the caller",
        _bn_variant(write=False),
    ),
]


# --- specs -------------------------------------------------------------------------------

GRADS = ("dx", "dgamma", "dbeta")

_bn_fwd, batchnorm_backward = layer_specs(
    "batchnorm_forward",
    "batchnorm_backward",
    (nm.batchnorm_forward, nm.batchnorm_backward),
    BN_CASES,
    _hidden_bn,
    wrt=(0, 1, 2),
    grads=GRADS,
    forward_mistakes=[BN_UNBIASED, BN_WRONG_AXIS, BN_TEST_BATCH],
    backward_mistakes=_bn_backward_mistakes("batchnorm_backward"),
    exempt=(3,),
    title="batch normalization",
)
batchnorm_forward = replace(
    _bn_fwd,
    checks=[
        *_bn_fwd.checks,
        RunningStats(BN_CASES),
        Hidden(lambda case: RunningStats([case]), _hidden_bn, weight=1.0),
    ],
    mistakes=[*_bn_fwd.mistakes, *BN_WRITE_MISTAKES],
)

batchnorm_backward_alt = Spec(
    name="batchnorm_backward_alt",
    functions={
        "batchnorm_backward_alt": nm.batchnorm_backward_alt,
        "batchnorm_forward": nm.batchnorm_forward,
    },
    returns={"batchnorm_forward": ("out", "~cache"), "batchnorm_backward_alt": GRADS},
    checks=[
        Backward(BN_CASES, "batchnorm_forward", "batchnorm_backward_alt"),
        OwnBackward(BN_CASES, "batchnorm_forward", "batchnorm_backward_alt", wrt=(0, 1, 2)),
        HiddenPairCases(_hidden_bn, "batchnorm_forward", "batchnorm_backward_alt"),
        NoMutation(exempt=(3,)),
    ],
    mistakes=_bn_backward_mistakes("batchnorm_backward_alt"),
    forbidden=("gradkit.normalization.batchnorm_backward",),
    kind="layer",
    title="batch normalization, closed-form backward",
)

SPECS = [batchnorm_forward, batchnorm_backward, batchnorm_backward_alt]
