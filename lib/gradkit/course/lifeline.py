"""Nothing a grader starts outlives it: a sandbox dies with the process that started it.

A sandboxed kernel is bubblewrap (``bwrap --die-with-parent``) around the kernel, and
bubblewrap ties each of its processes to its parent only once that process has
started: the outer one after it has cloned the sandbox, the sandbox's first process
after it has started the command. A grader killed in those few milliseconds (``kill
-9`` of the run, the machine's out-of-memory killer) leaves a sandbox that nothing
ties to anything, and a kernel in it that would run for ever. Three things close it:

* :func:`guard_command` starts the sandbox through ``setpriv --pdeathsig KILL`` and a
  shell that checks, once that is set, that its parent is still the grader: from then
  on the outer bubblewrap dies with the grader, and before then it never starts;
* the kernel's launcher (:mod:`gradkit.course.rlimits` ``--alive-fd``) checks, before it
  starts the kernel, that the grader still holds the other end of a pipe (``alive``):
  by then the sandbox's first process is tied to the outer bubblewrap, so a grader
  that dies later takes the kernel with it, and one that died earlier is seen here;
* :func:`sweep_orphans`, once per process that grades (a run, a Dask worker) before its
  first notebook, removes what grading processes that have ended left anyway (a sandbox
  caught waiting inside bubblewrap's own setup when its outer process died, which runs
  no kernel).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from pathlib import Path

__all__ = ["guard_command", "guard_available", "sweep_orphans", "ALIVE_OPTION"]

#: The launcher's option naming the descriptor of the pipe the grader holds open.
ALIVE_OPTION = "--alive-fd"
#: Run by the guard's shell: its parent (field 4 of /proc/self/stat; the shell's own
#: name, ``sh``, has no space) must still be the grader whose id is its first argument.
_CHECK = 'read -r _ _ _ parent _ < /proc/$$/stat && [ "$parent" = "$1" ] && shift && exec "$@"'


@functools.cache
def _setpriv() -> str | None:
    """``setpriv``, if it sets a parent-death signal here (util-linux 2.33 and later)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    try:
        done = subprocess.run(
            [setpriv, "--pdeathsig", "KILL", "--", "true"], capture_output=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return setpriv if done.returncode == 0 else None


def guard_available() -> bool:
    """Whether sandboxes can be tied to their grader here (found once per process)."""
    return _setpriv() is not None


def guard_command(argv: list[str], parent: int) -> list[str]:
    """``argv`` started so that it dies with process ``parent`` (the grader that runs the
    command), or not at all if ``parent`` is gone before the tie holds. Unchanged where
    ``setpriv`` cannot set a parent-death signal (the sweep is then what is left)."""
    setpriv = _setpriv()
    if setpriv is None:
        return argv
    return [setpriv, "--pdeathsig", "KILL", "--", "/bin/sh", "-c", _CHECK, "gradkit-guard",
            str(parent), *argv]  # fmt: skip


@functools.cache
def _boot_time() -> int | None:
    """When the machine booted (seconds since the epoch), from ``/proc/stat``."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
        return next(int(line.split()[1]) for line in lines if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return None


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch, rounded down), or None when
    there is no such process."""
    boot = _boot_time()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    if boot is None:
        return None
    ticks = int(stat[stat.rfind(")") + 2 :].split()[19])  # field 22 of proc(5): starttime
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _gone(owner: int, since: float) -> bool:
    """Whether the grading process ``owner`` that made something at ``since`` has ended:
    no process has its id any more, or the one that has started later (a reused id).
    The error goes one way only: an owner is never taken for gone while it runs."""
    started = _start_time(owner)
    return started is None or started > since


def remove_group(group: Path) -> int:
    """Kill the processes in control group ``group`` and remove it; 1 if it went."""
    try:
        for line in (group / "cgroup.procs").read_text().split():
            os.kill(int(line), 9)
    except (OSError, ValueError):
        pass
    for _ in range(50):
        try:
            group.rmdir()
            return 1
        except FileNotFoundError:
            return 0
        except OSError:  # its processes are still exiting
            time.sleep(0.02)
    return 0


def sweep_orphans() -> tuple[int, int]:
    """Remove what grading processes that no longer exist left behind: processes under
    their kernel user ids and their kernels' control groups; (processes killed, groups
    removed). Root graders only (nobody else has kernel users or groups).

    It only takes what belongs to a process that has ended, so runs side by side leave
    each other alone (assuming, as kernel user ids and group names do, that they share
    a process-id namespace)."""
    from .cgroups import _where
    from .kernel_users import KERNEL_UID_BASE, UIDS_PER_PROCESS

    if os.geteuid() != 0:
        return 0, 0
    killed = removed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            uid = entry.stat().st_uid
            if uid < KERNEL_UID_BASE:
                continue
            started = _start_time(int(entry.name))
            owner = (uid - KERNEL_UID_BASE) // UIDS_PER_PROCESS
            if started is not None and _gone(owner, started):
                os.kill(int(entry.name), 9)
                killed += 1
        except OSError:  # gone meanwhile
            continue
    for base, _ in _where().values():
        for group in base.glob("gradkit-*-*"):
            try:
                owner = int(group.name.split("-")[1])
                made = group.stat().st_ctime
            except (ValueError, OSError):
                continue
            if _gone(owner, made):
                removed += remove_group(group)
    return killed, removed
