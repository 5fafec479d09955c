"""Reading results back: the gradebook table, the CSV export and per-student feedback.

Scores come from nbgrader's gradebook; statuses and the per-check results
from gradkit's records in the same file (:mod:`gradkit.course.results`).
Both are written from the same test-cell outputs, so the feedback and the
gradebook agree.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Any

from .directory import Course, UserError
from .results import SCORED, NotebookRecord, load

__all__ = ["scores", "format_table", "export_csv", "export_canvas_csv", "write_feedback"]


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


def scores(course: Course, assignment: str) -> list[dict]:
    """One row per student: each notebook's score, total, max, status and problems."""
    from nbgrader.api import Gradebook, MissingEntry

    records = _records(course, assignment)
    rows = []
    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        maxima = {nb.name: float(nb.max_score) for nb in gb.find_assignment(assignment).notebooks}
        for student in sorted(records):
            mine = records[student]
            row: dict = {
                "student": student,
                "status": _student_status(mine),
                "problems": "; ".join(r.note for r in mine.values() if r.note),
            }
            total = 0.0
            for nb in course.notebooks(assignment):
                score = 0.0
                record = mine.get(nb)
                if record is not None and record.status in SCORED:
                    try:
                        score = float(gb.find_submission_notebook(nb, assignment, student).score)
                    except MissingEntry:
                        score = 0.0
                row[nb] = score
                total += score
            row["total"] = round(total, 3)
            row["max"] = round(sum(maxima.get(nb, 0.0) for nb in course.notebooks(assignment)), 3)
            rows.append(row)
    return rows


def format_table(rows: list[dict], notebooks: list[str]) -> str:
    cols = ["student", *notebooks, "total", "max", "status"]
    table = [
        [str(r.get(c, "")) if not isinstance(r.get(c), float) else f"{r[c]:g}" for c in cols]
        for r in rows
    ]
    widths = [
        max(len(c), *(len(t[i]) for t in table)) if table else len(c) for i, c in enumerate(cols)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(t, widths)) for t in table]
    return "\n".join(lines)


def export_csv(course: Course, assignment: str, path: Path) -> Path:
    rows = scores(course, assignment)
    cols = ["student", *course.notebooks(assignment), "total", "max", "status", "problems"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def export_canvas_csv(course: Course, assignment: str, path: Path) -> Path:
    """The totals in the layout of Canvas's gradebook import.

    Canvas matches a row to a student by ``SIS Login ID``, which is the student's
    folder name (or zip prefix) here; the assignment column is named after the
    assignment and the ``Points Possible`` row gives its maximum.
    """
    rows = scores(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment]
    maximum = rows[0]["max"] if rows else 0
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerow(["Points Possible", "", "", "", "", f"{maximum:g}"])
        for row in rows:
            writer.writerow([row["student"], "", "", row["student"], "", f"{row['total']:g}"])
    return path


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
            f"<li>cell {int(i.get('cell', 0))}: {html.escape(str(i.get('kind', '')))}"
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


def write_feedback(course: Course, assignment: str) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for every graded student."""
    from nbgrader.api import Gradebook

    records = _records(course, assignment)
    written = []
    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        for student, mine in sorted(records.items()):
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
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_PAGE.format(title=title, body="\n".join(body)))
    return out


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
