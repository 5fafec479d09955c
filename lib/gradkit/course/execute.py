"""Executing a student's notebook for grading: test cells are judged in the grader's process.

:class:`GradkitExecute` is nbgrader's Execute preprocessor (used by
``gradkit grade`` and ``gradkit check``) with two changes:

* A test cell of a registered spec (grade id ``test_<name>``) is not run by
  the kernel. The grader runs the spec itself, calling the student's
  functions in the kernel through :class:`~gradkit.grading.bridge.BridgeCallee`,
  and writes the cell's outputs: the text lines, the structured result
  (MIME ``application/vnd.gradkit.result+json``) and the score nbgrader
  reads (a number for partial credit, an error for 0). Hidden cases come
  from a per-student token derived here from the course secret; neither
  token nor secret enters the kernel.
* A cell (or a bridge call) that times out and leaves the kernel
  unresponsive — a loop that ignores interrupts — gets the kernel
  restarted and the earlier cells replayed, so only that cell's test is lost.
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import tempfile
from pathlib import Path
from typing import Any

from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Float, Unicode

from ..grading.bridge import BridgeCallee
from ..grading.engine import run_spec
from ..grading.result import MIME, TestResult
from ..grading.seeds import derive_token
from ..grading.specs import all_specs

__all__ = ["GradkitExecute", "KERNEL_ARGS", "graded_test", "result_outputs"]

#: Kernel arguments: in-memory history, as nbgrader's own Execute uses.
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:"]


def graded_test(cell: Any) -> str | None:
    """The spec name of a test cell the grader judges itself, or None."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") != "code" or not meta.get("grade"):
        return None
    grade_id = str(meta.get("grade_id", ""))
    name = grade_id[len("test_") :] if grade_id.startswith("test_") else ""
    return name if name in all_specs() else None


def result_outputs(result: TestResult, execution_count: int | None = None) -> list[Any]:
    """The outputs a graded test cell gets: the verdict, then its score as nbgrader reads it."""
    outputs = [
        new_output(
            "display_data",
            data={"text/plain": result.text(), "text/html": result.html(), MIME: result.to_dict()},
        )
    ]
    if result.score > 0:
        outputs.append(
            new_output(
                "execute_result",
                data={"text/plain": repr(result.score)},
                execution_count=execution_count,
            )
        )
    else:
        message = f"{result.test}: no check passed (0/{result.points:g} points)"
        outputs.append(
            new_output(
                "error",
                ename="GradingFailure",
                evalue=message,
                traceback=[f"GradingFailure: {message}"],
            )
        )
    return outputs


class GradkitExecute(Execute):
    """nbgrader's Execute, with test cells judged in the grader and kernel recovery."""

    secret_file = Unicode(
        "", help="Path of the course secret; without it no hidden cases are run."
    ).tag(config=True)
    probe_timeout = Float(
        5.0, help="Seconds an interrupted kernel gets to answer before it is restarted."
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not self.extra_arguments:
            self.extra_arguments: list[str] = list(KERNEL_ARGS)
        self._timed_out = False
        self._skip: set[int] = set()
        self._token: str | None = None
        self._bridge_root: Path | None = None
        self._current = 0

    # -- set-up ------------------------------------------------------------
    def preprocess(self, nb: Any, resources: Any = None, km: Any = None):
        resources = resources if resources is not None else {}
        self._token = self._derive_token(resources.get("nbgrader", {}))
        self._bridge_root = Path(tempfile.mkdtemp(prefix="gradkit-bridge-"))
        self._bridge_root.chmod(0o711)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            shutil.rmtree(self._bridge_root, ignore_errors=True)

    def _derive_token(self, meta: dict) -> str | None:
        if not self.secret_file:
            return None
        if not os.path.isfile(self.secret_file):
            raise RuntimeError(
                f"gradkit: the course secret {self.secret_file} is missing; "
                "create it with `gradkit secret --new`"
            )
        secret = Path(self.secret_file).read_bytes().strip()
        return derive_token(
            secret,
            str(meta.get("assignment", "")),
            str(meta.get("notebook", "")),
            str(meta.get("student", "")),
        )

    # -- running the kernel -------------------------------------------------
    async def _async_handle_timeout(self, timeout: int, cell: Any = None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    async def _run_quietly(self, source: str, timeout: float) -> str:
        """Execute ``source`` without recording output: ``"ok"``, ``"timeout"``, ``"dead"``
        or ``"error: <name>"``."""
        msg_id = self.kc.execute(source, silent=True, store_history=False, allow_stdin=False)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return "timeout"
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=min(remaining, 1.0))
            except queue.Empty:
                if not await self.km.is_alive():
                    return "dead"
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                await self._drain_iopub()
                status = msg["content"].get("status")
                return "ok" if status == "ok" else f"error: {msg['content'].get('ename', status)}"

    async def _drain_iopub(self) -> None:
        """Drop what the kernel published during a quiet request (nothing of it is kept)."""
        while True:
            try:
                await self.kc.iopub_channel.get_msg(timeout=0.01)
            except queue.Empty:
                return

    async def _recover(self, upto: int) -> None:
        """Restart the kernel and replay the cells before ``upto`` (except skipped ones)."""
        self.log.warning("restarting the kernel and replaying the earlier cells")
        await self.km.restart_kernel(now=True)
        await self.kc.wait_for_ready(timeout=60)
        for i, cell in enumerate(self.nb.cells[:upto]):
            if (
                cell.cell_type == "code"
                and i not in self._skip
                and cell.source.strip()
                and graded_test(cell) is None
            ):
                await self._run_quietly(cell.source, self.timeout or 30)

    async def _bridge_execute(self, code: str, timeout: float) -> str:
        """Run one bridge request; on a timeout interrupt, and restart if that is ignored."""
        status = await self._run_quietly(code, timeout)
        if status == "timeout":
            await self.km.interrupt_kernel()
            if await self._run_quietly("pass", self.probe_timeout) != "ok":
                await self._recover(self._current)
        elif status == "dead":
            await self._recover(self._current)
        return status

    # -- cells ---------------------------------------------------------------
    async def async_execute_cell(
        self,
        cell: Any,
        cell_index: int,
        execution_count: int | None = None,
        store_history: bool = True,
    ):
        self._current = cell_index
        name = graded_test(cell)
        if name is not None:
            return await self._grade_cell(cell, name, execution_count)
        self._timed_out = False
        result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if self._timed_out:
            self._skip.add(cell_index)
            if await self._run_quietly("pass", self.probe_timeout) != "ok":
                await self._recover(cell_index)
        return result

    async def _grade_cell(self, cell: Any, name: str, execution_count: int | None):
        spec = all_specs()[name]
        points = float(cell.metadata["nbgrader"].get("points", 0))
        loop = asyncio.get_running_loop()

        def execute(code: str, timeout: float) -> str:
            future = asyncio.run_coroutine_threadsafe(self._bridge_execute(code, timeout), loop)
            return future.result()

        assert self._bridge_root is not None
        callee = BridgeCallee(
            execute,
            self._bridge_root,
            forbidden=spec.forbidden_names(),
            budget=float(self.timeout or 30),
        )
        result = await loop.run_in_executor(None, run_spec, spec, callee, points, self._token)
        self.code_cells_executed += 1
        cell.execution_count = execution_count or self.code_cells_executed
        cell.outputs = result_outputs(result, cell.execution_count)
        return cell

    # nbclient binds the synchronous wrapper to the base class's coroutine;
    # rebind it so the override above is what runs.
    execute_cell = run_sync(async_execute_cell)
