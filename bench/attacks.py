"""Row f): what a hostile notebook costs the grading machine, and the honest students beside it.

For each attack, a class of three students of assignment 01 is graded with
``gradkit grade`` (sandboxed when the machine can, as root when run as root):
two careful students and one whose ``linear_regression.ipynb`` attacks the
grader. While it runs, the host is sampled every 0.2 s:

* host memory in use (MemTotal − MemAvailable) above what it was before;
* disk in use on the file systems of ``/tmp`` and of the course, above before;
* the largest resident memory of a grading process (the ``gradkit grade``
  process and its workers; the sandboxed kernels are not grader processes).

It reports those peaks, the wall time, whether the careful students still got
full marks, and what became of the attacker. Run with ``-j 1`` and ``-j 2``.

The attacks (each also a test class of ``tests/test_hardening.py``):

* ``memory``: fills its ``/tmp`` with 3 GiB, then starts four processes of
  1.5 GiB each (each under the per-process address-space limit);
* ``disk``: writes 32 MiB files into its home for 20 s (up to 8 GiB);
* ``reply``: returns a list of 400 references to one 60 MiB array;
* ``flood``: a thread that sends output messages without pause;
* ``display``: displays one 150 MiB text message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_linear_models"
NOTEBOOK = "linear_regression"
CORRECT = "def least_squares(X, y):\n    return np.linalg.solve(X.T @ X, X.T @ y)\n"

ATTACKS = {
    "memory": (
        "import os, time\n"
        "def _fill():\n"
        "    block = b'\\0' * (64 * 2**20)\n"
        "    for i in range(48):\n"
        "        try:\n"
        "            with open(f'/tmp/fill{i}', 'wb') as fh:\n"
        "                fh.write(block)\n"
        "        except OSError:\n"
        "            return\n"
        "_fill()\n"
        "for _ in range(4):\n"
        "    if os.fork() == 0:\n"
        "        try:\n"
        "            _a = np.ones(int(1.5 * 2**30) // 8)\n"
        "            time.sleep(30)\n"
        "        finally:\n"
        "            os._exit(0)\n"
        "time.sleep(8)\n" + CORRECT
    ),
    "disk": (
        "import time\n"
        "_t0, _i, _block = time.time(), 0, b'\\1' * (32 * 2**20)\n"
        "while time.time() - _t0 < 20 and _i < 256:\n"
        "    try:\n"
        "        with open(f'junk{_i}', 'wb') as _fh:\n"
        "            _fh.write(_block)\n"
        "    except OSError:\n"
        "        break\n"
        "    _i += 1\n" + CORRECT
    ),
    # 60 MiB, under the kernel's 64 MiB size of a file, so that the reply is written
    "reply": (
        "_big = np.zeros(int(7.5 * 2**20))\n"
        "def least_squares(X, y):\n"
        f"    return [_big] * {int(os.environ.get('GRADKIT_BENCH_REPLY_REFS', 400))}\n"
    ),
    "flood": (
        "import threading\n"
        "from IPython import get_ipython\n"
        "_kernel = get_ipython().kernel\n"
        "def _flood():\n"
        "    while True:\n"
        "        _kernel.session.send(_kernel.iopub_socket, 'stream',\n"
        "                             {'name': 'stdout', 'text': 'x' * 1000})\n"
        "threading.Thread(target=_flood, daemon=True).start()\n" + CORRECT
    ),
    "display": (
        "from IPython.display import display\n"
        "display({'text/plain': 'x' * 150_000_000}, raw=True)\n" + CORRECT
    ),
}


def _meminfo() -> int:
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, value = line.split(":", 1)
        fields[key] = int(value.split()[0]) * 1024
    return fields["MemTotal"] - fields["MemAvailable"]


def _disk(paths: list[Path]) -> int:
    seen, used = set(), 0
    for path in paths:
        st = os.statvfs(path)
        key = (st.f_fsid, st.f_blocks)
        if key not in seen:
            seen.add(key)
            used += (st.f_blocks - st.f_bfree) * st.f_frsize
    return used


def _tree_rss(root_pid: int) -> int:
    """Largest RSS among ``root_pid`` and its descendants that are not sandboxes."""
    children: dict[int, list[int]] = {}
    comm: dict[int, str] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        name_end = stat.rindex(")")
        comm[pid] = stat[stat.index("(") + 1 : name_end]
        ppid = int(stat[name_end + 2 :].split()[1])
        children.setdefault(ppid, []).append(pid)
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        rss[pid] = int(match.group(1)) * 1024 if match else 0
    best, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        if comm.get(pid) in ("bwrap", "sh"):  # a sandbox (and its cgroup shell): not grader
            continue
        best = max(best, rss.get(pid, 0))
        todo += children.get(pid, [])
    return best


def _course(root: Path) -> Path:
    course = root / "course"
    course.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, course / "solutions" / ASSIGNMENT)
    subprocess.run(
        [sys.executable, "-m", "gradkit", "--course", str(course), "secret", "--new"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "-m", "gradkit", "--course", str(course), "release", ASSIGNMENT],
        check=True,
        capture_output=True,
    )
    return course


def _class(course: Path, subs: Path, attack: str) -> None:
    from gradkit.course.demo import make_submission
    from gradkit.course.directory import Course

    for student in ("ada", "brook", "mallory"):
        make_submission(Course(course), ASSIGNMENT, subs / student, "full")
    path = subs / "mallory" / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if re.search(r"^def least_squares\(", c.source, re.M))
    cell.source = ATTACKS[attack]
    nbformat.write(nb, str(path))


def measure(attack: str, jobs: int, timeout: float = 900.0) -> dict:
    from gradkit.course.directory import Course
    from gradkit.course.report import scores
    from gradkit.course.sandbox import probe

    with tempfile.TemporaryDirectory(prefix="gradkit-attack-") as tmp:
        root = Path(tmp)
        course = _course(root)
        _class(course, root / "subs", attack)
        cmd = [
            sys.executable,
            "-m",
            "gradkit",
            "--course",
            str(course),
            "grade",
            ASSIGNMENT,
            "--submissions",
            str(root / "subs"),
            "-j",
            str(jobs),
            "--no-progress",
        ]
        if not probe()[0]:
            cmd.append("--no-sandbox")
        disks = [Path(tempfile.gettempdir()), course]
        mem0, disk0 = _meminfo(), _disk(disks)
        peak_mem = peak_disk = peak_rss = 0
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        killed = False
        while proc.poll() is None:
            peak_mem = max(peak_mem, _meminfo() - mem0)
            peak_disk = max(peak_disk, _disk(disks) - disk0)
            peak_rss = max(peak_rss, _tree_rss(proc.pid))
            if time.monotonic() - t0 > timeout:
                proc.kill()
                killed = True
                break
            time.sleep(0.2)
        wall = time.monotonic() - t0
        proc.wait()
        result: dict = {
            "attack": attack,
            "jobs": jobs,
            "wall_s": round(wall, 1),
            "host_mem_mib": peak_mem // 2**20,
            "disk_mib": peak_disk // 2**20,
            "grader_rss_mib": peak_rss // 2**20,
            "killed_after_timeout": killed,
        }
        if not killed:
            rows = {r["student"]: r for r in scores(Course(course), ASSIGNMENT)}
            result["honest_full"] = all(
                rows[s]["total"] == rows[s]["max"] for s in ("ada", "brook")
            )
            result["attacker"] = f"{rows['mallory']['total']:g}, {rows['mallory']['status']}"
    return result


def run(quick: bool = False) -> list[dict]:
    rows = []
    for attack in ATTACKS:
        for jobs in (1,) if quick else (1, 2):
            m = measure(attack, jobs)
            rows.append(
                {
                    "benchmark": f"f) attack {attack}, -j {jobs}",
                    "measured": (
                        f"host memory +{m['host_mem_mib']} MiB, disk +{m['disk_mib']} MiB, "
                        f"grader RSS {m['grader_rss_mib']} MiB, {m['wall_s']} s"
                    ),
                    "result": "run killed after the timeout"
                    if m["killed_after_timeout"]
                    else f"careful students full: {m['honest_full']}; attacker {m['attacker']}",
                    "goal": "careful full, RSS ≤ 512 MiB",
                    "met": bool(m.get("honest_full")) and m["grader_rss_mib"] <= 512,
                }
            )
    return rows


if __name__ == "__main__":  # pragma: no cover
    import json

    names = sys.argv[1:] or list(ATTACKS)
    limit = float(os.environ.get("GRADKIT_BENCH_TIMEOUT", 900))
    for name in names:
        for jobs in (1, 2):
            print(json.dumps(measure(name, jobs, timeout=limit)), flush=True)
