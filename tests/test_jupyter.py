"""gradkit's Jupyter server extension without a browser (tests/test_browser.py drives it in one).

Validate's reply must keep the JSON shape nbgrader's JavaScript reads; the
formgrader buttons that would bypass gradkit must refuse and name the command.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import nbformat
import pytest

from course_helpers import ASSIGNMENT, NOTEBOOK, make_course
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course
from gradkit.course.jupyter import (
    DIALOG_COLUMNS,
    REFUSALS,
    ValidateService,
    patch_nbgrader,
    validate,
)
from gradkit.course.release import release

pytestmark = [pytest.mark.slow, pytest.mark.a01]
WRONG = "def least_squares(X, y):\n    return X @ np.linalg.solve(X.T @ X, X.T @ y)\n"


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    """The full solution of the tiny assignment, as a student would have it."""
    root = tmp_path_factory.mktemp("jupyter")
    course = Course(make_course(root / "course"))
    release(course, ASSIGNMENT, log=lambda m: None)
    make_submission(course, ASSIGNMENT, root / "ada", "full")
    return root / "ada" / f"{NOTEBOOK}.ipynb"


def _planted(student: Path, tmp_path: Path) -> Path:
    nb = nbformat.read(str(student), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "least_squares":
            cell.source = WRONG
    path = tmp_path / f"{NOTEBOOK}.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_validate_lists_only_the_test_below_full_marks_with_its_diagnosis(student, tmp_path):
    reply = validate(_planted(student, tmp_path))
    assert reply["success"] is True
    failed = reply["value"]["failed"]
    assert [f["source"] for f in failed] == ["least_squares: 0 / 2 points"]
    error = failed[0]["error"]
    assert "returns the predictions" in " ".join(error.split())
    assert "Traceback" not in error and str(tmp_path) not in error
    assert max(len(line) for line in error.splitlines()) <= DIALOG_COLUMNS
    assert reply["value"]["gradkit"] == {"score": 2.0, "points": 4.0}


def test_validate_of_a_complete_notebook_reports_no_failure(student):
    reply = validate(student)
    assert reply["success"] is True and "failed" not in reply["value"]
    assert reply["value"]["gradkit"] == {"score": 4.0, "points": 4.0}


def test_validate_of_an_unreadable_notebook_says_why_in_one_line(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    reply = validate(broken)
    assert reply["success"] is False
    assert "not a readable notebook" in reply["value"] and "\n" not in reply["value"]


# -- the warm worker: fast, and nothing passes from one Validate to the next ----------

#: A notebook's cell that leaves a mark everywhere a warm kernel could carry one: an
#: attribute of a module imported before the notebook (numpy), a builtin, a global, an
#: environment variable, a module in sys.modules, a file in the working folder.
POLLUTE = """import builtins, os, sys
import numpy
numpy._gradkit_leak = True
builtins._gradkit_leak = True
_gradkit_leak_global = True
os.environ["GRADKIT_LEAK"] = "1"
sys.modules["gradkit_leak"] = numpy
with open("gradkit_leak.txt", "w") as f:
    f.write("leak")
"""
#: A least_squares that is right unless it finds one of those marks.
LEAK_AWARE = """import builtins, os, sys
def least_squares(X, y):
    leaked = (
        getattr(np, "_gradkit_leak", False)
        or hasattr(builtins, "_gradkit_leak")
        or "_gradkit_leak_global" in globals()
        or "GRADKIT_LEAK" in os.environ
        or "gradkit_leak" in sys.modules
        or os.path.exists("gradkit_leak.txt")
    )
    w = np.linalg.solve(X.T @ X, X.T @ y)
    return w + 1.0 if leaked else w
"""
#: Seconds the waiting worker gets to be ready (a kernel start and imports, on a busy
#: machine).
READY_TIMEOUT = 120


def _variant(student: Path, out: Path, pollute: bool, leak_aware: bool) -> Path:
    nb = nbformat.read(str(student), as_version=4)
    for cell in nb.cells:
        if leak_aware and cell.metadata.get("nbgrader", {}).get("grade_id") == "least_squares":
            cell.source = LEAK_AWARE
    if pollute:
        nb.cells.insert(1, nbformat.v4.new_code_cell(POLLUTE))
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{NOTEBOOK}.ipynb"
    nbformat.write(nb, str(path))
    return path


def _score(reply: dict) -> dict:
    assert reply["success"] is True, reply
    return reply["value"]["gradkit"]


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_the_leak_aware_function_sees_every_mark_in_its_own_kernel(student, tmp_path):
    """The control: in the kernel that made the marks, the function is wrong."""
    both = _variant(student, tmp_path / "both", pollute=True, leak_aware=True)
    assert _score(validate(both)) == {"score": 2.0, "points": 4.0}


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_a_warm_validate_inherits_nothing_from_the_one_before(student, tmp_path):
    polluter = _variant(student, tmp_path / "polluter", pollute=True, leak_aware=False)
    victim = _variant(student, tmp_path / "victim", pollute=False, leak_aware=True)

    async def scenario() -> tuple[dict, dict, ValidateService, list[int], list[int]]:
        service = ValidateService()
        assert service._spare is None  # nothing runs before the first Validate
        first = await service.validate(polluter)
        assert await asyncio.wait_for(service.wait_ready(), READY_TIMEOUT)
        assert service._spare is not None
        kernels = _children(service._spare.proc.pid)
        second = await service.validate(victim)
        assert await asyncio.wait_for(service.wait_ready(), READY_TIMEOUT)
        # One worker waits, with its kernel; the server stopping lets both go.
        waiting = service._spare
        assert waiting is not None and waiting.alive
        last = [waiting.proc.pid, *_children(waiting.proc.pid)]
        await service.aclose()
        return first, second, service, kernels, last

    first, second, service, kernels, last = asyncio.run(scenario())
    assert _score(first) == {"score": 4.0, "points": 4.0}
    assert _score(second) == {"score": 4.0, "points": 4.0}
    assert [h["ready"] for h in service.history] == [False, True]
    assert service.history[0]["pid"] != service.history[1]["pid"]
    assert kernels and len(last) >= 2, "a waiting worker has started its kernels"
    # Each worker, and the kernel it ran, is gone once it has answered; so is the last
    # one, waiting, once the service stops.
    assert all(_gone(pid, 30) for pid in [h["pid"] for h in service.history] + kernels + last)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_validate_through_the_server_keeps_it_responsive_and_stops_its_worker(student, tmp_path):
    """nbgrader's Validate request to a Jupyter server with gradkit's extension: the verdict
    comes from a worker while the server answers other requests; once the server stops, the
    worker it kept ready for the next Validate is gone, and its kernel."""
    import re
    import socket
    import subprocess
    import sys
    import threading
    import urllib.parse
    import urllib.request

    root = tmp_path / "root"
    _variant(student, root, pollute=False, leak_aware=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base, token = f"http://127.0.0.1:{port}", "gradkit-jupyter-test"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                f"--port={port}",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                "--ValidateService.start_at_launch=True",
                *(["--allow-root"] if os.geteuid() == 0 else []),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while "is ready after" not in log.read_text():  # start_at_launch: before any Validate
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        order: list[str] = []
        replies: list[dict] = []

        def post_validate() -> None:
            request = urllib.request.Request(
                f"{base}/assignments/validate",
                data=urllib.parse.urlencode({"path": f"{NOTEBOOK}.ipynb"}).encode(),
                headers={"Authorization": f"token {token}"},
            )
            with urllib.request.urlopen(request, timeout=READY_TIMEOUT) as reply:
                replies.append(json.loads(reply.read()))
            order.append("validate")

        validating = threading.Thread(target=post_validate)
        validating.start()
        time.sleep(0.2)  # the request is in: the notebook runs for a second or more
        with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=30) as reply:
            assert reply.status == 200
        order.append("status")
        validating.join()
        assert _score(replies[0]) == {"score": 4.0, "points": 4.0}
        assert order == ["status", "validate"]
        deadline = time.monotonic() + READY_TIMEOUT
        while len(ready := re.findall(r"worker \(pid (\d+)\) is ready", log.read_text())) < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        waiting = int(ready[-1])
        kernels = _children(waiting)
        assert kernels, "the waiting worker has started its kernel"
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert _gone(waiting, 30), "the waiting worker outlived the server"
    assert all(_gone(pid, 30) for pid in kernels)


class _Handler:
    """Stands in for a tornado handler: records what the refusal writes."""

    def __init__(self) -> None:
        self.written: list[str] = []

    def write(self, text: str) -> None:
        self.written.append(text)


@pytest.mark.parametrize("name, command", sorted(REFUSALS.items()))
def test_formgrader_grading_handlers_refuse_and_name_the_command(name, command):
    from nbgrader.server_extensions.formgrader import apihandlers

    patch_nbgrader()
    handler = _Handler()
    args = ("ada",) if name in ("AutogradeHandler", "GenerateFeedbackHandler") else ()
    getattr(apihandlers, name).post(handler, ASSIGNMENT, *args)
    reply = json.loads(handler.written[0])
    run = command.format(assignment=ASSIGNMENT)
    assert reply["success"] is False
    assert run in reply["error"] and len(reply["error"].splitlines()) == 1
    assert run in " ".join(reply["log"].split())
