"""Specs of assignment 04, part 1 (penalties_and_dropout.ipynb): L2, L1 and elastic net.

Convention (the library's): L2 is ½·reg·Σw² with gradient reg·w; L1 is
reg·Σ|w| with subgradient 0 at w = 0; elastic net is l1·Σ|w| + ½·l2·Σw².
Hidden strengths stay away from 1 (a gradient missing reg would pass) and
keep l1 ≠ l2 (a swap shows); L1 weights always hold exact zeros.
"""

from __future__ import annotations

import numpy as np

from ... import regularization as reg_lib
from ..checks import HiddenCases, NoMutation, Outputs, OwnGradient
from ..spec import Case, Mistake, Spec, inputs

ASSIGNMENT = "04_regularization"

L2 = reg_lib.l2_penalty
L1 = reg_lib.l1_penalty
ENET = reg_lib.elastic_net_penalty
PENALTIES = (
    "gradkit.regularization.l2_penalty",
    "gradkit.regularization.l1_penalty",
    "gradkit.regularization.elastic_net_penalty",
)


def draw_weights(rng: np.random.Generator, shape: tuple[int, ...], zeros: bool) -> np.ndarray:
    """Standard-normal weights; with ``zeros`` about a quarter exactly 0, and always at least
    one zero (the subgradient at 0 shows) and one nonzero weight (the penalty shows)."""
    w = rng.standard_normal(shape)
    if zeros:
        flat = w.reshape(-1)
        flat[rng.random(flat.size) < 0.25] = 0.0
        i, j = rng.choice(flat.size, size=2, replace=False)
        flat[i], flat[j] = 0.0, 1.0 + rng.random()
    return w


def _hidden_shape(rng: np.random.Generator) -> tuple[int, ...]:
    return tuple(int(k) for k in rng.integers(2, 7, size=int(rng.integers(1, 4))))


def penalty_case(shape: tuple[int, ...], *strengths: float, zeros: bool = False):
    def make(rng: np.random.Generator):
        return inputs(draw_weights(rng, shape, zeros), *strengths)

    return make


def _hidden_l2(rng):
    return inputs(draw_weights(rng, _hidden_shape(rng), False), float(rng.uniform(0.05, 0.8)))


def _hidden_l1(rng):
    return inputs(draw_weights(rng, _hidden_shape(rng), True), float(rng.uniform(0.05, 0.8)))


def _hidden_enet(rng):
    w, l1 = draw_weights(rng, _hidden_shape(rng), True), float(rng.uniform(0.05, 0.4))
    return inputs(w, l1, l1 + float(rng.uniform(0.2, 1.5)))


def _penalty_checks(cases, hidden, hint: dict[str, str]) -> list:
    return [
        Outputs(cases, weight={"penalty": 1.5, "grad": 1.5}, hint=hint),
        OwnGradient(cases[0], wrt=0, of="penalty", grad="grad"),
        HiddenCases(hidden),
        NoMutation(),
    ]


# --------------------------------------------------------------------------- L2


def _l2_no_half(w, reg):
    pen, grad = L2(w, reg)
    return 2 * pen, grad


def _l2_grad_without_reg(w, reg):
    return L2(w, reg)[0], np.array(w, dtype=float)


def _l2_grad_doubled(w, reg):
    pen, grad = L2(w, reg)
    return pen, 2 * grad


L2_CASES = [
    Case("w (4, 3), reg=0.3", penalty_case((4, 3), 0.3), seed=41),
    Case("w (5,), reg=2.5", penalty_case((5,), 2.5), seed=42),
]

l2_penalty = Spec(
    name="l2_penalty",
    functions={"l2_penalty": L2},
    returns={"l2_penalty": ("penalty", "grad")},
    checks=_penalty_checks(
        L2_CASES,
        _hidden_l2,
        {"penalty": "the penalty is ½·reg·Σw² over every entry", "grad": "differentiate ½·reg·w²"},
    ),
    mistakes=[
        Mistake("no_half", "your penalty is reg·Σw², twice the course's ½·reg·Σw²", _l2_no_half),
        Mistake(
            "grad_without_reg",
            "your grad does not depend on reg: it is missing the factor reg",
            _l2_grad_without_reg,
        ),
        Mistake(
            "grad_doubled",
            "your grad is twice the derivative of ½·reg·Σw² (the derivative of reg·Σw²)",
            _l2_grad_doubled,
        ),
    ],
    forbidden=PENALTIES[1:],
    title="L2 penalty ½·reg·Σw² and its gradient",
)

# --------------------------------------------------------------------------- L1


def _l1_grad_at_zero(w, reg):
    w = np.asarray(w, dtype=float)
    return L1(w, reg)[0], reg * np.where(w >= 0, 1.0, -1.0)


def _l1_grad_without_reg(w, reg):
    return L1(w, reg)[0], np.sign(np.asarray(w, dtype=float))


def _l1_half(w, reg):
    pen, grad = L1(w, reg)
    return 0.5 * pen, 0.5 * grad


L1_CASES = [
    Case("w (4, 3) with zeros, reg=0.3", penalty_case((4, 3), 0.3, zeros=True), seed=43),
    Case("w (6,) with zeros, reg=2.5", penalty_case((6,), 2.5, zeros=True), seed=44),
]

l1_penalty = Spec(
    name="l1_penalty",
    functions={"l1_penalty": L1},
    returns={"l1_penalty": ("penalty", "grad")},
    checks=_penalty_checks(
        L1_CASES,
        _hidden_l1,
        {"penalty": "the penalty is reg·Σ|w|", "grad": "the slope of reg·|w|, 0 at w = 0"},
    ),
    mistakes=[
        Mistake(
            "grad_at_zero",
            "your grad is ±reg where a weight is exactly 0; the course uses the subgradient 0 "
            "there",
            _l1_grad_at_zero,
        ),
        Mistake(
            "grad_without_reg",
            "your grad does not depend on reg: it is missing the factor reg",
            _l1_grad_without_reg,
        ),
        Mistake(
            "half",
            "your penalty and grad are half the reference's: the ½ belongs to the L2 penalty only",
            _l1_half,
        ),
    ],
    forbidden=(PENALTIES[0], PENALTIES[2]),
    title="L1 penalty reg·Σ|w| and its subgradient",
)

# --------------------------------------------------------------------------- elastic net


def _enet_no_half(w, l1, l2):
    w = np.asarray(w, dtype=float)
    return l1 * np.abs(w).sum() + l2 * np.sum(w * w), l1 * np.sign(w) + 2 * l2 * w


def _enet_swapped(w, l1, l2):
    return ENET(w, l2, l1)


def _enet_grad_at_zero(w, l1, l2):
    w = np.asarray(w, dtype=float)
    return ENET(w, l1, l2)[0], l1 * np.where(w >= 0, 1.0, -1.0) + l2 * w


ENET_CASES = [
    Case("w (3, 4) with zeros, l1=0.2, l2=0.7", penalty_case((3, 4), 0.2, 0.7, zeros=True), 45),
    Case("w (5,) with zeros, l1=1.5, l2=0.4", penalty_case((5,), 1.5, 0.4, zeros=True), 46),
]

elastic_net_penalty = Spec(
    name="elastic_net_penalty",
    functions={"elastic_net_penalty": ENET},
    returns={"elastic_net_penalty": ("penalty", "grad")},
    checks=_penalty_checks(
        ENET_CASES,
        _hidden_enet,
        {"penalty": "an L1 part and an L2 part, each with its own strength", "grad": ""},
    ),
    mistakes=[
        Mistake(
            "l2_part_without_half",
            "your L2 part is l2·Σw² (gradient 2·l2·w), without the course's ½",
            _enet_no_half,
        ),
        Mistake(
            "strengths_swapped",
            "your function uses l1 as the strength of the squared part and l2 for the |w| part",
            _enet_swapped,
        ),
        Mistake(
            "grad_at_zero",
            "your grad's L1 part is ±l1 where a weight is exactly 0; the course uses 0 there",
            _enet_grad_at_zero,
        ),
    ],
    forbidden=PENALTIES[:2],
    title="elastic net penalty and its gradient",
)

SPECS = [l2_penalty, l1_penalty, elastic_net_penalty]
