"""Reading results back: the gradebook table, the CSV export and per-student feedback."""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import nbformat

from .paths import Course, UserError

__all__ = ["scores", "format_table", "export_csv", "write_feedback", "CHECK_LINE"]

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
        raise UserError(f"{assignment} has not been graded yet; run `gradkit grade {assignment} --submissions DIR`")
    rows = []
    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        for student in sorted(status):
            info = status[student]
            row = {"student": student, "status": info["status"], "problems": "; ".join(info["notebooks"].values())}
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
    table = [[str(r.get(c, "")) if not isinstance(r.get(c), float) else f"{r[c]:g}" for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) if table else len(c) for i, c in enumerate(cols)]
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


def _cell_report(cell) -> tuple[str, list[str]]:
    """(points text, lines) for one autograded test cell."""
    from nbgrader.utils import determine_grade

    score, max_points = determine_grade(cell)
    lines = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            lines += [ln for ln in out["text"].splitlines() if CHECK_LINE.match(ln)]
        elif out.get("output_type") == "error":
            if out.get("ename") == "GradingFailure":
                continue
            lines.append(f"ERROR  {out.get('ename')}: {str(out.get('evalue', '')).splitlines()[0][:200] if out.get('evalue') else ''}")
    return f"{score if score is not None else 0:g} / {max_points:g}", lines


def write_feedback(course: Course, assignment: str) -> list[Path]:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` for every graded student."""
    status = _status(course, assignment)
    if not status:
        raise UserError(f"{assignment} has not been graded yet; run `gradkit grade` first")
    written = []
    for student, info in sorted(status.items()):
        for nb_name in course.notebooks(assignment):
            path = course.root / "autograded" / student / assignment / f"{nb_name}.ipynb"
            body = []
            if nb_name in info["notebooks"]:
                body.append(f"<p class='fail'>Could not be graded: {html.escape(info['notebooks'][nb_name])}</p>")
            elif not path.is_file():
                body.append("<p class='fail'>Could not be graded: no autograded notebook (see the instructor).</p>")
            else:
                nb = nbformat.read(str(path), as_version=4)
                for cell in nb.cells:
                    meta = cell.metadata.get("nbgrader", {})
                    if cell.cell_type != "code" or not meta.get("grade"):
                        continue
                    pts, lines = _cell_report(cell)
                    items = "".join(
                        f"<li class='{'pass' if ln.startswith('PASS') else 'fail' if ln[:4] in ('FAIL', 'ERRO') else 'sum'}'>"
                        f"{html.escape(ln)}</li>" for ln in lines)
                    body.append(f"<h2>{html.escape(meta.get('grade_id', '?'))} — {pts} points</h2><ul>{items}</ul>")
            out = course.root / "feedback" / student / assignment / f"{nb_name}.html"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(_PAGE.format(title=html.escape(f"{assignment} / {nb_name} — {student}"), body="\n".join(body)))
            written.append(out)
    return written


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} .pass{{color:#176f2c}}
.fail{{color:#a4161a}} .sum{{font-weight:bold;list-style:none}} li{{font-family:monospace}}</style></head>
<body><h1>{title}</h1>
<p>Each test lists its checks. Hidden tests are summarised by result only.</p>
{body}
</body></html>
"""
