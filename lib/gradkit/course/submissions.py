"""Finding the submitted notebooks: a folder per student or an LMS zip, names an LMS mangled.

Layouts: ``DIR/<student>/<notebook>.ipynb``, ``DIR/<student>/<assignment>/<notebook>.ipynb``,
a zip of either, or a flat zip of files named by an LMS (below). A file whose name an LMS
or a browser changed (``linear_regression (1).ipynb``, ``linear_regression-2.ipynb``,
``lovelace_late_linear_regression.ipynb``) is matched to the notebook it must be when
that is unambiguous, with a note saying so.

Flat zips come in two kinds, told apart by the file names, for the whole zip at once:

* **Canvas** ("Download Submissions"): every ``.ipynb`` is named
  ``<name>_[LATE_]<user id>_<file id>_<file name>``: the student's sortable name with
  everything but letters, digits and ``_`` removed and lower-cased (``smithalice``,
  possibly empty), ``LATE`` when Canvas counted the submission late (any case, also the
  older ``-late`` glued to the name), then two fields of digits only: the Canvas user id
  and the id of the uploaded file, then the name the student uploaded (to which Canvas
  adds ``-1``, ``-2`` when the same name was uploaded again). The student is keyed by the
  **user id**, which is unique where names are not; the name is kept as the display name,
  and ``LATE`` is recorded for the notebook. Canvas writes these names for every file, so
  a zip is read as Canvas's only when all of its notebooks are named this way.
* **Any other LMS**: ``<student>_<anything>_<notebook>.ipynb``, keyed by the text before
  the first ``_`` (no display name, no late flag). Moodle's
  ``Ada Lovelace_12345_assignsubmission_file_...`` is of this kind: one field of digits,
  not two.

Anonymous grading in Canvas (``anon_<id>`` instead of name and user id) is not
recognized: such a zip has no user ids to key students by.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .directory import UserError

__all__ = ["Submitted", "collect_submissions", "MAX_NOTEBOOK_BYTES", "MAX_ZIP_BYTES"]

#: A notebook larger than this is not graded (nothing a student writes is this big).
MAX_NOTEBOOK_BYTES = 50 * 2**20
#: What an LMS zip may expand to in all.
MAX_ZIP_BYTES = 4 * 2**30
_COPY_SUFFIX = re.compile(r"(?: \(\d+\)|[-_ ]\d+|[-_ ]copy)+$", re.I)
#: A file name in a Canvas "Download Submissions" zip (see the module docstring). The name
#: is the shortest prefix that lets the rest match: Canvas's names never hold ``_<digits>_``.
CANVAS_NAME = re.compile(
    r"^(?P<name>.*?)(?:[_-](?P<late>late))?_(?P<user>\d+)_(?P<file>\d+)_(?P<rest>.+)$", re.I
)


@dataclass(frozen=True)
class Submitted:
    """One submitted file for one expected notebook, and a note if its name was changed.

    ``name`` is the display name the LMS gave the student (Canvas: ``smithalice``) and
    ``canvas_id`` the Canvas user id the student is keyed by; ``late`` is Canvas's LATE
    mark on the file. All three stay empty for folders and other LMS layouts.
    """

    path: Path
    note: str = ""
    late: bool = False
    name: str = ""
    canvas_id: str = ""


def _student_ok(name: str) -> bool:
    return bool(name) and not name.startswith(".") and name not in ("__MACOSX",)


def _unzip(source: Path, target: Path) -> None:
    with zipfile.ZipFile(source) as zf:
        total = sum(i.file_size for i in zf.infolist())
        if total > MAX_ZIP_BYTES:
            raise UserError(f"{source} expands to {total} bytes, over {MAX_ZIP_BYTES}")
        for info in zf.infolist():
            parts = Path(info.filename).parts
            if info.is_dir() or ".." in parts or Path(info.filename).is_absolute():
                continue
            dest = target.joinpath(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(zf.read(info))


def match_notebook(stem: str, notebooks: list[str]) -> str | None:
    """The expected notebook a (possibly mangled) file stem stands for, if exactly one fits."""
    if stem in notebooks:
        return stem
    cleaned = _COPY_SUFFIX.sub("", stem)
    fits = [
        n
        for n in notebooks
        if cleaned == n or cleaned.endswith(f"_{n}") or cleaned.endswith(f"-{n}")
    ]
    if len(fits) > 1:  # one name ends another's: the longest that fits is the one meant
        longest = max(fits, key=len)
        fits = [longest] if sum(len(f) == len(longest) for f in fits) == 1 else fits
    return fits[0] if len(fits) == 1 else None


def _pick(
    files: list[Path],
    notebooks: list[str],
    prefixed: bool = False,
    stems: dict[Path, str] | None = None,
    late: dict[Path, bool] | None = None,
    name: str = "",
    canvas_id: str = "",
) -> dict[str, Submitted]:
    """Expected notebook -> the file submitted for it (``prefixed``: an LMS export, where
    every name carries the student's prefix and only a changed ending deserves a note).

    ``stems`` gives, for a Canvas file, the part of its name the student chose; ``late``
    Canvas's mark per file; ``name`` and ``canvas_id`` are carried into every result.
    """
    stems = stems or {}
    late = late or {}

    def stem(path: Path) -> str:
        return stems.get(path, path.stem)

    candidates: dict[str, list[Path]] = {}
    for path in files:
        notebook = match_notebook(stem(path), notebooks)
        if notebook is not None:
            candidates.setdefault(notebook, []).append(path)
    chosen = {}
    for notebook, paths in candidates.items():
        exact = [p for p in paths if stem(p) == notebook]
        if exact:
            path, note = exact[0], ""
        elif len(paths) == 1:
            path = paths[0]
            unchanged = prefixed and stem(path).endswith(f"_{notebook}")
            note = "" if unchanged else f"{path.name} was graded as {notebook}.ipynb"
        else:
            listed = ", ".join(sorted(p.name for p in paths))
            path, note = Path(), f"ambiguous: {listed} could each be {notebook}.ipynb"
        marked = any(late.get(p, False) for p in (paths if path == Path() else [path]))
        chosen[notebook] = Submitted(path, note, marked, name, canvas_id)
    return chosen


def collect_submissions(
    source: Path, assignment: str, notebooks: list[str], workdir: Path
) -> dict[str, dict[str, Submitted]]:
    """student -> expected notebook -> :class:`Submitted`, from a folder or a zip."""
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
        _unzip(source, target)
        source = target
        flat = [p for p in source.iterdir() if p.is_file() and p.suffix == ".ipynb"]
        if flat:
            return _collect_flat(flat, notebooks)
    found = {}
    for sdir in sorted(p for p in source.iterdir() if p.is_dir() and _student_ok(p.name)):
        base = sdir / assignment if (sdir / assignment).is_dir() else sdir
        found[sdir.name] = _pick(sorted(base.glob("*.ipynb")), notebooks)
    if not found:
        raise UserError(
            f"no student folders in {source}; expected {source}/<student>/<notebook>.ipynb"
        )
    return found


def _collect_flat(files: list[Path], notebooks: list[str]) -> dict[str, dict[str, Submitted]]:
    files = sorted(p for p in files if not p.name.startswith("."))
    canvas = {p: CANVAS_NAME.match(p.stem) for p in files}
    if files and all(canvas.values()):
        found = _collect_canvas(canvas, notebooks)
    else:
        by_student: dict[str, list[Path]] = {}
        for p in files:
            student = p.stem.split("_", 1)[0]
            if _student_ok(student) and "_" in p.stem:
                by_student.setdefault(student, []).append(p)
        found = {s: _pick(paths, notebooks, prefixed=True) for s, paths in by_student.items()}
    found = {s: picked for s, picked in found.items() if picked}
    if not found:
        raise UserError(
            "no file in the zip ends with a notebook name of the assignment "
            f"({', '.join(notebooks)})"
        )
    return found


def _collect_canvas(
    named: dict[Path, re.Match | None], notebooks: list[str]
) -> dict[str, dict[str, Submitted]]:
    """Canvas's files grouped by user id (see the module docstring)."""
    by_user: dict[str, list[Path]] = {}
    stems: dict[Path, str] = {}
    late: dict[Path, bool] = {}
    names: dict[str, str] = {}
    for path, match in named.items():
        assert match is not None
        user = str(int(match["user"]))  # Canvas writes ids without leading zeros
        by_user.setdefault(user, []).append(path)
        stems[path] = match["rest"]
        late[path] = match["late"] is not None
        names.setdefault(user, match["name"].strip("_-"))
    return {
        user: _pick(paths, notebooks, stems=stems, late=late, name=names[user], canvas_id=user)
        for user, paths in by_user.items()
    }
