"""nbgrader preprocessors that make autograding robust (wired in by nbgrader_config.py).

* :class:`DropEmptyNbgraderMetadata` — nbgrader's DeduplicateIds empties the
  metadata of a duplicated graded cell, which then makes CheckCellMetadata
  abort the whole batch. Removing the emptied dict turns the duplicate into an
  ordinary cell instead.
* :class:`InjectHiddenSeeds` — replaces the ``"gradkit:hidden"`` placeholder in
  test cells with the student's token (see :mod:`gradkit.grading.seeds`). The
  course secret stays in the grader's process.
* :class:`GradkitExecute` — nbgrader's Execute, plus: the tamper guard is
  started in the kernel before any student cell; a cell that times out and
  leaves the kernel unresponsive (a loop that ignores interrupts) gets the
  kernel restarted and the earlier cells replayed, so only that cell's tests
  are lost.
"""

from __future__ import annotations

import asyncio
import os

from nbclient.util import run_sync
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Float, Unicode

from ..grading.seeds import derive_token, inject

__all__ = ["DropEmptyNbgraderMetadata", "InjectHiddenSeeds", "GradkitExecute", "KERNEL_GUARD_ARGS"]

#: Kernel arguments: in-memory history (nbgrader's default) and the tamper
#: guard installed before the first cell runs.
KERNEL_GUARD_ARGS = [
    "--HistoryManager.hist_file=:memory:",
    "--InteractiveShellApp.exec_lines=__import__('gradkit.grading.guard').grading.guard.install()",
]


class DropEmptyNbgraderMetadata(NbGraderPreprocessor):
    """Remove ``nbgrader`` metadata that DeduplicateIds emptied."""

    def preprocess_cell(self, cell, resources, index):
        if "nbgrader" in cell.metadata and not cell.metadata["nbgrader"]:
            del cell.metadata["nbgrader"]
        return cell, resources


class InjectHiddenSeeds(NbGraderPreprocessor):
    """Give each student's hidden test cases their own seed."""

    secret_file = Unicode(
        "", help="Path of the course secret (never inside the graded folders)."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        if not self.secret_file or not os.path.isfile(self.secret_file):
            raise RuntimeError(
                f"gradkit: the course secret {self.secret_file or '(not configured)'} is missing; "
                "create it with `gradkit secret --new`"
            )
        with open(self.secret_file, "rb") as fh:
            secret = fh.read().strip()
        meta = resources.get("nbgrader", {})
        self._token = derive_token(
            secret,
            str(meta.get("assignment", "")),
            str(meta.get("notebook", "")),
            str(meta.get("student", "")),
        )
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        grade = cell.metadata.get("nbgrader", {}).get("grade", False)
        if cell.cell_type == "code" and grade:
            cell.source = inject(cell.source, self._token)
        return cell, resources


class GradkitExecute(Execute):
    """Execute with the tamper guard and recovery from cells that ignore interrupts."""

    probe_timeout = Float(
        5.0, help="Seconds an interrupted kernel gets to answer before it is restarted."
    ).tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.extra_arguments:
            self.extra_arguments = list(KERNEL_GUARD_ARGS)
        self._timed_out = False
        self._skip = set()

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    async def _run_quietly(self, source: str, timeout: float) -> bool:
        """Execute ``source`` without recording output; True if the kernel replied in time."""
        msg_id = self.kc.execute(source, silent=True, store_history=False)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=max(0.1, deadline - loop.time()))
            except Exception:  # queue.Empty: no reply before the deadline
                return False
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    async def _replay(self, upto: int) -> None:
        """Re-run the cells before ``upto`` (except timed-out ones) in the restarted kernel."""
        for i, cell in enumerate(self.nb.cells[:upto]):
            if cell.cell_type == "code" and i not in self._skip and cell.source.strip():
                await self._run_quietly(cell.source, self.timeout or 30)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        self._timed_out = False
        result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if self._timed_out:
            self._skip.add(cell_index)
            if not await self._run_quietly("pass", self.probe_timeout):
                self.log.warning(
                    "kernel ignored the interrupt; restarting it and replaying earlier cells"
                )
                await self.km.restart_kernel(now=True)
                await self.kc.wait_for_ready(timeout=60)
                await self._replay(cell_index)
        return result

    # nbclient binds the synchronous wrapper to the base class's coroutine;
    # rebind it so the override above is what runs.
    execute_cell = run_sync(async_execute_cell)
