"""Canvas round trip: a "Download Submissions" zip in, Canvas's gradebook import out.

The fast tests read file names, rosters and numbers without grading. The slow ones grade
one Canvas zip of the tiny course (two students both named "smithalice", a LATE one, a
re-uploaded ``-1`` file, a written answer graded by hand) and read every result back:
the gradebook, both CSVs (parsed with ``csv``), the summary table and the class report.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from course_helpers import (
    ASSIGNMENT,
    NOTEBOOK,
    SANDBOX,
    SECOND,
    WRITTEN_ID,
    make_course,
)
from gradkit.course.cli import main
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course, UserError
from gradkit.course.grade import grade
from gradkit.course.release import release
from gradkit.course.report import (
    MISSING,
    export_csv,
    format_number,
    format_table,
    scores,
)
from gradkit.course.results import load
from gradkit.course.students import RosterEntry, load_roster, read_roster, save_roster
from gradkit.course.submissions import collect_submissions

REPO = Path(__file__).resolve().parents[1]
CELL_TIMEOUT = 8
CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
#: At most 3 decimals, as every CSV writes a number.
NUMBER = re.compile(r"^-?\d+(\.\d{1,3})?$")


# -- file names ---------------------------------------------------------------------------


def _zip(path: Path, names: list[str], content: bytes = b"{}") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, content)
    return path


def test_canvas_names_key_students_by_user_id(tmp_path):
    archive = _zip(
        tmp_path / "submissions.zip",
        [
            "smithalice_1000_52001_linear_classifiers.ipynb",
            "smithalice_LATE_1001_52002_linear_classifiers.ipynb",
            "hoppergrace_late_1002_52003_linear_classifiers-1.ipynb",
            "o_brienpat_1003_52004_linear_classifiers.ipynb",
        ],
    )
    found = collect_submissions(archive, "a", ["linear_classifiers"], tmp_path / "work")
    assert set(found) == {"1000", "1001", "1002", "1003"}
    subs = {user: mine["linear_classifiers"] for user, mine in found.items()}
    assert {u: s.name for u, s in subs.items()} == {
        "1000": "smithalice",
        "1001": "smithalice",
        "1002": "hoppergrace",
        "1003": "o_brienpat",
    }
    assert {u for u, s in subs.items() if s.late} == {"1001", "1002"}
    assert all(s.canvas_id == u and s.path.is_file() for u, s in subs.items())
    assert subs["1000"].note == ""  # Canvas's prefix is no renaming
    assert "linear_classifiers-1.ipynb was graded as linear_classifiers.ipynb" in (
        subs["1002"].note
    )


def test_other_lms_names_keep_the_prefix_as_the_student(tmp_path):
    archive = _zip(
        tmp_path / "moodle.zip",
        [
            "lovelace_attempt1_tiny.ipynb",
            "Ada Lovelace_12345_assignsubmission_file_second.ipynb",
            "turing_1234_tiny.ipynb",
        ],
    )
    found = collect_submissions(archive, "a", ["tiny", "second"], tmp_path / "work")
    assert set(found) == {"lovelace", "Ada Lovelace", "turing"}
    assert not any(s.late or s.name or s.canvas_id for m in found.values() for s in m.values())


def test_a_zip_is_read_as_canvas_only_when_every_name_is_canvas(tmp_path):
    archive = _zip(
        tmp_path / "mixed.zip", ["lovelace_1234_5678_tiny.ipynb", "turing_notes_tiny.ipynb"]
    )
    found = collect_submissions(archive, "a", ["tiny"], tmp_path / "work")
    assert set(found) == {"lovelace", "turing"}


# -- rosters ------------------------------------------------------------------------------

#: Rows as Canvas's gradebook export writes them (assignment columns "Title (id)", a
#: manual-posting row, the indented points row, totals, the Test Student last).
ROSTER_ROWS = [
    [*CANVAS_HEADER, f"{ASSIGNMENT} (777)", "Current Score", "Final Score"],
    ["", "", "", "", "", "Manual Posting", "", ""],
    ["    Points Possible", "", "", "", "", "7", "(read only)", "(read only)"],
    ["Smith, Alice", "1000", "S1000", "asmith", "Section A", "", "", ""],
    ["Smith, Alice", "1001", "S1001", "asmith2", "Section B", "", "", ""],
    ["Hopper, Grace", "1002", "S1002", "ghopper", "Section A", "", "", ""],
    ["Lovelace, Ada", "1003", "S1003", "alovelace", "Section B", "", "", ""],
    ["Student, Test", "999", "", "", "Section A", "", "", ""],
]


def _roster_file(path: Path, rows=ROSTER_ROWS, delimiter=",", bom=True) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    path.write_text(("\ufeff" if bom else "") + buffer.getvalue(), encoding="utf-8")
    return path


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_a_canvas_gradebook_export_is_read_as_the_roster(tmp_path, delimiter):
    roster = read_roster(_roster_file(tmp_path / "roster.csv", delimiter=delimiter))
    students = [r for r in ROSTER_ROWS[3:] if r[0] != "Student, Test"]
    assert roster == [RosterEntry(r[1], r[0], r[2], r[3], r[4]) for r in students]


def test_a_roster_with_first_and_last_name_columns_is_read_too(tmp_path):
    rows = [
        ["LastName", "FirstName", "ID", "SIS Login ID", "Section", f"{ASSIGNMENT} (777)"],
        ["    Points Possible", "", "", "", "", "7"],
        ["Smith", "Alice", "1000", "asmith", "Section A", ""],
    ]
    roster = read_roster(_roster_file(tmp_path / "roster.csv", rows))
    assert roster == [RosterEntry("1000", "Smith, Alice", "", "asmith", "Section A")]


@pytest.mark.parametrize(
    "rows, came",
    [
        ([["Name", "Email", "Score"], ["Ada", "ada@x", "3"]], "found Name, Email, Score"),
        ([["ID", "Student", "Section"], ["1", "Ada", "A"]], "found ID, Student, Section"),
        ([], "found nothing"),
    ],
)
def test_a_roster_that_is_not_canvas_s_export_is_one_clear_line(tmp_path, rows, came):
    path = _roster_file(tmp_path / "other.csv", rows, bom=False)
    with pytest.raises(UserError) as caught:
        read_roster(path)
    message = str(caught.value)
    assert "expected a header row starting Student, ID" in message and came in message
    assert "\n" not in message


def test_a_roster_id_that_is_not_a_canvas_id_names_its_row(tmp_path):
    rows = [CANVAS_HEADER, ["Smith, Alice", "asmith", "", "", ""]]
    with pytest.raises(UserError, match=r"row 2: ID 'asmith' is not a Canvas user id"):
        read_roster(_roster_file(tmp_path / "roster.csv", rows))


# -- a gradebook written before late marks existed -----------------------------------------


def test_a_gradebook_from_before_late_marks_keeps_its_records(tmp_path):
    import sqlite3

    from gradkit.course.results import set_late

    db = tmp_path / "gradebook.db"
    with sqlite3.connect(db) as con:  # gradkit_result as the first release wrote it
        con.execute(
            "CREATE TABLE gradkit_result (assignment TEXT NOT NULL, student TEXT NOT NULL, "
            "notebook TEXT NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', "
            "tests TEXT NOT NULL DEFAULT '[]', graded_at REAL NOT NULL, "
            "PRIMARY KEY (assignment, student, notebook))"
        )
        con.execute(
            "INSERT INTO gradkit_result VALUES ('a', 'ada', 'nb', 'graded', 'kept', '[]', 1.0)"
        )
    record = load(db, "a")["ada"]["nb"]
    assert (record.status, record.note, record.late) == ("graded", "kept", False)
    set_late(db, "a", "ada", "nb", True)
    assert load(db, "a")["ada"]["nb"].late and load(db, "a")["ada"]["nb"].note == "kept"


# -- numbers and the course's .gitignore ----------------------------------------------------


@pytest.mark.parametrize("value", [6.7330000000000005, 0.1 + 0.2, 2 / 3, 4.0, -0.0, 1234.5])
def test_numbers_are_written_with_at_most_3_decimals(value):
    text = format_number(value)
    assert NUMBER.match(text) and not text.startswith("-0")
    assert float(text) == pytest.approx(value, abs=5e-4)


def test_gradkit_outputs_are_ignored_by_the_course_s_git():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout of the course")
    outputs = [f"grades/{ASSIGNMENT}.csv", f"reports/{ASSIGNMENT}.html", "feedback/a/b/c.html"]
    res = subprocess.run(
        ["git", "check-ignore", "--no-index", *outputs], cwd=REPO, capture_output=True, text=True
    )
    assert res.stdout.split() == outputs
    kept = subprocess.run(
        ["git", "check-ignore", "--no-index", "lib/gradkit/course/report.py"],
        cwd=REPO,
        capture_output=True,
    )
    assert kept.returncode == 1  # only the course's top-level folders, not every "reports/"


# -- a graded Canvas zip ------------------------------------------------------------------

#: The zip Canvas would write: user id -> (display name, late, kind, {notebook: file name}).
CLASS = {
    "1000": ("smithalice", False, "full", {NOTEBOOK: NOTEBOOK, SECOND: f"{SECOND}-1"}),
    "1001": ("smithalice", False, "untouched", {NOTEBOOK: NOTEBOOK, SECOND: SECOND}),
    "1002": ("hoppergrace", True, "full", {NOTEBOOK: NOTEBOOK, SECOND: SECOND}),
}


@pytest.fixture(scope="module")
def canvas(tmp_path_factory):
    course = Course(make_course(tmp_path_factory.mktemp("course"), second=True, written=True))
    release(course, ASSIGNMENT, log=lambda m: None)
    work = tmp_path_factory.mktemp("work")
    archive = work / "submissions.zip"
    file_id = 52000
    with zipfile.ZipFile(archive, "w") as zf:
        for user, (name, late, kind, files) in CLASS.items():
            make_submission(course, ASSIGNMENT, work / user, kind)
            for notebook, uploaded in files.items():
                file_id += 1
                mark = "_LATE" if late else ""
                arcname = f"{name}{mark}_{user}_{file_id}_{uploaded}.ipynb"
                zf.write(work / user / f"{notebook}.ipynb", arcname)
    records = grade(
        course,
        ASSIGNMENT,
        archive,
        timeout=CELL_TIMEOUT,
        progress=False,
        jobs=2,
        sandbox=SANDBOX,
    )
    roster = _roster_file(work / "roster.csv")
    return {"course": course, "records": records, "archive": archive, "roster": roster}


def _written_grades(course) -> dict[str, tuple[float | None, bool]]:
    """Student -> (score, needs_manual_grade) of the written answer, as nbgrader has them."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        grades = {u: gb.find_grade(WRITTEN_ID, SECOND, ASSIGNMENT, u) for u in CLASS}
        return {u: (g.score, bool(g.needs_manual_grade)) for u, g in grades.items()}


def _pending_in_gradebook(course) -> dict[str, int]:
    return {u: int(pending) for u, (_, pending) in _written_grades(course).items()}


def _csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _expected_total(canvas, user) -> float:
    """A student's total from the records' test scores plus the hand-graded answer."""
    tests = sum(r.score for r in canvas["records"][user].values())
    written, _ = _written_grades(canvas["course"])[user]
    return tests + (written or 0.0)


@pytest.mark.slow
@pytest.mark.a01
def test_same_named_students_are_kept_apart_by_user_id(canvas):
    records = canvas["records"]
    assert set(records) == set(CLASS)
    full_points = sum(t.points for r in records["1000"].values() for t in r.tests)
    assert full_points > 0
    assert sum(r.score for r in records["1000"].values()) == full_points
    assert sum(r.score for r in records["1001"].values()) == 0
    assert all(r.status == "graded" for m in records.values() for r in m.values())
    assert f"{SECOND}-1.ipynb was graded as {SECOND}.ipynb" in records["1000"][SECOND].note
    rows = {r["student"]: r for r in scores(canvas["course"], ASSIGNMENT, roster=[])}
    assert {u: rows[u]["name"] for u in CLASS} == {u: c[0] for u, c in CLASS.items()}
    for user in CLASS:
        assert rows[user]["total"] == pytest.approx(_expected_total(canvas, user), abs=1e-3)


@pytest.mark.slow
@pytest.mark.a01
def test_late_is_recorded_per_notebook_and_shown_in_both_csvs(canvas, capsys):
    course = canvas["course"]
    stored = load(course.db_path, ASSIGNMENT)
    late = {(u, nb) for u, mine in stored.items() for nb, r in mine.items() if r.late}
    expected = {(u, nb) for u, c in CLASS.items() if c[1] for nb in c[3]}
    assert late == expected
    # `gradkit grade` again (nothing changed, nothing runs) writes grades/ASSIGNMENT.csv
    sandbox = [] if SANDBOX else ["--no-sandbox"]
    args = ["--course", str(course.root)]
    code, out, err = _run(
        capsys, *args, "grade", ASSIGNMENT, "--submissions", str(canvas["archive"]), *sandbox
    )
    assert code == 0, err
    assert "late" in out.splitlines()[0].split()  # the summary table has the column
    code, _, err = _run(capsys, *args, "export", ASSIGNMENT, "-o", str(course.root / "e.csv"))
    assert code == 0, err
    for path in (course.root / "grades" / f"{ASSIGNMENT}.csv", course.root / "e.csv"):
        rows = _rows(path)
        assert {u for u, r in rows.items() if r["late"] == "yes"} == {u for u, _ in expected}
        assert {u: rows[u]["name"] for u in CLASS} == {u: c[0] for u, c in CLASS.items()}


@pytest.mark.slow
@pytest.mark.a01
def test_canvas_export_has_canvas_s_layout_and_the_user_ids(canvas, capsys):
    course = canvas["course"]
    out = course.root / "canvas.csv"
    code, _, err = _run(
        capsys,
        "--course",
        str(course.root),
        "export",
        ASSIGNMENT,
        "--canvas",
        "--allow-pending",
        "--canvas-column",
        "Tiny assignment (777)",
        "-o",
        str(out),
    )
    assert code == 0, err
    table = _csv(out)
    assert table[0] == [*CANVAS_HEADER, "Tiny assignment (777)"]
    assert table[1][0].strip() == "Points Possible" and table[1][1:5] == ["", "", "", ""]
    maximum = scores(course, ASSIGNMENT, roster=[])[0]["max"]
    assert float(table[1][5]) == pytest.approx(maximum)
    body = {row[1]: row for row in table[2:]}
    assert set(body) == set(CLASS)
    for user, (name, *_rest) in CLASS.items():
        assert body[user][0] == name and body[user][3] == ""  # no folder name as login
        assert float(body[user][5]) == pytest.approx(_expected_total(canvas, user), abs=1e-3)
    assert all(len(row) == 6 for row in table)  # nothing Canvas would take for an assignment


@pytest.mark.slow
@pytest.mark.a01
def test_a_roster_lists_students_without_a_submission(canvas, capsys):
    course = canvas["course"]
    roster = read_roster(canvas["roster"])
    absent = [e for e in roster if e.canvas_id not in CLASS]
    assert absent  # the roster has a student who submitted nothing
    out = course.root / "roster-canvas.csv"
    code, stdout, err = _run(
        capsys,
        "--course",
        str(course.root),
        "export",
        ASSIGNMENT,
        "--canvas",
        "--allow-pending",
        "--roster",
        str(canvas["roster"]),
        "-o",
        str(out),
    )
    assert code == 0, err
    said = re.search(r"^(\d+) students? of the roster submitted nothing \((.*)\)$", stdout, re.M)
    assert said and int(said[1]) == len(absent)
    assert said[2].split("; ") == [e.name for e in absent]
    body = {row[1]: row for row in _csv(out)[2:]}
    assert set(body) == {e.canvas_id for e in roster}
    for entry in roster:
        assert body[entry.canvas_id][:5] == [
            entry.name,
            entry.canvas_id,
            entry.sis_user_id,
            entry.sis_login_id,
            entry.section,
        ]
    assert all(float(body[e.canvas_id][5]) == 0 for e in absent)
    plain = course.root / "roster.csv"
    args = ["--course", str(course.root), "export", ASSIGNMENT, "--roster", str(canvas["roster"])]
    assert main([*args, "-o", str(plain)]) == 0
    rows = _rows(plain)
    for entry in absent:
        assert rows[entry.canvas_id]["status"] == MISSING
        assert float(rows[entry.canvas_id]["total"]) == 0
    assert load_roster(course.db_path) == []  # an export only reads the roster it is given


def _nbgrader_names(course) -> dict[str, tuple[str, str, str]]:
    """Student -> (last name, first name, LMS user id) as nbgrader (and formgrader) has them."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        students = {u: gb.find_student(u) for u in CLASS}
        return {u: (s.last_name, s.first_name, s.lms_user_id) for u, s in students.items()}


@pytest.mark.slow
@pytest.mark.a01
def test_grade_stores_the_roster_and_names_the_students_for_formgrader(canvas):
    course = canvas["course"]
    assert _nbgrader_names(course) == {u: (c[0], None, u) for u, c in CLASS.items()}
    roster = read_roster(canvas["roster"])
    before = {(u, nb): r.fingerprint for u, m in canvas["records"].items() for nb, r in m.items()}
    try:
        again = grade(
            course, ASSIGNMENT, canvas["archive"], progress=False, sandbox=SANDBOX, roster=roster
        )
        assert {(u, nb): r.fingerprint for u, m in again.items() for nb, r in m.items()} == before
        assert load_roster(course.db_path) == roster
        rows = {r["student"]: r for r in scores(course, ASSIGNMENT)}
        assert {u for u, r in rows.items() if r["status"] == MISSING} == {
            e.canvas_id for e in roster if e.canvas_id not in CLASS
        }
        by_id = {e.canvas_id: e for e in roster}
        assert _nbgrader_names(course) == {
            u: (*(p.strip() for p in by_id[u].name.split(",")), u) for u in CLASS
        }
    finally:
        save_roster(course.db_path, [])  # the other tests grade without one


@pytest.mark.parametrize("command", ["export", "grade"])
@pytest.mark.slow
@pytest.mark.a01
def test_a_bad_roster_is_one_line_before_anything_runs(canvas, capsys, tmp_path, command):
    course = canvas["course"]
    bad = _roster_file(tmp_path / "people.csv", [["Name", "Email"], ["Ada", "ada@x"]])
    stamp = course.db_path.stat().st_mtime_ns
    extra = ["--submissions", str(canvas["archive"])] if command == "grade" else []
    code, _, err = _run(
        capsys, "--course", str(course.root), command, ASSIGNMENT, *extra, "--roster", str(bad)
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "expected a header row starting Student, ID" in err and "found Name, Email" in err
    assert course.db_path.stat().st_mtime_ns == stamp


@pytest.mark.slow
@pytest.mark.a01
def test_hand_grading_is_visible_and_blocks_the_canvas_export_until_done(canvas, capsys):
    from nbgrader.api import Gradebook

    from gradkit.course.class_report import write_class_report

    course = canvas["course"]
    waiting = {u for u, n in _pending_in_gradebook(course).items() if n}
    answered = {u for u, c in CLASS.items() if c[2] == "full"}
    assert waiting == answered  # an untouched answer scores 0 by itself, nothing to grade
    rows = {r["student"]: r for r in scores(course, ASSIGNMENT, roster=[])}
    assert {u: rows[u]["pending_manual"] for u in CLASS} == {u: int(u in waiting) for u in CLASS}
    table = format_table(list(rows.values()), course.notebooks(ASSIGNMENT))
    assert "pending_manual" in table.splitlines()[0]
    grades_csv = export_csv(course, ASSIGNMENT, course.root / "pending.csv", [])
    assert {u: int(r["pending_manual"]) for u, r in _rows(grades_csv).items()} == {
        u: int(u in waiting) for u in CLASS
    }
    summary = f"{len(waiting)} hand-graded answers of {len(waiting)} students"
    report = write_class_report(course, ASSIGNMENT, course.root / "reports" / "r.html")
    assert summary in report.read_text()

    out = course.root / "refused.csv"
    args = ["--course", str(course.root), "export", ASSIGNMENT, "--canvas", "-o", str(out)]
    code, _, err = _run(capsys, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert summary in err and "--allow-pending" in err and not out.exists()
    code, _, err = _run(capsys, *args, "--allow-pending")
    assert code == 0 and out.exists(), err

    manual = {"1000": 1 / 3, "1002": 2 / 3}  # thirds: totals no float prints exactly
    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        for user, score in manual.items():
            written = gb.find_grade(WRITTEN_ID, SECOND, ASSIGNMENT, user)
            written.manual_score, written.needs_manual_grade = score, False  # as formgrader does
        gb.db.commit()
    assert not any(_pending_in_gradebook(course).values())
    out.unlink()
    code, stdout, err = _run(capsys, *args)
    assert code == 0 and "not final" not in stdout, err
    table = _csv(out)
    body = {row[1]: row for row in table[2:]}
    for user in CLASS:
        assert float(body[user][5]) == pytest.approx(_expected_total(canvas, user), abs=5e-4)
    assert float(body["1000"][5]) == pytest.approx(
        sum(r.score for r in canvas["records"]["1000"].values()) + manual["1000"], abs=5e-4
    )
    plain = export_csv(course, ASSIGNMENT, course.root / "final.csv", [])
    numbers = [cell for row in _csv(plain)[1:] for cell in row if re.match(r"^-?[\d.]+$", cell)]
    numbers += [cell for row in table[1:] for cell in row[5:]]
    assert numbers and all(NUMBER.match(cell) for cell in numbers), numbers
    assert not any(int(r["pending_manual"]) for r in _rows(plain).values())
