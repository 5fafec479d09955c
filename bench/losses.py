"""a) Vectorized vs naive SVM and softmax losses on W at N=500, D=3073, C=10 (goal: ≥ 50×).

Both versions get the same float64 inputs and are timed in alternation; the
figure is the best of several calls of each. The two versions must also agree
(loss and dW), otherwise the row says so. "floor" is the two matrix products
any vectorized version needs (scores X·W and dW = Xᵀ·dS), timed alongside:
each streams the 12 MB X once, so at these sizes the vectorized loss is bound
by memory bandwidth, and naive / floor bounds the ratio any version can reach.
"""

from __future__ import annotations

import numpy as np

from gradkit import linear
from gradkit.gradcheck import rel_error

from .common import fmt_time, sample_times

N, D, C = 500, 3073, 10
REG = 5e-6
GOAL = 50
#: naive and vectorized do the same arithmetic in another order: float64 rounding only.
AGREE_TOL = 1e-8


def run(quick: bool = False) -> list[dict]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    X[:, -1] = 1.0  # the bias column
    y = rng.integers(C, size=N)
    W = 1e-4 * rng.standard_normal((D, C))
    dS = rng.standard_normal((N, C))
    floor = lambda: (X @ W, (dS.T @ X).T)  # noqa: E731 - the operand order the losses use
    rows = []
    for name in ("svm", "softmax"):
        naive = getattr(linear, f"{name}_loss_naive")
        vec = getattr(linear, f"{name}_loss_vectorized")
        (l1, g1), (l2, g2) = naive(W, X, y, REG), vec(W, X, y, REG)
        agree = abs(l1 - l2) <= AGREE_TOL * max(1.0, abs(l1)) and rel_error(g1, g2) < AGREE_TOL
        t = sample_times(
            {
                "naive": lambda naive=naive: naive(W, X, y, REG),
                "vec": lambda vec=vec: vec(W, X, y, REG),
                "floor": floor,
            },
            repeats=3 if quick else 10,
        )
        t_naive, t_vec, t_floor = min(t["naive"]), min(t["vec"]), min(t["floor"])
        ratio = t_naive / t_vec
        rows.append(
            {
                "benchmark": f"a) {name} loss vectorized vs naive, N={N} D={D} C={C}",
                "measured": f"naive {fmt_time(t_naive)}, vectorized {fmt_time(t_vec)}, "
                f"floor {fmt_time(t_floor)}",
                "result": f"{ratio:.0f}× faster (vectorized = {t_vec / t_floor:.1f}× floor; "
                f"naive / floor = {t_naive / t_floor:.0f}×)"
                + ("" if agree else "; RESULTS DIFFER"),
                "goal": f"≥ {GOAL}×",
                "met": ratio >= GOAL and agree,
            }
        )
    return rows
