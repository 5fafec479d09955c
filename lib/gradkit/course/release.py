"""`gradkit release`: generate the student notebooks from solutions/ with nbgrader.

A release never loses files. nbgrader builds each assignment in a scratch course
(a private temporary folder holding a copy of ``solutions/<a>/`` and of
``gradebook.db``); the result must pass :func:`release_problems`; only then is it
installed: copied beside ``assignments/<a>/``, swapped in by two renames (the old
folder is kept until the swap succeeded) and the scratch gradebook written back
over ``gradebook.db``. When nbgrader refuses or fails, ``assignments/``,
``solutions/`` and ``gradebook.db`` are exactly as they were, and the reason is
one line (:class:`UserError`).

Why a copy of the gradebook rather than a transaction: nbgrader's
``generate_assignment`` writes the gradebook through several sessions that each
commit on their own — the course and assignment rows, the removal of notebooks
that left the assignment, then each notebook's cells (grade, answer, task and
locked source cells: points, text, checksums), notebook after notebook — and it
creates a missing gradebook's tables. A refusal in the second notebook comes
after the first one's cells were committed. No transaction of ours can span
those sessions without patching nbgrader, so nbgrader works on a copy.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from .directory import Course, UserError, ensure_tools_on_path

__all__ = ["release", "release_problems", "nbgrader_api", "nbgrader_reason"]

_SOLUTION_MARKERS = (
    "### BEGIN SOLUTION",
    "### END SOLUTION",
    "### BEGIN HIDDEN TESTS",
    "### END HIDDEN TESTS",
)
#: What nbgrader says when a release would add or remove cells, or notebooks, that
#: already have submissions (SaveCells and GenerateAssignment._clean_old_notebooks).
_SUBMISSIONS_REFUSAL = "because there are submissions associated with it"
#: nbgrader's closing words after a failure, which say nothing of the reason.
_GENERIC = ("Please see the", "There was an error processing assignment")
_EXCEPTION_LINE = re.compile(
    r"^(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*(?:Error|Exception))(?::\s*(.*))?$"
)
_CONVERTING = re.compile(r"Converting notebook (.+\.ipynb)")


def nbgrader_api(course: Course, root: Path | None = None, **overrides):
    """An in-process NbGraderAPI for ``course`` (config from its nbgrader_config.py)."""
    ensure_tools_on_path()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from .nbgrader_schema import check_schemas_once

    check_schemas_once()
    cfg = course.nbgrader_config()
    if root is not None:
        cfg.CourseDirectory.root = str(root)
    for section, values in overrides.items():
        for key, value in values.items():
            setattr(getattr(cfg, section), key, value)
    coursedir = CourseDirectory(config=cfg)
    return NbGraderAPI(coursedir=coursedir, config=cfg)


def release(course: Course, assignment: str | None = None, log=print) -> list[str]:
    """Regenerate ``assignments/<a>/`` for one or every assignment; return their names.

    Each assignment is released on its own and all or nothing (see the module
    docstring); a refusal raises :class:`UserError` and leaves that assignment,
    and the gradebook, as they were.
    """
    names = [course.require_assignment(assignment)] if assignment else course.assignments()
    if not names:
        raise UserError(f"no assignments in {course.solutions}")
    for name in names:
        log(f"releasing {name} ...")
        _release_one(course, name)
        log(f"  -> {course.assignments_dir / name}")
    return names


def release_problems(course: Course, assignment: str) -> list[str]:
    """What is wrong with a release: leaked solution text, hidden tests or extra files."""
    out = course.assignments_dir / assignment
    if not out.is_dir():
        return [f"{out} does not exist; run `gradkit release {assignment}`"]
    return _problems_in(out, course.notebooks(assignment), out)


# -- one assignment, all or nothing ---------------------------------------------------


def _release_one(course: Course, name: str) -> None:
    """Build ``name`` in a scratch course, check it, then install it and its gradebook."""
    with tempfile.TemporaryDirectory(prefix="gradkit-release-") as tmp:
        scratch = Path(tmp) / "course"
        shutil.copytree(course.solutions / name, scratch / "solutions" / name)
        with _GradebookCopy(course.db_path, scratch / "gradebook.db") as gradebook:
            result = _generate(course, name, scratch, gradebook.copy)
            if not result.get("success"):
                raise UserError(_failure_message(course, name, result, gradebook, Path(tmp)))
            built = scratch / "assignments" / name
            problems = _problems_in(built, course.notebooks(name), Path("assignments", name))
            if problems:
                raise UserError(
                    f"the new release of {name} is unsafe: {problems[0]}; {_unchanged(name)}"
                )
            gradebook.check_unchanged()
            _install(built, course.assignments_dir / name, gradebook.write_back)


def _generate(course: Course, name: str, scratch: Path, db: Path) -> dict:
    """nbgrader's generate_assignment of ``name`` from ``scratch``, on the gradebook ``db``."""
    api = nbgrader_api(course, root=scratch, CourseDirectory={"db_url": f"sqlite:///{db}"})
    return api.generate_assignment(name, force=True, create=True)


def _install(built: Path, dest: Path, commit: Callable[[], None]) -> None:
    """Replace ``dest`` by a copy of ``built``, then ``commit()``; on any failure, undo.

    The copy is made beside ``dest`` (same file system, so renames are atomic); the
    old folder is renamed aside, the new one into place, and the old one deleted only
    once ``commit`` (writing the gradebook back) succeeded.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    new = dest.with_name(f".{dest.name}.new-{tag}")
    old = dest.with_name(f".{dest.name}.old-{tag}") if dest.exists() else None
    try:
        shutil.copytree(built, new)
        if old is not None:
            os.rename(dest, old)
        os.rename(new, dest)
    except OSError as exc:
        if old is not None and old.exists() and not dest.exists():
            os.rename(old, dest)
        shutil.rmtree(new, ignore_errors=True)
        raise UserError(
            f"could not install the new release at {dest}: {exc}; nothing was changed"
        ) from exc
    try:
        commit()
    except BaseException as exc:
        shutil.rmtree(dest)
        if old is not None:
            os.rename(old, dest)
        if isinstance(exc, Exception):
            raise UserError(
                f"could not write the gradebook: {exc}; the previous release of {dest} was "
                "put back and the gradebook left as it was"
            ) from exc
        raise
    if old is not None:
        shutil.rmtree(old)


# -- the gradebook: nbgrader works on a copy ------------------------------------------


class _GradebookCopy:
    """A copy of the course gradebook for nbgrader to write, put back only on success.

    The live gradebook is opened read-only (a missing one is never created) and
    kept open: SQLite's ``data_version`` then tells whether another program wrote
    it meanwhile, in which case the copy is not put back (it would undo that write).
    """

    def __init__(self, live: Path, copy: Path):
        self.live = live
        self.copy = copy
        self._watch: sqlite3.Connection | None = None
        self._version: int | None = None
        self.existed = live.is_file()

    def __enter__(self) -> _GradebookCopy:
        if self.existed:
            try:
                self._watch = sqlite3.connect(f"{self.live.as_uri()}?mode=ro", uri=True)
                self._version = self._data_version()
                self.snapshot(self.copy)
            except sqlite3.Error as exc:
                self.__exit__()
                raise UserError(f"cannot read {self.live}: {exc}") from None
        return self

    def __exit__(self, *exc_info) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def _data_version(self) -> int:
        assert self._watch is not None
        # fetchall: a statement left unfinished would hold a read lock on the gradebook
        return int(self._watch.execute("PRAGMA data_version").fetchall()[0][0])

    def snapshot(self, path: Path) -> None:
        """Write a consistent copy of the live gradebook to ``path``."""
        assert self._watch is not None
        with closing(sqlite3.connect(str(path))) as target:
            self._watch.backup(target)

    def check_unchanged(self) -> None:
        """Refuse if another program wrote (or created) the live gradebook meanwhile."""
        changed = (
            self._data_version() != self._version if self._watch is not None else self.live.exists()
        )
        if changed:
            raise UserError(
                f"{self.live} was changed by another program during the release (is "
                "`gradkit grade` or the formgrader running?), so the release was not "
                "installed: release again when that is done"
            )

    def write_back(self) -> None:
        """Put nbgrader's copy in place of the live gradebook, all or nothing.

        An existing gradebook is overwritten through SQLite's backup API, in one step
        and so in one transaction on it (other connections see the old or the new
        content, never a mix); a new one is written beside and renamed into place.
        """
        if self.existed:
            with closing(sqlite3.connect(str(self.copy))) as source:
                with closing(sqlite3.connect(str(self.live))) as target:
                    source.backup(target)
            return
        fd, tmp = tempfile.mkstemp(prefix=f".{self.live.name}.new-", dir=self.live.parent)
        os.close(fd)
        try:
            shutil.copyfile(self.copy, tmp)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, self.live)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# -- what went wrong, in one line -----------------------------------------------------


def _unchanged(name: str) -> str:
    return f"assignments/{name} and gradebook.db were left unchanged"


def _failure_message(
    course: Course, name: str, result: dict, gradebook: _GradebookCopy, tmp: Path
) -> str:
    """One line: nbgrader's reason and what to do; a refusal over submissions in detail."""
    log = result.get("log") or ""
    if _SUBMISSIONS_REFUSAL in log + (result.get("error") or "") and gradebook.existed:
        explained = _explain_refusal(course, name, gradebook, tmp)
        if explained:
            return f"cannot release {name}: {explained}; {_unchanged(name)}"
    where = _CONVERTING.findall(log)
    at = f" (at {Path(where[-1]).name})" if where else ""
    reason = nbgrader_reason(result)
    return f"nbgrader could not release {name}{at}: {reason}; {_unchanged(name)}"


def nbgrader_reason(result: dict) -> str:
    """nbgrader's actual reason for a failure, dug out of its log and traceback."""
    log_lines = [
        re.sub(r"^\[[A-Z]+\] ", "", line) for line in (result.get("log") or "").splitlines()
    ]
    error_lines = (result.get("error") or "").splitlines()
    found = [m for m in map(_exception, log_lines) if m]  # tracebacks nbgrader logged
    specific = [m for m in found if not m.split(": ", 1)[-1].startswith(_GENERIC)]
    if specific:  # the first is the root cause; later ones wrap it
        return specific[0]
    errors = [  # nbgrader's own [ERROR] lines (no traceback)
        line.strip()
        for line in (result.get("log") or "").splitlines()
        if line.startswith("[ERROR] ") and not line[8:].startswith(_GENERIC + ("Traceback",))
    ]
    if errors:
        return errors[-1][8:]
    last = [m for m in map(_exception, error_lines) if m]
    return last[-1] if last else "unknown error (nbgrader gave no reason)"


def _exception(line: str) -> str | None:
    """``Name: message`` if ``line`` is a traceback's exception line (module path dropped)."""
    if line.startswith("      ") or not line.strip():  # frames and source lines
        return None
    match = _EXCEPTION_LINE.match(line.strip())
    if not match:
        return None
    kind, message = match.groups()
    return f"{kind}: {message}" if message else kind


def _explain_refusal(course: Course, name: str, gradebook: _GradebookCopy, tmp: Path) -> str:
    """Which notebooks or cells the release would add or remove despite submissions ('' if
    that cannot be worked out): the new cells come from a build on an empty gradebook."""
    before = tmp / "before.db"
    gradebook.snapshot(before)
    probe = tmp / "probe"
    shutil.copytree(course.solutions / name, probe / "solutions" / name)
    if not _generate(course, name, probe, probe / "gradebook.db").get("success"):
        return ""
    new_cells = {
        nb: _release_cells(probe / "assignments" / name / f"{nb}.ipynb")
        for nb in course.notebooks(name)
    }
    return _describe_changes(course, name, f"sqlite:///{before}", new_cells)


def _release_cells(path: Path) -> dict[str, str]:
    """grade id -> description of every cell of a released notebook that nbgrader records."""
    cells = {}
    for cell in json.loads(path.read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        recorded = any(meta.get(k) for k in ("grade", "solution", "locked", "task"))
        if meta.get("grade_id") and recorded:
            points = meta.get("points") if meta.get("grade") else None
            cells[meta["grade_id"]] = _kind(meta["grade_id"], bool(meta.get("solution")), points)
    return cells


def _kind(grade_id: str, answer: bool, points: float | None) -> str:
    """How a message names a cell: its kind, grade id and points."""
    if points is None:
        return f"{'answer' if answer else 'locked'} cell {grade_id}"
    worth = f"{float(points):g} point{'' if float(points) == 1 else 's'}"
    return f"{'written answer' if answer else 'test cell'} {grade_id} ({worth})"


def _describe_changes(course: Course, name: str, db_url: str, new_cells: dict) -> str:
    """The refused changes, read from a copy of the gradebook as it was."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's chatter
        with Gradebook(db_url) as gb:
            try:
                assignment = gb.find_assignment(name)
            except MissingEntry:
                return ""
            old_nbs = {nb.name: nb for nb in assignment.notebooks}
            if set(old_nbs) != set(new_cells) and assignment.submissions:
                gone = ", ".join(f"{n}.ipynb" for n in sorted(set(old_nbs) - set(new_cells)))
                new = ", ".join(f"{n}.ipynb" for n in sorted(set(new_cells) - set(old_nbs)))
                change = " and ".join(
                    filter(None, [gone and f"removes {gone}", new and f"adds {new}"])
                )
                parts.append(
                    f"{name} has submissions from {_students(assignment.submissions)} and "
                    f"this release {change}, but nbgrader cannot add or remove notebooks of an "
                    f"assignment with submissions. Put solutions/{name}/ back as it was "
                    "(new notebooks need a new assignment)"
                )
            for nb_name, cells in sorted(new_cells.items()):
                if nb_name in old_nbs and old_nbs[nb_name].submissions:
                    parts.append(_cell_changes(name, old_nbs[nb_name], cells))
    return "; ".join(filter(None, parts))


def _cell_changes(name: str, notebook, new: dict[str, str]) -> str:
    """'' if ``notebook`` (with submissions) keeps its cells; else what changes and what to do."""
    answers = {c.name for c in notebook.solution_cells}
    old = {c.name: _kind(c.name, False, None) for c in notebook.source_cells}
    old.update({c: _kind(c, True, None) for c in answers})
    old.update(
        {c.name: _kind(c.name, c.name in answers, c.max_score) for c in notebook.grade_cells}
    )
    removed = [old[k] for k in sorted(set(old) - set(new))]
    added = [new[k] for k in sorted(set(new) - set(old))]
    changes = []
    if removed:
        changes.append(f"lose its {_listed(removed)}")
    if added:
        changes.append(f"gain {_listed(added)}")
    if not changes:
        return ""
    path = f"solutions/{name}/{notebook.name}.ipynb"
    note = "a cell's text and points may change; grade again afterwards"
    if added:
        note += "; new tests need a new assignment"
    if removed and added:
        todo = f"Undo this in {path}: put back the cells it lost, remove the new ones"
    elif removed:
        todo = f"Put {'it' if len(removed) == 1 else 'them'} back in {path}"
    else:
        todo = f"Remove {'it' if len(added) == 1 else 'them'} from {path}"
    return (
        f"{notebook.name}.ipynb has submissions from {_students(notebook.submissions)} and would "
        f"{' and '.join(changes)}, but nbgrader cannot add or remove cells of a notebook with "
        f"submissions. {todo} ({note})"
    )


def _listed(items: list[str], most: int = 3) -> str:
    shown = ", ".join(items[:most])
    return shown + (f" and {len(items) - most} more" if len(items) > most else "")


def _students(submissions) -> str:
    count = len({s.student.id for s in submissions})
    return f"{count} student{'s' if count != 1 else ''}"


# -- leak checks -----------------------------------------------------------------------


def _problems_in(folder: Path, notebooks: list[str], shown: Path) -> list[str]:
    """Leaks in the release ``folder`` of ``notebooks``; paths are reported under ``shown``."""
    problems = []
    expected = {f"{n}.ipynb" for n in notebooks}
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    for extra in sorted(present - expected):
        problems.append(f"{shown / extra} is not a released notebook (a helper file leaked?)")
    for missing in sorted(expected - present):
        problems.append(f"{shown / missing} is missing")
    for name in sorted(present & expected):
        text = (folder / name).read_text()
        for marker in _SOLUTION_MARKERS:
            if marker in text:
                problems.append(f"{shown / name} contains {marker!r}")
        nb = json.loads(text)
        for cell in nb["cells"]:
            if cell.get("outputs"):
                problems.append(f"{shown / name} has stored outputs")
                break
    return problems
