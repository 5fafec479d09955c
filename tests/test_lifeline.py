"""Nothing a grader starts outlives it (gradkit.course.lifeline)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gradkit.course import cgroups
from gradkit.course.kernel_users import KERNEL_UID_BASE, UIDS_PER_PROCESS
from gradkit.course.lifeline import _gone, guard_available, guard_command, sweep_orphans

needs_guard = pytest.mark.skipif(
    not guard_available(), reason="setpriv here sets no parent-death signal"
)
#: How long a process killed by a signal or refused by a check may take to be seen gone.
SETTLE = 10.0


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + SETTLE
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@needs_guard
def test_a_guarded_command_dies_with_the_process_that_started_it(tmp_path):
    pidfile = tmp_path / "pid"
    # a parent that starts a guarded `sleep`, says its id, and waits to be killed
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time\n"
            "from gradkit.course.lifeline import guard_command\n"
            "child = subprocess.Popen(guard_command(['sleep', '120'], os.getpid()))\n"
            "time.sleep(0.5)\n"
            f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
            "time.sleep(120)\n",
        ]
    )
    try:
        deadline = time.monotonic() + 60
        while not pidfile.exists() or not pidfile.read_text():
            assert time.monotonic() < deadline and parent.poll() is None
            time.sleep(0.05)
        child = int(pidfile.read_text())
        assert _alive(child)
        assert Path(f"/proc/{child}/comm").read_text().strip() == "sleep"
    finally:
        parent.kill()
        parent.wait()
    assert _wait_gone(child)


@needs_guard
def test_a_guarded_command_does_not_start_when_its_parent_is_already_gone():
    # the guard checks its parent after the tie is set: here the parent is not the one named
    gone = subprocess.Popen(["true"])
    gone.wait()
    done = subprocess.run(guard_command(["echo", "started"], gone.pid), capture_output=True)
    assert done.returncode != 0 and b"started" not in done.stdout
    done = subprocess.run(guard_command(["echo", "started"], os.getpid()), capture_output=True)
    assert done.returncode == 0 and done.stdout == b"started\n"


def test_the_launcher_starts_nothing_once_the_grader_let_go_of_its_pipe():
    launcher = [sys.executable, "-m", "gradkit.course.rlimits"]
    held, mine = os.pipe()
    try:
        done = subprocess.run(
            [*launcher, f"--alive-fd={held}", "--", "sh", "-c", "echo started; ls /proc/self/fd"],
            pass_fds=(held,),
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0 and done.stdout.startswith("started")
        assert str(held) not in done.stdout.split()[1:]  # the kernel does not inherit it
    finally:
        os.close(mine)
    try:  # the grader's end closed: nothing starts
        done = subprocess.run(
            [*launcher, f"--alive-fd={held}", "--", "echo", "started"],
            pass_fds=(held,),
            capture_output=True,
            text=True,
        )
    finally:
        os.close(held)
    assert done.returncode == 1 and "started" not in done.stdout
    assert "grader" in done.stderr
    # a descriptor that is not open counts as no grader
    done = subprocess.run(
        [*launcher, "--alive-fd=987", "--", "echo", "started"], capture_output=True
    )
    assert done.returncode == 1 and b"started" not in done.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="only a root grader leases kernel users")
def test_a_run_sweeps_what_dead_grading_processes_left_and_nothing_else():
    gone = subprocess.Popen(["true"])
    gone.wait()  # its id names a grading process that ended

    def kernel(owner: int, slot: int) -> subprocess.Popen:
        return subprocess.Popen(
            ["sleep", "120"], user=KERNEL_UID_BASE + owner * UIDS_PER_PROCESS + slot
        )

    orphan, live = kernel(gone.pid, 3), kernel(os.getpid(), UIDS_PER_PROCESS - 1)
    where = [base for base, _ in cgroups._where().values()]
    groups = all(why == "" for why in cgroups.available().values())
    made: dict[str, tuple[list[Path], subprocess.Popen]] = {}
    try:
        if groups:
            for owner in (gone.pid, os.getpid()):
                name = f"gradkit-{owner}-sweeptest"
                sleeper = subprocess.Popen(["sleep", "120"])
                for base in where:
                    (base / name).mkdir(exist_ok=True)
                    (base / name / "cgroup.procs").write_text(str(sleeper.pid))
                made[name] = ([base / name for base in where], sleeper)
        killed, removed = sweep_orphans()
        assert orphan.wait(timeout=10) == -signal.SIGKILL
        assert killed >= 1 and live.poll() is None  # the running owner's kernel stays
        if groups:
            dead_paths, dead_sleeper = made[f"gradkit-{gone.pid}-sweeptest"]
            live_paths, live_sleeper = made[f"gradkit-{os.getpid()}-sweeptest"]
            assert dead_sleeper.wait(timeout=10) == -signal.SIGKILL
            assert removed >= 1 and not any(p.exists() for p in dead_paths)
            assert live_sleeper.poll() is None and all(p.exists() for p in live_paths)
    finally:
        for paths, sleeper in made.values():
            sleeper.kill()
            sleeper.wait()
            for path in paths:
                if path.exists():
                    for _ in range(50):
                        try:
                            path.rmdir()
                            break
                        except OSError:
                            time.sleep(0.02)
        for proc in (orphan, live):
            proc.kill()
            proc.wait()
    # a process id used again by a process started after the thing was made is no owner
    since = time.time()
    time.sleep(1.1)  # /proc gives start times to the second (boot time) and 1/100 s
    later = subprocess.Popen(["sleep", "5"])
    try:
        assert _gone(later.pid, since) and not _gone(os.getpid(), since)
    finally:
        later.kill()
        later.wait()
