"""Grading runs: parallel equals serial, a killed run resumes, Dask, the sandbox switch."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course_helpers import (
    ASSIGNMENT,
    NOTEBOOK,
    SANDBOX,
    SECOND,
    WRITTEN_ID,
    kernels_left,
    make_course,
    needs_sandbox,
)
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course, UserError
from gradkit.course.grade import grade
from gradkit.course.release import release

pytestmark = [pytest.mark.slow, pytest.mark.a01]
CELL_TIMEOUT = 8


def _class(root: Path, kinds: dict[str, str], written: bool = False) -> tuple[Course, Path]:
    course = Course(make_course(root / "course", second=True, written=written))
    release(course, ASSIGNMENT, log=lambda m: None)
    for student, kind in kinds.items():
        make_submission(course, ASSIGNMENT, root / "subs" / student, kind)
    return course, root / "subs"


def _scores(records) -> dict:
    return {
        (s, nb): (round(r.score, 6), r.status)
        for s, mine in records.items()
        for nb, r in mine.items()
    }


def test_parallel_and_serial_grading_give_identical_scores(tmp_path):
    kinds = {"ada": "full", "brook": "untouched", "cyd": "partial", "dana": "full"}
    one, subs = _class(tmp_path / "serial", kinds)
    two, _ = _class(tmp_path / "parallel", kinds)
    serial = grade(
        one, ASSIGNMENT, subs, timeout=CELL_TIMEOUT, progress=False, jobs=1, sandbox=SANDBOX
    )
    parallel = grade(
        two, ASSIGNMENT, subs, timeout=CELL_TIMEOUT, progress=False, jobs=2, sandbox=SANDBOX
    )
    assert _scores(serial) == _scores(parallel)
    assert {s for (s, _), (score, _) in _scores(serial).items() if score == 0} == {"brook"}


def test_a_killed_run_resumes_where_it_stopped(tmp_path):
    students = {f"s{i}": "full" for i in range(5)}
    course, subs = _class(tmp_path, students)
    args = [
        sys.executable,
        "-m",
        "gradkit",
        "--course",
        str(course.root),
        "grade",
        ASSIGNMENT,
        "--submissions",
        str(subs),
        "-j",
        "1",
        "--timeout",
        str(CELL_TIMEOUT),
        "--no-progress",
    ]
    if not SANDBOX:
        args.append("--no-sandbox")
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and _graded(course) < 2:
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # a kernel dies with its grader; a sandbox killed in its setup may wait for the next run
    assert kernels_left(setups=False) == []
    first = _graded_at(course)
    assert 2 <= len(first) < 2 * len(students), "the run was not stopped halfway"
    res = subprocess.run(args, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    final = _graded_at(course)
    assert len(final) == 2 * len(students)
    assert all(final[key] == stamp for key, stamp in first.items())  # not graded twice
    with sqlite3.connect(course.db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert {s for (s,) in db.execute("SELECT status FROM gradkit_result")} == {"graded"}
    assert kernels_left() == []  # nothing of the killed run is left after the next one


def _graded(course: Course) -> int:
    return len(_graded_at(course))


def _graded_at(course: Course) -> dict:
    if not course.db_path.exists():
        return {}
    try:
        with sqlite3.connect(course.db_path, timeout=5) as db:
            rows = db.execute(
                "SELECT student, notebook, graded_at FROM gradkit_result WHERE status = 'graded'"
            ).fetchall()
    except sqlite3.OperationalError:  # the table does not exist yet
        return {}
    return {(s, n): t for s, n, t in rows}


def test_a_dask_cluster_grades_like_local_workers(tmp_path):
    distributed = pytest.importorskip("distributed")
    kinds = {"ada": "full", "cyd": "partial", "dana": "full"}
    local, subs = _class(tmp_path / "local", kinds)
    remote, _ = _class(tmp_path / "dask", kinds)
    expected = grade(
        local, ASSIGNMENT, subs, timeout=CELL_TIMEOUT, progress=False, jobs=2, sandbox=SANDBOX
    )
    with distributed.LocalCluster(
        # Two threads in one worker process: two kernels at once in one process, as on
        # a default `dask worker`; neither may cost the other its kernel or its limits.
        n_workers=1,
        threads_per_worker=2,
        processes=True,
        dashboard_address=None,
    ) as cluster:
        got = grade(
            remote,
            ASSIGNMENT,
            subs,
            timeout=CELL_TIMEOUT,
            progress=False,
            dask=cluster.scheduler_address,
            sandbox=SANDBOX,
        )
    assert _scores(got) == _scores(expected)


def test_dask_workers_that_cannot_sandbox_are_refused_before_any_notebook(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    course, subs = _class(tmp_path, {"ada": "full"})
    monkeypatch.setenv("GRADKIT_BWRAP", "/nonexistent/bwrap")  # inherited by the workers
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        with pytest.raises(UserError, match="1 of 1 Dask workers cannot sandbox.*--no-sandbox"):
            grade(course, ASSIGNMENT, subs, progress=False, dask=cluster.scheduler_address)
    assert not course.root.joinpath("autograded").exists()  # nothing was run


@needs_sandbox
def test_a_grader_without_bubblewrap_grades_on_sandboxed_dask_workers(tmp_path, monkeypatch):
    """An instructor on macOS: the grader cannot sandbox, the cluster's Linux workers can."""
    distributed = pytest.importorskip("distributed")
    course, subs = _class(tmp_path, {"ada": "full", "brook": "untouched"})
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        monkeypatch.setenv("GRADKIT_BWRAP", "/nonexistent/bwrap")  # the grader's machine only
        with pytest.raises(UserError, match="cannot sandbox"):
            grade(course, ASSIGNMENT, subs, progress=False, timeout=CELL_TIMEOUT)
        got = grade(
            course,
            ASSIGNMENT,
            subs,
            progress=False,
            timeout=CELL_TIMEOUT,
            dask=cluster.scheduler_address,
        )
    assert _scores(got) == {
        ("ada", NOTEBOOK): (4, "graded"),
        ("ada", SECOND): (2, "graded"),
        ("brook", NOTEBOOK): (0, "graded"),
        ("brook", SECOND): (0, "graded"),
    }


ESCAPE = (
    "import os\n"
    "def least_squares(X, y):\n"
    "    paths = (DECOY + '/.gradkit/secret', DECOY + '/solutions')\n"
    "    leaks = [p for p in paths if os.path.exists(p)]\n"
    "    if leaks:\n"
    "        raise RuntimeError('escaped: ' + ', '.join(leaks))\n"
    "    return np.linalg.solve(X.T @ X, X.T @ y)\n"
)


@needs_sandbox
def test_the_same_escape_succeeds_without_the_sandbox_and_fails_inside_it(tmp_path):
    """The hostile-class tests pass because of the sandbox: without it, this student escapes."""
    decoy = tmp_path / "decoy"
    (decoy / ".gradkit").mkdir(parents=True)
    (decoy / ".gradkit" / "secret").write_text("not the real one\n")
    (decoy / "solutions").mkdir()
    course, subs = _class(tmp_path, {"eve": "full"})
    path = subs / "eve" / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "least_squares"
    )
    cell.source = f"DECOY = {str(decoy)!r}\n" + ESCAPE
    nbformat.write(nb, str(path))
    outside = grade(course, ASSIGNMENT, subs, timeout=CELL_TIMEOUT, progress=False, sandbox=False)
    least = next(t for t in outside["eve"][NOTEBOOK].tests if t.test == "least_squares")
    assert least.score == 0 and "escaped:" in least.text()
    inside = grade(course, ASSIGNMENT, subs, timeout=CELL_TIMEOUT, progress=False, force=True)
    least = next(t for t in inside["eve"][NOTEBOOK].tests if t.test == "least_squares")
    assert least.score == 2
    assert inside["eve"][SECOND].score == 2


def test_grading_refuses_to_run_unsandboxed_unless_told(tmp_path, monkeypatch):
    course, subs = _class(tmp_path, {"ada": "full"})
    monkeypatch.setattr("gradkit.course.sandbox.find_bwrap", lambda: None)
    with pytest.raises(UserError, match="cannot sandbox.*--no-sandbox"):
        grade(course, ASSIGNMENT, subs, progress=False)


def test_the_cli_warns_when_grading_without_the_sandbox(tmp_path):
    course, subs = _class(tmp_path, {"ada": "full"})
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # no bwrap on this PATH
    base = [
        sys.executable,
        "-m",
        "gradkit",
        "--course",
        str(course.root),
        "grade",
        ASSIGNMENT,
        "--submissions",
        str(subs),
        "--no-progress",
        "--timeout",
        str(CELL_TIMEOUT),
    ]
    refused = subprocess.run(base, capture_output=True, text=True, env=env)
    assert refused.returncode == 2 and "--no-sandbox" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    allowed = subprocess.run([*base, "--no-sandbox"], capture_output=True, text=True, env=env)
    assert allowed.returncode == 0, allowed.stderr
    assert "WITHOUT the sandbox" in allowed.stderr


def test_doctor_says_what_the_machine_supports():
    res = subprocess.run(
        [sys.executable, "-m", "gradkit", "doctor"], capture_output=True, text=True
    )
    assert "bubblewrap" in res.stdout
    assert res.returncode == (0 if SANDBOX else 1)
    if SANDBOX:
        assert "this machine can grade in the sandbox" in res.stdout


def test_kernels_get_their_own_user_and_only_kernel_users_are_killed():
    from gradkit.course.kernel_users import KERNEL_UID_BASE, kill_user, lease_uid, release_uid
    from gradkit.course.sandbox import command

    first, second = lease_uid(), lease_uid()
    assert KERNEL_UID_BASE <= first != second >= KERNEL_UID_BASE
    release_uid(first)
    assert lease_uid() == first  # given back, leased again
    release_uid(first)
    release_uid(second)
    with pytest.raises(ValueError, match="kernel users"):
        kill_user(os.getuid() if os.getuid() < KERNEL_UID_BASE else 0)
    if SANDBOX and os.geteuid() == 0:
        cmd = command(["true"], [], uid=KERNEL_UID_BASE + 7)
        assert f"--reuid={KERNEL_UID_BASE + 7}" in cmd


def test_feedback_shows_hand_graded_answers_and_the_total_counts_them(tmp_path):
    from nbgrader.api import Gradebook

    from gradkit.course.report import scores, write_feedback

    course, subs = _class(tmp_path, {"ada": "full"}, written=True)
    grade(course, ASSIGNMENT, subs, timeout=CELL_TIMEOUT, progress=False, sandbox=SANDBOX)
    page = course.root / "feedback" / "ada" / ASSIGNMENT / f"{SECOND}.html"
    write_feedback(course, ASSIGNMENT)
    assert f"{WRITTEN_ID} — not graded yet / 1 points" in page.read_text()
    before = scores(course, ASSIGNMENT)[0]["total"]
    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        written = gb.find_grade(WRITTEN_ID, SECOND, ASSIGNMENT, "ada")
        written.manual_score, written.needs_manual_grade = 0.5, False  # as formgrader does
        gb.find_comment(
            WRITTEN_ID, SECOND, ASSIGNMENT, "ada"
        ).manual_comment = "Why <b>cheaper</b>?"
        gb.db.commit()
    write_feedback(course, ASSIGNMENT)
    text = page.read_text()
    assert f"{WRITTEN_ID} — 0.5 / 1 points: Why &lt;b&gt;cheaper&lt;/b&gt;?" in text
    assert scores(course, ASSIGNMENT)[0]["total"] == before + 0.5


def test_regrading_a_student_refreshes_the_feedback_already_written(tmp_path):
    """An instructor who regrades one student (a resubmission, a regrade request) must not
    hand back the page of the earlier grade."""
    course, subs = _class(tmp_path, {"ada": "full", "brook": "full"})
    base = [sys.executable, "-m", "gradkit", "--course", str(course.root)]
    sandbox = [] if SANDBOX else ["--no-sandbox"]
    grade_cmd = [*base, "grade", ASSIGNMENT, "--submissions", str(subs), "--no-progress"]
    assert subprocess.run([*grade_cmd, *sandbox], capture_output=True).returncode == 0
    assert subprocess.run([*base, "feedback", ASSIGNMENT], capture_output=True).returncode == 0
    page = course.root / "feedback" / "ada" / ASSIGNMENT / f"{NOTEBOOK}.html"
    assert "FAIL" not in page.read_text()
    path = subs / "ada" / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "least_squares"
    )
    cell.source = "def least_squares(X, y):\n    return np.zeros(X.shape[1])\n"
    nbformat.write(nb, str(path))
    res = subprocess.run([*grade_cmd, "--student", "ada", *sandbox], capture_output=True, text=True)
    assert res.returncode == 0 and "feedback refreshed for" in res.stdout, res.stderr
    assert "FAIL" in page.read_text()


def test_a_notebook_is_stopped_from_outside_past_its_hard_limit(tmp_path, monkeypatch):
    """Whatever holds a notebook's grading (here a cell that sleeps past the notebook's
    budget, within its cell timeout), the run stops it from outside: "timed out", 0, the
    next student graded, no kernel left."""
    monkeypatch.setattr("gradkit.course.grade.HARD_MARGIN", 4.0)
    course, subs = _class(tmp_path, {"slow": "full", "ada": "full"})
    path = subs / "slow" / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = next(
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "least_squares"
    )
    cell.source = "import time\ntime.sleep(120)\n" + cell.source
    nbformat.write(nb, str(path))
    t0 = time.monotonic()
    records = grade(
        course,
        ASSIGNMENT,
        subs,
        timeout=300,
        progress=False,
        jobs=1,
        sandbox=SANDBOX,
        notebook_timeout=2.0,
    )
    assert time.monotonic() - t0 < 90
    slow = records["slow"][NOTEBOOK]
    assert slow.status == "timed out" and slow.score == 0 and "stopped" in slow.note
    assert records["ada"][NOTEBOOK].score == 4
    from gradkit.course.report import scores

    row = next(r for r in scores(course, ASSIGNMENT) if r["student"] == "slow")
    assert row[NOTEBOOK] == 0 and row["status"] != "graded"
    assert kernels_left() == []
