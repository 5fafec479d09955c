"""Limits for a kernel and everything it starts: a control group per kernel (root graders).

Resource limits (``setrlimit``) hold per process: a kernel under a 2 GiB address
space can still start four children of 2 GiB each, fill its tmpfs with files the
limit does not count, and compete for every core. A control group holds the
whole sandbox: memory (processes, tmpfs and page cache together, no swap), the
number of processes, and CPU time (one core's worth).

Both versions of the interface exist in the wild, often side by side: version 1
mounts one hierarchy per controller (``/sys/fs/cgroup/memory``, ``…/pids``,
``…/cpu``), version 2 one unified hierarchy whose ``cgroup.controllers`` lists
what it can limit. For each controller gradkit uses the hierarchy where it is
available, below the grader's own group, and needs root to write there. Without
them, :func:`available` says what does not hold and ``gradkit doctor`` reports it.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["KernelGroup", "available", "CONTROLLERS"]

CONTROLLERS = ("memory", "pids", "cpu")
ROOT = Path("/sys/fs/cgroup")
#: CPU period of a one-core quota (microseconds).
CPU_PERIOD = 100_000


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, type, options) of every cgroup file system."""
    out = []
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.split()
        if len(parts) >= 4 and parts[2] in ("cgroup", "cgroup2"):
            out.append((parts[1].replace("\\040", " "), parts[2], set(parts[3].split(","))))
    return out


def _own_paths() -> dict[str, str]:
    """Controller (or "" for version 2) -> this process's group path in that hierarchy."""
    paths: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, names, path = line.split(":", 2)
        for name in names.split(",") if names else [""]:
            paths[name] = path
    return paths


def _where() -> dict[str, tuple[Path, str]]:
    """Controller -> (folder below which kernel groups go, "v1" or "v2")."""
    own = _own_paths()
    found: dict[str, tuple[Path, str]] = {}
    for mount, kind, options in _mounts():
        if kind == "cgroup":
            for ctrl in CONTROLLERS:
                if ctrl in options and ctrl not in found:
                    found[ctrl] = (Path(mount) / own.get(ctrl, "/").lstrip("/"), "v1")
    for mount, kind, _ in _mounts():
        if kind != "cgroup2":
            continue
        base = Path(mount) / own.get("", "/").lstrip("/")
        try:
            enabled = set((base / "cgroup.controllers").read_text().split())
        except OSError:
            continue
        for ctrl in CONTROLLERS:
            if ctrl in enabled and ctrl not in found:
                found[ctrl] = (base, "v2")
    return found


def available() -> dict[str, str]:
    """Controller -> "" when kernels can be limited with it here, else why not."""
    why: dict[str, str] = {}
    where = _where()
    for ctrl in CONTROLLERS:
        if ctrl not in where:
            why[ctrl] = "no cgroup hierarchy offers it"
        elif os.geteuid() != 0:
            why[ctrl] = "only root can create cgroups"
        elif not os.access(where[ctrl][0], os.W_OK):
            why[ctrl] = f"{where[ctrl][0]} is not writable"
        else:
            why[ctrl] = ""
    return why


@dataclass
class KernelGroup:
    """The control group(s) of one kernel: ``memory`` bytes in all, ``processes``, and
    ``cpus`` cores' worth of CPU time. Use :meth:`join_command` to start the sandbox in
    it, :meth:`oom_kills` to learn whether the memory limit ended a process, and
    :meth:`remove` when the kernel is gone."""

    memory: int
    processes: int
    cpus: float = 1.0
    name: str = field(default_factory=lambda: f"gradkit-{os.getpid()}-{secrets.token_hex(4)}")
    paths: dict[str, Path] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def create(self) -> KernelGroup:
        """Make the groups that can be made here; what could not be is in :attr:`missing`."""
        where = _where()
        for ctrl, why in available().items():
            if why:
                self.missing[ctrl] = why
                continue
            base, version = where[ctrl]
            path = base / self.name
            try:
                path.mkdir(exist_ok=True)  # one folder for every controller in version 2
                self._limit(ctrl, path, version)
            except OSError as exc:
                self.missing[ctrl] = f"cannot set up {path}: {exc.strerror}"
                continue
            self.paths[ctrl] = path
        return self

    def _limit(self, ctrl: str, path: Path, version: str) -> None:
        if version == "v2":
            base = path.parent
            try:  # the parent must hand the controller down to its children
                (base / "cgroup.subtree_control").write_text(f"+{ctrl}")
            except OSError:
                pass
            if ctrl == "memory":
                (path / "memory.max").write_text(str(self.memory))
                _try_write(path / "memory.swap.max", "0")
            elif ctrl == "pids":
                (path / "pids.max").write_text(str(self.processes))
            elif ctrl == "cpu":
                quota = int(CPU_PERIOD * self.cpus)
                (path / "cpu.max").write_text(f"{quota} {CPU_PERIOD}")
            return
        if ctrl == "memory":
            (path / "memory.limit_in_bytes").write_text(str(self.memory))
            # with swap accounting, memory + swap may not exceed the same limit
            _try_write(path / "memory.memsw.limit_in_bytes", str(self.memory))
            _try_write(path / "memory.swappiness", "0")
        elif ctrl == "pids":
            (path / "pids.max").write_text(str(self.processes))
        elif ctrl == "cpu":
            (path / "cpu.cfs_period_us").write_text(str(CPU_PERIOD))
            (path / "cpu.cfs_quota_us").write_text(str(int(CPU_PERIOD * self.cpus)))

    def join_command(self, argv: list[str]) -> list[str]:
        """``argv`` run by a shell that first moves itself into every group (the shell
        then becomes ``argv[0]``, so all it starts is counted)."""
        procs = sorted({str(p / "cgroup.procs") for p in self.paths.values()})
        if not procs:
            return argv
        joins = " && ".join(f'echo $$ > "{p}"' for p in procs)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "gradkit-cgroup", *argv]

    def oom_kills(self) -> int:
        """How many processes the memory limit has ended so far."""
        path = self.paths.get("memory")
        if path is None:
            return 0
        for name in ("memory.events", "memory.oom_control"):
            try:
                for line in (path / name).read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
            except (OSError, ValueError):
                continue
        return 0

    def pids(self) -> set[int]:
        out: set[int] = set()
        for path in self.paths.values():
            try:
                out |= {int(p) for p in (path / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                continue
        return out

    def kill(self) -> None:
        """End every process in the groups."""
        for _ in range(50):
            left = self.pids()
            if not left:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.02)

    def remove(self) -> list[str]:
        """Kill what is left and remove the groups; a line per group that stayed."""
        self.kill()
        problems = []
        for ctrl, path in list(self.paths.items()):
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                problems.append(f"cgroup {path} could not be removed")
            del self.paths[ctrl]
        return problems


def _try_write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError:
        pass
