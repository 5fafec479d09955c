"""Finding the submitted notebooks: a folder per student or an LMS zip, names an LMS mangled.

Layouts: ``DIR/<student>/<notebook>.ipynb``, ``DIR/<student>/<assignment>/<notebook>.ipynb``,
a zip of either, or a flat zip of ``<student>_<anything>_<notebook>.ipynb`` (an LMS
export). A file whose name an LMS or a browser changed (``linear_regression (1).ipynb``,
``linear_regression-2.ipynb``, ``lovelace_late_linear_regression.ipynb``) is matched
to the notebook it must be when that is unambiguous, with a note saying so.
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


@dataclass(frozen=True)
class Submitted:
    """One submitted file for one expected notebook, and a note if its name was changed."""

    path: Path
    note: str = ""


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


def _pick(files: list[Path], notebooks: list[str], prefixed: bool = False) -> dict[str, Submitted]:
    """Expected notebook -> the file submitted for it (``prefixed``: an LMS export, where
    every name carries the student's prefix and only a changed ending deserves a note)."""
    candidates: dict[str, list[Path]] = {}
    for path in files:
        name = match_notebook(path.stem, notebooks)
        if name is not None:
            candidates.setdefault(name, []).append(path)
    chosen = {}
    for name, paths in candidates.items():
        exact = [p for p in paths if p.stem == name]
        if exact:
            chosen[name] = Submitted(exact[0])
        elif len(paths) == 1:
            unchanged = prefixed and paths[0].stem.endswith(f"_{name}")
            note = "" if unchanged else f"{paths[0].name} was graded as {name}.ipynb"
            chosen[name] = Submitted(paths[0], note)
        else:
            listed = ", ".join(sorted(p.name for p in paths))
            chosen[name] = Submitted(Path(), f"ambiguous: {listed} could each be {name}.ipynb")
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
    by_student: dict[str, list[Path]] = {}
    for p in sorted(files):
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
