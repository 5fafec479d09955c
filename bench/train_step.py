"""b) One training step of a 3072-100-10 net at batch 200: gradkit vs PyTorch on the CPU.

The step is forward (affine-relu-affine-softmax), backward and an SGD update,
in float32 and in float64. gradkit's layer API always returns dx, so its step
also computes the gradient with respect to the input batch; the like-for-like
PyTorch step asks for it too (``X.requires_grad_()``), and "no dX" is
PyTorch's step without it.

"% of numpy matmul rate" divides the step's matrix-product FLOPs per second
by numpy's rate on exactly the step's products (same shapes and operand
layouts), timed in the same blocks: the share of the step's time that the
unavoidable products take. The same products in PyTorch ("products alone")
show how much of any gap is the BLAS rather than gradkit. PyTorch runs with
as many threads as numpy's BLAS; both counts are printed.
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from gradkit.layers import (
    affine_backward,
    affine_forward,
    affine_relu_backward,
    affine_relu_forward,
)
from gradkit.losses import softmax_loss
from gradkit.optim import sgd

from .common import block_times, fmt_time, median

N, D, H, C = 200, 3072, 100, 10
LR = 1e-3
GOAL = 1.2


def _params(rng, dtype):
    return {
        "W1": (rng.standard_normal((D, H)) * np.sqrt(2 / D)).astype(dtype),
        "b1": np.zeros(H, dtype),
        "W2": (rng.standard_normal((H, C)) * np.sqrt(2 / H)).astype(dtype),
        "b2": np.zeros(C, dtype),
    }


def gradkit_step(params, X, y):
    """Forward, backward and SGD update with gradkit's functions; updates ``params``."""
    h, c1 = affine_relu_forward(X, params["W1"], params["b1"])
    s, c2 = affine_forward(h, params["W2"], params["b2"])
    loss, ds = softmax_loss(s, y)
    dh, dW2, db2 = affine_backward(ds, c2)
    _dx, dW1, db1 = affine_relu_backward(dh, c1)
    cfg = {"learning_rate": LR}
    for k, g in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
        params[k], _ = sgd(params[k], g, cfg)
    return loss


def step_flops() -> int:
    """Matrix-product FLOPs of one step (2·m·n·k each), dX included."""
    forward = 2 * N * D * H + 2 * N * H * C  # X·W1, h·W2
    backward = 2 * (2 * N * H * C) + 2 * (2 * N * D * H)  # dh, dW2; dX, dW1
    return forward + backward


def matmul_products(xp, dtype, rng):
    """The step's six matrix products (same shapes, same transposes) on random operands.

    ``xp`` turns a numpy array into the library's array (identity for numpy,
    ``torch.from_numpy`` for PyTorch). Returns a function that computes them.
    """
    X = xp(rng.standard_normal((N, D)).astype(dtype))
    W1, W2, h, ds, dh = (
        xp(rng.standard_normal(s).astype(dtype)) for s in ((D, H), (H, C), (N, H), (N, C), (N, H))
    )

    def products():
        return X @ W1, h @ W2, ds @ W2.T, h.T @ ds, dh @ W1.T, X.T @ dh

    return products


def _torch_steps(torch, params, X, y):
    tdt = torch.float32 if X.dtype == np.float32 else torch.float64
    tp = {k: torch.tensor(v, dtype=tdt, requires_grad=True) for k, v in params.items()}
    tX, ty = torch.tensor(X), torch.tensor(y)
    tXg = tX.clone().requires_grad_()
    F = torch.nn.functional

    def step(inp):
        inp.grad = None
        h = torch.relu(inp @ tp["W1"] + tp["b1"])
        loss = F.cross_entropy(h @ tp["W2"] + tp["b2"], ty)
        loss.backward()
        with torch.no_grad():
            for p in tp.values():
                p -= LR * p.grad
                p.grad = None
        return loss

    return {"torch": lambda: step(tXg), "torch no dX": lambda: step(tX)}


def _measure(torch, dtype, quick: bool):
    """Times (name -> list of seconds) of the steps and of their bare matrix products."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D)).astype(dtype)
    y = rng.integers(C, size=N)
    params = _params(rng, dtype)
    fns = {
        "gradkit": lambda: gradkit_step(params, X, y),
        "numpy products": matmul_products(lambda a: a, dtype, rng),
    }
    if torch is not None:
        fns.update(_torch_steps(torch, _params(np.random.default_rng(0), dtype), X, y))
        fns["torch products"] = matmul_products(torch.from_numpy, dtype, rng)
    rounds, per_block = (2, 5) if quick else (5, 20)
    return block_times(fns, rounds, per_block), params["W1"].dtype


def _row(times, threads, torch_threads, dtype, out_dtype) -> dict:
    g, mm = min(times["gradkit"]), min(times["numpy products"])
    rate = step_flops() / mm
    name = f"b) train step {np.dtype(dtype).name}, numpy {threads} thr"
    measured = f"gradkit {fmt_time(g)}"
    result = f"{mm / g:.0%} of numpy matmul rate ({rate / 1e9:.0f} GFLOP/s)"
    if out_dtype != dtype:
        result += f"; params became {out_dtype}"
    row = {"goal": f"≤ {GOAL}× torch", "met": None}
    if "torch" in times:
        t, tn, tmm = min(times["torch"]), min(times["torch no dX"]), min(times["torch products"])
        name += f" / torch {torch_threads} thr"
        measured += (
            f", torch {fmt_time(t)} (no dX {fmt_time(tn)}); "
            f"products alone: numpy {fmt_time(mm)}, torch {fmt_time(tmm)}"
        )
        ratio = g / t
        med = median(times["gradkit"]) / median(times["torch"])
        result = f"{ratio:.2f}× torch (median {med:.2f}×); " + result
        row["met"] = ratio <= GOAL
    else:
        measured += f"; products alone {fmt_time(mm)}"
        result = "torch not installed; " + result
    row.update(benchmark=name, measured=measured, result=result)
    return row


def numpy_blas_threads() -> int:
    """Threads numpy's BLAS uses by default (1 when threadpoolctl sees no BLAS)."""
    blas = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(blas, default=1)


def run(quick: bool = False) -> list[dict]:
    try:
        import torch
    except ImportError:
        torch = None
    numpy_threads = numpy_blas_threads()
    rows = []
    # First numpy's own thread count (torch set to match), then both on one thread.
    for threads in dict.fromkeys([numpy_threads, 1]):
        if torch is not None:
            torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            for dtype in (np.float32, np.float64):
                times, out_dtype = _measure(torch, dtype, quick)
                rows.append(
                    _row(
                        times, threads, torch.get_num_threads() if torch else None, dtype, out_dtype
                    )
                )
    return rows
