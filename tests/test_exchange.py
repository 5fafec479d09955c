"""nbgrader's exchange: a kit released into a local exchange folder, fetched and submitted
with nbgrader's own commands, collected into the layout `gradkit grade` reads, graded.

The exchange is a folder under ``tmp_path``; every nbgrader command runs as this user
with ``--Exchange.root`` and ``--course``, as a student's server on a JupyterHub runs it.
What a hostile student can leave in ``inbound/`` (odd names, links, FIFOs, huge files,
entries dated in the future) is made by hand, the way a student's shell would.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from course_helpers import ASSIGNMENT, NOTEBOOK, SANDBOX, SECOND, make_course
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course, UserError
from gradkit.course.exchange import RELEASE_IGNORE, collect, release
from gradkit.course.submissions import collect_submissions

COURSE_ID = "nn101"
WHEEL = "gradkit-0.1.0+kit01-py3-none-any.whl"
NBGRADER = str(Path(sys.executable).parent / "nbgrader")


def _notebook(text: str) -> bytes:
    cell = new_code_cell(text)
    cell.id = "only-cell"  # the same bytes for the same text
    nb = new_notebook(cells=[cell])
    return nbformat.writes(nb).encode()


def make_kit(folder: Path) -> Path:
    """A kit folder as `gradkit kit` writes it: notebooks (and data) on top, a wheel, a README."""
    folder.mkdir(parents=True)
    (folder / "linear_regression.ipynb").write_bytes(_notebook("x = 1"))
    (folder / "linear_classifiers.ipynb").write_bytes(_notebook("y = 2"))
    (folder / WHEEL).write_bytes(b"PK\x03\x04 not really a wheel")
    (folder / "README.md").write_text("# Assignment kit\n\npip install the wheel\n")
    (folder / "data").mkdir()
    (folder / "data" / "points.csv").write_text("x,y\n1,2\n")
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry below ``root``: mode, owner, size, mtime and content (links not followed)."""
    seen: dict[str, tuple] = {}
    for top, dirs, names in os.walk(root):
        for name in [*dirs, *names]:
            path = Path(top) / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                body: object = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                body = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                body = None
            seen[str(path.relative_to(root))] = (
                info.st_mode,
                info.st_uid,
                info.st_size,
                info.st_mtime_ns,
                body,
            )
    return seen


def nbgrader(cwd: Path, exchange: Path, *args: str) -> subprocess.CompletedProcess:
    """nbgrader's own command, as a student runs it in their home folder."""
    home = cwd.parent / f".jupyter-{cwd.name}"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
    }
    res = subprocess.run(
        [
            NBGRADER,
            *args,
            f"--course={COURSE_ID}",
            f"--Exchange.root={exchange}",
            f"--Exchange.cache={home / 'cache'}",
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def stamp(when: datetime.datetime | None = None) -> str:
    """A submission time as nbgrader writes it (``Exchange.timestamp_format``)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f %Z")


def submit_by_hand(
    exchange: Path,
    student: str,
    notebooks: dict[str, bytes],
    when: datetime.datetime | None = None,
    assignment: str = "tiny",
    name: str | None = None,
) -> Path:
    """An inbound entry as nbgrader's submit writes it (or with ``name``, as a student
    forging one would)."""
    ts = stamp(when)
    entry = exchange / COURSE_ID / "inbound" / (name or f"{student}+{assignment}+{ts}+AbCdEf123_-x")
    entry.mkdir()
    for file, data in notebooks.items():
        (entry / file).write_bytes(data)
    (entry / "timestamp.txt").write_text(ts)
    (entry / "submission_secret.txt").write_text("0" * 128)
    return entry


@pytest.fixture
def exchange(tmp_path):
    root = tmp_path / "exchange"
    root.mkdir()
    root.chmod(0o777)  # as nbgrader's release leaves it
    return root


@pytest.fixture
def released(tmp_path, exchange):
    """An exchange holding the kit, released for assignment ``tiny``."""
    kit = make_kit(tmp_path / "kit")
    release(kit, exchange, COURSE_ID, "tiny")
    return kit


# -- release -------------------------------------------------------------------------------


def test_release_puts_the_kit_where_nbgrader_fetch_finds_it(tmp_path, exchange):
    kit = make_kit(tmp_path / "kit")
    (kit / ".ipynb_checkpoints").mkdir()  # the kit was opened in Jupyter
    (kit / ".ipynb_checkpoints" / "linear_regression-checkpoint.ipynb").write_text("{}")
    notes: list[str] = []
    dest = release(kit, exchange, COURSE_ID, "tiny", log=notes.append)
    assert dest == exchange.resolve() / COURSE_ID / "outbound" / "tiny"
    assert notes == []
    expected = {k: v for k, v in _files(kit).items() if not k.startswith(".ipynb_checkpoints")}
    assert _files(dest) == expected

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    # the modes nbgrader's release_assignment gives (not group-shared)
    assert mode(exchange / COURSE_ID) == 0o755
    assert mode(exchange / COURSE_ID / "outbound") == 0o755
    assert mode(exchange / COURSE_ID / "inbound") == 0o2733
    assert mode(dest) == mode(dest / "data") == 0o755
    assert {mode(dest / f) for f in expected} == {0o644}
    assert sorted(p.name for p in dest.parent.iterdir()) == ["tiny"]  # no scratch left

    student = tmp_path / "ada"
    student.mkdir()
    nbgrader(student, exchange, "fetch_assignment", "tiny")
    assert _files(student / "tiny") == expected


def test_release_skips_what_nbgrader_release_skips():
    from nbgrader.coursedir import CourseDirectory

    assert list(RELEASE_IGNORE) == list(CourseDirectory().ignore)


def test_an_identical_release_is_left_alone_and_a_different_one_refused(
    tmp_path, exchange, released
):
    dest = exchange / COURSE_ID / "outbound" / "tiny"
    submit_by_hand(exchange, "ada", {"linear_regression.ipynb": _notebook("ada")})
    before = snapshot(exchange)
    notes: list[str] = []
    assert release(released, exchange, COURSE_ID, "tiny", log=notes.append) == dest.resolve()
    assert notes == [f"{dest.resolve()} already holds this kit; left as it is"]
    assert snapshot(exchange) == before
    (released / "README.md").write_text("# a new README\n")
    with pytest.raises(UserError, match=r"already holds a different release of tiny") as err:
        release(released, exchange, COURSE_ID, "tiny")
    assert "\n" not in str(err.value)
    assert snapshot(exchange) == before  # the release and the submission as they were


def test_release_refuses_a_missing_exchange(tmp_path, released):
    with pytest.raises(UserError, match=r"exchange root .*nowhere does not exist"):
        release(released, tmp_path / "nowhere", COURSE_ID, "tiny")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write every folder")
def test_release_refuses_an_exchange_it_cannot_write(tmp_path, released):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(UserError, match=r"is not writable by you"):
        release(released, locked, COURSE_ID, "tiny")


def test_release_notes_a_root_students_cannot_write(tmp_path, released):
    root = tmp_path / "private"
    root.mkdir(mode=0o755)
    root.chmod(0o755)
    notes: list[str] = []
    release(released, root, COURSE_ID, "tiny", log=notes.append)
    assert len(notes) == 1 and "has mode 0o755; students' nbgrader refuses" in notes[0]
    assert stat.S_IMODE(root.stat().st_mode) == 0o755  # noted, never changed


@pytest.mark.parametrize("course_id", ["../elsewhere", "a/b", "nn+101", ".hidden", ""])
def test_release_refuses_names_that_are_not_plain(tmp_path, exchange, released, course_id):
    with pytest.raises(UserError, match="cannot be used in nbgrader's exchange"):
        release(released, exchange, course_id, "tiny")
    with pytest.raises(UserError, match="cannot be used in nbgrader's exchange"):
        release(released, exchange, COURSE_ID, course_id or "x y")
    assert list(exchange.iterdir()) == [exchange / COURSE_ID]


def test_a_link_in_the_kit_is_refused_and_nothing_is_published(tmp_path, exchange):
    kit = make_kit(tmp_path / "kit")
    secret = tmp_path / "secret.txt"
    secret.write_text("the course secret")
    os.symlink(secret, kit / "data" / "more.csv")
    with pytest.raises(UserError, match=r"holds a link, data/more.csv"):
        release(kit, exchange, COURSE_ID, "tiny")
    assert not (exchange / COURSE_ID / "outbound" / "tiny").exists()


def test_a_failed_copy_leaves_nothing_in_the_exchange(tmp_path, exchange, monkeypatch):
    from gradkit.course import exchange as module

    kit = make_kit(tmp_path / "kit")
    real = module._read_regular
    calls = []

    def failing(path: Path) -> bytes:
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(path)

    monkeypatch.setattr(module, "_read_regular", failing)
    with pytest.raises(UserError, match="No space left on device; the release was not published"):
        release(kit, exchange, COURSE_ID, "tiny")
    assert list((exchange / COURSE_ID / "outbound").iterdir()) == []


# -- collect -------------------------------------------------------------------------------

NB = {"linear_regression.ipynb": _notebook("mine"), "linear_classifiers.ipynb": _notebook("2")}


def _collected(dest: Path) -> dict[str, dict[str, bytes]]:
    return {p.name: _files(p) for p in sorted(dest.iterdir()) if p.is_dir()}


def test_collect_keeps_the_latest_submission_by_nbgraders_timestamp(tmp_path, exchange, released):
    now = datetime.datetime.now(datetime.timezone.utc)
    early, late = now - datetime.timedelta(hours=2), now - datetime.timedelta(hours=1)
    first = submit_by_hand(exchange, "bob", {"linear_regression.ipynb": _notebook("v1")}, early)
    submit_by_hand(exchange, "bob", {"linear_regression.ipynb": _notebook("v2")}, late)
    submit_by_hand(exchange, "ada", NB, early)
    submit_by_hand(exchange, "cyd", NB, early, assignment="tiny2")  # another assignment
    future = (now + datetime.timedelta(days=1)).timestamp()
    for path in [first, *first.iterdir()]:  # the older submission's files are the newest
        os.utime(path, (future, future))
    before = snapshot(exchange)
    lines: list[str] = []
    got = collect(exchange, COURSE_ID, "tiny", tmp_path / "submitted", log=lines.append)
    assert got == ["ada", "bob"]
    assert snapshot(exchange) == before  # the exchange is only read
    collected = _collected(tmp_path / "submitted")
    assert collected["bob"]["tiny/linear_regression.ipynb"] == _notebook("v2")
    assert collected["bob"]["tiny/timestamp.txt"] == stamp(late).encode()
    assert collected["ada"] == {
        **{f"tiny/{k}": v for k, v in NB.items()},
        "tiny/timestamp.txt": stamp(early).encode(),
    }
    assert f"bob: collected 1 notebook, submitted {stamp(late)} (the latest of 2)" in lines
    assert lines[-1].startswith("2 of 2 students' latest submissions are in")
    # exactly what `gradkit grade --submissions` finds there
    found = collect_submissions(
        tmp_path / "submitted",
        "tiny",
        ["linear_regression", "linear_classifiers"],
        tmp_path / "work",
    )
    assert sorted(found) == ["ada", "bob"]
    assert sorted(found["ada"]) == ["linear_classifiers", "linear_regression"]
    assert found["bob"]["linear_regression"].path.read_bytes() == _notebook("v2")


def test_collect_again_skips_unchanged_replaces_copies_and_keeps_edits(
    tmp_path, exchange, released
):
    now = datetime.datetime.now(datetime.timezone.utc)
    dest = tmp_path / "submitted"
    submit_by_hand(exchange, "ada", NB, now - datetime.timedelta(hours=3))
    submit_by_hand(exchange, "bob", NB, now - datetime.timedelta(hours=3))
    collect(exchange, COURSE_ID, "tiny", dest)
    lines: list[str] = []
    assert collect(exchange, COURSE_ID, "tiny", dest, log=lines.append) == ["ada", "bob"]
    assert sum("unchanged" in line for line in lines) == 2
    # the instructor fixed bob's notebook by hand; then both submit again
    edited = dest / "bob" / "tiny" / "linear_regression.ipynb"
    edited.write_bytes(_notebook("fixed by the instructor"))
    newer = {"linear_regression.ipynb": _notebook("newer")}
    submit_by_hand(exchange, "ada", newer, now - datetime.timedelta(hours=1))
    submit_by_hand(exchange, "bob", newer, now - datetime.timedelta(hours=1))
    lines.clear()
    assert collect(exchange, COURSE_ID, "tiny", dest, log=lines.append) == ["ada"]
    assert _files(dest / "ada" / "tiny") == {
        "linear_regression.ipynb": _notebook("newer"),
        "timestamp.txt": stamp(now - datetime.timedelta(hours=1)).encode(),
    }
    assert edited.read_bytes() == _notebook("fixed by the instructor")
    (note,) = [line for line in lines if line.startswith("bob:")]
    assert "left as it is: it differs from the exchange's copy" in note
    assert sorted(p.name for p in (dest / "ada").iterdir()) == ["tiny"]  # no scratch left


def test_a_replaced_copy_that_cannot_be_removed_is_reported(
    tmp_path, exchange, released, monkeypatch
):
    from gradkit.course import exchange as module

    now = datetime.datetime.now(datetime.timezone.utc)
    dest = tmp_path / "submitted"
    submit_by_hand(exchange, "ada", NB, now - datetime.timedelta(hours=2))
    collect(exchange, COURSE_ID, "tiny", dest)
    submit_by_hand(exchange, "ada", NB, now - datetime.timedelta(hours=1))
    real = module.shutil.rmtree

    def refusing(path, *args, **kwargs):
        if ".old-" in Path(path).name:
            raise PermissionError(13, "Permission denied")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(module.shutil, "rmtree", refusing)
    lines: list[str] = []
    assert collect(exchange, COURSE_ID, "tiny", dest, log=lines.append) == ["ada"]
    (left,) = [p for p in (dest / "ada").iterdir() if p.name != "tiny"]
    assert left.name.startswith(".tiny.old-")
    (note,) = [line for line in lines if "could not remove" in line]
    assert f"the replaced copy {left} (Permission denied); remove it by hand" in note
    assert (dest / "ada" / "tiny" / "timestamp.txt").read_bytes() == stamp(
        now - datetime.timedelta(hours=1)
    ).encode()


def test_odd_inbound_names_are_skipped_one_line_each(tmp_path, exchange, released):
    now = datetime.datetime.now(datetime.timezone.utc)
    ts = stamp(now - datetime.timedelta(minutes=5))
    odd = [
        f"..+tiny+{ts}+r",
        f"a..b+tiny+{ts}+r",
        f"ev\nil+tiny+{ts}+r",
        f"al ice+tiny+{ts}+r",
        f"-rf+tiny+{ts}+r",
        f"eve+mallory+tiny+{ts}+r",
        "eve+tiny+yesterday+r",
        f"eve+tiny+{ts}+r+more",
        f"eve+tiny+{stamp(now + datetime.timedelta(days=30))}+r",
    ]
    for name in odd:
        submit_by_hand(exchange, "eve", NB, name=name)
    submit_by_hand(exchange, "ada", NB, now - datetime.timedelta(minutes=1))
    before = snapshot(exchange)
    lines: list[str] = []
    assert collect(exchange, COURSE_ID, "tiny", tmp_path / "out", log=lines.append) == ["ada"]
    skipped = [line for line in lines if line.startswith("skipped inbound entry")]
    assert len(skipped) == len(odd)
    assert all("\n" not in line for line in lines)
    assert any("in the future" in line for line in skipped)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ada"]
    assert snapshot(exchange) == before


def test_links_fifos_and_huge_files_in_a_submission_are_not_read(tmp_path, exchange, released):
    from gradkit.course.submissions import MAX_NOTEBOOK_BYTES

    secret = tmp_path / "secret.ipynb"
    secret.write_bytes(_notebook("the instructor's solution"))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "linear_regression.ipynb").write_bytes(_notebook("not eve's"))
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    entry = submit_by_hand(exchange, "mal", {"linear_classifiers.ipynb": _notebook("ok")}, now)
    os.symlink(secret, entry / "linear_regression.ipynb")
    os.mkfifo(entry / "fifo.ipynb")
    with open(entry / "huge.ipynb", "wb") as fh:
        fh.truncate(MAX_NOTEBOOK_BYTES + 1)  # sparse: costs no disk
    (entry / "x..ipynb").write_bytes(b"{}")
    (entry / "sub").mkdir()
    (entry / "sub" / "deep.ipynb").write_bytes(b"{}")
    # a whole submission that is a link to someone else's folder
    ts = stamp(now)
    os.symlink(outside, exchange / COURSE_ID / "inbound" / f"eve+tiny+{ts}+abc")
    before = snapshot(exchange)
    lines: list[str] = []
    got = collect(exchange, COURSE_ID, "tiny", tmp_path / "out", log=lines.append)
    assert got == ["mal"]
    assert _files(tmp_path / "out" / "mal" / "tiny") == {
        "linear_classifiers.ipynb": _notebook("ok"),
        "timestamp.txt": ts.encode(),
    }
    mal = [line for line in lines if line.startswith("mal: file")]
    assert len(mal) == 4, lines
    assert any("'linear_regression.ipynb' skipped: a link" in line for line in mal)
    assert any("'fifo.ipynb' skipped: not a regular file" in line for line in mal)
    assert any("'huge.ipynb' skipped: over" in line for line in mal)
    assert any("'x..ipynb' skipped: not a plain notebook name" in line for line in mal)
    assert any(line.startswith("skipped eve's submission") and "a link?" in line for line in lines)
    assert not (tmp_path / "out" / "eve").exists()
    assert snapshot(exchange) == before


def test_collect_refuses_a_course_without_inbound_and_a_target_in_the_exchange(
    tmp_path, exchange, released
):
    with pytest.raises(UserError, match=r"inbound does not exist; expected the inbound folder"):
        collect(exchange, "other", "tiny", tmp_path / "out")
    with pytest.raises(UserError, match="overlaps the exchange"):
        collect(exchange, COURSE_ID, "tiny", exchange / COURSE_ID / "inbound" / "x")
    with pytest.raises(UserError, match="cannot be used in nbgrader's exchange"):
        collect(exchange, COURSE_ID, "../tiny", tmp_path / "out")


def test_submissions_under_anothers_name_are_noted(tmp_path, exchange, released, monkeypatch):
    from gradkit.course import exchange as module

    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    submit_by_hand(exchange, "ada", NB, now)
    submit_by_hand(exchange, "bob", NB, now)
    # as if the test ran as an instructor and both entries belonged to the login user bob
    monkeypatch.setattr(module, "_trusted_uids", lambda: set())
    monkeypatch.setattr(module, "_owner", lambda uid: "bob")
    lines: list[str] = []
    collect(exchange, COURSE_ID, "tiny", tmp_path / "out", log=lines.append)
    assert "ada: note: the submission is owned by bob, not by ada" in "\n".join(lines)
    assert not any(line.startswith("bob: note") for line in lines)
    # a hub whose servers all run as one user: one note, not one per student
    monkeypatch.setattr(module, "_owner", lambda uid: "jovyan")
    lines.clear()
    collect(exchange, COURSE_ID, "tiny", tmp_path / "out", log=lines.append)
    notes = [line for line in lines if "note:" in line]
    assert notes == ["note: every submission is owned by jovyan: owners cannot tell students apart"]


def test_the_command_line_collects_and_errors_in_one_line(tmp_path, exchange, released):
    submit_by_hand(exchange, "ada", NB)
    run = [sys.executable, "-m", "gradkit", "collect", "tiny", "--exchange", str(exchange)]
    res = subprocess.run(
        [*run, "--course-id", COURSE_ID, "--to", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "ada: collected 2 notebooks" in res.stdout
    res = subprocess.run(
        [*run, "--course-id", "nope", "--to", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and res.stderr.startswith("gradkit: error: ")
    assert "Traceback" not in res.stderr


# -- the whole round trip, graded ----------------------------------------------------------


@pytest.mark.slow
def test_release_fetch_submit_collect_grade(tmp_path, exchange):
    """A kit of the tiny course goes out through the exchange; ada submits once, bob twice
    (the release untouched, then his answers); both are collected and graded in full."""
    from gradkit.course.grade import grade
    from gradkit.course.release import release as release_course
    from gradkit.course.report import scores

    course = Course(make_course(tmp_path / "course", second=True))
    release_course(course, ASSIGNMENT, log=lambda m: None)
    kit = tmp_path / "kit"
    kit.mkdir()
    for name in (NOTEBOOK, SECOND):
        (kit / f"{name}.ipynb").write_bytes(
            (course.assignments_dir / ASSIGNMENT / f"{name}.ipynb").read_bytes()
        )
    (kit / WHEEL).write_bytes(b"PK\x03\x04 not really a wheel")
    (kit / "README.md").write_text("# tiny\n")
    release(kit, exchange, COURSE_ID, ASSIGNMENT)

    homes = {s: tmp_path / "home" / s for s in ("ada", "bob")}
    for home in homes.values():
        home.mkdir(parents=True)
        nbgrader(home, exchange, "fetch_assignment", ASSIGNMENT)
        assert _files(home / ASSIGNMENT) == _files(kit)
    submit = ["submit", ASSIGNMENT]
    make_submission(course, ASSIGNMENT, homes["ada"] / ASSIGNMENT, "full")
    nbgrader(homes["ada"], exchange, *submit, "--CourseDirectory.student_id=ada")
    nbgrader(homes["bob"], exchange, *submit, "--CourseDirectory.student_id=bob")  # untouched
    make_submission(course, ASSIGNMENT, homes["bob"] / ASSIGNMENT, "full")
    nbgrader(homes["bob"], exchange, *submit, "--CourseDirectory.student_id=bob")
    inbound = sorted((exchange / COURSE_ID / "inbound").iterdir())
    assert [p.name.split("+")[0] for p in inbound] == ["ada", "bob", "bob"]
    first_of_bob = min(inbound[1:], key=lambda p: (p / "timestamp.txt").read_text())
    future = datetime.datetime.now().timestamp() + 86400
    for path in [first_of_bob, *first_of_bob.iterdir()]:  # the older one looks newest
        os.utime(path, (future, future))

    before = snapshot(exchange)
    res = subprocess.run(
        [sys.executable, "-m", "gradkit", "collect", ASSIGNMENT, "--exchange", str(exchange)]
        + ["--course-id", COURSE_ID, "--to", str(tmp_path / "submitted")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "bob: collected 2 notebooks" in res.stdout and "(the latest of 2)" in res.stdout
    assert snapshot(exchange) == before

    grade(
        course,
        ASSIGNMENT,
        tmp_path / "submitted",
        timeout=10,
        progress=False,
        sandbox=SANDBOX,
    )
    rows = {r["student"]: r for r in scores(course, ASSIGNMENT)}
    assert sorted(rows) == ["ada", "bob"]
    for student in ("ada", "bob"):
        assert rows[student]["total"] == rows[student]["max"] > 0, rows[student]
