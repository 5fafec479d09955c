"""One training step of a 3072-100-10 net at batch 200: gradkit vs PyTorch on the CPU.

The step is forward (affine-relu-affine-softmax), backward and an SGD update.
gradkit's layer API always returns dx, so its step also computes the gradient
with respect to the input batch; the like-for-like PyTorch step therefore asks
for it too (``X.requires_grad_()``), and the "no dX" figure shows PyTorch's
step without it. The fraction of peak counts only the step's matrix products
(2·m·n·k each) against a square 1024×1024 product measured in the same run.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from gradkit.layers import affine_backward, affine_forward, affine_relu_backward, affine_relu_forward
from gradkit.losses import softmax_loss
from gradkit.optim import sgd

from .common import fmt_time, interleaved_best

N, D, H, C = 200, 3072, 100, 10
LR = 1e-3


def _params(rng, dtype):
    return {
        "W1": (rng.standard_normal((D, H)) * np.sqrt(2 / D)).astype(dtype),
        "b1": np.zeros(H, dtype),
        "W2": (rng.standard_normal((H, C)) * np.sqrt(2 / H)).astype(dtype),
        "b2": np.zeros(C, dtype),
    }


def gradkit_step(params, X, y):
    h, c1 = affine_relu_forward(X, params["W1"], params["b1"])
    s, c2 = affine_forward(h, params["W2"], params["b2"])
    loss, ds = softmax_loss(s, y)
    dh, dW2, db2 = affine_backward(ds, c2)
    _dx, dW1, db1 = affine_relu_backward(dh, c1)
    cfg = {"learning_rate": LR}
    for k, g in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
        params[k], _ = sgd(params[k], g, cfg)
    return loss


def _matmul_flops(with_dx: bool) -> int:
    fwd = 2 * N * D * H + 2 * N * H * C
    bwd = 2 * N * H * C * 2 + 2 * N * D * H  # dW2, dh, dW1
    return fwd + bwd + (2 * N * H * D if with_dx else 0)


def _peak_flops(dtype, rng, n: int = 1024) -> float:
    """This machine's matrix-multiply rate: a square n×n product, best of 10 (FLOP/s)."""
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    t = interleaved_best({"mm": lambda: A @ B}, repeats=10)["mm"]
    return 2 * n ** 3 / t


def _measure(torch, dtype, repeats):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D)).astype(dtype)
    y = rng.integers(C, size=N)
    params = _params(rng, dtype)
    fns = {"gradkit": lambda: gradkit_step(params, X, y)}
    if torch is not None:
        tdt = torch.float32 if dtype == np.float32 else torch.float64
        tp = {k: torch.tensor(v, dtype=tdt, requires_grad=True) for k, v in params.items()}
        tX, tXg, ty = torch.tensor(X), torch.tensor(X).requires_grad_(), torch.tensor(y)

        def torch_step(inp):
            inp.grad = None
            h = torch.relu(inp @ tp["W1"] + tp["b1"])
            s = h @ tp["W2"] + tp["b2"]
            loss = torch.nn.functional.cross_entropy(s, ty)
            loss.backward()
            with torch.no_grad():
                for p in tp.values():
                    p -= LR * p.grad
                    p.grad = None
            return loss

        fns["torch"] = lambda: torch_step(tXg)
        fns["torch (no dX)"] = lambda: torch_step(tX)
    # Each library's thread pool spin-waits after its work; interleaving them
    # on 2 cores makes each slow the other, so measure in blocks, alternating
    # the block order over rounds.
    best = {k: float("inf") for k in fns}
    for rnd in range(3):
        order = list(fns) if rnd % 2 == 0 else list(fns)[::-1]
        for k in order:
            best[k] = min(best[k], interleaved_best({k: fns[k]}, repeats=repeats, warmup=2)[k])
    return best, _peak_flops(dtype, rng)


def run(quick: bool = False) -> list[dict]:
    try:
        import torch
    except ImportError:
        torch = None
    blas_threads = max((i.get("num_threads", 1) for i in threadpool_info()), default=1)
    rows = []
    for threads in sorted({1, blas_threads}):
        if torch is not None:
            torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            for dtype in (np.float32, np.float64):
                t, peak = _measure(torch, dtype, repeats=3 if quick else 10)
                name = f"train step {np.dtype(dtype).name}, {threads} thread{'s' if threads > 1 else ''}"
                frac = _matmul_flops(True) / t["gradkit"] / peak
                row = {"benchmark": name, "goal": "≤ 1.2× torch",
                       "measured": f"gradkit {fmt_time(t['gradkit'])}"}
                if torch is None:
                    row.update(result=f"{frac:.0%} of matmul peak; torch not installed", met=None)
                else:
                    ratio = t["gradkit"] / t["torch"]
                    row["measured"] += f", torch {fmt_time(t['torch'])} (no dX {fmt_time(t['torch (no dX)'])})"
                    row.update(result=f"{ratio:.2f}× torch ({t['gradkit'] / t['torch (no dX)']:.2f}× no-dX); "
                                      f"{frac:.0%} of matmul peak {peak / 1e9:.0f} GFLOP/s",
                               met=ratio <= 1.2)
                rows.append(row)
    return rows
