"""Reading results back: the gradebook table, the CSV exports and per-student feedback.

Scores come from nbgrader's gradebook; statuses and the per-check results
from gradkit's records in the same file (:mod:`gradkit.course.results`).
Both are written from the same test-cell outputs, so the feedback and the
gradebook agree. Who the students are (names, Canvas ids, the roster) comes
from :mod:`gradkit.course.students`.

Answers graded by hand in formgrader count once a grader has scored them.
Until then nbgrader marks their grade ``needs_manual_grade`` (an answered
written cell has no automatic score; formgrader clears the mark when a score
is entered, and nbgrader sets it again when the notebook is autograded anew),
and every table here shows how many are pending per student.

Every CSV is written whole or not at all (a temporary file in the same folder,
then renamed), with scores rounded to 3 decimals.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
from pathlib import Path
from typing import Any

from .directory import Course, UserError
from .results import SCORED, NotebookRecord, incident_place, load
from .safe_write import write_text
from .students import CANVAS_STUDENT_COLUMNS, RosterEntry, identities

__all__ = [
    "MISSING",
    "scores",
    "format_table",
    "format_number",
    "pending_summary",
    "export_csv",
    "export_canvas_csv",
    "write_feedback",
]

#: The status of a roster student with no submission at all.
MISSING = "missing"
#: Column titles Canvas's import reads as student data, not as an assignment.
_CANVAS_RESERVED = {*CANVAS_STUDENT_COLUMNS, "Integration ID", "Root Account"}
#: Titles Canvas's import drops as totals (also with "Unposted" or a group name before them).
_CANVAS_TOTALS = re.compile(
    r"(Current|Final|Override) (Score|Points|Grade|Status)|Override Status", re.I
)


def _records(course: Course, assignment: str) -> dict[str, dict[str, NotebookRecord]]:
    records = load(course.db_path, assignment)
    if not records:
        raise UserError(
            f"{assignment} has not been graded yet; "
            f"run `gradkit grade {assignment} --submissions DIR`"
        )
    return records


def _student_status(notebooks: dict[str, NotebookRecord]) -> str:
    """graded / graded with incidents / partly graded / the one status they share."""
    statuses = {r.status for r in notebooks.values()}
    if len(statuses) == 1:
        return statuses.pop()
    if statuses <= set(SCORED):
        return "graded with incidents"
    if statuses & set(SCORED):
        return "partly graded"
    return sorted(statuses)[0]


def format_number(value: float) -> str:
    """A score as every CSV writes it: rounded to 3 decimals, no trailing zeros (6.733, 4)."""
    text = f"{round(float(value), 3) + 0.0:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _pending(gb: Any, assignment: str, student: str, notebooks: list[str]) -> int:
    """Grades of a student's notebooks that nbgrader marks as waiting for a human grader."""
    from nbgrader.api import MissingEntry

    count = 0
    for notebook in notebooks:
        try:
            submitted = gb.find_submission_notebook(notebook, assignment, student)
        except MissingEntry:
            continue
        count += sum(1 for grade in submitted.grades if grade.needs_manual_grade)
    return count


def scores(course: Course, assignment: str, roster: list[RosterEntry] | None = None) -> list[dict]:
    """One row per student: identity, each notebook's score, total, max, late, pending, status.

    Keys: ``student`` (gradkit's key), ``name``, ``canvas_id``, ``sis_user_id``,
    ``sis_login_id``, ``section``, one per notebook, ``total``, ``max`` (scores rounded to
    3 decimals), ``late`` (``"yes"`` when the LMS marked a notebook late), ``pending_manual``
    (answers waiting for a grader in formgrader, not yet in the total), ``status`` and
    ``problems``. Students of the ``roster`` (default: the stored one) who submitted
    nothing get a row with status ``missing`` and 0 points.
    """
    from nbgrader.api import Gradebook, MissingEntry

    records = _records(course, assignment)
    notebooks = course.notebooks(assignment)
    people, missing = identities(course.db_path, records, roster)
    rows = []
    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        maxima = {nb.name: float(nb.max_score) for nb in gb.find_assignment(assignment).notebooks}
        maximum = round(sum(maxima.get(nb, 0.0) for nb in notebooks), 3)
        for student in sorted(records):
            mine = records[student]
            person = people[student]
            row: dict = {
                "student": student,
                "name": person.name,
                "canvas_id": person.canvas_id,
                "sis_user_id": person.sis_user_id,
                "sis_login_id": person.sis_login_id,
                "section": person.section,
            }
            total = 0.0
            for nb in notebooks:
                score = 0.0
                record = mine.get(nb)
                if record is not None and record.status in SCORED:
                    try:
                        score = float(gb.find_submission_notebook(nb, assignment, student).score)
                    except MissingEntry:
                        score = 0.0
                row[nb] = round(score, 3)
                total += score
            scored = [nb for nb, r in mine.items() if r.status in SCORED]
            row["total"] = round(total, 3)
            row["max"] = maximum
            row["late"] = "yes" if any(r.late for r in mine.values()) else ""
            row["pending_manual"] = _pending(gb, assignment, student, scored)
            row["status"] = _student_status(mine)
            row["problems"] = "; ".join(r.note for r in mine.values() if r.note)
            rows.append(row)
    for person in missing:
        row = {
            "student": person.student,
            "name": person.name,
            "canvas_id": person.canvas_id,
            "sis_user_id": person.sis_user_id,
            "sis_login_id": person.sis_login_id,
            "section": person.section,
            **{nb: 0.0 for nb in notebooks},
            "total": 0.0,
            "max": maximum,
            "late": "",
            "pending_manual": 0,
            "status": MISSING,
            "problems": "on the roster, submitted nothing",
        }
        rows.append(row)
    return sorted(rows, key=lambda r: r["student"])


def pending_summary(rows: list[dict]) -> str:
    """'3 answers of 2 students await hand grading …', or '' when nothing is pending."""
    waiting = [r for r in rows if r.get("pending_manual")]
    if not waiting:
        return ""
    answers = sum(r["pending_manual"] for r in waiting)
    return (
        f"{answers} hand-graded answer{'s' if answers != 1 else ''} of {len(waiting)} "
        f"student{'s' if len(waiting) != 1 else ''} await{'s' if answers == 1 else ''} "
        "a grader in formgrader"
    )


def format_table(rows: list[dict], notebooks: list[str]) -> str:
    """The summary table ``gradkit grade`` prints (name, late and pending only when any)."""
    cols = ["student"]
    cols += ["name"] if any(r.get("name") for r in rows) else []
    cols += [*notebooks, "total", "max"]
    cols += ["pending_manual"] if any(r.get("pending_manual") for r in rows) else []
    cols += ["late"] if any(r.get("late") for r in rows) else []
    cols += ["status"]
    table = [
        [format_number(r[c]) if isinstance(r.get(c), float) else str(r.get(c, "")) for c in cols]
        for r in rows
    ]
    widths = [
        max(len(c), *(len(t[i]) for t in table)) if table else len(c) for i, c in enumerate(cols)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(t, widths)) for t in table]
    return "\n".join(line.rstrip() for line in lines)


def _write_csv(path: Path, rows: list[list[Any]], root: Path | None = None) -> Path:
    """Write ``rows`` to ``path`` whole or not at all, never through a link (below ``root``,
    the course, no folder on the way may be one; see :mod:`gradkit.course.safe_write`)."""
    text = io.StringIO(newline="")
    csv.writer(text).writerows(
        [[format_number(v) if isinstance(v, float) else v for v in row] for row in rows]
    )
    path = Path(os.path.abspath(path))  # links on the way are for write_text to refuse
    if root is not None and path.is_relative_to(root):
        return write_text(path, text.getvalue(), Path(root))
    return write_text(path, text.getvalue())


def export_csv(
    course: Course, assignment: str, path: Path, roster: list[RosterEntry] | None = None
) -> Path:
    """The grades as CSV: one row per student (see :func:`scores` for the columns)."""
    rows = scores(course, assignment, roster)
    cols = ["student"]
    cols += ["name"] if any(r["name"] for r in rows) else []
    cols += [*course.notebooks(assignment), "total", "max"]
    cols += ["late", "pending_manual", "status", "problems"]
    return _write_csv(path, [cols, *([r[c] for c in cols] for r in rows)], course.root)


def _canvas_column(title: str) -> str:
    title = title.strip()
    if not title or title in _CANVAS_RESERVED or _CANVAS_TOTALS.search(title):
        raise UserError(
            f"{title!r} cannot head the assignment column: Canvas's import reads it as "
            "student data or a total; expected the assignment's name in Canvas, or "
            "'Name (12345)' as Canvas's own export heads it"
        )
    return title


def export_canvas_csv(
    course: Course,
    assignment: str,
    path: Path,
    roster: list[RosterEntry] | None = None,
    column: str | None = None,
    allow_pending: bool = False,
) -> Path:
    """The totals in the layout of Canvas's own gradebook export, which its import reads.

    Columns ``Student, ID, SIS User ID, SIS Login ID, Section`` and one assignment column
    headed ``column`` (default: the assignment's name); a ``Points Possible`` row under
    the header, then one row per student, roster students without a submission at 0.
    Nothing else: Canvas's import would take any further column for a new assignment.

    Canvas matches a row to a student by ``ID`` (the Canvas user id), else by ``SIS User
    ID``, else by ``SIS Login ID``, else by the name in ``Student``. ``ID`` is the
    student's Canvas user id (a Canvas zip's, or the roster's); a student known only by
    a folder or another LMS's name gets that name as ``SIS Login ID``. The assignment
    column is matched by the number in ``Name (12345)``, as Canvas's own export heads its
    columns, else by an assignment titled exactly ``column``; any other title creates a
    new assignment.

    Refuses (:class:`UserError`, nothing written) while answers await hand grading,
    unless ``allow_pending``: their points would be missing from what Canvas shows.
    """
    rows = scores(course, assignment, roster)
    title = _canvas_column(column if column is not None else assignment)
    waiting = pending_summary(rows)
    if waiting and not allow_pending:
        raise UserError(
            f"not exporting to Canvas: {waiting} and the totals leave them out; grade them "
            "first, or pass --allow-pending to upload the totals without them"
        )
    table: list[list[Any]] = [
        [*CANVAS_STUDENT_COLUMNS, title],
        ["    Points Possible", "", "", "", "", rows[0]["max"] if rows else 0.0],
    ]
    for r in rows:
        login = r["sis_login_id"] or ("" if r["canvas_id"] else r["student"])
        student = r["name"] or r["student"]
        table.append([student, r["canvas_id"], r["sis_user_id"], login, r["section"], r["total"]])
    return _write_csv(path, table, course.root)


def _line_class(line: str) -> str:
    if line.startswith("PASS"):
        return "pass"
    return "fail" if line.startswith("FAIL") else "sum"


def _notebook_feedback(record: NotebookRecord | None) -> list[str]:
    """HTML fragments for one notebook: why it was not graded, or each test's checks."""
    if record is None:
        return ["<p class='fail'>Not graded (see the instructor).</p>"]
    if record.status not in SCORED:
        status, note = html.escape(record.status.capitalize()), html.escape(record.note)
        return [f"<p class='fail'>{status}: {note}</p>"]
    body = []
    if record.note:
        body.append(f"<p>Note: {html.escape(record.note)}</p>")
    if record.incidents:
        items = "".join(
            f"<li>{incident_place(i)}: {html.escape(str(i.get('kind', '')))}"
            f" — {html.escape(str(i.get('detail', '')))}</li>"
            for i in record.incidents
        )
        body.append(f"<p class='fail'>Graded with incidents:</p><ul>{items}</ul>")
    for test in record.tests:
        items = "".join(
            f"<li class='{_line_class(ln)}'>{html.escape(ln)}</li>" for ln in test.lines()
        )
        title = html.escape(f"{test.test} — {test.score:g} / {test.points:g} points")
        body.append(f"<h2>{title}</h2><ul>{items}</ul>")
    return body or ["<p>This notebook has no autograded tests.</p>"]


def _written_answers(gb: Any, assignment: str, notebook: str, student: str) -> list[str]:
    """The hand-graded answers of a notebook (formgrader's scores and comments), as HTML."""
    from nbgrader.api import MissingEntry

    try:
        submitted = gb.find_submission_notebook(notebook, assignment, student)
    except MissingEntry:
        return []
    items = []
    for grade in submitted.grades:
        if grade.cell.cell_type != "markdown":
            continue
        try:
            comment = gb.find_comment(grade.cell.name, notebook, assignment, student)
            remark = comment.manual_comment or ""
        except MissingEntry:
            remark = ""
        if grade.score is None or grade.needs_manual_grade:
            verdict = f"not graded yet / {grade.max_score:g} points"
        else:
            verdict = f"{grade.score:g} / {grade.max_score:g} points"
        note = f": {html.escape(remark)}" if remark else ""
        items.append(f"<li>{html.escape(grade.cell.name)} — {verdict}{note}</li>")
    if not items:
        return []
    return ["<h2>Written answers (graded by hand)</h2><ul>" + "".join(items) + "</ul>"]


def write_feedback(
    course: Course, assignment: str, students: list[str] | None = None
) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for every graded student
    (or only ``students``)."""
    from nbgrader.api import Gradebook

    records = _records(course, assignment)
    written = []
    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        for student, mine in sorted(records.items()):
            if students is not None and student not in students:
                continue
            for nb_name in course.notebooks(assignment):
                record = mine.get(nb_name)
                body = _notebook_feedback(record)
                if record is not None and record.status in SCORED:
                    body += _written_answers(gb, assignment, nb_name, student)
                written.append(_write_page(course, assignment, student, nb_name, body))
    return written


def _write_page(
    course: Course, assignment: str, student: str, nb_name: str, body: list[str]
) -> Path:
    title = html.escape(f"{assignment} / {nb_name} — {student}")
    out = course.root / "feedback" / student / assignment / f"{nb_name}.html"
    return write_text(out, _PAGE.format(title=title, body="\n".join(body)), course.root)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} .pass{{color:#176f2c}}
.fail{{color:#a4161a}} .sum{{font-weight:bold;list-style:none}}
li{{font-family:monospace}}</style></head>
<body><h1>{title}</h1>
<p>Each test lists its checks. Hidden cases are reported by result only.</p>
{body}
</body></html>
"""
