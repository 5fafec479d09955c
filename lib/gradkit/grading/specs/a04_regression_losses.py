"""Specs of assignment 04, part 2 (losses_for_other_tasks.ipynb): L2 and L1 regression losses.

Both average over the N rows of x and return ``(loss, dx)``; L2 is ½‖δ‖² per
example (gradient δ), L1 is ‖δ‖₁ (gradient sign δ, 0 where δ = 0). Hidden
cases have N >= 3; L1 cases always hold residuals that are exactly 0.
"""

from __future__ import annotations

import numpy as np

from ... import losses
from ..spec import Case, Mistake, Spec, inputs
from .a04_losses import MEAN, draw_sizes, loss_checks, no_mean, uphill

ASSIGNMENT = "04_regularization"


def reg_case(shape: tuple[int, ...], ties: bool = False):
    def make(rng: np.random.Generator):
        x, y = rng.standard_normal(shape), rng.standard_normal(shape)
        if ties:
            tie = rng.random(shape) < 0.3
            tie.flat[0], tie.flat[-1] = True, False  # some residuals exactly 0, not all
            y = np.where(tie, x, y)
        return inputs(x, y)

    return make


def _hidden_reg(ties: bool):
    def make(rng: np.random.Generator):
        n, k = draw_sizes(rng)
        return reg_case((n,) if rng.random() < 0.3 else (n, k), ties)(rng)

    return make


def _l2_no_half(x, y):
    loss, dx = losses.l2_regression_loss(x, y)
    return 2 * loss, dx


def _l1_grad_at_zero(x, y):
    loss, _ = losses.l1_regression_loss(x, y)
    delta = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)
    return loss, np.where(delta >= 0, 1.0, -1.0) / len(delta)


l2_regression_loss = Spec(
    name="l2_regression_loss",
    functions={"l2_regression_loss": losses.l2_regression_loss},
    returns={"l2_regression_loss": ("loss", "dx")},
    checks=loss_checks(
        [Case("x, y (6, 2)", reg_case((6, 2)), 88), Case("x, y (5,)", reg_case((5,)), 89)],
        _hidden_reg(False),
        {"loss": "half the squared error of each example, averaged", "dx": ""},
    ),
    mistakes=[
        Mistake("no_half", "your loss is twice the reference's: it has no ½", _l2_no_half),
        Mistake(
            "uphill",
            "your dx has the opposite sign: it points uphill",
            uphill(losses.l2_regression_loss),
        ),
        Mistake("no_mean", MEAN, no_mean(losses.l2_regression_loss)),
    ],
    title="L2 (squared error) regression loss",
)

l1_regression_loss = Spec(
    name="l1_regression_loss",
    functions={"l1_regression_loss": losses.l1_regression_loss},
    returns={"l1_regression_loss": ("loss", "dx")},
    checks=loss_checks(
        [
            Case("x, y (6, 2), some x = y", reg_case((6, 2), True), 90),
            Case("x, y (5,)", reg_case((5,), True), 91),
        ],
        _hidden_reg(True),
        {
            "loss": "the absolute error of each example, averaged",
            "dx": "the slope of |δ|, 0 at δ = 0",
        },
    ),
    mistakes=[
        Mistake(
            "grad_at_zero",
            "your dx is ±1/N where a prediction equals its target exactly; the course uses 0 there",
            _l1_grad_at_zero,
        ),
        Mistake(
            "uphill",
            "your dx has the opposite sign: it points uphill",
            uphill(losses.l1_regression_loss),
        ),
        Mistake("no_mean", MEAN, no_mean(losses.l1_regression_loss)),
    ],
    title="L1 (absolute error) regression loss",
)

SPECS = [l2_regression_loss, l1_regression_loss]
