"""Reading results back: the gradebook table, the CSV export and per-student feedback."""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import nbformat

from .directory import Course, UserError

__all__ = ["scores", "format_table", "export_csv", "cell_report", "write_feedback", "CHECK_LINE"]

#: Lines a checker prints; feedback shows only these (never student prints,
#: which could echo hidden inputs, and never tracebacks).
CHECK_LINE = re.compile(r"^(PASS|FAIL)  .*|^[A-Za-z_]\w*: \d+/\d+ checks passed, .*")


def _status(course: Course, assignment: str) -> dict:
    path = course.state / "status" / f"{assignment}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def scores(course: Course, assignment: str) -> list[dict]:
    """One row per graded student: notebook scores, total, max and status."""
    from nbgrader.api import Gradebook, MissingEntry

    status = _status(course, assignment)
    if not status:
        raise UserError(
            f"{assignment} has not been graded yet; "
            f"run `gradkit grade {assignment} --submissions DIR`"
        )
    rows = []
    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        for student in sorted(status):
            info = status[student]
            row = {
                "student": student,
                "status": info["status"],
                "problems": "; ".join(info["notebooks"].values()),
            }
            total = max_total = 0.0
            for nb in course.notebooks(assignment):
                try:
                    sub = gb.find_submission_notebook(nb, assignment, student)
                    score, max_score = float(sub.score), float(sub.max_score)
                    if nb in info["notebooks"]:
                        score = 0.0
                except MissingEntry:
                    score, max_score = 0.0, float("nan")
                row[nb] = score
                total += score
                max_total += max_score
            row["total"], row["max"] = round(total, 3), round(max_total, 3)
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


def cell_report(cell) -> tuple[float, float, list[str]]:
    """(points earned, points possible, lines) for one executed test cell.

    Points follow nbgrader's own rule; lines are the checker's PASS/FAIL and
    summary lines plus a one-line ``ERROR`` for an exception the checker did
    not raise itself (never a traceback, never other printed text).
    """
    from nbgrader.utils import determine_grade

    score, max_points = determine_grade(cell)
    lines = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            lines += [ln for ln in out["text"].splitlines() if CHECK_LINE.match(ln)]
        elif out.get("output_type") == "error" and out.get("ename") != "GradingFailure":
            evalue = str(out.get("evalue") or "")
            lines.append(
                f"ERROR  {out.get('ename')}: {evalue.splitlines()[0][:200] if evalue else ''}"
            )
    return float(score or 0), float(max_points), lines


def _notebook_feedback(problem: str | None, path: Path) -> list[str]:
    """HTML fragments for one student's notebook: a reason it was not graded, or its tests."""
    if problem:
        return [f"<p class='fail'>Could not be graded: {html.escape(problem)}</p>"]
    if not path.is_file():
        return [
            "<p class='fail'>Could not be graded: no autograded notebook (see the instructor).</p>"
        ]
    body = []
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        score, max_points, lines = cell_report(cell)
        items = "".join(f"<li class='{_line_class(ln)}'>{html.escape(ln)}</li>" for ln in lines)
        grade_id = html.escape(meta.get("grade_id", "?"))
        body.append(f"<h2>{grade_id} — {score:g} / {max_points:g} points</h2><ul>{items}</ul>")
    return body


def _line_class(line: str) -> str:
    if line.startswith("PASS"):
        return "pass"
    return "fail" if line.startswith(("FAIL", "ERROR")) else "sum"


def write_feedback(course: Course, assignment: str) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for every graded student."""
    status = _status(course, assignment)
    if not status:
        raise UserError(f"{assignment} has not been graded yet; run `gradkit grade` first")
    written = []
    for student, info in sorted(status.items()):
        for nb_name in course.notebooks(assignment):
            path = course.root / "autograded" / student / assignment / f"{nb_name}.ipynb"
            body = _notebook_feedback(info["notebooks"].get(nb_name), path)
            title = html.escape(f"{assignment} / {nb_name} — {student}")
            out = course.root / "feedback" / student / assignment / f"{nb_name}.html"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(_PAGE.format(title=title, body="\n".join(body)))
            written.append(out)
    return written


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} .pass{{color:#176f2c}}
.fail{{color:#a4161a}} .sum{{font-weight:bold;list-style:none}}
li{{font-family:monospace}}</style></head>
<body><h1>{title}</h1>
<p>Each test lists its checks. Hidden tests are summarised by result only.</p>
{body}
</body></html>
"""
