"""`gradkit report`: what the class got right and wrong, to decide what to re-teach.

One HTML page per assignment: for each test, a histogram of the scores of
every graded student and its mean; then the catalogued mistakes the engine
diagnosed, most frequent first ("41 % of the class: svm_loss_vectorized —
your dW equals the reference's without the 1/N average …"), and the checks
failed most often without a diagnosis; the answers still waiting for a
grader in formgrader (their points are not in the scores yet), and the
roster's students who submitted nothing. Everything comes from the structured
results and nbgrader's grades in the gradebook; nothing is re-parsed.
"""

from __future__ import annotations

import html
import os
from collections import Counter, defaultdict
from pathlib import Path

from ..grading.specs import all_specs
from .directory import Course, UserError
from .report import MISSING, pending_summary
from .report import scores as student_rows
from .results import SCORED, load
from .safe_write import write_text

__all__ = ["write_class_report", "mistake_counts"]

_BINS = 5


def mistake_counts(course: Course, assignment: str) -> tuple[int, Counter]:
    """(students graded, Counter of (test, mistake id) -> students who made it)."""
    records = load(course.db_path, assignment)
    counts: Counter = Counter()
    graded = 0
    for mine in records.values():
        scored = [r for r in mine.values() if r.status in SCORED]
        if not scored:
            continue
        graded += 1
        for record in scored:
            for test in record.tests:
                for mistake in {c.mistake for c in test.checks if c.mistake}:
                    counts[(test.test, mistake)] += 1
    return graded, counts


def _histogram(scores: list[float], points: float) -> str:
    """An inline SVG bar chart of scores in 5 bins from 0 to ``points``."""
    counts = [0] * _BINS
    for s in scores:
        i = 0 if points <= 0 else min(int(_BINS * s / points), _BINS - 1)
        counts[i] += 1
    top = max(counts) or 1
    bars = []
    for i, n in enumerate(counts):
        height = 60 * n / top
        low, high = points * i / _BINS, points * (i + 1) / _BINS
        bars.append(
            f"<rect x='{i * 44 + 2}' y='{70 - height:.1f}' width='40' height='{height:.1f}' "
            f"fill='#3b6ea5'><title>{low:g}–{high:g} points: {n}</title></rect>"
            f"<text x='{i * 44 + 22}' y='84' font-size='9' text-anchor='middle'>"
            f"{low:g}–{high:g}</text>"
            f"<text x='{i * 44 + 22}' y='{66 - height:.1f}' font-size='9' "
            f"text-anchor='middle'>{n}</text>"
        )
    return f"<svg width='224' height='90' role='img'>{''.join(bars)}</svg>"


def _headline(graded: int, records: int, students: list[dict]) -> str:
    """Who was graded, who is missing, and whether the scores are final."""
    absent = sum(r["status"] == MISSING for r in students)
    text = f"{graded} students autograded ({records} notebook records)"
    who = "student" if absent == 1 else "students"
    text += f"; {absent} {who} of the roster submitted nothing" if absent else ""
    waiting = pending_summary(students)
    final = (
        f"<p class='pending'><b>Not final yet:</b> {html.escape(waiting)}.</p>"
        if waiting
        else "<p>No answer awaits hand grading.</p>"
    )
    return f"<p>{text}.</p>{final}"


def _pending_list(students: list[dict]) -> str:
    items = [
        f"<li>{html.escape(r['name'] + ' (' + r['student'] + ')' if r['name'] else r['student'])}"
        f": {r['pending_manual']}</li>"
        for r in students
        if r["pending_manual"]
    ]
    return "".join(items) or "<li>none</li>"


def write_class_report(course: Course, assignment: str, path: Path) -> Path:
    records = load(course.db_path, assignment)
    if not records:
        raise UserError(f"{assignment} has not been graded yet; run `gradkit grade` first")
    by_test: dict[str, list[float]] = defaultdict(list)
    points: dict[str, float] = {}
    failures: Counter = Counter()
    for mine in records.values():
        for record in mine.values():
            if record.status not in SCORED:
                continue
            for test in record.tests:
                by_test[test.test].append(test.score)
                points[test.test] = test.points
                for check in test.checks:
                    if not check.passed and not check.mistake and not check.hidden:
                        failures[(test.test, check.name)] += 1
    graded, counts = mistake_counts(course, assignment)
    messages = {
        (name, m.id): m.message for name, spec in all_specs().items() for m in spec.mistakes
    }
    rows = []
    for name, scores in by_test.items():
        mean = sum(scores) / len(scores)
        chart = _histogram(scores, points[name])
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{len(scores)}</td>"
            f"<td>{mean:.2f} / {points[name]:g}</td><td>{chart}</td></tr>"
        )
    mistakes = [
        f"<li><b>{100 * n / graded:.0f} %</b> of the class ({n} of {graded}): "
        f"<code>{html.escape(name)}</code> — {html.escape(messages.get((name, mid), mid))}</li>"
        for (name, mid), n in counts.most_common(15)
    ]
    undiagnosed = [
        f"<li>{n} × <code>{html.escape(name)}</code>: {html.escape(check)}</li>"
        for (name, check), n in failures.most_common(10)
    ]
    students = student_rows(course, assignment)
    body = (
        f"<h1>{html.escape(assignment)} — class report</h1>"
        + _headline(graded, sum(len(m) for m in records.values()), students)
        + "<h2>Scores per test</h2><table><tr><th>test</th><th>students</th><th>mean</th>"
        f"<th>distribution</th></tr>{''.join(rows)}</table>"
        "<h2>Most frequent diagnosed mistakes</h2>"
        f"<ul>{''.join(mistakes) or '<li>none</li>'}</ul>"
        "<h2>Checks failed most often without a diagnosis</h2>"
        f"<ul>{''.join(undiagnosed) or '<li>none</li>'}</ul>"
        "<h2>Answers awaiting hand grading in formgrader</h2>"
        f"<ul>{_pending_list(students)}</ul>"
    )
    path = Path(os.path.abspath(path))  # links on the way are for write_text to refuse
    inside = path.is_relative_to(course.root)
    write_text(
        Path(path),
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(assignment)} class report</title><style>body{{font-family:sans-serif;"
        "max-width:60em;margin:2em auto} td{padding:2px 8px;vertical-align:middle}</style>"
        f"</head><body>{body}</body></html>\n",
        course.root if inside else None,
    )
    return path
