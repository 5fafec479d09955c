"""Vectorized vs naive SVM and softmax losses on W at N=500, D=3073, C=10 (goal: ≥ 50×)."""

from __future__ import annotations

import numpy as np

from gradkit import linear

from .common import fmt_time, interleaved_best


def run(quick: bool = False) -> list[dict]:
    rng = np.random.default_rng(0)
    N, D, C = (100, 3073, 10) if quick else (500, 3073, 10)
    X = rng.standard_normal((N, D))
    y = rng.integers(C, size=N)
    W = 1e-4 * rng.standard_normal((D, C))
    rows = []
    for name in ("svm", "softmax"):
        naive = getattr(linear, f"{name}_loss_naive")
        vec = getattr(linear, f"{name}_loss_vectorized")
        t = interleaved_best({"naive": lambda: naive(W, X, y, 5e-6), "vec": lambda: vec(W, X, y, 5e-6)},
                             repeats=2 if quick else 5)
        rows.append({
            "benchmark": f"{name} loss, N={N} D={D} C={C}",
            "measured": f"naive {fmt_time(t['naive'])}, vectorized {fmt_time(t['vec'])}",
            "result": f"{t['naive'] / t['vec']:.0f}× faster",
            "goal": "≥ 50×",
            "met": t["naive"] / t["vec"] >= 50,
        })
    return rows
