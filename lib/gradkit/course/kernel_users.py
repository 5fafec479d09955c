"""The user ids a root grader gives its kernels: leased one per kernel, killed whole.

A root grader runs each sandboxed kernel under a user id of its own, with no account
and no groups (:mod:`gradkit.course.sandbox`): the per-user process limit then counts
that kernel's processes only, and :func:`kill_user` removes everything the kernel left,
however it forked. A grading process leases ids from its own range
(:data:`KERNEL_UID_BASE` + pid × :data:`UIDS_PER_PROCESS`), so two graders on one
machine never share one, and a run can sweep the range of a grading process that died
(:func:`kill_uids`, :mod:`gradkit.course.lifeline`).
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

__all__ = [
    "KERNEL_UID_BASE",
    "UIDS_PER_PROCESS",
    "kill_uids",
    "kill_user",
    "lease_uid",
    "release_uid",
]

#: A root grader gives each kernel a user id of its own, from
#: ``KERNEL_UID_BASE + pid * UIDS_PER_PROCESS + slot``: process ids are unique among
#: live processes (at most 2**22 on Linux) and a process leases its slots one kernel at
#: a time (a Dask worker runs several at once, in threads). The range, 0x50000000 to
#: 0x60000000, is far above the ids of real accounts.
KERNEL_UID_BASE = 0x50000000
UIDS_PER_PROCESS = 64
_leased: set[int] = set()
_lease_lock = threading.Lock()


def lease_uid() -> int:
    """A user id no other running kernel of this machine's graders has; give it back
    with :func:`release_uid` once the kernel and everything it started are gone."""
    with _lease_lock:
        for slot in range(UIDS_PER_PROCESS):
            uid = KERNEL_UID_BASE + os.getpid() * UIDS_PER_PROCESS + slot
            if uid not in _leased:
                _leased.add(uid)
                return uid
    from .sandbox import SandboxUnavailable

    raise SandboxUnavailable(f"more than {UIDS_PER_PROCESS} kernels at once in one process")


def release_uid(uid: int) -> None:
    with _lease_lock:
        _leased.discard(uid)


def kill_uids(uids: range) -> int:
    """SIGKILL every process whose user id is in ``uids`` (kernel ids only); how many."""
    if uids.start < KERNEL_UID_BASE:
        raise ValueError(f"kill_uids only removes kernel users (>= {KERNEL_UID_BASE})")
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid in uids:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
        except OSError:  # gone meanwhile
            continue
    return killed


#: Sweeps of /proc :func:`kill_user` makes at most: a process forking while a sweep runs
#: can leave a child the sweep missed, so sweeps repeat until one finds nothing.
KILL_SWEEPS = 50


def _zombie(proc: Path) -> bool:
    """Whether /proc/<pid> is a process that has exited and waits to be reaped."""
    stat_line = (proc / "stat").read_text()
    return stat_line[stat_line.rfind(")") + 2 :].startswith("Z")


def kill_user(uid: int) -> int:
    """SIGKILL every process of ``uid`` (a kernel's own id); how many there were."""
    if uid < KERNEL_UID_BASE:
        raise ValueError(f"kill_user only removes kernel users (>= {KERNEL_UID_BASE}), got {uid}")
    killed = 0
    for _ in range(KILL_SWEEPS):
        found = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid == uid and not _zombie(entry):
                    os.kill(int(entry.name), signal.SIGKILL)
                    found += 1
            except OSError:  # gone meanwhile
                continue
        killed += found
        if not found:
            break
    return killed
