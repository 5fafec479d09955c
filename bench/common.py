"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import os
import secrets
import statistics
import time
from pathlib import Path


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


#: Where a root process may make cpuacct control groups (cgroup v1).
CPUACCT = Path("/sys/fs/cgroup/cpuacct")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (neither idle nor waiting for I/O)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


class CpuGroup:
    """A cpuacct control group (root only); :attr:`path` is None where none can be made."""

    def __init__(self, label: str) -> None:
        self.path: Path | None = None
        if os.geteuid() == 0 and (CPUACCT / "cpuacct.usage").is_file():
            path = CPUACCT / f"gradkit-bench-{label}-{os.getpid()}-{secrets.token_hex(3)}"
            try:
                path.mkdir()
                self.path = path
            except OSError:
                pass

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started inside the group."""
        if self.path is None:
            return argv
        return ["/bin/sh", "-c", f'echo $$ > "{self.path}/cgroup.procs" && exec "$@"', "sh", *argv]

    def seconds(self) -> float | None:
        if self.path is None:
            return None
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        """Remove the group (once its processes are gone)."""
        if self.path is None:
            return
        for _ in range(600):  # up to 30 s: a worker's process can take a while to exit
            try:
                self.path.rmdir()
                return
            except OSError:  # a process of the group has not quite exited
                time.sleep(0.05)
        print(f"bench: {self.path} still holds processes; remove it later")
