"""`gradkit grade`: autograde a folder (or LMS zip) of submissions into the gradebook.

Grading happens in a temporary staging course outside the course directory:
only copies of the submissions are there (never the originals, never
solutions/ or the secret), so student code, which runs with the grader's
permissions, finds nothing of the instructor's by relative path. The
gradebook and the results are then brought back into the course.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat

from .directory import Course, UserError
from .release import nbgrader_api
from .results import (
    GRADED,
    NOT_GRADED,
    NOT_SUBMITTED,
    NotebookRecord,
    results_from_notebook,
    save,
)

__all__ = ["collect_submissions", "grade"]

# Variables a student's kernel must not inherit from the grader.
_SCRUBBED_ENV = ("PWD", "OLDPWD", "GRADKIT_SECRET_FILE", "GRADKIT_COURSE")


def _student_ok(name: str) -> bool:
    return bool(name) and not name.startswith(".") and name not in ("__MACOSX",)


def collect_submissions(source: Path, assignment: str, notebooks: list[str], workdir: Path) -> dict:
    """Map student -> {notebook name: path} from a folder or an LMS zip.

    Layouts: ``DIR/<student>/<notebook>.ipynb``, ``DIR/<student>/<assignment>/<notebook>.ipynb``,
    or a zip of either, or a flat zip of ``<student>_<anything>_<notebook>.ipynb`` (LMS export).
    """
    source = Path(source)
    if not source.exists():
        raise UserError(
            f"submissions {source} not found; "
            "pass a folder with one sub-folder per student, or a zip"
        )
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise UserError(f"{source} is neither a folder nor a zip file")
        target = workdir / "unzipped"
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist():
                parts = Path(info.filename).parts
                if info.is_dir() or ".." in parts or Path(info.filename).is_absolute():
                    continue
                dest = target.joinpath(*parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(info))
        source = target
        flat = [p for p in source.iterdir() if p.is_file() and p.suffix == ".ipynb"]
        if flat:
            return _collect_flat(flat, notebooks)
    found = {}
    for sdir in sorted(p for p in source.iterdir() if p.is_dir() and _student_ok(p.name)):
        base = sdir / assignment if (sdir / assignment).is_dir() else sdir
        nbs = {p.stem: p for p in base.glob("*.ipynb") if p.stem in notebooks}
        found[sdir.name] = nbs
    if not found:
        raise UserError(
            f"no student folders in {source}; expected {source}/<student>/<notebook>.ipynb"
        )
    return found


def _collect_flat(files, notebooks):
    found: dict = {}
    for p in sorted(files):
        match = next(
            (n for n in sorted(notebooks, key=len, reverse=True) if p.stem.endswith(n)), None
        )
        student = p.stem.split("_", 1)[0]
        if match and _student_ok(student):
            found.setdefault(student, {})[match] = p
    if not found:
        raise UserError(
            "no file in the zip ends with a notebook name of the assignment "
            f"({', '.join(notebooks)})"
        )
    return found


def _problem(path: Path) -> str:
    """Why a submitted notebook cannot be graded, or '' when it can."""
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # any parse/validation failure means: cannot grade
        first = str(exc).splitlines()[0][:120] if str(exc) else ""
        return f"{path.name} is not a valid notebook ({type(exc).__name__}: {first})"
    return ""


@contextmanager
def _scrubbed_env():
    saved = {k: os.environ.pop(k) for k in _SCRUBBED_ENV if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def grade(
    course: Course,
    assignment: str,
    submissions: Path,
    timeout: float | None = None,
    progress: bool = True,
) -> dict[str, dict[str, NotebookRecord]]:
    """Autograde every submission; return student -> notebook -> record.

    Submitted files are only read. Results go to the gradebook (nbgrader's
    scores and gradkit's records, see :mod:`gradkit.course.results`) and to
    ``autograded/`` in the course.
    """
    from tqdm.auto import tqdm

    course.require_assignment(assignment)
    secret = course.require_secret()
    notebooks = course.notebooks(assignment)
    if not course.db_path.is_file() or not (course.assignments_dir / assignment).is_dir():
        raise UserError(
            f"{assignment} was never released here; run `gradkit release {assignment}` first"
        )
    records: dict[str, dict[str, NotebookRecord]] = {}
    with tempfile.TemporaryDirectory(prefix="gradkit-grade-") as tmp_name:
        tmp = Path(tmp_name)
        found = collect_submissions(Path(submissions), assignment, notebooks, tmp)
        staging = tmp / "course"
        overrides: dict[str, dict[str, Any]] = {
            "GradkitExecute": {"secret_file": str(secret)},
            "CourseDirectory": {"db_url": f"sqlite:///{course.db_path}"},
        }
        if timeout is not None:
            overrides["Execute"] = {"timeout": int(timeout)}
        # IPC sockets with an absolute, private prefix: no TCP port collisions
        # between concurrent graders, and no unencrypted-TCP warning.
        (tmp / "ipc").mkdir()
        overrides["KernelManager"] = {"transport": "ipc", "ip": str(tmp / "ipc" / "kernel")}
        for student, nbs in found.items():
            dest = staging / "submitted" / student / assignment
            dest.mkdir(parents=True)
            records[student] = {}
            for name in notebooks:
                path = nbs.get(name)
                why = _problem(path) if path is not None else ""
                if path is None:
                    records[student][name] = NotebookRecord(
                        NOT_SUBMITTED, f"{name}.ipynb was not submitted"
                    )
                elif why:
                    records[student][name] = NotebookRecord(NOT_GRADED, why)
                else:
                    shutil.copyfile(path, dest / f"{name}.ipynb")
        api = nbgrader_api(course, root=staging, **overrides)
        bar = tqdm(list(found), desc=f"grading {assignment}", unit="student", disable=not progress)
        with _scrubbed_env(), warnings.catch_warnings():
            # nbgrader's SQLAlchemy chatter; results are checked below
            warnings.simplefilter("ignore")
            cwd = os.getcwd()
            os.chdir(staging)
            try:
                for student in bar:
                    bar.set_postfix_str(student)
                    _grade_student(api, course, staging, assignment, student, records[student])
            finally:
                os.chdir(cwd)
        for student in found:
            src = staging / "autograded" / student / assignment
            if src.is_dir():
                dst = course.root / "autograded" / student / assignment
                if dst.exists():
                    shutil.rmtree(dst)
                shutil.copytree(src, dst)
    return records


def _grade_student(
    api, course: Course, staging: Path, assignment: str, student: str, mine: dict
) -> None:
    """Autograde one student's staged notebooks and record each notebook's outcome."""
    staged = sorted((staging / "submitted" / student / assignment).glob("*.ipynb"))
    if staged:
        result = api.autograde(assignment, student, force=True, create=True)
        failure = ""
        if not result.get("success"):
            lines = (result.get("error") or result.get("log") or "").strip().splitlines()
            failure = lines[-1][:200] if lines else "nbgrader failed"
        for path in staged:
            graded = staging / "autograded" / student / assignment / path.name
            if failure or not graded.is_file():
                mine[path.stem] = NotebookRecord(NOT_GRADED, failure or "no autograded notebook")
                continue
            nb = nbformat.read(str(graded), as_version=4)
            mine[path.stem] = NotebookRecord(GRADED, "", results_from_notebook(nb))
    for name, record in mine.items():
        save(course.db_path, assignment, student, name, record)
