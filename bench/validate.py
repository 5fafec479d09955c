"""Row k): how long a student waits for a self-check: `gradkit check` from a cold start of
the command, and JupyterLab's Validate through gradkit's server extension, first and second.

* **cold check**: ``python -m gradkit check NOTEBOOK`` as a fresh process on each of 01's
  two notebooks as a student with every answer right hands them in (the release, answer
  cells filled from ``solutions/``), wall time from the command's start to its exit, and
  the CPU seconds of the command and its kernels.
* **Validate**: a Jupyter server with gradkit's extension (as `jupyter lab` starts it) on the
  same copy; nbgrader's Validate request (``POST /assignments/validate``, what the toolbar
  button sends) timed from the request to the reply. *first* is the first Validate after the
  server started; *second* comes :data:`THINK_SECONDS` later (the student reading the
  verdict and editing), on the same notebook. Every server is started anew for each
  repetition, so each repetition has a first.

Each figure is the best of the first 3 and the median of ``repeats`` (10) repetitions, and
every reply must say full marks. ``--lib LABEL=DIR`` (repeatable) runs the command and the
server on the gradkit of other checkouts' ``lib`` folders, taking turns, so that all meet
the same load (the "before" figures); the benchmark itself imports nothing of gradkit.

    python -m bench.validate                 # the figures (about 8 minutes)
    python -m bench.validate --quick         # 3 repetitions
    python -m bench.validate --lib before=../main/lib --lib after=lib   # in turn
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = ROOT / "solutions" / "01_linear_models"
NOTEBOOKS = ("linear_regression.ipynb", "linear_classifiers.ipynb")
#: Seconds between the first and the second Validate: a student reads the verdict and
#: edits before validating again; gradkit uses them to get the next worker ready (about
#: 3 s on the idle machine, longer under load; the server's log says whether it was).
THINK_SECONDS = 10.0
#: Goals of issue 20: a second Validate of a correct notebook, a cold `gradkit check` of
#: a correct 01 notebook (seconds, wall).
GOAL_SECOND_VALIDATE = 2.0
GOAL_COLD_CHECK = 4.0
#: Longest a server may take to answer its status page after it starts.
SERVER_START_SECONDS = 90.0
#: Longest one Validate may take (a notebook's own limit is 10 minutes).
VALIDATE_SECONDS = 660.0
TOKEN = "gradkit-bench"


def _env(lib: Path, runtime: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(lib), "JUPYTER_RUNTIME_DIR": str(runtime)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def cold_check(notebook: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the command and the kernels it reaped) and the total."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "gradkit", "check", str(notebook)],
        capture_output=True,
        text=True,
        env=env,
        cwd=notebook.parent,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = re.search(r"^total ([\d.]+)/([\d.]+)$", res.stdout, re.M)
    if not found:
        raise RuntimeError(f"gradkit check gave no total: {(res.stdout + res.stderr)[-500:]}")
    return wall, cpu, f"{found.group(1)}/{found.group(2)}"


def _student_notebooks(dest: Path) -> None:
    """A student's correct notebooks of 01: the release with every answer cell filled in
    from the solutions (what `gradkit demo`'s full marks student hands in), made by this
    checkout's gradkit in a process of its own."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from gradkit.course.demo import make_submission\n"
        "from gradkit.course.directory import Course\n"
        "make_submission(Course(Path(sys.argv[1])), sys.argv[2], Path(sys.argv[3]), 'full')\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(ROOT), ASSIGNMENT.name, str(dest)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "lib")},
        check=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A Jupyter server with the environment's server extensions (gradkit's among them)."""

    def __init__(self, root: Path, env: dict[str, str], log: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        argv = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            f"--port={self.port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ]
        self.proc = subprocess.Popen(
            argv, cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + SERVER_START_SECONDS
        while self.proc.poll() is None and time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.base}/api/status?token={TOKEN}", timeout=2)
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the Jupyter server did not start; see {log}")

    def worker_was_ready(self) -> bool | None:
        """Whether the last Validate found its worker ready, as the server's log says
        (None for a gradkit that logs no such line)."""
        self.log.flush()
        found = re.findall(r"Validate of \S+ in [\d.]+ s \(its worker was (\w+)\)", self.text())
        return found[-1] == "ready" if found else None

    def text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def validate(self, path: str) -> tuple[float, dict]:
        """Seconds from nbgrader's Validate request to its reply, and the reply."""
        body = urllib.parse.urlencode({"path": path}).encode()
        request = urllib.request.Request(
            f"{self.base}/assignments/validate",
            data=body,
            headers={"Authorization": f"token {TOKEN}"},
        )
        t0 = time.perf_counter()
        with urllib.request.urlopen(request, timeout=VALIDATE_SECONDS) as reply:
            text = reply.read()
        return time.perf_counter() - t0, json.loads(text)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _full_marks(reply: dict) -> str:
    value = reply.get("value")
    if not reply.get("success") or not isinstance(value, dict) or "gradkit" not in value:
        raise RuntimeError(f"Validate did not give gradkit's verdict: {str(reply)[:500]}")
    score = value["gradkit"]
    return f"{score['score']:g}/{score['points']:g}"


def _summary(times: list[float]) -> str:
    middle = statistics.median(times)
    return f"best of 3 {min(times[:3]):.2f} s, median of {len(times)} {middle:.2f} s"


def measure(libs: dict[str, Path], repeats: int, log=print) -> dict[str, dict]:
    """Every figure of this row, for each gradkit ``lib`` (label -> folder), the libraries
    taking turns: "label: what" -> {"wall": [...], "cpu": [...], "totals": {...}}."""
    out: dict[str, dict] = {}

    def record(
        what: str, wall: float, total: str, cpu: float | None = None, ready: bool | None = None
    ) -> None:
        entry = out.setdefault(what, {"wall": [], "cpu": [], "totals": set(), "ready": []})
        entry["wall"].append(wall)
        if cpu is not None:
            entry["cpu"].append(cpu)
        if ready is not None:
            entry["ready"].append(ready)
        entry["totals"].add(total)

    with tempfile.TemporaryDirectory(prefix="gradkit-bench-validate-") as tmp:
        base = Path(tmp)
        root = base / "course"
        _student_notebooks(root / "01_linear_models")
        envs = {label: _env(lib, base / "runtime") for label, lib in libs.items()}
        for env in envs.values():  # untimed: disk caches, compiled bytecode
            cold_check(root / "01_linear_models" / NOTEBOOKS[0], env)
        for i in range(repeats):
            for name in NOTEBOOKS:  # in turn, so a change of load hits all alike
                for label, env in envs.items():
                    wall, cpu, total = cold_check(root / "01_linear_models" / name, env)
                    record(f"{label}cold check {name}", wall, total, cpu)
                    log(f"  {label}cold check {name} #{i + 1}: {wall:.2f} s, {cpu:.2f} s CPU")
        for i in range(repeats):
            for name in NOTEBOOKS:
                for label, env in envs.items():
                    server = Server(root, env, base / "jupyter.log")
                    try:
                        first, reply = server.validate(f"01_linear_models/{name}")
                        record(f"{label}Validate first {name}", first, _full_marks(reply))
                        time.sleep(THINK_SECONDS)
                        second, reply = server.validate(f"01_linear_models/{name}")
                        ready = server.worker_was_ready()
                        record(
                            f"{label}Validate second {name}",
                            second,
                            _full_marks(reply),
                            ready=ready,
                        )
                    finally:
                        server.stop()
                    log(f"  {label}Validate {name} #{i + 1}: {first:.2f} s, then {second:.2f} s")
    return out


def run(quick: bool = False, libs: dict[str, Path] | None = None) -> list[dict]:
    """The rows of this benchmark, for this checkout's gradkit or for each of ``libs``
    (label -> lib folder), measured in turn."""
    repeats = 3 if quick else 10
    figures = measure(
        {f"{k}: ": v for k, v in libs.items()} if libs else {"": ROOT / "lib"}, repeats
    )
    rows = []
    for what, entry in figures.items():
        wall = entry["wall"]
        measured = _summary(wall)
        if entry["cpu"]:
            measured += f"; CPU median {statistics.median(entry['cpu']):.2f} s"
        goal = None
        if "cold check" in what:
            goal = GOAL_COLD_CHECK
        elif "Validate second" in what:
            goal = GOAL_SECOND_VALIDATE
        result = ", ".join(sorted(entry["totals"]))
        if entry["ready"]:
            result += f"; worker ready {sum(entry['ready'])} of {len(entry['ready'])}"
        rows.append(
            {
                "benchmark": f"k) {what}",
                "measured": measured,
                "result": result,
                "goal": f"<= {goal:g} s (median)" if goal else "",
                "met": None if goal is None else statistics.median(wall) <= goal,
            }
        )
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.validate", description=__doc__)
    p.add_argument("--quick", action="store_true", help="3 repetitions instead of 10")
    p.add_argument(
        "--lib",
        action="append",
        metavar="LABEL=DIR",
        help="measure the gradkit of this lib folder (of any checkout), its rows labelled "
        "LABEL; repeat it to measure several in turn (default: this checkout's)",
    )
    args = p.parse_args(argv)
    libs = {}
    for item in args.lib or []:
        label, sep, folder = item.partition("=")
        if not sep or not (Path(folder) / "gradkit").is_dir():
            p.error(f"--lib {item}: expected LABEL=DIR, DIR holding a gradkit package")
        libs[label] = Path(folder).resolve()
    from .__main__ import print_table
    from .common import load_average

    print(f"load average before: {load_average()}")
    rows = run(quick=args.quick, libs=libs)
    print_table(rows)
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
