"""Directional vs coordinate-wise gradient check on a 3-layer net (goal: ≥ 20× faster, both catch bugs)."""

from __future__ import annotations

import time

import numpy as np

from gradkit.gradcheck import directional_grad_check, eval_numerical_gradient, rel_error
from gradkit.models import FullyConnectedNet

#: A check "catches" a gradient whose error exceeds this (correct ones are < 1e-7).
CAUGHT = 1e-2
NUM_DIRECTIONS = 3
#: A correct gradient passes below this: ReLU kinks crossed by the ±h step
#: cost single coordinate-wise entries up to ~1e-5; bugs are > 1e-2.
CORRECT = 1e-4


def _model_and_data():
    rng = np.random.default_rng(0)
    model = FullyConnectedNet([50, 50], input_dim=64, num_classes=10, reg=0.0, weight_scale=0.1,
                              dtype=np.float64, seed=0)
    X = rng.standard_normal((20, 64))
    y = rng.integers(10, size=20)
    return model, X, y


def _plant(kind, grads, N):
    g = {k: v.copy() for k, v in grads.items()}
    if kind == "zero backward":
        return {k: np.zeros_like(v) for k, v in g.items()}
    if kind == "transposed dW":
        g["W2"] = g["W2"].T  # W2 is 50×50, so only its values can tell
    if kind == "missing 1/N":
        g = {k: v * N for k, v in g.items()}
    return g


def _coordinate(model, X, y, grads):
    worst = 0.0
    for name in model.params:
        f = lambda _: model.loss(X, y)[0]  # noqa: E731  (reads model.params, perturbed in place)
        num = eval_numerical_gradient(f, model.params[name])
        worst = max(worst, rel_error(num, grads[name]))
    return worst


def _directional(model, X, y, grads):
    def f(p):
        saved = model.params
        model.params = p
        try:
            return model.loss(X, y)[0]
        finally:
            model.params = saved

    return directional_grad_check(f, model.params, grads, NUM_DIRECTIONS, rng=np.random.default_rng(1))


def run(quick: bool = False) -> list[dict]:
    model, X, y = _model_and_data()
    _, grads = model.loss(X, y)
    n_params = sum(v.size for v in model.params.values())
    t0 = time.perf_counter()
    coord_err = _coordinate(model, X, y, grads)
    t_coord = time.perf_counter() - t0
    t0 = time.perf_counter()
    dir_err = _directional(model, X, y, grads)
    t_dir = time.perf_counter() - t0
    rows = [{
        "benchmark": f"gradient check, FC 64-50-50-10 ({n_params} params)",
        "measured": f"coordinate-wise {t_coord:.2f} s ({2 * n_params} evals), "
                    f"directional {t_dir * 1e3:.1f} ms ({2 * NUM_DIRECTIONS} evals)",
        "result": f"{t_coord / t_dir:.0f}× faster; correct grads: errors {coord_err:.1e} / {dir_err:.1e}",
        "goal": "≥ 20×",
        "met": t_coord / t_dir >= 20 and coord_err < CORRECT and dir_err < CORRECT,
    }]
    for kind in ("zero backward", "transposed dW", "missing 1/N"):
        bad = _plant(kind, grads, X.shape[0])
        ce = _coordinate(model, X, y, bad) if not quick else float("nan")
        de = _directional(model, X, y, bad)
        rows.append({
            "benchmark": f"planted bug: {kind}",
            "measured": f"errors: coordinate {ce:.1e}, directional {de:.1e}",
            "result": f"caught: coordinate {'yes' if ce > CAUGHT else 'no'}, directional {'yes' if de > CAUGHT else 'no'}",
            "goal": "both catch it",
            "met": (quick or ce > CAUGHT) and de > CAUGHT,
        })
    return rows
