"""One notebook, one process: a hard time limit and a memory cap the notebook cannot move.

:func:`run_isolated` grades one notebook (:func:`~gradkit.course.pipeline.execute_notebook`)
in a child process of its own, forked from a server that has already imported the
grading code (``multiprocessing``'s forkserver; what else it prepares once for every
notebook is in :mod:`gradkit.course.forkserver_warm`), and waits for it from outside:

* past ``hard_timeout`` seconds the child is killed — with the sandbox, its kernel and
  everything the kernel started (they die with the child; their user ids and control
  groups are swept after it) — and the result is a status of ``"timed out"``, never a
  grade. Nothing the kernel sends can keep the wait going: it is a plain deadline on a
  pipe, in a process the kernel has no connection to;
* the child's address space is capped (``memory``), so a grader that a kernel tricks
  into allocating stops with a ``MemoryError`` of its own (reported as an error) instead
  of taking the machine;
* BLAS libraries run one thread in the child and in its kernels: grading is many small
  computations, and a sandboxed kernel gets one core anyway.

A fresh process per notebook also means nothing, not even a module a previous
notebook's grading imported, passes from one student to the next. Local grading runs
``jobs`` of these at once from threads; a Dask worker runs one per task.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import threading
import time
from typing import Any

__all__ = ["run_isolated", "TIMED_OUT", "WORKER_MEMORY", "SINGLE_THREAD_ENV"]

#: Status of a notebook whose grading was stopped from outside.
TIMED_OUT = "timed out"
#: Address space of a grading process: the grader's libraries (about 0.9 GiB of address
#: space, 0.15 GiB resident, for a notebook of 01) plus room for its bounded inputs.
WORKER_MEMORY = 3 * 2**30
#: Environment that keeps numeric libraries to one thread (set before the forkserver starts,
#: so its children and their kernels inherit it).
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
_PRELOAD = [
    "gradkit.course.forkserver_warm",  # first: it keeps slow imports out (see its docstring)
    "gradkit.course.pipeline",
    "gradkit.course.execute",
    "nbgrader.preprocessors",
]
#: Set to "1" in the environment the fork server starts with when the notebooks it forks
#: for are sandboxed: :mod:`gradkit.course.forkserver_warm` then probes the sandbox once;
#: to :data:`PROBED` when this process has probed it already (:func:`sandbox_probed`).
PROBE_ENV = "GRADKIT_FORKSERVER_PROBE"
PROBED = "probed"
_lock = threading.Lock()
_context: Any = None
_probed = False
_swept = False


def sandbox_probed() -> None:
    """Say that this process has just probed the sandbox and found it working
    (:func:`gradkit.course.grade.grade` does, before its first notebook), so the fork
    server started next does not probe it again (a sandboxed Python, about 0.4 CPU s)."""
    global _probed
    _probed = True


def _ctx(sandbox: bool = False) -> Any:
    """The forkserver context, started once per process with the grading code imported
    (and, when the first notebook is sandboxed, the sandbox probed there once)."""
    global _context
    with _lock:
        if _context is None:
            for key, value in SINGLE_THREAD_ENV.items():
                os.environ.setdefault(key, value)
            os.environ[PROBE_ENV] = (PROBED if _probed else "1") if sandbox else "0"
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _context = ctx
        return _context


def _child(payload: dict, conn: Any, memory: int) -> None:
    """Grade in the child; send the result; never raise."""
    try:
        if memory:
            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            # the soft limit only: the sandbox's launcher sets each kernel's own below it
            resource.setrlimit(resource.RLIMIT_AS, (memory, hard))
        from .pipeline import execute_notebook

        result = execute_notebook(payload)
    except MemoryError:
        result = {"error": "the grading process ran out of memory"}
    except BaseException as exc:  # noqa: BLE001 - reported, the parent decides
        result = {"error": f"the grading process failed: {type(exc).__name__}: {exc}"[:200]}
    try:
        conn.send(result)
    finally:
        conn.close()


def _sweep(pid: int) -> None:
    """Remove what a killed grading process ``pid`` left: its kernels' processes (a root
    grader gives them user ids derived from ``pid``) and their control groups."""
    from .cgroups import _where
    from .kernel_users import KERNEL_UID_BASE, UIDS_PER_PROCESS, kill_uids
    from .lifeline import remove_group

    if os.geteuid() != 0 or pid <= 0:
        return
    first = KERNEL_UID_BASE + pid * UIDS_PER_PROCESS
    kill_uids(range(first, first + UIDS_PER_PROCESS))
    for base, _ in _where().values():
        for group in base.glob(f"gradkit-{pid}-*"):
            remove_group(group)


def _start(proc: Any) -> None:
    """Start ``proc``, also from a daemonic process (a Dask worker is one): multiprocessing
    refuses children there so that none outlives its parent, and these are joined or
    killed by :func:`run_isolated` before it returns."""
    me = multiprocessing.current_process()
    config = getattr(me, "_config", {})
    daemon = config.get("daemon")
    with _lock:
        config["daemon"] = False
        try:
            proc.start()
        finally:
            if daemon is not None:
                config["daemon"] = daemon


def run_isolated(payload: dict, hard_timeout: float, memory: int = WORKER_MEMORY) -> dict:
    """Grade ``payload`` in a child process; ``{"nb": ...}``, or ``{"error": ..., "status":
    TIMED_OUT}`` when it took longer than ``hard_timeout`` seconds, or ``{"error": ...}``."""
    global _swept
    with _lock:
        if not _swept:  # once per process: a few ms for /proc and the control groups
            from .lifeline import sweep_orphans

            sweep_orphans()
            _swept = True
    ctx = _ctx(bool(payload.get("settings", {}).get("sandbox")))
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(payload, send, memory), daemon=True)
    started = time.monotonic()
    _start(proc)
    send.close()
    result: dict = {}
    clean = False
    try:
        if receive.poll(hard_timeout):
            try:
                result = receive.recv()
                clean = True
            except (EOFError, OSError):
                proc.join(5)
                result = {"error": f"the grading process died (exit status {proc.exitcode})"}
        else:
            spent = time.monotonic() - started
            result = {
                "error": f"grading took over {hard_timeout:g} s ({spent:.0f} s): stopped",
                "status": TIMED_OUT,
            }
    finally:
        receive.close()
        if proc.is_alive():
            proc.join(10 if clean else 0)
        if proc.is_alive():
            proc.kill()
            clean = False
        proc.join(10)
        if not clean:
            _sweep(proc.pid or 0)
    return result
