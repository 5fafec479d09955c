"""Run a command under resource limits: ``python -m gradkit.course.rlimits --as N ... -- cmd args``.

The sandbox starts a student's kernel through this launcher, inside the
sandbox, so the limits hold for the kernel and everything it starts: address
space (memory), number of processes, size of any file written, open files,
CPU seconds, and no core dumps. Limits only ever go down here.

With ``--alive-fd N`` it first checks that the grader still holds the writing end of
the pipe whose reading end is ``N`` (it never writes to it): if the grader has died,
nothing starts (see :mod:`gradkit.course.lifeline`).
"""

from __future__ import annotations

import argparse
import os
import resource
import select
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
    parser.add_argument("--alive-fd", type=int, help="a pipe the grader holds open")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a command to run is required after --")
    if args.alive_fd is not None:
        if _closed(args.alive_fd):
            print("rlimits: the grader that started this is gone; not starting", file=sys.stderr)
            return 1
        os.close(args.alive_fd)
    for name, which in LIMITS.items():
        value = getattr(args, name)
        if value is None:
            continue
        soft, hard = resource.getrlimit(which)
        new = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (new, new))
    os.execvp(command[0], command)
    return 127  # pragma: no cover - execvp does not return


def _closed(fd: int) -> bool:
    """Whether the writing end of pipe ``fd`` is closed, or ``fd`` is not open: any event
    (hang-up, invalid descriptor; nothing is ever written) means there is no grader."""
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
