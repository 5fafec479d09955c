"""Specs of assignment 05, part 2 (training.ipynb): the solver's update step.

``solver_step(params, grads, configs, update_rule, learning_rate=None)``
updates every parameter of a model with the named rule, each parameter with
its own config, the schedule's rate written in first. Its reference is the
library's :func:`gradkit.solver.step.solver_step`, through which the
:class:`~gradkit.solver.Solver` makes every update (so ``Solver._step``,
which calls it, is forbidden too). It is judged on a fixed model (a small
:class:`~gradkit.models.FullyConnectedNet` with batch norm, float64):
single steps from given states, and a short training run in
which the grader computes the gradients at the parameters the student's
step returned, so carried state and schedule both show in the losses.

Tolerance: ``VALUE_RTOL`` (1e-7). The step only calls gradkit's update rules
(students look them up with ``get_update_rule``), so a correct step gives the
reference's arrays bit for bit, also after the six steps of the training run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import optim
from ...models import FullyConnectedNet
from ...solver.step import solver_step
from ..callee import Call
from ..checks import MISTAKE_SLACK, VALUE_ATOL, VALUE_RTOL, HiddenCases, NoMutation, Outputs, agree
from ..engine import REFERENCE, STUDENT, Context
from ..result import CheckResult
from ..spec import Case, Inputs, Mistake, Spec, inputs

ASSIGNMENT = "05_optimization"
RULES = tuple(optim.UPDATE_RULES)


def fixed_net(rng: np.random.Generator, hidden: Sequence[int] = (6, 5), n: int = 8):
    """A batch-norm net (D = 4, C = 3, reg 0.1, float64) and a batch it trains on."""
    model = FullyConnectedNet(
        list(hidden),
        input_dim=4,
        num_classes=3,
        normalization="batchnorm",
        reg=0.1,
        weight_scale=0.5,
        dtype=np.float64,
        seed=int(rng.integers(2**31)),
    )
    return model, rng.standard_normal((n, 4)), rng.integers(3, size=n)


def step_case(rule: str, learning_rate: float | None, config=None, warm=0, hidden=(6, 5)):
    """Inputs of one step on the fixed net; ``warm`` reference steps first build up state."""

    def make(rng: np.random.Generator) -> Inputs:
        model, X, y = fixed_net(rng, hidden)
        configs = {} if config is None else {k: dict(config) for k in model.params}
        for _ in range(warm):
            _, grads = model.loss(X, y)
            model.params, configs = solver_step(model.params, grads, configs, rule)
        _, grads = model.loss(X, y)
        return inputs(dict(model.params), grads, configs, rule, learning_rate=learning_rate)

    return make


def _hidden(rng: np.random.Generator) -> Inputs:
    # Always batch norm, a state to carry and a schedule rate unlike the configs' own:
    # every catalogued value mistake changes the result.
    rule = RULES[int(rng.integers(len(RULES)))]
    hidden = [int(h) for h in rng.integers(3, 8, size=int(rng.integers(1, 4)))]
    lr = float(10 ** rng.uniform(-3, -1.5))
    return step_case(rule, lr, {"learning_rate": 0.05}, int(rng.integers(1, 3)), hidden)(rng)


@dataclass
class TrainingRun:
    """``len(rates)`` steps of ``rule`` on the fixed net from empty configs, the grader taking
    the gradients at the parameters each step returned; losses and final parameters compared."""

    rule: str
    rates: Sequence[float]
    seed: int = 7
    weight: float = 2.0
    rtol: float = VALUE_RTOL
    atol: float = VALUE_ATOL

    def _train(self, ctx: Context, who: str) -> tuple[list[float], Any, str]:
        model, X, y = fixed_net(np.random.default_rng(self.seed))
        keys = set(model.params)
        params: Any = dict(model.params)
        configs: Any = {}
        losses: list[float] = []
        for k, lr in enumerate([*self.rates, None]):
            try:
                model.params = params
                loss, grads = model.loss(X, y)
            except Exception as exc:
                return losses, None, f"the parameters after step {k} break the model ({exc})"
            losses.append(loss)
            if lr is None:
                return losses, params, ""
            call = Call(
                ctx.spec.primary,
                inputs(params, grads, configs, self.rule, learning_rate=lr),
                returns=("data", "data"),
            )
            outcome = ctx.run(who, [(f"run|{self.rule}|{self.seed}|{k}", call)])[0]
            if not outcome.ok:
                return losses, None, f"your function {outcome.error} (step {k + 1})"
            params, configs = outcome.value
            if not isinstance(params, dict) or set(params) != keys or not isinstance(configs, dict):
                return losses, None, f"step {k + 1} did not return a params dict and a configs dict"
        return losses, params, ""  # pragma: no cover - the loop always returns

    def run(self, ctx: Context) -> list[CheckResult]:
        name = (
            f"a {len(self.rates)}-step training run with {self.rule} and a warm-up schedule: "
            "the reference's losses and parameters"
        )
        runs = {who: self._train(ctx, who) for who in ctx.callees}
        losses, _, error = runs[STUDENT]
        if error:
            return [CheckResult(name, False, self.weight, "values", error)]
        observed = {who: (r[0], r[1]) if not r[2] else None for who, r in runs.items()}

        def same(a: Any, b: Any, slack: float = 1.0) -> bool:
            tol = (self.rtol * slack, self.atol * slack)
            return (
                a is not None
                and b is not None
                and agree(a[0], b[0], *tol)
                and agree(a[1], b[1], *tol)
            )

        ok = same(observed[STUDENT], observed[REFERENCE])
        candidates = ctx.diagnose(observed, lambda a, b: same(a, b, MISTAKE_SLACK))
        detail = ""
        if not ok:
            ref = runs[REFERENCE][0]
            k = next(
                (i for i, (a, b) in enumerate(zip(losses, ref)) if not agree(a, b)), len(ref) - 1
            )
            detail = f"loss after {k} steps: expected {ref[k]:.6g}, got {losses[k]:.6g}"
        return [
            CheckResult(
                name, ok, self.weight, "values", detail, candidates=[] if ok else candidates
            )
        ]


# --- mistakes ---------------------------------------------------------------------------


def _mistaken(use_rate=True, keep_state=True, norm=True, in_place=False):
    """A solver step with one thing wrong (its own code: the mistakes must not run the
    reference, which the delegation watch would flag)."""

    def step(params, grads, configs, update_rule, learning_rate=None):
        rule = optim.get_update_rule(update_rule)
        out_p = params if in_place else {}
        out_c = configs if in_place else {}
        for key in list(params):
            cfg = {**configs.get(key, {})}
            if not norm and key.startswith(("gamma", "beta")):
                out_p[key] = params[key]
                if key in configs:
                    out_c[key] = cfg
                continue
            if use_rate and learning_rate is not None:
                cfg["learning_rate"] = learning_rate
            out_p[key], updated = rule(params[key], grads[key], cfg)
            if keep_state:
                out_c[key] = updated
            elif key in configs:
                out_c[key] = {**configs[key]}
        return out_p, out_c

    return step


RATES = [
    1e-3 * (t + 1) / 3 if t < 3 else 1e-3 * (1 + np.cos(np.pi * (t - 3) / 4)) / 2 for t in range(6)
]

solver_step_spec = Spec(
    name="solver_step",
    functions={"solver_step": solver_step},
    returns={"solver_step": ("params", "configs")},
    checks=[
        Outputs(
            [
                Case(
                    "sgd_momentum from empty configs, no schedule rate",
                    step_case("sgd_momentum", None),
                    21,
                )
            ],
            weight=1.0,
            name="{output} match the reference (sgd_momentum, empty configs)",
            hint={"configs": "each parameter starts from its own (empty) config"},
        ),
        Outputs(
            [
                Case(
                    "sgd, configs at rate 0.1, schedule rate 0.02",
                    step_case("sgd", 0.02, {"learning_rate": 0.1}),
                    22,
                )
            ],
            weight=1.0,
            name="{output} match the reference (sgd, the schedule's rate replaces the configs')",
        ),
        Outputs(
            [
                Case(
                    "adam two steps into a run, schedule rate 5e-4",
                    step_case("adam", 5e-4, {"learning_rate": 1e-3}, warm=2),
                    23,
                )
            ],
            weight=1.0,
            name="{output} match the reference (adam, each parameter with its own m, v, t)",
        ),
        TrainingRun("nesterov_momentum", RATES),
        HiddenCases(_hidden),
        NoMutation(),
    ],
    mistakes=[
        Mistake(
            "schedule_ignored",
            "your step ignores the learning_rate argument (the schedule's rate for this step)",
            _mistaken(use_rate=False),
        ),
        Mistake(
            "state_dropped",
            "your configs come back as they went in: the state the update rule wrote is lost",
            _mistaken(keep_state=False),
        ),
        Mistake(
            "norm_params_skipped",
            "your step leaves the batch-norm parameters (gamma, beta) unchanged",
            _mistaken(norm=False),
        ),
        Mistake(
            "in_place",
            "your function writes the new values into the caller's params and configs dicts",
            _mistaken(in_place=True),
        ),
    ],
    forbidden=("gradkit.solver.Solver._step",),
    title="one solver step: every parameter, its own config, the schedule's rate",
)

SPECS = [solver_step_spec]
