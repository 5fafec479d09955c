"""c) Directional vs coordinate-wise gradient check on a 3-layer net (goal: ≥ 20× faster).

Both checks compare the analytic gradients of a FullyConnectedNet (hidden
[50, 50], 64-dim input, float64) with a numeric one: the coordinate-wise
check differentiates every parameter entry (2 loss evaluations each), the
directional check differentiates along a few random directions of all
parameters at once (2 evaluations each). Each must accept the correct
gradients and reject three planted bugs: every gradient zero (a missing
backward), dW2 transposed (W2 is square, so the shape cannot tell) and the
loss gradient missing its 1/N (every gradient N times too large).

The coordinate-wise numeric gradient does not depend on the analytic one, so
it is computed (and timed) once and compared with each variant.
"""

from __future__ import annotations

import time

import numpy as np

from gradkit.gradcheck import directional_grad_check, eval_numerical_gradient, rel_error
from gradkit.models import FullyConnectedNet

from .common import fmt_time

NUM_DIRECTIONS = 3
#: Error above which a check rejects a gradient. Correct float64 gradients
#: give < 1e-7 except where the ±h step crosses a ReLU kink, which can cost a
#: single coordinate-wise entry up to ~1e-5; the planted bugs give > 1e-2.
TOL = 1e-4
GOAL = 20
BUGS = ("zero backward", "transposed dW2", "missing 1/N")


def _model_and_data(quick: bool):
    rng = np.random.default_rng(0)
    hidden, dim, n = ([20, 20], 16, 10) if quick else ([50, 50], 64, 20)
    model = FullyConnectedNet(
        hidden, input_dim=dim, num_classes=10, reg=0.0, weight_scale=0.1, dtype=np.float64, seed=0
    )
    X = rng.standard_normal((n, dim))
    y = rng.integers(10, size=n)
    return model, X, y


def plant(kind: str, grads: dict, n: int) -> dict:
    """A copy of ``grads`` with one bug planted (reg = 0, so the data loss is all of it)."""
    if kind == "zero backward":
        return {k: np.zeros_like(v) for k, v in grads.items()}
    if kind == "transposed dW2":
        return {k: (v.T.copy() if k == "W2" else v.copy()) for k, v in grads.items()}
    if kind == "missing 1/N":
        return {k: v * n for k, v in grads.items()}
    raise ValueError(f"plant: unknown bug {kind!r}; expected one of {BUGS}")


def coordinate_numeric(model, X, y) -> dict:
    """Centred differences of the loss for every entry of every parameter."""
    f = lambda _: model.loss(X, y)[0]  # noqa: E731 - reads model.params, perturbed in place
    return {k: eval_numerical_gradient(f, model.params[k]) for k in model.params}


def coordinate_error(numeric: dict, grads: dict) -> float:
    return max(rel_error(numeric[k], grads[k]) for k in numeric)


def directional_error(model, X, y, grads: dict) -> float:
    def f(p):
        saved, model.params = model.params, p
        try:
            return model.loss(X, y)[0]
        finally:
            model.params = saved

    return directional_grad_check(
        f, model.params, grads, NUM_DIRECTIONS, rng=np.random.default_rng(1)
    )


def run(quick: bool = False) -> list[dict]:
    model, X, y = _model_and_data(quick)
    _, grads = model.loss(X, y)
    n_params = sum(v.size for v in model.params.values())
    dims = "-".join(
        str(s)
        for s in [model.params["W1"].shape[0]]
        + [model.params[f"W{i}"].shape[1] for i in range(1, len(grads) // 2 + 1)]
    )
    t0 = time.perf_counter()
    numeric = coordinate_numeric(model, X, y)
    ce = coordinate_error(numeric, grads)
    t_coord = time.perf_counter() - t0
    t0 = time.perf_counter()
    de = directional_error(model, X, y, grads)
    t_dir = time.perf_counter() - t0
    ratio = t_coord / t_dir
    rows = [
        {
            "benchmark": f"c) gradient check, FC {dims}, {n_params} params",
            "measured": f"coordinate-wise {fmt_time(t_coord)} ({2 * n_params} evals), "
            f"directional {fmt_time(t_dir)} ({2 * NUM_DIRECTIONS} evals)",
            "result": f"{ratio:.0f}× faster",
            "goal": f"≥ {GOAL}×",
            "met": ratio >= GOAL,
        },
        {
            "benchmark": "c) correct gradients",
            "measured": f"error: coordinate {ce:.1e}, directional {de:.1e}",
            "result": f"accepted: coordinate {'yes' if ce < TOL else 'no'}, "
            f"directional {'yes' if de < TOL else 'no'}",
            "goal": "both accept",
            "met": ce < TOL and de < TOL,
        },
    ]
    for kind in BUGS:
        bad = plant(kind, grads, X.shape[0])
        ce, de = coordinate_error(numeric, bad), directional_error(model, X, y, bad)
        rows.append(
            {
                "benchmark": f"c) planted bug: {kind}",
                "measured": f"error: coordinate {ce:.1e}, directional {de:.1e}",
                "result": f"caught: coordinate {'yes' if ce > TOL else 'no'}, "
                f"directional {'yes' if de > TOL else 'no'}",
                "goal": "both catch it",
                "met": ce > TOL and de > TOL,
            }
        )
    return rows
