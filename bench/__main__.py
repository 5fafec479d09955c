"""Run every benchmark and print one table: `python -m bench [--quick]` from the repository root."""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np

from . import (
    attacks,
    dask_throughput,
    gradcheck_bench,
    grading,
    grading_cpu,
    kit,
    losses,
    outcome_cache,
    selfcheck_gap,
    train_step,
    validate,
)
from .common import load_average

COLUMNS = ("benchmark", "measured", "result", "goal", "met")


def environment() -> str:
    try:
        import torch

        torch_info = f"torch {torch.__version__} ({torch.get_num_threads()} threads by default)"
    except ImportError:
        torch_info = "torch not installed (pip install torch==2.13.0 for the comparison)"
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"numpy {np.__version__} ({train_step.numpy_blas_threads()} BLAS threads), "
        f"{torch_info}"
    )


def print_table(rows: list[dict]) -> None:
    cells = [
        {
            c: (
                ""
                if r[c] is None
                else "yes"
                if r[c] is True
                else "NO"
                if r[c] is False
                else str(r[c])
            )
            for c in COLUMNS
        }
        for r in rows
    ]
    widths = {c: max(len(c), *(len(r[c]) for r in cells)) for c in COLUMNS}
    print("  ".join(c.ljust(widths[c]) for c in COLUMNS).rstrip())
    print("  ".join("-" * widths[c] for c in COLUMNS))
    for r in cells:
        print("  ".join(r[c].ljust(widths[c]) for c in COLUMNS).rstrip())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument(
        "--quick",
        action="store_true",
        help="few repeats and a smaller gradient-check net: a smoke run, not figures",
    )
    args = p.parse_args(argv)
    print(f"gradkit benchmarks{' (--quick: smoke run)' if args.quick else ''}")
    print(environment())
    print(f"load average before: {load_average()}")
    rows = []
    modules = (
        losses,
        train_step,
        gradcheck_bench,
        grading,
        grading_cpu,
        selfcheck_gap,
        attacks,
        kit,
        dask_throughput,
        outcome_cache,
        validate,
    )
    for mod in modules:
        rows += mod.run(quick=args.quick)
    print_table(rows)
    print(
        f"load average after: {load_average()} (timings are best of several repeats; "
        f"other work on the machine slows the medians)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
