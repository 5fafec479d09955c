"""Who the students are: the names and Canvas ids an LMS gave them, and the course roster.

gradkit keys a student by a folder name, an LMS prefix or, for a Canvas zip, the Canvas
user id (:mod:`gradkit.course.submissions`). What else is known about a student lives in
two tables of gradkit's own in ``gradebook.db``, beside nbgrader's:

* ``gradkit_student``: for each graded student, the display name the zip gave
  (``smithalice``) and the Canvas user id;
* ``gradkit_roster``: the course roster, read from the CSV of Canvas's own gradebook
  export (Grades → Export) by ``gradkit grade --roster FILE``: Canvas user id, name
  (``Smith, Alice``), SIS User ID, SIS Login ID and section. A new roster replaces the
  one stored before.

A graded student is found in the roster by Canvas user id, else by SIS Login ID or SIS
User ID equal to the student's key (folders named by login). Roster students with no
submission are the assignment's missing students.

nbgrader's own ``student`` table also gets the names (first and last from the roster's
``Last, First``) and the Canvas id (``lms_user_id``) where it has none, so formgrader
shows who is who; a name someone else gave there is never overwritten.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from .directory import UserError

__all__ = [
    "RosterEntry",
    "Identity",
    "read_roster",
    "save_students",
    "save_roster",
    "load_roster",
    "identities",
    "label_nbgrader_students",
]

#: The student columns of Canvas's gradebook export, in its order (``SIS User ID`` only
#: when the exporting user may see SIS ids; ``Integration ID`` and ``Root Account`` may
#: follow ``SIS Login ID``; courses that list students by first and last name start
#: ``LastName, FirstName, ID`` instead). Only the name and ``ID`` are needed in a roster.
CANVAS_STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
_SPLIT_NAME_COLUMNS = ["LastName", "FirstName", "ID"]
#: Canvas's Student View user, listed last in every gradebook export.
_TEST_STUDENT = ("Student, Test", "Test Student")

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS gradkit_student (
        student TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        canvas_id TEXT NOT NULL DEFAULT ''
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS gradkit_roster (
        canvas_id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        sis_user_id TEXT NOT NULL DEFAULT '',
        sis_login_id TEXT NOT NULL DEFAULT '',
        section TEXT NOT NULL DEFAULT '',
        position INTEGER NOT NULL
    )
    """,
)


@dataclass(frozen=True)
class RosterEntry:
    """One student row of Canvas's gradebook export."""

    canvas_id: str
    name: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


@dataclass(frozen=True)
class Identity:
    """Everything known about one student of an assignment (graded or missing)."""

    student: str
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""


def _expected() -> str:
    return (
        f"a header row starting {', '.join(CANVAS_STUDENT_COLUMNS[:2])} "
        f"(or {', '.join(_SPLIT_NAME_COLUMNS)})"
    )


def read_roster(path: str | Path) -> list[RosterEntry]:
    """The students of a CSV written by Canvas's gradebook export, in its order.

    Commas or semicolons (Canvas's choice in some locales), a UTF-8 byte-order mark, the
    ``Points Possible`` and ``Muted``/``Manual Posting`` rows and the Test Student are
    all handled. Anything that is not such a file is a :class:`UserError` naming what
    was expected and what came.
    """
    path = Path(path)
    what = "the CSV of Canvas's gradebook export (Grades → Export)"
    if not path.is_file():
        raise UserError(f"roster {path} not found; expected {what}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError) as exc:
        raise UserError(
            f"roster {path} cannot be read as UTF-8 text ({exc}); expected {what}"
        ) from None
    lines = text.splitlines()
    first = lines[0] if lines else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        rows = list(csv.reader(lines, delimiter=delimiter))
    except csv.Error as exc:
        raise UserError(f"roster {path} is not valid CSV ({exc}); expected {what}") from None
    header = [h.strip() for h in rows[0]] if rows else []
    split_name = header[:3] == _SPLIT_NAME_COLUMNS
    if header[:2] != list(CANVAS_STUDENT_COLUMNS[:2]) and not split_name:
        came = ", ".join(h for h in header[:5]) if any(header) else "nothing"
        raise UserError(
            f"roster {path} is not Canvas's gradebook export: expected {_expected()} "
            f"(then SIS User ID, SIS Login ID, Section), found {came}"
        )
    column = {h: i for i, h in reversed(list(enumerate(header)))}

    def cell(row: list[str], name: str) -> str:
        i = column.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    entries: dict[str, RosterEntry] = {}
    for number, row in enumerate(rows[1:], start=2):
        parts = [cell(row, c) for c in (("LastName", "FirstName") if split_name else ("Student",))]
        parts = [p[2:-1] if p.startswith('="') and p.endswith('"') else p for p in parts]
        name, canvas_id = ", ".join(p for p in parts if p), cell(row, "ID")
        if not canvas_id or "Points Possible" in name or name in _TEST_STUDENT:
            continue  # the points, muted and manual-posting rows have no ID
        if not canvas_id.isdigit():
            raise UserError(
                f"roster {path}, row {number}: ID {canvas_id!r} is not a Canvas user id "
                "(expected digits only, as Canvas's gradebook export writes them)"
            )
        entries.setdefault(
            canvas_id,
            RosterEntry(
                canvas_id,
                name,
                cell(row, "SIS User ID"),
                cell(row, "SIS Login ID"),
                cell(row, "Section"),
            ),
        )
    if not entries:
        raise UserError(f"roster {path} lists no students; expected {what}")
    return list(entries.values())


@contextmanager
def _connect(db_path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(str(db_path), timeout=60)) as con:
        for statement in _SCHEMA:
            con.execute(statement)
        yield con


def save_students(db_path: Path, students: dict[str, tuple[str, str]]) -> None:
    """Record, per student key, the display name and Canvas id a zip gave (empty: unknown)."""
    known = {s: (n, c) for s, (n, c) in students.items() if n or c}
    if not known:
        return
    with _connect(db_path) as con, con:
        con.executemany(
            "INSERT INTO gradkit_student (student, name, canvas_id) VALUES (?, ?, ?) "
            "ON CONFLICT(student) DO UPDATE SET name = excluded.name, "
            "canvas_id = excluded.canvas_id",
            [(s, n, c) for s, (n, c) in known.items()],
        )


def save_roster(db_path: Path, entries: list[RosterEntry]) -> None:
    """Replace the stored roster with ``entries``, in one transaction."""
    with _connect(db_path) as con, con:
        con.execute("DELETE FROM gradkit_roster")
        con.executemany(
            "INSERT INTO gradkit_roster "
            "(canvas_id, name, sis_user_id, sis_login_id, section, position) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (e.canvas_id, e.name, e.sis_user_id, e.sis_login_id, e.section, i)
                for i, e in enumerate(entries)
            ],
        )


def load_roster(db_path: Path) -> list[RosterEntry]:
    """The roster ``gradkit grade --roster`` stored (empty when none was given)."""
    if not Path(db_path).is_file():
        return []
    with _connect(db_path) as con:
        rows = con.execute(
            "SELECT canvas_id, name, sis_user_id, sis_login_id, section FROM gradkit_roster "
            "ORDER BY position"
        ).fetchall()
    return [RosterEntry(*row) for row in rows]


def _load_students(db_path: Path) -> dict[str, tuple[str, str]]:
    if not Path(db_path).is_file():
        return {}
    with _connect(db_path) as con:
        rows = con.execute("SELECT student, name, canvas_id FROM gradkit_student").fetchall()
    return {student: (name, canvas_id) for student, name, canvas_id in rows}


def identities(
    db_path: Path, graded: Iterable[str], roster: list[RosterEntry] | None = None
) -> tuple[dict[str, Identity], list[Identity]]:
    """(graded student -> identity, the roster's students who are not among them).

    ``roster`` defaults to the stored one. A graded student matches a roster entry by
    Canvas user id, else by SIS Login ID, else by SIS User ID equal to its key.
    """
    roster = load_roster(db_path) if roster is None else roster
    known = _load_students(db_path)
    by_id = {e.canvas_id: e for e in roster}
    by_login = {e.sis_login_id: e for e in roster if e.sis_login_id}
    by_sis = {e.sis_user_id: e for e in roster if e.sis_user_id}
    found: dict[str, Identity] = {}
    matched: set[str] = set()
    for student in graded:
        name, canvas_id = known.get(student, ("", ""))
        entry = by_id.get(canvas_id or student) if canvas_id or student.isdigit() else None
        entry = entry or by_login.get(student) or by_sis.get(student)
        if entry is None:
            found[student] = Identity(student, name, canvas_id)
            continue
        matched.add(entry.canvas_id)
        found[student] = Identity(
            student,
            entry.name or name,
            entry.canvas_id,
            entry.sis_user_id,
            entry.sis_login_id,
            entry.section,
        )
    missing = [
        Identity(e.canvas_id, e.name, e.canvas_id, e.sis_user_id, e.sis_login_id, e.section)
        for e in roster
        if e.canvas_id not in matched and e.canvas_id not in found
    ]
    return found, missing


def _split(name: str) -> tuple[str, str]:
    """(first, last) of Canvas's sortable ``Last, First`` (a name without a comma is last)."""
    last, _, first = name.partition(",")
    return first.strip(), last.strip()


def label_nbgrader_students(db_path: Path, people: Iterable[Identity]) -> None:
    """Give nbgrader's students (those it has) their names and Canvas id where it has none.

    A last name gradkit wrote from a zip (``smithalice``, no first name) is replaced by
    the roster's once one is known; any other name is left as it is.
    """
    from nbgrader.api import Gradebook, MissingEntry

    people = [p for p in people if p.name or p.canvas_id]
    if not people:
        return
    zip_names = _load_students(db_path)
    with Gradebook(f"sqlite:///{db_path}") as gb:
        for person in people:
            try:
                student = gb.find_student(person.student)
            except MissingEntry:
                continue
            zip_name = zip_names.get(person.student, ("", ""))[0]
            ours = bool(zip_name) and not student.first_name and student.last_name == zip_name
            if person.name and (not (student.first_name or student.last_name) or ours):
                first, last = _split(person.name)
                student.first_name, student.last_name = first or None, last or None
            if person.canvas_id and not student.lms_user_id:
                student.lms_user_id = person.canvas_id
        gb.db.commit()
