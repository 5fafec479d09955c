"""The course inside JupyterLab: a Jupyter server extension that makes nbgrader's buttons gradkit's.

Installed with the ``course`` extra and enabled by the configuration file it
ships (``etc/jupyter/jupyter_server_config.d/gradkit.json``):

* **Validate** (nbgrader's toolbar button) answers with gradkit's self-check:
  the notebook, already saved by the button, is run on a copy with the
  grader's checks (:func:`gradkit.course.selfcheck.check_notebook`); each test
  that is not at full marks is listed with its points and the failing checks
  with their diagnosis — never a traceback or a path of the grader's machine.
  The reply keeps the JSON shape nbgrader's JavaScript expects, so no
  JavaScript is built or shipped. Each Validate runs in a worker process of its own
  (:mod:`gradkit.course.validate_worker`), so the server stays responsive meanwhile; after
  the first one, the next worker is started in the background and waits with its imports
  done and its kernel started (:class:`ValidateService`; none before the first Validate
  unless ``c.ValidateService.start_at_launch = True``; ``warm = False`` starts each worker
  on demand). A worker runs one notebook and exits: nothing passes between Validates.
* **Formgrader** stays the place for manual grading (the gradebook is the one
  ``gradkit grade`` writes), but its Generate, Autograde and Feedback buttons
  would bypass gradkit (no release checks, no hidden cases, no sandbox): they
  refuse, with a one-line message naming the ``gradkit`` command to run.

nbgrader's handler classes are patched when this extension loads, so the
order in which Jupyter loads server extensions does not matter.
"""

from __future__ import annotations

import asyncio
import atexit
import html
import json
import os
import signal
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets import Bool, Float
from traitlets.config import LoggingConfigurable

if TYPE_CHECKING:
    from .readykernel import ReadyKernel

__all__ = [
    "validate",
    "ValidateService",
    "REFUSALS",
    "extension_enabled",
    "_jupyter_server_extension_points",
]

#: nbgrader's dialog shows each failure in a block that does not wrap lines.
DIALOG_COLUMNS = 96

#: Formgrader API handler -> what to run instead.
REFUSALS = {
    "AssignHandler": "gradkit release {assignment}",
    "AutogradeHandler": "gradkit grade {assignment} --submissions DIR",
    "GenerateAllFeedbackHandler": "gradkit feedback {assignment}",
    "GenerateFeedbackHandler": "gradkit feedback {assignment}",
}


def validate(
    path: Path, kernel: ReadyKernel | None = None, reference: ReadyKernel | None = None
) -> dict[str, Any]:
    """nbgrader's Validate reply for ``path``, computed by gradkit's self-check (in
    ``kernel``, a started :class:`~gradkit.course.readykernel.ReadyKernel`, and with the
    speed checks' reference in ``reference``, if given)."""
    from .directory import UserError
    from .selfcheck import check_notebook

    try:
        results = check_notebook(Path(path), kernel=kernel, reference=reference)
    except UserError as exc:
        return {"success": False, "value": str(exc)}
    failed = []
    for result in results:
        if result.score >= result.points:
            continue
        lines = [ln for ln in result.lines()[:-1] if not ln.startswith("PASS")]
        wrapped = [
            "\n".join(textwrap.wrap(ln, DIALOG_COLUMNS, subsequent_indent=" " * 6) or [""])
            for ln in [*lines, result.summary()]
        ]
        failed.append(
            {
                "source": f"{result.test}: {result.score:g} / {result.points:g} points",
                "error": html.escape("\n".join(wrapped)),
            }
        )
    total = sum(r.score for r in results)
    possible = sum(r.points for r in results)
    value: dict[str, Any] = {"failed": failed} if failed else {}
    value["gradkit"] = {"score": total, "points": possible}
    return {"success": True, "value": value}


#: Longest a Validate may take: a notebook's own budget (10 minutes) and a minute more.
VALIDATE_TIMEOUT = 660.0
#: Seconds a worker gets to exit once its input is closed before it is killed.
WORKER_EXIT_TIMEOUT = 10.0
#: Bytes of one reply line the server reads from a worker (asyncio's default is 64 KiB).
MAX_REPLY_BYTES = 16 * 2**20


def _worker_argv() -> list[str]:
    """Run the worker with this server's Python and this server's gradkit."""
    import gradkit

    here = str(Path(gradkit.__file__).resolve().parent.parent)
    code = (
        "import sys\n"
        f"if {here!r} not in sys.path: sys.path.insert(0, {here!r})\n"
        "from gradkit.course.validate_worker import main\n"
        "sys.exit(main())\n"
    )
    return [sys.executable, "-c", code]


class _Worker:
    """One validate worker process (see :mod:`gradkit.course.validate_worker`)."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.proc = proc
        self.started = time.monotonic()
        self.ready_after: float | None = None  # seconds from its start to "ready"
        self._ready = asyncio.ensure_future(self._read_ready())

    @classmethod
    async def start(cls) -> _Worker:
        proc = await asyncio.create_subprocess_exec(
            *_worker_argv(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            start_new_session=True,  # a Ctrl-C in the server's terminal is the server's
            limit=MAX_REPLY_BYTES,
        )
        return cls(proc)

    async def _read_ready(self) -> bool:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if line.decode(errors="replace").strip() == "ready":
            self.ready_after = time.monotonic() - self.started
            return True
        return False

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    @property
    def ready(self) -> bool:
        return self._ready.done() and not self._ready.cancelled() and self._ready.result()

    async def check(self, path: Path, timeout: float) -> dict[str, Any]:
        """The worker's reply for ``path``. The worker is done then: :meth:`stop` it."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write((json.dumps({"path": str(path)}) + "\n").encode())
            await self.proc.stdin.drain()
            self.proc.stdin.close()

            async def reply() -> bytes:
                await self._ready
                assert self.proc.stdout is not None
                return await self.proc.stdout.readline()

            line = await asyncio.wait_for(reply(), timeout)
        except asyncio.TimeoutError:
            self.kill()
            return {"success": False, "value": f"gradkit's check took over {timeout:g} s"}
        except (OSError, ValueError) as exc:  # it died, or wrote a line over the cap
            self.kill()
            return {"success": False, "value": f"gradkit's check stopped ({exc})"}
        try:
            found = json.loads(line)
        except ValueError:
            found = None
        if not isinstance(found, dict) or "success" not in found:
            return {"success": False, "value": "gradkit's check stopped before its verdict"}
        return found

    async def stop(self) -> None:
        """Close its input (it shuts its kernel down and exits), then kill it if need be."""
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), WORKER_EXIT_TIMEOUT)
        except asyncio.TimeoutError:
            self.kill()
            await self.proc.wait()
        if not self._ready.done():
            self._ready.cancel()

    def kill(self) -> None:
        if self.alive:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its kernel's poller sees it go
            except OSError:
                pass


class ValidateService(LoggingConfigurable):
    """Runs each Validate in a worker process; keeps at most one more ready for the next.

    Configurable in ``jupyter_server_config.py`` as ``c.ValidateService.<name>``.
    """

    warm = Bool(
        True,
        help="After a Validate, start the next worker (imports done, kernel started) so "
        "the next Validate does not wait for them. At most one waits per server.",
    ).tag(config=True)
    start_at_launch = Bool(
        False,
        help="Start a waiting worker when the server starts, not after the first Validate "
        "(a student who never validates then pays its memory too).",
    ).tag(config=True)
    timeout = Float(VALIDATE_TIMEOUT, help="Seconds one Validate may take.").tag(config=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._spare: _Worker | None = None
        self._starting: asyncio.Future | None = None
        self._busy: set[_Worker] = set()
        self._retiring: set[asyncio.Future] = set()
        #: One entry per Validate: the worker's pid, whether it was ready when the request
        #: came, and the seconds the request took.
        self.history: list[dict[str, Any]] = []
        atexit.register(self.shutdown)

    async def validate(self, path: Path) -> dict[str, Any]:
        """nbgrader's Validate reply for ``path``, from a worker (the waiting one if any)."""
        started = time.monotonic()
        worker, self._spare = self._spare, None
        if worker is None or not worker.alive:
            worker = await _Worker.start()
        ready = worker.ready
        self._busy.add(worker)
        try:
            return await worker.check(path, self.timeout)
        finally:
            seconds = time.monotonic() - started
            self.history.append({"pid": worker.proc.pid, "ready": ready, "seconds": seconds})
            self.log.info(
                "gradkit: Validate of %s in %.2f s (%s)",
                path.name,
                seconds,
                "its worker was ready" if ready else "its worker was starting",
            )
            # Replied: the worker exits (its kernel with it), then the next one starts.
            retiring = asyncio.ensure_future(self._retire(worker))
            self._retiring.add(retiring)
            retiring.add_done_callback(self._retiring.discard)

    async def _retire(self, worker: _Worker) -> None:
        try:
            await worker.stop()
        finally:
            self._busy.discard(worker)
            if self.warm:
                self.prepare()

    def prepare(self) -> None:
        """Start a waiting worker in the background, unless one is there or starting."""
        if (self._spare is not None and self._spare.alive) or self._starting is not None:
            return

        async def start() -> None:
            try:
                self._spare = await _Worker.start()
            except Exception as exc:  # the next Validate starts its own and says why
                self.log.warning("gradkit: could not start a Validate worker: %s", exc)
            finally:
                self._starting = None
            if self._spare is not None:
                asyncio.ensure_future(self._announce(self._spare))

        self._starting = asyncio.ensure_future(start())

    async def _announce(self, worker: _Worker) -> None:
        if await worker._ready:
            self.log.info(
                "gradkit: the next Validate's worker (pid %d) is ready after %.1f s",
                worker.proc.pid,
                worker.ready_after or 0.0,
            )

    async def wait_ready(self) -> bool:
        """Whether a waiting worker is (now) ready: for tests and benchmarks."""
        while self._retiring:
            await asyncio.wait(set(self._retiring))
        if self._starting is not None:
            await self._starting
        if self._spare is None:
            return False
        return bool(await self._spare._ready)

    async def aclose(self) -> None:
        """Stop every worker and wait until they are gone (their kernels with them)."""
        self.warm = False
        while self._retiring:
            await asyncio.wait(set(self._retiring))
        if self._starting is not None:
            await self._starting
        spare, self._spare = self._spare, None
        for worker in [*([spare] if spare is not None else []), *self._busy]:
            await worker.stop()

    def shutdown(self) -> None:
        """The server stops: every worker stops its kernel and exits (at exit of the
        server's process; a server that is killed closes their input, which does the same)."""
        self.warm = False
        spare, self._spare = self._spare, None
        for worker in [*([spare] if spare is not None else []), *self._busy]:
            if worker.alive:
                try:
                    os.kill(worker.proc.pid, signal.SIGTERM)  # it stops its kernel, exits
                except OSError:
                    pass


_SERVICE: ValidateService | None = None


def service(parent: Any = None) -> ValidateService:
    """This server's ValidateService (made on first use if the extension did not load)."""
    global _SERVICE
    if _SERVICE is None:
        _SERVICE = ValidateService(parent=parent)
    return _SERVICE


def _target(handler: Any, path: str) -> Path:
    from tornado import web

    root = Path(handler.root_dir).resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root):
        raise web.HTTPError(403, "Access denied: path outside allowed directory")
    return target


def _validate_notebook(handler: Any, path: str) -> dict[str, Any]:
    return validate(_target(handler, path))


async def _validate_post(handler: Any) -> None:
    """nbgrader's Validate request, answered by a worker process: the server's event loop
    stays free while the notebook runs."""
    from tornado import web

    try:
        path = handler.get_argument("path")
    except web.MissingArgumentError:
        path = handler.get_json_body()["path"]
    target = _target(handler, path)
    reply = await service().validate(target)
    handler.finish(json.dumps(reply))


def _refusing(command: str):
    def post(self: Any, assignment_id: str, *args: str) -> None:
        run = command.format(assignment=assignment_id)
        why = (
            f"Run `{run}` in the course directory instead. This course is graded with "
            "gradkit, and formgrader's button would bypass gradkit's release checks, "
            "hidden cases and sandbox."
        )
        # formgrader shows both in blocks that do not wrap: the error short, the log wrapped.
        self.write(
            json.dumps(
                {
                    "success": False,
                    "error": f"refused: run `{run}` instead",
                    "log": "\n".join(textwrap.wrap(why, 60)),
                }
            )
        )

    return post


def patch_nbgrader() -> None:
    """Route nbgrader's Validate to gradkit and make formgrader's grading buttons refuse."""
    from nbgrader.server_extensions.formgrader import apihandlers
    from nbgrader.server_extensions.validate_assignment import handlers
    from tornado import web

    handlers.ValidateAssignmentHandler.validate_notebook = _validate_notebook
    handlers.ValidateAssignmentHandler.post = web.authenticated(_validate_post)
    for name, command in REFUSALS.items():
        getattr(apihandlers, name).post = _refusing(command)


def extension_enabled() -> tuple[bool, str]:
    """Whether Jupyter loads this extension (so Validate runs gradkit's check), and where
    that is configured or how to turn it on."""
    try:
        from jupyter_core.paths import jupyter_config_path
    except ImportError:  # pragma: no cover - the course extra installs it
        return False, "Jupyter is not installed (pip install 'gradkit[course]')"
    for folder in jupyter_config_path():
        base = Path(folder)
        files = [
            base / "jupyter_server_config.json",
            *sorted(base.glob("jupyter_server_config.d/*.json")),
        ]
        for path in files:
            try:
                config = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            found = config.get("ServerApp", {}).get("jpserver_extensions", {})
            if found.get("gradkit.course.jupyter") is True:
                return True, f"enabled in {path}"
    return False, (
        "not enabled, so Validate gives plain nbgrader's answer: run "
        "`jupyter server extension enable gradkit.course.jupyter --sys-prefix`"
    )


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "gradkit.course.jupyter"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    patch_nbgrader()
    validator = service(parent=serverapp)
    if validator.start_at_launch:
        from tornado.ioloop import IOLoop

        IOLoop.current().add_callback(validator.prepare)
    serverapp.log.info(
        "gradkit: Validate runs gradkit's checks; formgrader grading goes through gradkit"
    )
