"""Run a command under resource limits: ``python -m gradkit.course.rlimits --as N ... -- cmd args``.

The sandbox starts a student's kernel through this launcher, inside the
sandbox, so the limits hold for the kernel and everything it starts: address
space (memory), number of processes, size of any file written, open files,
CPU seconds, and no core dumps. Limits only ever go down here.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys

__all__ = ["main", "LIMITS"]

#: Option -> resource.
LIMITS = {
    "as": resource.RLIMIT_AS,
    "nproc": resource.RLIMIT_NPROC,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "cpu": resource.RLIMIT_CPU,
    "core": resource.RLIMIT_CORE,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gradkit.course.rlimits")
    for name in LIMITS:
        parser.add_argument(f"--{name}", type=int)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a command to run is required after --")
    for name, which in LIMITS.items():
        value = getattr(args, name)
        if value is None:
            continue
        soft, hard = resource.getrlimit(which)
        new = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (new, new))
    os.execvp(command[0], command)
    return 127  # pragma: no cover - execvp does not return


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
