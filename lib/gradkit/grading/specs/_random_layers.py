"""Checks shared by the specs of assignment 04's random layers (dropout, DropConnect).

Not a spec module (no ``SPECS``): :mod:`.a04_dropout` and :mod:`.a04_dropconnect`
build their specs with :func:`dropout_pair`. ``p`` is the KEEP probability;
every case passes a ``seed`` in the parameter dict and the notebook fixes how
the mask is drawn (``np.random.default_rng(seed).random(shape) < p``), so a
student's mask is the reference's bit for bit and outputs compare exactly.
Each hidden case is judged in train *and* test mode (:class:`HiddenModes`),
so every catalogued mistake — a train-time one or a test-time one — fails
every hidden case whatever the seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..callee import Call
from ..checks import Backward, Custom, NoMutation, Outputs, OwnBackward
from ..engine import STUDENT, Context
from ..result import CheckResult
from ..spec import Case, Inputs, Mistake, Spec


@dataclass
class HiddenModes:
    """``count`` hidden cases, each run in train mode and in test mode (same x, p and seed).

    ``inner([case])`` builds the checks run on one mode's case; the hidden
    case passes when they all pass in both modes. Like every hidden result,
    it names the case by number and mode only; the diagnosis is kept.
    """

    #: Draws its cases from the student's hidden seed: run after every other check.
    reads_hidden: ClassVar[bool] = True

    make: Callable[[np.random.Generator], Inputs]
    inner: Callable[[list[Case]], Sequence[Any]]
    param_at: int = 1
    count: int = 3
    weight: float = 2.0

    def run(self, ctx: Context) -> list[CheckResult]:
        if ctx.hidden is None:
            return []
        results = []
        for k in range(self.count):
            seed = int(ctx.hidden.integers(2**31))
            failed, detail = None, ""
            for mode in ("train", "test"):
                case = Case(
                    f"hidden {k + 1} {mode}", _in_mode(self.make, mode, self.param_at), seed
                )
                inner = [r for check in self.inner([case]) for r in check.run(ctx)]
                failed = next((r for r in inner if not r.passed), None)
                if failed is not None:
                    what = "raised an error" if failed.detail.startswith("your") else "differs"
                    detail = f"a result {what} in {mode} mode"
                    break
            results.append(
                CheckResult(
                    f"hidden case {k + 1}",
                    failed is None,
                    self.weight / self.count,
                    "values",
                    detail,
                    hidden=True,
                    candidates=list(failed.candidates) if failed else [],
                )
            )
        return results


def _in_mode(make: Callable, mode: str, at: int) -> Callable:
    def made(rng: np.random.Generator) -> Inputs:
        inp = make(rng)
        args = list(inp.args)
        args[at] = {**args[at], "mode": mode}
        return Inputs(tuple(args), inp.kwargs)

    return made


MASK_MESSAGE = (
    "your backward pass zeroes other units than your forward pass dropped: "
    "it draws a new mask instead of reusing the forward's"
)


def mask_reused(fwd: str, bwd: str, case: Case) -> Custom:
    """The units the student's backward zeroes are the ones their forward dropped."""

    def judge(ctx: Context) -> tuple[bool, str, str, str]:
        inp = case.build()
        key = f"mask|{case.label}|{case.seed}"
        f = ctx.run(STUDENT, [(f"{key}|fwd", Call(fwd, inp, returns=("data", "keep")))])[0]
        if not f.ok:
            return False, f"your {fwd} {f.error}", "", ""
        x = np.asarray(inp.args[0])
        dout = np.random.default_rng(case.seed + 1).standard_normal(x.shape)
        b = ctx.run(STUDENT, [(f"{key}|bwd", Call(bwd, Inputs((dout, f.value[1]))))])[0]
        if not b.ok:
            return False, f"your {bwd} {b.error}", "", ""
        out, dx = np.asarray(f.value[0]), np.asarray(b.value)
        if out.shape != x.shape or dx.shape != x.shape:
            return False, "out or dx does not have the shape of x", "", ""
        dropped, zeroed = out == 0, dx == 0
        if np.array_equal(dropped, zeroed):
            return True, "", "", ""
        detail = f"{int(np.sum(dropped != zeroed))} units are zero in only one of out and dx"
        if zeroed.any() and dropped.any():
            return False, detail, "mask_redrawn", MASK_MESSAGE
        return False, detail, "", ""

    return Custom(
        "backward reuses the forward's mask",
        judge,
        hint="keep the mask in the cache and multiply by it again",
    )


def dropout_pair(
    forward: str,
    backward: str,
    refs: tuple[Callable, Callable],
    cases: list[Case],
    hidden: Callable[[np.random.Generator], Inputs],
    forward_mistakes: Sequence[Mistake],
    backward_mistakes: Sequence[Mistake] = (),
    wrt: tuple[int, ...] = (0,),
    grads: tuple[str, ...] = ("dx",),
    param_at: int = 1,
    extra: Sequence[Any] = (),
    title: str = "",
) -> tuple[Spec, Spec]:
    """Forward and backward specs of a dropout-like layer (cf. :func:`kinds.layer_specs`)."""
    fwd_ref, bwd_ref = refs
    returns = {forward: ("out", "~cache"), backward: grads if len(grads) > 1 else grads[0]}
    fwd = Spec(
        name=forward,
        functions={forward: fwd_ref},
        returns={forward: returns[forward]},
        checks=[
            Outputs(cases, weight=3.0, name="{output} matches the reference ({n} cases)"),
            HiddenModes(hidden, lambda cs: [Outputs(cs)], param_at),
            NoMutation(),
        ],
        mistakes=forward_mistakes,
        kind="layer",
        title=f"{title} (forward)",
    )
    # A forward mistake shows in the backward test too, through the forward it replaces.
    as_forward = [
        Mistake(m.id, m.message, m.impl if isinstance(m.impl, Mapping) else {forward: m.impl})
        for m in forward_mistakes
    ]
    bwd = Spec(
        name=backward,
        functions={backward: bwd_ref, forward: fwd_ref},
        returns=returns,
        checks=[
            Backward(cases, forward, backward, weight=2.0 if len(grads) == 1 else 1.0),
            OwnBackward(cases, forward, backward, wrt=wrt),
            *extra,
            HiddenModes(
                hidden,
                lambda cs: [Outputs(cs, fn=forward), Backward(cs, forward, backward)],
                param_at,
            ),
            NoMutation(),
        ],
        mistakes=[*backward_mistakes, *as_forward],
        kind="layer",
        title=f"{title} (backward)",
    )
    return fwd, bwd


def draw_mask(shape: tuple[int, ...], param: Mapping[str, Any]) -> np.ndarray:
    """The course's keep mask: ``np.random.default_rng(seed).random(shape) < p``."""
    return np.random.default_rng(param.get("seed")).random(shape) < param["p"]


def mixed_seed(rng: np.random.Generator, shape: tuple[int, ...], p: float) -> int:
    """A mask seed whose mask keeps some and drops some (else a wrong scaling can hide)."""
    while True:
        seed = int(rng.integers(2**31))
        keep = draw_mask(shape, {"p": p, "seed": seed})
        if keep.any() and not keep.all():
            return seed


def p_as_drop(ref: Callable, at: int = 1) -> Callable:
    """``ref`` with p read as the probability of dropping (keep = 1 − p)."""

    def wrong(*args: Any) -> Any:
        changed = list(args)
        changed[at] = {**args[at], "p": 1 - args[at]["p"]}
        return ref(*changed)

    return wrong


P_AS_DROP = (
    "p_as_drop",
    "your layer keeps units with probability 1 − p: p is the probability of KEEPING a unit",
)
