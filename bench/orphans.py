"""What a grader killed while it starts a sandbox leaves running: ``python -m bench.orphans``.

A process starts one sandbox (the sandbox's real command line, running ``sleep``
where a kernel would run) and is killed with SIGKILL a random 0-20 ms later, while
bubblewrap is still setting up. This is repeated ``--launches`` times, once as the
sandbox used to start (``bwrap --die-with-parent`` alone) and once as it starts now
(:mod:`gradkit.course.lifeline`: ``setpriv --pdeathsig`` with a check of the parent,
and the launcher's check of the grader's pipe). Printed: the processes of those
sandboxes still alive two seconds later, by name, what they wait on and whether they
have children (a running ``sleep`` stands for a kernel left running for ever). They
are killed afterwards. Needs bubblewrap (and ``setpriv`` for the guarded launches).
No control group is made, so the sweep of the next run is not part of this: it removes
what is left in a kernel's group.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import subprocess
import sys
import time
from pathlib import Path

#: Unusual enough to find the benchmark's own processes among the machine's.
SECONDS = "37.25"


def _ours() -> list[int]:
    """Live processes whose command line holds this benchmark's ``sleep``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"sleep {SECONDS}" in line and state != "Z":
            found.append(int(entry.name))
    return found


def _describe(pid: int) -> tuple[str, str, str]:
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
        waits = Path(f"/proc/{pid}/wchan").read_text().strip()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return ("gone", "", "")
    return (name, waits, "with children" if children else "no children")


def _launch(guarded: bool, delay: float) -> None:
    """In a child: start the sandbox, wait ``delay``, die by SIGKILL."""
    from gradkit.course.lifeline import ALIVE_OPTION, guard_command
    from gradkit.course.sandbox import RLIMITS, command

    argv = command(["/bin/sleep", SECONDS], [])
    passed: tuple[int, ...] = ()
    if guarded:
        alive, _keep = os.pipe()
        at = argv.index(RLIMITS) + 1
        argv = guard_command([*argv[:at], f"{ALIVE_OPTION}={alive}", *argv[at:]], os.getpid())
        passed = (alive,)
    subprocess.Popen(argv, start_new_session=True, pass_fds=passed, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    os.kill(os.getpid(), 9)


def measure(launches: int, guarded: bool, seed: int = 0) -> collections.Counter:
    draw = random.Random(seed)
    for _ in range(launches):
        delay = draw.uniform(0.0, 0.02)
        pid = os.fork()
        if pid == 0:
            try:
                _launch(guarded, delay)
            finally:
                os._exit(1)
        os.waitpid(pid, 0)
    time.sleep(2.0)
    left = collections.Counter(_describe(pid) for pid in _ours())
    for pid in _ours():
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    time.sleep(0.5)
    return left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.orphans", description=__doc__)
    parser.add_argument("--launches", type=int, default=200)
    args = parser.parse_args(argv)
    if args.launches < 1:
        parser.error(f"--launches must be at least 1, got {args.launches}")
    from gradkit.course.sandbox import find_bwrap

    if find_bwrap() is None:
        print("bench.orphans: needs bubblewrap (bwrap), which is not installed here")
        return 1
    for guarded in (False, True):
        left = measure(args.launches, guarded)
        how = "now (guarded)" if guarded else "before (--die-with-parent alone)"
        print(f"{how}: {args.launches} launches killed 0-20 ms in, {sum(left.values())} left")
        for (name, waits, children), count in sorted(left.items()):
            print(f"    {count:4d}  {name:6s} waiting in {waits or '?'}, {children}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
