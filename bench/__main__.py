"""Run every benchmark and print one table: `python -m bench [--quick]`."""

from __future__ import annotations

import argparse
import os
import platform

# PyTorch's OpenMP workers spin after each op and starve numpy's BLAS threads
# on a 2-core machine; let them sleep (must be set before torch is imported).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

from . import gradcheck_bench, losses, train_step


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats: a smoke run")
    args = p.parse_args(argv)
    print(f"gradkit benchmarks on {platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}")
    rows = []
    for mod in (losses, train_step, gradcheck_bench):
        rows += mod.run(quick=args.quick)
    cols = ["benchmark", "measured", "result", "goal"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    line = lambda r: "  ".join(str(r[c]).ljust(widths[c]) for c in cols)  # noqa: E731
    print(line({c: c for c in cols}) + "  met")
    print("  ".join("-" * widths[c] for c in cols) + "  ---")
    for r in rows:
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        print(line(r) + "  " + met)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
