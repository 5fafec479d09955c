"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import time


def best_time(fn, repeats: int, warmup: int = 1) -> float:
    """Best wall time of ``repeats`` calls of ``fn()`` after ``warmup`` untimed calls (seconds)."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def interleaved_best(fns: dict, repeats: int, warmup: int = 1) -> dict:
    """Best time of each function, measured in alternation so load changes hit all alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"
