"""Executing a notebook for grading: test cells judged in the grader, a kernel that may die.

:class:`GradkitExecute` is nbgrader's Execute preprocessor (used by
``gradkit grade`` and ``gradkit check``) with these changes:

* A test cell of a registered spec (grade id ``test_<name>``) is not run by
  the kernel. The grader runs the spec itself, calling the student's
  functions in the kernel through :class:`~gradkit.grading.bridge.BridgeCallee`,
  and writes the cell's outputs: the text, the structured result (MIME
  ``application/vnd.gradkit.result+json``) and the score nbgrader reads (a
  number for partial credit, an error for 0). Hidden cases come from a token
  given by the grader (or derived here from the course secret); neither token
  nor secret enters the kernel.
* The kernel can run in the sandbox (:mod:`gradkit.course.sandbox`).
* A kernel that dies (``os._exit``, a signal, a segfault, the memory limit)
  or ignores an interrupt is restarted and the earlier cells replayed, so only
  that cell (and its test) is lost. Every such event is an *incident*,
  recorded in the notebook's metadata (``gradkit.incidents``).
* Output is capped in bytes per cell and per notebook; the whole notebook has
  a time budget; cells tagged ``demo`` are skipped.
* The student's other notebooks of the assignment (``sibling_notebooks``) are
  read-only files in the kernel's working folder, where a demo's
  ``gradkit.yours.load("update_rules.ipynb")`` finds them. Grades never depend
  on them: without one, only the cell that loads it fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import subprocess
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat import from_dict
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Any as AnyTrait
from traitlets import Bool, Dict, Float, Int, Unicode

from ..grading.bridge import BridgeCallee, Channel
from ..grading.codec import Folder
from ..grading.engine import SpecRun
from ..grading.outcome_cache import OutcomeCache, for_sandboxed_grader
from ..grading.result import MIME, TestResult
from ..grading.seeds import derive_token
from ..grading.specs import all_specs
from .graded_kernel import BRIDGE_REQUEST
from .kernel_users import kill_user, lease_uid, release_uid
from .reference_kernel import ReferenceKernel, ReferenceTimer, graded
from .rundir import RunDir
from .sandbox import (
    IPC_PREFIX,
    NOBODY,
    SANDBOX_OUT,
    Limits,
    SandboxedKernelManager,
    kernel_visible_paths,
)
from .undefined_names import explain_undefined

__all__ = ["GradkitExecute", "KERNEL_ARGS", "graded_test", "result_outputs", "INCIDENTS_KEY"]

#: Kernel arguments: in-memory history, as nbgrader's own Execute uses.
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:"]
#: Longest the grader drops what a kernel published during a bridge request.
DRAIN_SECONDS = 1.0
#: Why the tests after an incident that ends a notebook were not run.
ENDED_BECAUSE = {
    "notebook time limit": "the notebook used up its time",
    "over the memory limit": "the notebook went over its memory limit",
}
#: Where a graded notebook's metadata lists what happened while it ran.
INCIDENTS_KEY = "gradkit"
#: A sibling notebook's file name: a plain name in the working folder.
_SIBLING_NAME = re.compile(r"^[^./\\][^/\\]*\.ipynb$")


def graded_test(cell: Any) -> str | None:
    """The spec name of a test cell the grader judges itself, or None."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") != "code" or not meta.get("grade"):
        return None
    grade_id = str(meta.get("grade_id", ""))
    name = grade_id[len("test_") :] if grade_id.startswith("test_") else ""
    return name if name in all_specs() else None


def _output(output_type: str, **fields: Any) -> Any:
    """An output as :func:`nbformat.v4.new_output` makes it, without validating it on its
    own (about 1 ms, twice per test cell): its fields are the grader's own, and the whole
    notebook is validated when it is written."""
    node: dict[str, Any] = {"output_type": output_type}
    if output_type in ("display_data", "execute_result"):
        node["metadata"] = {}
    return from_dict({**node, **fields})


def result_outputs(result: TestResult, execution_count: int | None = None) -> list[Any]:
    """The outputs a graded test cell gets: the verdict, then its score as nbgrader reads it."""
    outputs = [
        _output(
            "display_data",
            data={"text/plain": result.text(), "text/html": result.html(), MIME: result.to_dict()},
        )
    ]
    if result.score > 0:
        outputs.append(
            _output(
                "execute_result",
                data={"text/plain": repr(result.score)},
                execution_count=execution_count,
            )
        )
    else:
        message = f"{result.test}: no check passed (0/{result.points:g} points)"
        outputs.append(
            _output(
                "error",
                ename="GradingFailure",
                evalue=message,
                traceback=[f"GradingFailure: {message}"],
            )
        )
    return outputs


def _cell_kind(source: str) -> str:
    """The profile's phase of a code cell: ``imports`` when it only imports (and runs
    magics), else ``student cells``."""
    import ast

    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        body = ast.parse("\n".join(lines)).body
    except SyntaxError:
        return "student cells"
    imports = (ast.Import, ast.ImportFrom)
    return "imports" if body and all(isinstance(n, imports) for n in body) else "student cells"


class GradkitExecute(ReferenceKernel, Execute):
    """nbgrader's Execute, with test cells judged in the grader, a sandbox, and recovery."""

    secret_file = Unicode("", help="The course secret; hidden cases need it or a token.").tag(
        config=True
    )
    hidden_token = Unicode(
        None, allow_none=True, help="The hidden-case token, when the caller derived it."
    ).tag(config=True)
    probe_timeout = Float(
        5.0, help="Seconds an interrupted kernel gets to answer before it is restarted."
    ).tag(config=True)
    sandbox = Bool(False, help="Start the kernel in the sandbox.").tag(config=True)
    separate_user = Bool(
        False,
        help="Without the sandbox, a root grader runs the kernel as a user id of its own, "
        "with limits and a cleared environment (a platform container that forbids "
        "namespaces; see gradkit.course.autograder.isolation).",
    ).tag(config=True)
    sandbox_memory = Int(Limits().memory, help="The kernel's memory limit (bytes).").tag(
        config=True
    )
    notebook_timeout = Float(600.0, help="Seconds the whole notebook may run.").tag(config=True)
    cell_output_bytes = Int(1_000_000, help="Output kept per cell, in bytes.").tag(config=True)
    notebook_output_bytes = Int(8_000_000, help="Output kept per notebook, in bytes.").tag(
        config=True
    )
    skip_cells_with_tag = Unicode("demo", help="Cells with this tag are not run.").tag(config=True)
    kit_library = Unicode(
        "",
        help="A folder with the student kit's gradkit package: the sandboxed student kernel "
        "sees it in place of the full library (the reference's kernel keeps the library).",
    ).tag(config=True)
    reference_kernel = AnyTrait(
        None,
        allow_none=True,
        help="Unsandboxed only: a kernel manager with a kernel already started (a "
        "self-check starts it ahead) for the speed checks' reference, instead of one "
        "started when the first speed check needs it. It is shut down with the notebook.",
    )
    sibling_notebooks = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="File name -> text of the student's other notebooks of the assignment, put "
        "read-only in the kernel's working folder.",
    ).tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if not self.extra_arguments:
            self.extra_arguments: list[str] = list(KERNEL_ARGS)
        self._timed_out = False
        self._skip: set[int] = set()
        self._token: str | None = None
        self._run: Any = None  # the run folder (RunDir) and bridge channel of the notebook
        self._home_files: list[Path] = []  # sibling notebooks mounted in a sandbox's home
        self._channel: Any = None
        self._uid: int | None = None  # the kernel's own user id (root graders)
        self._current = 0
        self._incidents: list[dict[str, Any]] = []
        self._started = 0.0
        self._out_bytes: dict[int, int] = {}
        self._truncated: set[int] = set()
        self._ended = ""  # why the rest of the notebook is not run, once it is not
        self._oom_kills = 0
        self._ref: dict[str, Any] | None = None  # the reference's kernel, once started
        #: Tests whose hidden cases are still to run: (cell, index, SpecRun, callee).
        self._deferred: list[tuple[Any, int, SpecRun, BridgeCallee]] = []
        #: Code cells that ended in an error: index -> (exception name, first line of it).
        self._cell_errors: dict[int, tuple[str, str]] = {}
        #: ``gradkit grade --profile``: where the notebook's time goes (see
        #: :mod:`gradkit.course.profile`); None when not profiling.
        self.profile: Any = None
        self.kernel_clock: Any = None

    def _phase(self, name: str) -> Any:
        """A phase of the profile, or nothing when not profiling."""
        return self.profile.phase(name) if self.profile is not None else nullcontext()

    # -- set-up ------------------------------------------------------------
    def preprocess(self, nb: Any, resources: Any = None, km: Any = None):
        resources = resources if resources is not None else {}
        self._token = self._derive_token(resources.get("nbgrader", {}))
        self._incidents, self._skip, self._truncated = [], set(), set()
        self._out_bytes = {}
        self._cell_errors = {}
        self._ended = ""
        self._oom_kills = 0
        if self.separate_user and not self.sandbox and os.geteuid() != 0:
            raise RuntimeError("the separate-user mode needs a root grader")
        fenced = self.sandbox or self.separate_user
        self._uid = lease_uid() if fenced and os.geteuid() == 0 else None
        self._run = RunDir(
            host_kernel_dirs=not self.sandbox,
            kernel_uid=self._uid if self._separate and self._uid is not None else -1,
        )
        self._home_files = self._place_siblings(resources)
        self._channel = self._make_channel(self._run)
        self._started = time.monotonic()
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            stopping = self._phase("kernel stop")
            stopping.__enter__()
            if self._ref is not None:
                run_sync(self._stop_reference)()
            problems = list(self._channel.problems)
            if self._uid is not None:
                kill_user(self._uid)  # whatever the kernel left behind
                release_uid(self._uid)
            if isinstance(self.km, SandboxedKernelManager):
                problems += self.km.remove_group()
            problems += self._run.remove()
            if problems:
                self.incident(-1, "cleanup failed", "; ".join(problems)[:200])
            stopping.__exit__(None, None, None)
        nb.metadata[INCIDENTS_KEY] = {"incidents": list(self._incidents)}
        return nb, resources

    @property
    def _separate(self) -> bool:
        """Whether the student's kernel runs as a separate user, without the sandbox."""
        return self.separate_user and not self.sandbox

    def _place_siblings(self, resources: Any) -> list[Path]:
        """Put the sibling notebooks where the kernel's working folder will show them,
        read-only: files of the run folder mounted into a sandbox's home, or files in the
        working folder of an unsandboxed kernel. Returns the files to mount."""
        mounted: list[Path] = []
        workdir = None
        if not (self.sandbox or self._separate):
            workdir = resources.get("metadata", {}).get("path")
        for name, text in sorted(self.sibling_notebooks.items()):
            if not _SIBLING_NAME.match(name):
                self.log.warning("sibling notebook %r skipped: not a plain file name", name)
                continue
            if self.sandbox or self._separate:  # the separate user's home is the run's
                mounted.append(self._run.add_home_file(name, text.encode()))
            elif workdir:
                target = Path(workdir) / name
                if not target.exists():  # the caller may have put it there already
                    target.write_text(text, encoding="utf-8")
                    target.chmod(0o444)
        return mounted

    def _make_channel(self, run: RunDir) -> Channel:
        """Where bridge requests and replies go: the replies of a sandboxed kernel are in
        its sandbox, read through the kernel manager's descriptor of that folder."""
        req = run.folders["req"]
        if self._separate:
            kout = run.folders["kout"]
            return Channel(req, lambda: self.km.out_folder(), str(req.path), str(kout.path))
        if not self.sandbox:
            out = run.folders["out"]
            return Channel(req, lambda: out, str(req.path), str(out.path))

        def sandbox_out() -> Folder:
            assert isinstance(self.km, SandboxedKernelManager)
            return self.km.out_folder()

        return Channel(req, sandbox_out, str(req.path), SANDBOX_OUT)

    def _derive_token(self, meta: dict) -> str | None:
        if self.hidden_token is not None:
            return self.hidden_token
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

    def create_kernel_manager(self) -> Any:
        run = self._run
        common = {
            "config": self.config,
            "kernel_name": self.kernel_name or "python3",
            "transport": "ipc",
            "connection_file": str(run.dir("conn") / "connection.json"),
        }
        if self._separate:  # a user of its own, reached through the run's descriptors
            assert self._uid is not None
            km = SandboxedKernelManager(
                **common,
                ip=str(run.dir("kipc") / "kernel"),
                sandbox_memory=self.sandbox_memory,
                sandbox_uid=self._uid,
                sandbox_library=self.kit_library,
                user_home=str(run.dir("home")),
            )
            km.sandbox_enabled = False
            km.separate_user = True
            km.user_folders = {"ipc": run.folders["kipc"], "out": run.folders["kout"]}
        elif not self.sandbox:  # the same message caps, sockets in the private run folder
            km = SandboxedKernelManager(**common, ip=str(run.dir("ipc") / "kernel"))
            km.sandbox_enabled = False
        else:
            km = SandboxedKernelManager(
                **common,
                ip=IPC_PREFIX,
                sandbox_readonly=os.pathsep.join([str(run.dir("conn")), str(run.dir("req"))]),
                sandbox_home_files=os.pathsep.join(str(p) for p in self._home_files),
                sandbox_workdir=str(run.path),
                sandbox_memory=self.sandbox_memory,
                sandbox_uid=NOBODY if self._uid is None else self._uid,
                sandbox_library=self.kit_library,
            )
        self.km = km
        return km

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        # What a kernel writes to its own stdout and stderr (the student's os.write(1, ...)
        # included) goes nowhere near the grader's terminal.
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        with self._phase("kernel start"):
            await super().async_start_new_kernel(**kwargs)
            if self.kernel_clock is not None:
                self.kernel_clock.track(self.km)

    async def async_start_new_kernel_client(self) -> Any:
        with self._phase("kernel start"):
            return await super().async_start_new_kernel_client()

    async def _async_cleanup_kernel(self) -> None:
        with self._phase("kernel stop"):
            if self.kernel_clock is not None and self.km is not None:
                self.kernel_clock.retire(self.km)
            await super()._async_cleanup_kernel()

    def incident(self, cell_index: int, kind: str, detail: str = "") -> None:
        self._incidents.append({"cell": cell_index, "kind": kind, "detail": detail[:200]})

    # -- the kernel ----------------------------------------------------------
    async def _async_handle_timeout(self, timeout: int, cell: Any = None):
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    async def _run_quietly(
        self, source: str, timeout: float, kc: Any = None, km: Any = None
    ) -> str:
        """Execute ``source`` without recording output: ``"ok"``, ``"timeout"``, ``"dead"``
        or ``"error: <name>"`` (in the student's kernel, or the one of ``kc`` and ``km``)."""
        kc = kc or self.kc
        km = km or self.km
        await self._drain_iopub(kc)  # what earlier requests published: dropped, not waited for
        msg_id = kc.execute(source, silent=True, store_history=False, allow_stdin=False)
        return await self._reply_status(msg_id, timeout, kc, km)

    async def _request_quietly(
        self, where: tuple[str, str, int], timeout: float, kc: Any = None, km: Any = None
    ) -> str:
        """Bridge request ``where`` (request folder, reply folder, number) through a graded
        kernel's own message (:data:`~gradkit.course.graded_kernel.BRIDGE_REQUEST`);
        answered as :meth:`_run_quietly`."""
        kc = kc or self.kc
        km = km or self.km
        await self._drain_iopub(kc)
        req, out, number = where
        msg = kc.session.msg(BRIDGE_REQUEST, {"req": req, "out": out, "number": number})
        kc.shell_channel.send(msg)
        return await self._reply_status(msg["header"]["msg_id"], timeout, kc, km)

    async def _reply_status(self, msg_id: str, timeout: float, kc: Any, km: Any) -> str:
        """Wait for the shell reply to ``msg_id``: its status, ``"timeout"`` or ``"dead"``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return "timeout"
            try:
                msg = await kc.shell_channel.get_msg(timeout=min(remaining, 1.0))
            except queue.Empty:
                if not await km.is_alive():
                    return "dead"
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                status = msg["content"].get("status")
                return "ok" if status == "ok" else f"error: {msg['content'].get('ename', status)}"

    async def _drain_iopub(self, kc: Any = None) -> None:
        """Drop what the kernel has published since the last quiet request (nothing of it is
        kept), for at most :data:`DRAIN_SECONDS`: a kernel that publishes without pause
        cannot hold the grader here."""
        kc = kc or self.kc
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            try:
                await kc.iopub_channel.get_msg(timeout=0)
            except queue.Empty:
                return

    async def _recover(self, upto: int) -> None:
        """Restart the kernel and replay the cells before ``upto`` (except skipped ones)."""
        self.log.warning("restarting the kernel and replaying the earlier cells")
        await self.km.restart_kernel(now=True)
        if isinstance(self.km, SandboxedKernelManager):  # new sandbox, new socket descriptors
            me: Any = self  # nbclient's kc is untyped
            me.kc.stop_channels()
            me.kc = self.km.client()
            started = me.kc.start_channels()
            if asyncio.iscoroutine(started):
                await started
        await self.kc.wait_for_ready(timeout=60)
        for i, cell in enumerate(self.nb.cells[:upto]):
            tags = cell.get("metadata", {}).get("tags", [])
            if (
                cell.cell_type == "code"
                and i not in self._skip
                and cell.source.strip()
                and graded_test(cell) is None
                and self.skip_cells_with_tag not in tags
            ):
                await self._run_quietly(cell.source, self.timeout or 30)

    async def _bridge_execute(
        self, code: str, timeout: float, where: tuple[str, str, int] | None = None
    ) -> str:
        """Run one bridge request (``code``, or the graded kernel's message for ``where``);
        on a timeout interrupt, and restart if that is ignored."""
        if where is not None:
            status = await self._request_quietly(where, timeout)
        else:
            status = await self._run_quietly(code, timeout)
        if status == "timeout":
            self.incident(self._current, "timeout", "a function under test did not return")
            await self.km.interrupt_kernel()
            if await self._run_quietly("pass", self.probe_timeout) != "ok":
                self.incident(self._current, "kernel restarted", "it ignored the interrupt")
                await self._recover(self._current)
        elif status == "dead" and not self._check_memory(self._current):
            self.incident(self._current, "kernel died", "while a function under test ran")
            await self._recover(self._current)
        return status

    # -- output caps ---------------------------------------------------------
    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
        data = msg.get("content", {}).get("data")
        if isinstance(data, dict) and MIME in data:
            # Only the grader writes results, into test cells it never lets the kernel run:
            # one displayed by a student's cell is a forgery, dropped and recorded.
            del data[MIME]
            self.incident(
                cell_index,
                "result outside a test cell ignored",
                "a cell that is not a test cell displayed a gradkit result",
            )
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._out_bytes.get(cell_index, 0)
        total = sum(self._out_bytes.values())
        if used + size > self.cell_output_bytes or total + size > self.notebook_output_bytes:
            if cell_index not in self._truncated:
                self._truncated.add(cell_index)
                self.incident(
                    cell_index, "output truncated", f"over {self.cell_output_bytes} bytes"
                )
                outs.append(
                    new_output(
                        "stream",
                        name="stdout",
                        text="[gradkit: output truncated: this cell printed too much]\n",
                    )
                )
            return None
        self._out_bytes[cell_index] = used + size
        return super().output(outs, msg, display_id, cell_index)

    # -- cells ---------------------------------------------------------------
    async def async_execute_cell(
        self,
        cell: Any,
        cell_index: int,
        execution_count: int | None = None,
        store_history: bool = True,
    ):
        if self.profile is None:
            return await self._execute_cell(cell, cell_index, execution_count, store_history)
        if self.kernel_clock is not None:
            self.kernel_clock.refresh()  # processes the last cell started
        kind = "spec work" if graded_test(cell) else _cell_kind(cell.source)
        if kind == "student cells" and cell.get("cell_type") == "code":
            await self._profile_imports(cell)
        with self._phase(kind):
            return await self._execute_cell(cell, cell_index, execution_count, store_history)

    async def _profile_imports(self, cell: Any) -> None:
        """``--profile`` only: the cell's import statements, run just before it, so that
        their time is told apart from the rest of the cell's (which then finds them done)."""
        import ast

        from ..yours import _imports

        tags = cell.get("metadata", {}).get("tags", [])
        module = _imports(cell.source)
        if module is None or self._ended or self.skip_cells_with_tag in tags:
            return
        with self._phase("imports"):
            status = await self._run_quietly(ast.unparse(module), float(self.timeout or 30))
            if status == "timeout":
                await self.km.interrupt_kernel()

    async def _execute_cell(
        self, cell: Any, cell_index: int, execution_count: int | None, store_history: bool
    ) -> Any:
        self._current = cell_index
        name = graded_test(cell)
        if not self._ended and time.monotonic() - self._started > self.notebook_timeout:
            self._end(cell_index, "notebook time limit", f"over {self.notebook_timeout:g} s")
        if self._ended:
            return self._not_run(cell, name)
        if name is not None:
            result = await self._grade_cell(cell, cell_index, name, execution_count)
            self._check_memory(cell_index)
            return result
        self._timed_out = False
        try:
            result = await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
        except DeadKernelError:
            cell.outputs = [
                new_output(
                    "error",
                    ename="KernelDied",
                    evalue="the kernel died while running this cell",
                    traceback=["KernelDied: the kernel died while running this cell"],
                )
            ]
            if self._check_memory(cell_index):
                return cell
            self.incident(cell_index, "kernel died", "it was restarted; this cell was not rerun")
            self._skip.add(cell_index)
            await self._recover(cell_index)
            return cell
        if self._check_memory(cell_index):
            return result
        if self._timed_out:
            self.incident(cell_index, "timeout", f"the cell ran over {self.timeout} s")
            self._skip.add(cell_index)
            if await self._run_quietly("pass", self.probe_timeout) != "ok":
                self.incident(cell_index, "kernel restarted", "it ignored the interrupt")
                await self._recover(cell_index)
        errors = [o for o in result.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            self._cell_errors[cell_index] = (
                str(errors[0].get("ename", ""))[:60],
                str(errors[0].get("evalue", "")).splitlines()[0][:200]
                if errors[0].get("evalue")
                else "",
            )
        if any(o.get("ename") == "MemoryError" for o in result.get("outputs", [])):
            self.incident(cell_index, "memory limit", "the cell ran out of memory")
        return result

    def _end(self, cell_index: int, kind: str, detail: str) -> None:
        """Run no more of the notebook: the tests after ``cell_index`` are not run."""
        self.incident(cell_index, kind, detail)
        self._ended = ENDED_BECAUSE.get(kind, kind)

    def _not_run(self, cell: Any, name: str | None) -> Any:
        if name is not None:
            points = float(cell.metadata["nbgrader"].get("points", 0))
            problem = f"not run: {self._ended}"
            cell.outputs = result_outputs(TestResult(test=name, points=points, problem=problem))
        return cell

    def _check_memory(self, cell_index: int) -> bool:
        """End the notebook if its sandbox went over its memory limit (the control group
        killed a process of it); True when it did."""
        km = getattr(self, "km", None)
        group = getattr(km, "group", None)
        kills = group.oom_kills() if group is not None else 0
        if kills <= self._oom_kills:
            return False
        self._oom_kills = kills
        limit = f"{Limits().memory_total / 2**30:g} GiB"
        self._end(cell_index, "over the memory limit", f"the sandbox used over {limit}")
        return True

    async def _grade_cell(self, cell: Any, cell_index: int, name: str, count: int | None):
        """Run a test's public checks now; its hidden cases run after the last cell
        (:meth:`_finish_tests`). Until then the cell holds the verdict with its hidden cases
        failed, so a run that never gets there grades nothing it did not check."""
        spec = all_specs()[name]
        points = float(cell.metadata["nbgrader"].get("points", 0))
        loop = asyncio.get_running_loop()

        def execute(code: str, timeout: float) -> str:
            with self._phase("bridge calls"):
                future = asyncio.run_coroutine_threadsafe(self._bridge_execute(code, timeout), loop)
                return future.result()

        def request(req: str, out: str, number: int, timeout: float) -> str:
            with self._phase("bridge calls"):
                future = asyncio.run_coroutine_threadsafe(
                    self._bridge_execute("", timeout, (req, out, number)), loop
                )
                return future.result()

        callee = BridgeCallee(
            execute,
            self._channel,
            forbidden=spec.forbidden_names(),
            budget=float(self.timeout or 30),
            request=request if graded(self.km) else None,
        )
        self.code_cells_executed += 1
        cell.execution_count = count or self.code_cells_executed
        timer = ReferenceTimer(self, spec, loop)
        run = SpecRun(spec, callee, points, self._token, timer, cache=self._outcome_cache())
        try:
            await loop.run_in_executor(None, run.public)
        except Exception as exc:  # one test's failure never costs the notebook's other tests
            self._write_result(cell, cell_index, self._failed(name, points, exc))
            return cell
        self._write_result(cell, cell_index, run.skip_hidden("the notebook did not finish"))
        self._deferred.append((cell, cell_index, run, callee))
        return cell

    def _outcome_cache(self) -> OutcomeCache | None:
        """The reference's and the mistakes' outcomes on public cases, computed once
        (:mod:`~gradkit.grading.outcome_cache`); only for sandboxed kernels, which can
        neither see nor write it (an unsandboxed student's code runs as the grader)."""
        if not self.sandbox:
            return None
        library = [Path(self.kit_library)] if self.kit_library else []
        return for_sandboxed_grader([*kernel_visible_paths(), *library])

    @staticmethod
    def _failed(name: str, points: float, exc: Exception) -> TestResult:
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return TestResult(
            test=name, points=points, problem=f"the grader could not run this test ({why[:150]})"
        )

    def _write_result(self, cell: Any, cell_index: int, result: TestResult) -> None:
        explain_undefined(
            result, self.nb.cells[:cell_index], self.skip_cells_with_tag, self._cell_errors
        )
        cell.outputs = result_outputs(result, cell.execution_count)

    async def _async_finish_tests(self) -> None:
        """Each test's hidden cases, after the notebook's last cell: the student's code meets
        its hidden inputs only once nothing it prints, raises or displays is kept."""
        loop = asyncio.get_running_loop()
        deferred, self._deferred = self._deferred, []
        self._check_memory(len(self.nb.cells) - 1)  # a limit hit after the last cell counts
        for cell, cell_index, run, callee in deferred:
            self._current = cell_index
            if not self._ended:
                self._check_memory(cell_index)
            if self._ended:
                result = run.skip_hidden(self._ended)
            else:
                callee.deadline = time.monotonic() + callee.budget
                callee.reset()
                try:
                    await loop.run_in_executor(None, run.hidden)
                    result = run.result()
                except Exception as exc:
                    result = self._failed(run.spec.name, run.points, exc)
            self._write_result(cell, cell_index, result)
        await self._stop_reference()

    async def _async_finish_tests_phase(self) -> None:
        with self._phase("spec work"):
            await self._async_finish_tests()

    finish_tests = run_sync(_async_finish_tests_phase)

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> Any:
        out = super().preprocess_cell(cell, resources, index)
        if index == len(self.nb.cells) - 1:
            self.finish_tests()
        return out

    # nbclient binds the synchronous wrappers to the base class's coroutines;
    # rebind them so the overrides above are what runs.
    execute_cell = run_sync(async_execute_cell)
    start_new_kernel = run_sync(async_start_new_kernel)
