"""PrairieLearn: an external grader (image definition, course files, entry point).

PrairieLearn copies a question's grading files into a fresh container of the image its
``info.json`` names, with the student's files in ``/grade/student/``, the question's data
in ``/grade/data/data.json`` and the course's shared files in ``/grade/serverFilesCourse/``,
runs the ``entrypoint``, and reads ``/grade/results/results.json``
(https://prairielearn.readthedocs.io/en/latest/externalGrading/).

The image holds only Python, the pinned packages and bubblewrap — nothing private, so it
may be public on Docker Hub. What is private (the full library as a wheel, the secret, the
release, the kit) goes into the course repository's ``serverFilesCourse/``, which students
never see; the entry point installs the wheel (no network) and runs :func:`main`.

PrairieLearn gives the external grader no user id: the hidden cases are keyed by the
variant's seed (``variant_seed`` in ``data.json``), so a resubmission of the same variant
draws the same hidden cases and a new variant new ones.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from .bundle import GRADER, Manifest, build_grader, read_manifest
from .run import Outcome, grade_or_fail, student_key, write_results

__all__ = ["build", "main", "results_json", "student_of"]

ROOT_ENV = "GRADKIT_AUTOGRADER_ROOT"

DOCKERFILE = """# gradkit's external grader image for PrairieLearn: Python, the pinned packages the
# grader needs and bubblewrap. Nothing private: the library with its references, the
# course secret and the release are in serverFilesCourse/{folder}/ of the course.
FROM python:{python}-slim-bookworm
RUN apt-get update \\
    && apt-get install -y --no-install-recommends bubblewrap util-linux \\
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt /opt/gradkit-requirements.txt
RUN python -m venv /opt/gradkit \\
    && /opt/gradkit/bin/pip install --no-cache-dir -r /opt/gradkit-requirements.txt
"""

RUN = """#!/usr/bin/env bash
# gradkit's PrairieLearn entry point for {assignment} (externalGradingOptions.entrypoint).
HERE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
ROOT="${{GRADKIT_AUTOGRADER_ROOT:-/grade}}"
PY="${{GRADKIT_PYTHON:-/opt/gradkit/bin/python}}"
# {policy_note}
export GRADKIT_AUTOGRADER_SANDBOX="${{GRADKIT_AUTOGRADER_SANDBOX:-{policy}}}"
# Without namespaces, a separate user grades: lock what it must not read (this container's).
export GRADKIT_AUTOGRADER_LOCK="${{GRADKIT_AUTOGRADER_LOCK:-1}}"
# A fresh container per submission: the outcome cache would be written and never read.
export GRADKIT_CACHE="${{GRADKIT_CACHE:-off}}"
if [ -z "${{GRADKIT_PYTHON:-}}" ]; then  # the library with its references: never in the image
    /opt/gradkit/bin/pip install --quiet --no-index --no-deps "$HERE"/{wheel}
fi
"$PY" -m gradkit.course.autograder.prairielearn --root "$ROOT" --grader "$HERE/grader"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then  # the grader could not even start
    mkdir -p "$ROOT/results"
    why="the grader could not start (exit status $status); ask your instructor"
    printf '{{"gradable": true, "score": 0, "message": "%s"}}\\n' "$why" \\
        > "$ROOT/results/results.json"
fi
exit 0
"""

QUESTION_HTML = """<pl-question-panel>
  <p>Upload your notebooks of {assignment}. They are graded as <code>gradkit grade</code>
  grades them: public checks, and hidden cases drawn for this variant.</p>
</pl-question-panel>
<pl-file-upload file-names="{files}"></pl-file-upload>
<pl-submission-panel>
  <pl-external-grader-results></pl-external-grader-results>
  <pl-file-preview></pl-file-preview>
</pl-submission-panel>
"""


def build(course, assignment: str, out: Path, allow_unsandboxed: bool = False) -> list[Path]:
    """Write the image definition, the course files and a question under ``out``."""
    import tempfile

    from ..directory import UserError
    from .isolation import sandbox_policy
    from .package import python_floor, requirements, write_grader_wheel

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} exists and is not an empty folder; choose another --out")
    folder = f"gradkit-{assignment}"
    with tempfile.TemporaryDirectory(prefix="gradkit-prairielearn-") as tmp:
        stage = Path(tmp) / "out"
        files = stage / "serverFilesCourse" / folder
        manifest = build_grader(course, assignment, files / GRADER)
        wheel = write_grader_wheel(files, assignment)
        run = files / "run"
        policy = sandbox_policy(allow_unsandboxed)
        run.write_text(RUN.format(assignment=assignment, wheel=wheel.name, **policy))
        run.chmod(0o755)
        python = ".".join(map(str, python_floor()))
        (stage / "Dockerfile").write_text(DOCKERFILE.format(folder=folder, python=python))
        (stage / "requirements.txt").write_text("\n".join(requirements()) + "\n")
        question = stage / "questions" / folder
        question.mkdir(parents=True)
        info = {
            "uuid": "REPLACE-WITH-A-UUID",
            "title": f"{assignment} (gradkit)",
            "topic": assignment,
            "type": "v3",
            "singleVariant": False,
            "gradingMethod": "External",
            "externalGradingOptions": {
                "enabled": True,
                "image": f"REPLACE-WITH-YOUR-IMAGE/gradkit-{assignment}",
                "serverFilesCourse": [f"{folder}/"],
                "entrypoint": f"/grade/serverFilesCourse/{folder}/run",
                "timeout": 1200,
            },
        }
        (question / "info.json").write_text(json.dumps(info, indent=2) + "\n")
        names = ", ".join(f"{nb}.ipynb" for nb in manifest.notebooks)
        (question / "question.html").write_text(
            QUESTION_HTML.format(assignment=assignment, files=names)
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.rmdir()
        shutil.copytree(stage, out, symlinks=False)
    os.chmod(out / "serverFilesCourse" / folder / GRADER / "secret", 0o600)
    return [out / "Dockerfile", out / "serverFilesCourse" / folder, question_path(out, folder)]


def question_path(out: Path, folder: str) -> Path:
    return Path(out) / "questions" / folder


def student_of(data_json: Path) -> tuple[str, str]:
    """(student key, a note or ''): the variant's seed, PrairieLearn's stable key of a
    student's attempt at a question (the external grader is given no user id)."""
    try:
        data = json.loads(Path(data_json).read_text(encoding="utf-8"))
        seed = data["variant_seed"]
        if seed in (None, ""):
            raise ValueError("variant_seed is empty")
        return student_key(f"variant-{seed}"), ""
    except (OSError, ValueError, KeyError, TypeError) as exc:
        why = f"{type(exc).__name__}: {exc}"[:120]
        return "unknown", f"no variant seed in {data_json} ({why}): hidden cases of 'unknown'"


def results_json(outcome: Outcome, seconds: float) -> dict:
    """PrairieLearn's results: ``score`` in [0, 1], one test per entry."""
    tests = [
        {
            "name": e.name,
            "points": e.score,
            "max_points": e.max_score,
            "output": e.output,
            "message": "hidden cases: pass or fail only, never their inputs" if e.hidden else "",
        }
        for e in outcome.entries
    ]
    lines = [outcome.summary(), *outcome.lines]
    if outcome.mode:
        lines.append(f"grading: {outcome.mode}")
    fraction = outcome.score / outcome.max_score if outcome.max_score > 0 else 0.0
    return {
        "gradable": True,
        "score": min(1.0, max(0.0, round(fraction, 6))),
        "message": "\n".join(lines),
        "output": f"graded in {seconds:.0f} s",
        "tests": tests,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gradkit-prairielearn")
    parser.add_argument("--root", default=os.environ.get(ROOT_ENV, "/grade"))
    parser.add_argument("--grader", required=True)
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    grader = Path(args.grader)
    results = root / "results" / "results.json"
    started = time.monotonic()
    unfinished = {"gradable": True, "score": 0, "message": "grading did not finish"}
    write_results(results, root, unfinished)
    try:
        manifest: Manifest | None = read_manifest(grader)
    except Exception as exc:  # the course files are broken: say so, score 0
        manifest = None
        reason = f"the autograder is broken: {exc}"[:300]
    if manifest is None:
        write_results(results, root, {"gradable": True, "score": 0, "message": reason, "tests": []})
        return 0
    student, note = student_of(root / "data" / "data.json")
    private = [grader.parent, root / "results"]  # the course's files, the results folder
    outcome = grade_or_fail(manifest, grader, root / "student", student, note, private)
    write_results(results, root, results_json(outcome, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
