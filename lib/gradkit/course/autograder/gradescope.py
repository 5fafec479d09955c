"""Gradescope: ``autograder.zip`` and its ``run_autograder`` entry point.

Gradescope unzips the upload into ``/autograder/source``, runs ``setup.sh`` once when it
builds the image (with network), and for each submission runs
``/autograder/run_autograder`` (copied from the zip's top level) with the student's files
in ``/autograder/submission/`` and ``/autograder/submission_metadata.json``; it reads
``/autograder/results/results.json`` afterwards
(https://gradescope-autograders.readthedocs.io/en/latest/specs/).

:func:`main` is what ``run_autograder`` runs. It writes a results file saying "grading did
not finish" before anything else, grades with :func:`.run.grade_submission` (the student
key is the Gradescope user id, so a resubmission draws the same hidden cases), and
replaces the file, atomically and without following a link, once every kernel is gone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zipfile
from pathlib import Path

from .bundle import GRADER, Manifest, build_grader, read_manifest
from .run import Outcome, grade_or_fail, student_key, write_results

__all__ = ["build", "main", "results_json", "student_of"]

ROOT_ENV = "GRADKIT_AUTOGRADER_ROOT"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
_EPOCH = (1980, 1, 1, 0, 0, 0)

SETUP = """#!/usr/bin/env bash
# gradkit autograder for {assignment}: Gradescope runs this once, with network, when it
# builds the image. Grading itself needs no network.
set -euo pipefail
cd /autograder/source
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap util-linux
if ! python3 -c 'import sys; sys.exit(sys.version_info < {floor})'; then
    echo "gradkit's pinned packages need Python >= {floor_text}:" \
        "choose the Ubuntu 24.04 base image" >&2
    exit 1
fi
python3 -m venv /opt/gradkit
if [ -d wheels ]; then  # packed with: pip download -r requirements.txt -d wheels
    /opt/gradkit/bin/pip install --no-index --find-links wheels -r requirements.txt
else
    /opt/gradkit/bin/pip install -r requirements.txt
fi
/opt/gradkit/bin/pip install --no-deps {wheel}
chmod -R go-rwx /autograder/source/grader
"""

RUN = """#!/usr/bin/env bash
# gradkit autograder for {assignment}: Gradescope runs this for every submission.
ROOT="${{GRADKIT_AUTOGRADER_ROOT:-/autograder}}"
PY="${{GRADKIT_PYTHON:-/opt/gradkit/bin/python}}"
# {policy_note}
export GRADKIT_AUTOGRADER_SANDBOX="${{GRADKIT_AUTOGRADER_SANDBOX:-{policy}}}"
# Without namespaces, a separate user grades: lock what it must not read (this container's).
export GRADKIT_AUTOGRADER_LOCK="${{GRADKIT_AUTOGRADER_LOCK:-1}}"
# A fresh container per submission: the outcome cache would be written and never read.
export GRADKIT_CACHE="${{GRADKIT_CACHE:-off}}"
"$PY" -m gradkit.course.autograder.gradescope --root "$ROOT" --grader "$ROOT/source/grader" \\
    --hidden-visibility {hidden}
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then  # the grader could not even start
    mkdir -p "$ROOT/results"
    why="the grader could not start (exit status $status); ask your instructor"
    printf '{{"score": 0, "output": "%s"}}\\n' "$why" > "$ROOT/results/results.json"
fi
exit 0
"""


def build(
    course, assignment: str, out: Path, hidden: str = "after_published", allow_unsandboxed=False
) -> Path:
    """Write ``out/autograder.zip``; return its path."""
    import tempfile

    from ..directory import UserError
    from .isolation import sandbox_policy
    from .package import python_floor, requirements, write_grader_wheel

    if hidden not in VISIBILITIES:
        raise UserError(
            f"--hidden-visibility must be one of {', '.join(VISIBILITIES)}; got {hidden!r}"
        )
    out = Path(out)
    target = out / "autograder.zip"
    if target.exists():
        raise UserError(f"{target} exists; remove it or choose another --out")
    with tempfile.TemporaryDirectory(prefix="gradkit-gradescope-") as tmp:
        stage = Path(tmp)
        build_grader(course, assignment, stage / GRADER)
        wheel = write_grader_wheel(stage, assignment)
        floor = python_floor()
        files = {
            "setup.sh": SETUP.format(
                assignment=assignment,
                wheel=wheel.name,
                floor=floor,
                floor_text=".".join(map(str, floor)),
            ),
            "run_autograder": RUN.format(
                assignment=assignment, hidden=hidden, **sandbox_policy(allow_unsandboxed)
            ),
            "requirements.txt": "\n".join(requirements()) + "\n",
        }
        out.mkdir(parents=True, exist_ok=True)
        partial = out / ".autograder.zip.partial"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in files.items():
                _add(zf, name, text.encode(), 0o755 if name != "requirements.txt" else 0o644)
            _add(zf, wheel.name, wheel.read_bytes(), 0o644)
            for path in sorted((stage / GRADER).rglob("*")):
                if path.is_file():
                    mode = 0o600 if path.name == "secret" else 0o644
                    _add(zf, path.relative_to(stage).as_posix(), path.read_bytes(), mode)
        partial.chmod(0o600)  # it holds the course secret
        partial.rename(target)
    return target


def _add(zf: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def student_of(metadata: Path) -> tuple[str, str]:
    """(student key, a note or ''): the Gradescope user id(s) of the submission."""
    try:
        data = json.loads(Path(metadata).read_text(encoding="utf-8"))
        ids = sorted(str(u["id"]) for u in data["users"])
        if not ids:
            raise ValueError("no users")
        return student_key("+".join(ids)), ""
    except (OSError, ValueError, KeyError, TypeError) as exc:
        why = f"{type(exc).__name__}: {exc}"[:120]
        return "unknown", f"no user id in {metadata} ({why}): hidden cases of student 'unknown'"


def results_json(outcome: Outcome, seconds: float, hidden: str = "after_published") -> dict:
    """Gradescope's results: one test per entry, the total, the notebooks' statuses."""
    tests = [
        {
            "name": e.name,
            "score": e.score,
            "max_score": e.max_score,
            "status": "passed" if e.score >= e.max_score else "failed",
            "output": e.output,
            "visibility": hidden if e.hidden else "visible",
        }
        for e in outcome.entries
    ]
    lines = [outcome.summary(), *outcome.lines]
    if outcome.mode:
        lines.append(f"grading: {outcome.mode}")
    return {
        "score": outcome.score,
        "execution_time": round(seconds),
        "output": "\n".join(lines),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_autograder")
    parser.add_argument("--root", default=os.environ.get(ROOT_ENV, "/autograder"))
    parser.add_argument("--grader", default="")
    parser.add_argument("--hidden-visibility", default="after_published", choices=VISIBILITIES)
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    grader = Path(args.grader) if args.grader else root / "source" / GRADER
    results = root / "results" / "results.json"
    started = time.monotonic()
    write_results(
        results, root, {"score": 0, "output": "grading did not finish; ask your instructor"}
    )
    try:
        manifest: Manifest | None = read_manifest(grader)
    except Exception as exc:  # the artifact itself is broken: say so, score 0
        manifest = None
        reason = f"the autograder is broken: {exc}"[:300]
    student, note = student_of(root / "submission_metadata.json")
    if manifest is None:
        write_results(results, root, {"score": 0, "output": reason, "tests": []})
        return 0
    # A kernel of the separate-user mode must reach neither the upload (the secret, the
    # wheel with the reference) nor the results folder.
    private = [grader.parent, root / "results"]
    outcome = grade_or_fail(manifest, grader, root / "submission", student, note, private)
    write_results(
        results, root, results_json(outcome, time.monotonic() - started, args.hidden_visibility)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
