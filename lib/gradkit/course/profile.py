"""`gradkit grade --profile`: where each notebook's CPU and wall seconds go.

A :class:`Profile` charges the time between its samples to the phase that is
running (phases nest: time in an inner phase is not charged to the outer one).
Each sample holds three clocks: the CPU seconds of the grader's process (all its
threads), the CPU seconds of the notebook's kernels (every process of their
sandboxes, read from ``/proc``: the sandbox's pid namespace hides them from the
grader's resource usage until they are reaped), and the wall clock.

The grading process of a notebook fills the phases from ``kernel start`` to
``kernel stop`` (:class:`gradkit.course.execute.GradkitExecute` when given a
profile) and ``grading process``, what is left of its own CPU and of its reaped
children's once the others are counted: so a notebook's phases add up to all the
CPU its grading used, the kernels' included. The grading run's process adds
``sanitize`` and ``gradebook write``. :func:`table` prints the phases per notebook
and summed over the class.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["PHASES", "Profile", "KernelClock", "table", "tree_cpu"]

#: The phases, in the order they are printed, and what each holds.
PHASES = {
    "grading process": "the notebook's grading process: its start, reading the notebook, "
    "the kit library, the run folder, writing the result (and what no other phase counted)",
    "kernel start": "sandbox and kernel start, until the kernel answers",
    "imports": "the import statements of the student's cells (numpy, matplotlib, gradkit), "
    "run just before their cell",
    "student cells": "the rest of the student's cells",
    "bridge calls": "the student's functions run for the tests, in the kernel",
    "spec work": "the grader's work in the tests: the reference's and the mistakes' "
    "outputs, numeric gradients, comparisons",
    "reference kernel": "the reference's kernel of the speed checks: its start and its calls",
    "kernel stop": "stopping the kernels, removing the sandbox and the run folder",
    "sanitize": "nbgrader's sanitizing of the submission (in the grading run's process)",
    "gradebook write": "saving the scores and the record, writing the graded notebook",
}
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of ``pid`` and its reaped children), or None when gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    # fields[1] is ppid; utime, stime, cutime, cstime are the 14th-17th fields of stat
    ticks = sum(int(x) for x in fields[11:15])
    return int(fields[1]), ticks / _CLK_TCK


def _descendants(root: int) -> list[int]:
    """``root`` and every live process below it (one scan of ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            info = _stat(int(entry.name))
            if info is not None:
                children.setdefault(info[0], []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def tree_cpu(pids: list[int]) -> float:
    """CPU seconds of the processes ``pids`` (those still there) and their reaped children."""
    total = 0.0
    for pid in pids:
        info = _stat(pid)
        if info is not None:
            total += info[1]
    return total


class KernelClock:
    """CPU seconds of the kernels of one notebook, their whole sandboxes included.

    :meth:`track` a kernel manager once its kernel runs; :meth:`refresh` finds the
    processes its sandbox started since (one scan of ``/proc``, done at cell
    boundaries); :meth:`retire` keeps its last reading before it is stopped.
    """

    def __init__(self) -> None:
        self._trees: dict[int, list[int]] = {}  # id(km) -> pids of its sandbox
        self._roots: dict[int, int] = {}
        self._gone = 0.0
        self._lock = threading.Lock()

    @staticmethod
    def _root(km: Any) -> int | None:
        provisioner = getattr(km, "provisioner", None)
        process = getattr(provisioner, "process", None)
        pid = getattr(process, "pid", None)
        return pid if isinstance(pid, int) else None

    def track(self, km: Any) -> None:
        root = self._root(km)
        if root is None:
            return
        with self._lock:
            self._roots[id(km)] = root
            self._trees[id(km)] = _descendants(root)

    def refresh(self) -> None:
        with self._lock:
            for key, root in self._roots.items():
                self._trees[key] = _descendants(root)

    def retire(self, km: Any) -> None:
        with self._lock:
            pids = self._trees.pop(id(km), None)
            self._roots.pop(id(km), None)
            if pids:
                self._gone += tree_cpu(pids)

    def __call__(self) -> float:
        with self._lock:
            return self._gone + sum(tree_cpu(p) for p in self._trees.values())


class Profile:
    """Phases of one notebook: name -> [grader CPU, kernel CPU, wall] seconds."""

    def __init__(self, kernel_cpu: Callable[[], float] = lambda: 0.0):
        self.kernel_cpu = kernel_cpu
        self.phases: dict[str, list[float]] = {name: [0.0, 0.0, 0.0] for name in PHASES}
        self._stack: list[tuple[str, tuple[float, float, float]]] = []
        self._lock = threading.RLock()

    def _now(self) -> tuple[float, float, float]:
        return time.process_time(), self.kernel_cpu(), time.perf_counter()

    def _charge(self, name: str, since: tuple[float, float, float], now: tuple) -> None:
        row = self.phases.setdefault(name, [0.0, 0.0, 0.0])
        for i in range(3):
            row[i] += now[i] - since[i]

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        with self._lock:
            now = self._now()
            if self._stack:
                outer, since = self._stack[-1]
                self._charge(outer, since, now)
            self._stack.append((name, now))
        try:
            yield
        finally:
            with self._lock:
                now = self._now()
                inner, since = self._stack.pop()
                self._charge(inner, since, now)
                if self._stack:
                    self._stack[-1] = (self._stack[-1][0], now)

    def close(self, wall: float) -> dict[str, list[float]]:
        """The phases, with ``grading process`` holding what the others did not count of
        this process's CPU and its reaped children's (the kernels), and of ``wall``."""
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = me.ru_utime + me.ru_stime
        children = kids.ru_utime + kids.ru_stime
        counted = [sum(row[i] for row in self.phases.values()) for i in range(3)]
        rest = self.phases["grading process"]
        rest[0] += max(0.0, own - counted[0])
        rest[1] += max(0.0, children - counted[1])
        rest[2] += max(0.0, wall - counted[2])
        return {k: [round(x, 4) for x in v] for k, v in self.phases.items()}


def table(profiles: dict[tuple[str, str], dict[str, list[float]]]) -> str:
    """The phases of every notebook (student, notebook) and their sum and mean: per phase
    ``cpu/wall`` seconds, CPU being the grader's and the kernels' together."""
    if not profiles:
        return "profile: no notebook was graded"
    names = [n for n in PHASES if any(p.get(n) for p in profiles.values())]
    short = {n: n.replace("gradebook ", "gb ").replace("reference", "ref") for n in names}
    header = ["notebook", *[short[n] for n in names], "total"]
    rows = []

    def cells(phases: dict[str, list[float]], scale: float = 1.0) -> list[str]:
        out, cpu, wall = [], 0.0, 0.0
        for n in names:
            g, k, w = phases.get(n, [0.0, 0.0, 0.0])
            out.append(f"{(g + k) / scale:.2f}/{w / scale:.2f}")
            cpu, wall = cpu + g + k, wall + w
        return [*out, f"{cpu / scale:.2f}/{wall / scale:.2f}"]

    total: dict[str, list[float]] = {n: [0.0, 0.0, 0.0] for n in names}
    for (student, notebook), phases in sorted(profiles.items()):
        rows.append([f"{student}/{notebook}", *cells(phases)])
        for n in names:
            for i, x in enumerate(phases.get(n, [0.0, 0.0, 0.0])):
                total[n][i] += x
    rows.append([f"class ({len(profiles)} notebooks)", *cells(total)])
    rows.append(["mean per notebook", *cells(total, len(profiles))])
    count = len(profiles)
    for label, i in (("  of which grader CPU", 0), ("  of which kernels' CPU", 1)):
        part = [total[name][i] / count for name in names]
        rows.append([label, *[f"{x:.2f}" for x in part], f"{sum(part):.2f}"])
    kernel = sum(v[1] for v in total.values())
    grader = sum(v[0] for v in total.values())
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["profile: CPU/wall seconds per phase (CPU: the grader's and the kernels' together)"]
    lines += [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in [header, *rows]
    ]
    lines.append(
        f"class CPU: grader {grader:.1f} s, kernels {kernel:.1f} s; "
        + "; ".join(f"{short[n]}: {PHASES[n]}" for n in names)
    )
    return "\n".join(lines)
