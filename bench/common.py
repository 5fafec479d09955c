"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import os
import statistics
import time


def sample_times(fns: dict, repeats: int, warmup: int = 1) -> dict:
    """Wall times (seconds) of ``repeats`` calls of each function, taken in alternation.

    After ``warmup`` untimed calls each, the functions are called round-robin,
    so a change in machine load hits all of them alike. Returns name -> list.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def interleaved_best(fns: dict, repeats: int, warmup: int = 1) -> dict:
    """Best time of each function (seconds), measured as in :func:`sample_times`."""
    return {k: min(v) for k, v in sample_times(fns, repeats, warmup).items()}


def block_times(
    fns: dict, rounds: int, per_block: int, warmup: int = 2, pause: float = 0.2
) -> dict:
    """Times of each function measured in alternating blocks of ``per_block`` calls.

    Round r runs one block per function, in reversed order on odd rounds, and
    sleeps ``pause`` seconds before each block. Used when the functions run on
    different thread pools (numpy's BLAS, PyTorch's OpenMP): an idle pool's
    threads spin for a while after its last call, and on a small machine they
    would slow whatever runs next; the pause lets them go to sleep, so each
    library runs at its own default settings, undisturbed. Returns name -> list.
    """
    times = {k: [] for k in fns}
    names = list(fns)
    for r in range(rounds):
        for k in names if r % 2 == 0 else names[::-1]:
            time.sleep(pause)
            times[k] += sample_times({k: fns[k]}, per_block, warmup)[k]
    return times


def best(ts) -> float:
    return min(ts)


def median(ts) -> float:
    return statistics.median(ts)


def load_average() -> str:
    """The 1-minute load average (other work on the machine skews timings)."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:  # pragma: no cover - not available on every platform
        return "n/a"


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"
