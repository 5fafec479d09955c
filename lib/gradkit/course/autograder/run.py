"""Grade one platform submission with ``gradkit grade`` itself, and say what came of it.

:func:`grade_submission` builds a throwaway course around the submission (the grader's
half of the artifact, :mod:`.bundle`, copied into a private temporary folder; the
submitted notebooks as ``submissions/<student>/``) and calls
:func:`gradkit.course.grade.grade`, the very function ``gradkit grade`` runs: the same
LMS-name matching, sanitizing, kernels, hidden cases (seeded by the course secret and the
student id the platform gives), statuses and scores. :class:`Outcome` is what every
platform's results file is written from: one :class:`Entry` per graded test (split in its
public checks and its hidden cases), a line per notebook (status, incidents, reason).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..directory import Course
from ..results import SCORED, NotebookRecord
from ..submissions import MAX_NOTEBOOK_BYTES
from .bundle import Manifest, read_manifest

__all__ = ["Entry", "Outcome", "failed", "grade_submission", "student_key"]

#: At most this many notebooks are taken from a submission (others are named, not graded).
MAX_FILES = 50


@dataclass
class Entry:
    """One test as a platform shows it: the public part of a graded function, or its
    hidden cases (``hidden``)."""

    notebook: str
    test: str
    score: float
    max_score: float
    lines: list[str]
    hidden: bool = False

    @property
    def name(self) -> str:
        return f"{self.notebook}: {self.test}" + (" (hidden cases)" if self.hidden else "")

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Outcome:
    """A submission's grade: entries, one line per notebook, and the total."""

    student: str
    entries: list[Entry] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    score: float = 0.0
    max_score: float = 0.0
    manual: float = 0.0
    mode: str = ""

    def summary(self) -> str:
        text = f"{self.score:g}/{self.max_score:g} points from the autograder"
        if self.manual:
            text += f"; {self.manual:g} points of written answers are graded by hand"
        return text


def student_key(raw: object) -> str:
    """A student id as a folder name (the key of the hidden cases): plain characters only."""
    text = re.sub(r"[^A-Za-z0-9_.@+-]", "_", str(raw)).lstrip(".")[:100]
    return text or "unknown"


def _zero(manifest: Manifest, notebook: str, why: str) -> list[Entry]:
    return [
        Entry(notebook, test, 0.0, points, [f"0/{points:g}: {why}"])
        for test, points in manifest.tests[notebook]
    ]


def failed(manifest: Manifest, student: str, why: str) -> Outcome:
    """Every test at 0 with the one-line reason (grading could not run at all)."""
    out = Outcome(student, max_score=manifest.max_score, manual=sum(manifest.manual.values()))
    for notebook in manifest.notebooks:
        out.entries += _zero(manifest, notebook, why)
        out.lines.append(f"{notebook}.ipynb: could not be graded: {why}")
    return out


def _entries(manifest: Manifest, notebook: str, record: NotebookRecord) -> list[Entry]:
    """The entries of one graded notebook: each test's public checks, then its hidden cases
    as a second entry; the two scores add up to the test's score in ``gradkit grade``."""
    results = {r.test: r for r in record.tests}
    out = []
    for test, points in manifest.tests[notebook]:
        r = results.get(test)
        if r is None:
            out.append(Entry(notebook, test, 0.0, points, [f"0/{points:g}: no result"]))
            continue
        public = [c for c in r.checks if not c.hidden]
        hidden = [c for c in r.checks if c.hidden]
        total = r.total_weight
        lines = [c.line() for c in public]
        lines += [f"FAIL  {r.problem}"] if r.problem else []
        lines += [f"NOTE  {r.note}"] if r.note else []
        if not hidden or total <= 0:
            out.append(Entry(notebook, test, r.score, r.points, [*lines, r.summary()]))
            continue
        hidden_max = round(r.points * sum(c.weight for c in hidden) / total, 3)
        hidden_score = (
            0.0 if r.problem else round(r.points * sum(c.earned for c in hidden) / total, 3)
        )
        public_score = round(r.score - hidden_score, 3)
        out.append(Entry(notebook, test, public_score, round(r.points - hidden_max, 3), lines))
        out.append(
            Entry(notebook, test, hidden_score, hidden_max, [c.line() for c in hidden], hidden=True)
        )
    return out


def outcome_of(manifest: Manifest, student: str, records: dict[str, NotebookRecord]) -> Outcome:
    out = Outcome(student, max_score=manifest.max_score, manual=sum(manifest.manual.values()))
    for notebook in manifest.notebooks:
        record = records.get(notebook)
        if record is None:
            why = f"{notebook}.ipynb was not graded"
            out.entries += _zero(manifest, notebook, why)
            out.lines.append(f"{notebook}.ipynb: {why}")
            continue
        line = f"{notebook}.ipynb: {record.status}" + (f" ({record.note})" if record.note else "")
        out.lines.append(line)
        if record.status in SCORED:
            out.entries += _entries(manifest, notebook, record)
            out.score += record.score
        else:
            out.entries += _zero(manifest, notebook, f"{record.status}: {record.note}"[:300])
    out.score = round(out.score, 3)
    return out


class _PlatformCourse(Course):
    """The throwaway course: its assignment and notebooks come from the manifest (there is
    no ``solutions/``), its secret is always its own file."""

    def __init__(self, root: Path, manifest: Manifest):
        super().__init__(root)
        self.manifest = manifest

    def assignments(self) -> list[str]:
        return [self.manifest.assignment]

    def notebooks(self, assignment: str) -> list[str]:
        return self.manifest.notebooks

    @property
    def secret_file(self) -> Path:
        return self.state / "secret"


def _copy_notebooks(source: Path, dest: Path) -> list[str]:
    """Copy the submission's notebooks (any depth, no link followed, no hidden folder) into
    ``dest``; return notes on what was left out."""
    notes, taken = [], 0
    dest.mkdir(parents=True)
    for folder, dirs, files in os.walk(source, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__MACOSX")))
        for name in sorted(files):
            path = Path(folder) / name
            if not name.endswith(".ipynb") or name.startswith("."):
                continue
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode):
                notes.append(f"{path.relative_to(source)} is not a regular file: skipped")
            elif (dest / name).exists():
                notes.append(f"{path.relative_to(source)}: a notebook of that name came first")
            elif info.st_size > MAX_NOTEBOOK_BYTES:  # named, not copied
                notes.append(
                    f"{path.relative_to(source)} holds {info.st_size} bytes, over the "
                    f"{MAX_NOTEBOOK_BYTES} a notebook may: skipped"
                )
            elif taken >= MAX_FILES:
                notes.append(f"{path.relative_to(source)}: over {MAX_FILES} notebooks: skipped")
            else:
                shutil.copyfile(path, dest / name, follow_symlinks=False)
                taken += 1
    return notes


def grade_submission(
    grader: Path, submission: Path, student: str, sandbox: bool, separate_user: bool = False
) -> Outcome:
    """Grade the notebooks under ``submission`` as ``student`` with ``gradkit grade``
    (sandboxed, or with ``separate_user`` each kernel as a user of its own, or neither)."""
    import json

    from ..grade import grade

    manifest = read_manifest(grader)
    grader = Path(grader)
    with tempfile.TemporaryDirectory(prefix="gradkit-platform-") as tmp:  # mode 0700
        root = Path(tmp) / "course"
        shutil.copytree(grader / "course", root)
        (root / ".gradkit").mkdir(mode=0o700)
        shutil.copyfile(grader / "secret", root / ".gradkit" / "secret")
        os.chmod(root / ".gradkit" / "secret", 0o600)
        folder = Path(tmp) / "submissions"
        notes = _copy_notebooks(Path(submission), folder / student)
        isolated = sandbox or separate_user
        kit = json.loads((grader / "kit.json").read_text()) if isolated else None
        records = grade(
            _PlatformCourse(root, manifest),
            manifest.assignment,
            folder,
            sandbox=sandbox,
            separate_user=separate_user,
            progress=False,
            kit=kit,
        )
    out = outcome_of(manifest, student, records.get(student, {}))
    out.lines += notes
    return out


def write_results(path: Path, root: Path, data: dict) -> None:
    """Write a platform's results file whole (atomic, no link followed below ``root``)."""
    import json

    from ..safe_write import write_text

    write_text(path, json.dumps(data, indent=1) + "\n", root)


def grade_or_fail(
    manifest: Manifest,
    grader: Path,
    submission: Path,
    student: str,
    note: str,
    private: list[Path] | None = None,
) -> Outcome:
    """Grade under the isolation this container allows; if nothing could be graded, every
    test at 0 with the reason. ``note`` (about the student key) joins the outcome's lines;
    ``private`` are the platform's paths a kernel must not reach
    (:func:`.isolation.choose`)."""
    try:
        from .isolation import choose

        isolation = choose(private)
        outcome = grade_submission(
            grader, submission, student, isolation.sandbox, isolation.separate_user
        )
        outcome.mode = isolation.line
    except Exception as exc:  # nothing graded: every test at 0 with the reason
        outcome = failed(manifest, student, f"{type(exc).__name__}: {exc}"[:300])
    if note:
        outcome.lines.append(note)
    return outcome
