"""A self-check's kernel, started before the notebook is known: what makes a check fast.

A self-check (`gradkit check`, JupyterLab's Validate) spends most of its first seconds
starting a kernel and importing numpy and matplotlib in it. A
:class:`ReadyKernel` starts that kernel in a private folder of its own and sends it the
imports at once, without waiting: `gradkit check` starts one before it imports its own
machinery (nbformat, nbclient, nbgrader), so the two processes start up side by side on two
cores; the Jupyter server extension keeps one ready in a worker process before the next
Validate (:mod:`gradkit.course.validate_worker`).

A ReadyKernel runs exactly one notebook: :func:`gradkit.course.selfcheck.check_notebook`
takes it, runs the notebook in its folder and shuts it down, so nothing one check leaves
(a module attribute, an environment variable, a file) reaches another. Only imports run in
it before the notebook: a module the notebook imports is the one it would have imported
anyway, and nothing else of the notebook's state exists yet.

This module imports only what starting a kernel needs (jupyter_client), so that a command
can start one first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["ReadyKernel", "KERNEL_ARGS", "WARM_MODULES", "REFERENCE_MODULES", "needs_reference"]

#: The kernel's arguments: in-memory history, as the grader's kernels
#: (``gradkit.course.execute.KERNEL_ARGS``; a test holds the two equal).
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:"]
#: What the kernel imports before the notebook runs: what 01–05's notebooks import and the
#: bridge the checks call functions through (numpy and matplotlib are most of the 0.5 s;
#: gradkit's own modules add 0.1 s). One that cannot be imported is skipped.
WARM_MODULES = (
    "numpy",
    "matplotlib.pyplot",
    "threadpoolctl",
    "gradkit.data",
    "gradkit.gradcheck",
    "gradkit.grading",
    "gradkit.grading.bridge_kernel",
    "gradkit.layers",
    "gradkit.linear",
    "gradkit.losses",
    "gradkit.models",
    "gradkit.optim",
    "gradkit.solver",
    "gradkit.vis",
    "gradkit.yours",
)
#: What the kernel of the speed checks' reference imports ahead: the modules of the graded
#: functions' references (no matplotlib: it only times them).
REFERENCE_MODULES = (
    "numpy",
    "threadpoolctl",
    "gradkit.grading.bridge_kernel",
    "gradkit.dropout",
    "gradkit.gradcheck",
    "gradkit.init",
    "gradkit.layers",
    "gradkit.linear",
    "gradkit.losses",
    "gradkit.models",
    "gradkit.normalization",
    "gradkit.optim",
    "gradkit.preprocessing",
    "gradkit.regularization",
    "gradkit.schedules",
    "gradkit.solver",
)
#: Seconds a kernel gets to start and import :data:`WARM_MODULES` before a check gives up
#: waiting for the imports (the notebook then runs anyway and imports what it needs).
WARM_TIMEOUT = 60.0
#: The check's environment in the kernel: the heavier demos shrink, as when graded.
CHECK_ENV = {"NBGRADER_EXECUTION": "autograde"}


def _warm_code(modules: tuple[str, ...]) -> str:
    # Names are bound in no namespace of the notebook's: only sys.modules is filled.
    return (
        "def _gradkit_warm():\n"
        "    import importlib\n"
        f"    for name in {list(modules)!r}:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except Exception:\n"
        "            pass\n"
        "_gradkit_warm()\n"
        "del _gradkit_warm\n"
    )


class ReadyKernel:
    """A python3 kernel started in a private working folder, importing :data:`WARM_MODULES`.

    ``folder`` is the kernel's working folder (the notebook's files go there); its sockets
    and connection file are in another private folder. :meth:`close` shuts the kernel down
    and removes both; a ReadyKernel is used for one notebook only.
    """

    def __init__(self, modules: tuple[str, ...] = WARM_MODULES):
        self.folder = Path(tempfile.mkdtemp(prefix="gradkit-check-"))
        self._conn = Path(tempfile.mkdtemp(prefix="gradkit-kernel-"))
        self.km: Any = None
        self._kc: Any = None
        self._warm_id: str | None = None
        self._modules = modules
        self.taken = False

    def start(self) -> ReadyKernel:
        """Launch the kernel and send it the imports; returns at once (they run meanwhile)."""
        from jupyter_client.blocking import BlockingKernelClient
        from jupyter_core.utils import run_sync

        from .sandbox import SandboxedKernelManager

        # The grader's kernel manager, unsandboxed: the same message caps, IPC sockets in
        # a private folder (no TCP port), the kernel's own output kept off the terminal.
        km = SandboxedKernelManager(
            kernel_name="python3",
            transport="ipc",
            ip=str(self._conn / "kernel"),
            connection_file=str(self._conn / "connection.json"),
        )
        km.sandbox_enabled = False
        run_sync(km.start_kernel)(
            extra_arguments=list(KERNEL_ARGS),
            cwd=str(self.folder),
            env={**os.environ, **CHECK_ENV},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.km = km
        if self._modules:
            kc = BlockingKernelClient()
            kc.load_connection_info(km.get_connection_info())
            kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
            self._kc = kc
            # Queued on the shell socket until the kernel listens; the kernel runs it first.
            self._warm_id = kc.execute(
                _warm_code(self._modules), silent=True, store_history=False, allow_stdin=False
            )
        return self

    def wait(self, timeout: float = WARM_TIMEOUT) -> bool:
        """Wait until the imports are done; False if the kernel did not finish them in time."""
        if self._kc is None or self._warm_id is None:
            return self.km is not None
        import queue

        from jupyter_core.utils import run_sync

        kc, warm_id = self._kc, self._warm_id
        try:
            while True:
                reply = kc.get_shell_msg(timeout=timeout)
                if reply.get("parent_header", {}).get("msg_id") == warm_id:
                    break
        except queue.Empty:
            return False
        finally:
            kc.stop_channels()
            self._kc = self._warm_id = None
        return bool(run_sync(self.km.is_alive)())

    def close(self) -> None:
        """Shut the kernel down at once and remove its folders."""
        from jupyter_core.utils import run_sync

        if self._kc is not None:
            self._kc.stop_channels()
            self._kc = None
        if self.km is not None:
            km, self.km = self.km, None
            try:
                if run_sync(km.is_alive)():
                    run_sync(km.shutdown_kernel)(now=True)
                run_sync(km.cleanup_resources)()
            except Exception:  # the kernel is gone either way: its parent poller ends it
                pass
        shutil.rmtree(self.folder, ignore_errors=True)
        shutil.rmtree(self._conn, ignore_errors=True)

    def __enter__(self) -> ReadyKernel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def needs_reference(spec_names: list[str]) -> bool:
    """Whether a check of these tests times the reference in a kernel of its own: a speed
    check in the full library (a student kit leaves speed to the grader)."""
    from ..grading.checks import Speed
    from ..grading.replay import installed_kit
    from ..grading.specs import all_specs

    if installed_kit() is not None:
        return False
    specs = all_specs()
    return any(
        isinstance(check, Speed)
        for name in spec_names
        if name in specs
        for check in specs[name].checks
    )
