"""`gradkit kit ASSIGNMENT`: what the students of one assignment receive, without its answers.

A kit is built from the instructor's repository, reproducibly (the same repository gives
the same files, byte for byte):

* the release notebooks of the assignment (``assignments/NN``, with their data files);
* a pure-Python wheel of the library, ``gradkit-<version>+kit<NN>``, in which every
  graded function of this assignment and of the later ones is a *stub*: its name and
  signature stay (the models, the solver and the notebooks import it), its body hands
  the call to the student's own function of that name (:mod:`gradkit.yours`) or says in
  one line which notebook it is written in. Helpers the stubs leave unused go with them.
  The graded functions of earlier assignments, past their deadline, stay;
* the data of the self-check (:mod:`gradkit.grading.replay`): what the reference and
  every catalogued mistake return on the public cases and on a few practice draws,
  recorded now with the full library, as JSON and ``.npy`` files. The specs of this
  assignment ship with their catalogued mistakes stubbed too; the specs of later
  assignments do not ship;
* ``README.md`` for students: the one command that installs the kit.

No solution cell, no course secret, no hidden case of any student is in it:
``tests/test_kit.py`` checks every kit for those, and for any function with the code of
a reference it must not hold.

The grader uses the same library part (no recordings) as the library its sandboxed
kernels see (:func:`kit_library`), so a student's function cannot reach a reference
while it is graded.
"""

from __future__ import annotations

import base64
import compileall
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .directory import Course, UserError
from .kit_stubs import Target, graded_in, imported_names, rewrite_module, stub_targets

__all__ = [
    "KitReport",
    "build_kit",
    "kit_library",
    "pack_library",
    "unpack_library",
    "stub_targets",
    "PRACTICE_DRAWS",
]

#: Practice draws recorded per graded function: a kit's self-check picks one at random.
PRACTICE_DRAWS = 8
#: numpy's global seed while a kit records (only a catalogued mistake that draws from the
#: global state reads it), so the same repository records the same numbers.
RECORDING_SEED = 20260101
#: Every file in a kit's wheel carries this time, so a rebuild gives the same bytes.
_EPOCH = (2020, 1, 1, 0, 0, 0)
#: Distribution dependencies of a kit: what the notebooks and `gradkit check` import.
KIT_REQUIRES = [
    "numpy>=1.24",
    "scipy>=1.10",
    "matplotlib>=3.7",
    "scikit-learn>=1.3",
    "tqdm>=4.65",
    "threadpoolctl>=3.1",
    "nbgrader>=0.9.6",
    "jupyterlab>=4.2",
    "nbformat>=5.9",
    "nbconvert>=7.0",
    "ipykernel>=6.25",
]
_PACKAGE = Path(__file__).resolve().parents[1]  # lib/gradkit
# ------------------------------------------------------------------ the library part


@dataclass
class KitReport:
    """What a build made and how large it is."""

    assignment: str
    out: Path
    wheel: Path | None = None
    stubbed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    specs: list[str] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        size = sum(self.files.values())
        return [
            f"kit of {self.assignment} in {self.out}: {len(self.files)} files, "
            f"{size / 2**20:.1f} MiB, built in {self.seconds:.1f} s",
            f"  {len(self.stubbed)} graded functions are stubs (yours to write), "
            f"{len(self.specs)} graded functions self-check from recorded data",
            f"  wheel: {self.wheel.name if self.wheel else '-'}",
        ]


def _module_file(module: str) -> Path:
    parts = module.split(".")[1:]
    path = _PACKAGE.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _package_files() -> list[Path]:
    files = []
    for path in sorted(_PACKAGE.rglob("*")):
        rel = path.relative_to(_PACKAGE)
        if "__pycache__" in rel.parts or rel.parts[0] == "_kitdata" or not path.is_file():
            continue
        if path.suffix in {".py", ".typed"}:
            files.append(path)
    return files


def build_library(course: Course, assignment: str, dest: Path) -> KitReport:
    """Write the kit's ``gradkit`` package (no recordings) into ``dest/gradkit``."""
    targets, shipped = stub_targets(assignment, course.solutions)
    by_file: dict[Path, list[Target]] = {}
    for t in targets:
        by_file.setdefault(_module_file(t.module), []).append(t)
    report = KitReport(assignment, dest)
    specs_dir = _PACKAGE / "grading" / "specs"
    package = dest / "gradkit"
    sources = {p: p.read_text(encoding="utf-8") for p in _package_files()}
    used_in: dict[Path, set[str]] = {p: imported_names(t) for p, t in sources.items()}
    for path in _package_files():
        rel = path.relative_to(_PACKAGE)
        if path.parent == specs_dir and path.stem.startswith("a0") and path.stem not in shipped:
            continue  # specs of later assignments: not shipped at all
        text = path.read_text(encoding="utf-8")
        if path in by_file:
            elsewhere = set().union(*(u for p, u in used_in.items() if p != path))
            text, done, dropped = rewrite_module(text, by_file[path], elsewhere)
            missing = set(by_file[path]) - set(done)
            if missing:
                names = ", ".join(f"{t.module}.{t.qualname}" for t in missing)
                raise RuntimeError(f"the kit could not find {names} to stub")
            report.stubbed += [f"{t.module}.{t.qualname}" for t in done if t.kind == "yours"]
            report.dropped += [f"{path.stem}.{d}" for d in dropped]
        if rel == Path("grading/specs/__init__.py"):
            text = _only_modules(text, shipped)
        out = package / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return report


def _only_modules(text: str, shipped: list[str]) -> str:
    start = text.index("MODULES = [")
    end = text.index("]", start) + 1
    listed = ",\n".join(f"    {m!r}" for m in shipped)
    return text[:start] + f"MODULES = [\n{listed},\n]" + text[end:]


def kit_library(course: Course, assignment: str) -> Path:
    """The kit's library part for ``assignment``, built once per state of the library and
    cached under ``.gradkit/kits``: the folder that holds its ``gradkit`` package."""
    digest = hashlib.sha256()
    for path in _package_files():
        digest.update(str(path.relative_to(_PACKAGE)).encode())
        digest.update(path.read_bytes())
    for nb in sorted(course.solutions.glob("*/*.ipynb")):
        digest.update(nb.name.encode())
        digest.update(nb.read_bytes())
    where = course.state / "kits" / f"{assignment}-{digest.hexdigest()[:16]}"
    if (where / "gradkit" / "__init__.py").is_file():
        return where
    where.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{assignment}-", dir=where.parent))
    try:
        build_library(course, assignment, scratch)
        os.chmod(scratch, 0o755)
        try:
            scratch.rename(where)
        except OSError:  # built meanwhile by another grader
            if not (where / "gradkit" / "__init__.py").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return where


def pack_library(course: Course, assignment: str) -> dict[str, str]:
    """The kit's library part as plain data for a grading worker (local or Dask):
    ``{"digest", "zip"}``, the zip in base64 (about 0.2 MB)."""
    folder = kit_library(course, assignment)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((folder / "gradkit").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    return {
        "digest": hashlib.sha256(data).hexdigest()[:24],
        "zip": base64.b64encode(data).decode("ascii"),
    }


def worker_cache() -> Path:
    """A folder of this user where a grading worker keeps what it reuses from run to run:
    unpacked kit libraries, matplotlib's font list for the sandboxes. Others may pass
    through it but not list or change it (0711): a separate user's kernel (no sandbox)
    reads its kit library where it is. (``gradkit-kits-N`` of earlier versions was 0700.)"""
    base = Path(tempfile.gettempdir()) / f"gradkit-kit-libraries-{os.getuid()}"
    base.mkdir(mode=0o711, exist_ok=True)
    info = os.lstat(base)
    if not os.path.isdir(base) or os.path.islink(base) or info.st_uid != os.getuid():
        raise RuntimeError(f"{base} is not a folder of this user's own")
    os.chmod(base, 0o711)
    return base


#: Appended to an unpacked library's folder name: unpacked with its byte code.
_UNPACKED_LAYOUT = "-pyc"


def unpack_library(packed: dict[str, str]) -> Path:
    """Where a worker keeps a packed kit library: a folder of this user that others may
    pass through but not list or change (0711), unpacked once per digest; its files are
    world-readable, so the sandbox's user reads them where they are mounted, and a
    separate user's kernel (no sandbox) where they are."""
    digest = str(packed["digest"])
    if not re.fullmatch(r"[0-9a-f]{24}", digest):
        raise ValueError(f"a kit library's digest must be 24 hex digits; got {digest[:40]!r}")
    base = worker_cache()
    where = base / f"{digest}{_UNPACKED_LAYOUT}"
    if (where / "gradkit" / "__init__.py").is_file():
        return where
    data = base64.b64decode(packed["zip"])
    if hashlib.sha256(data).hexdigest()[:24] != digest:
        raise ValueError("a kit library does not match its digest")
    scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=base))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in zf.namelist():
                if not name.startswith("gradkit/") or ".." in name.split("/"):
                    raise ValueError(f"unexpected file {name!r} in a kit library")
            zf.extractall(scratch)
        # Byte code beside the sources: the sandboxed kernel may not write any (its
        # library is read-only), and would otherwise compile every module it imports
        # anew in every notebook's kernel.
        compileall.compile_dir(scratch, quiet=2, workers=1)
        for path in [scratch, *scratch.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        try:
            scratch.rename(where)
        except OSError:  # another worker of this user unpacked it meanwhile
            if not (where / "gradkit" / "__init__.py").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return where


# ------------------------------------------------------------------ recordings


def record(solutions: Path, assignment: str, tokens: list[str], share: bool = True) -> Any:
    """Run every spec the notebooks of ``assignment`` grade with the full library,
    recording what the kit replays: for the reference, a function that is not written,
    and each mistake. The runs of a spec and token reuse what the reference and the
    mistakes gave in the first (:meth:`~gradkit.grading.replay.Recorder.shared`; the
    same recording as ``share=False``, in about three quarters of the time)."""
    from ..grading import replay
    from ..grading.callee import DirectCallee
    from ..grading.engine import run_spec
    from ..grading.specs import all_specs

    def not_written(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    import numpy as np

    names = set(graded_in(solutions, assignment))
    recorder = replay.Recorder(share=share)
    with replay.recording(recorder):
        for spec in all_specs().values():
            if spec.name not in names:
                continue
            students = [DirectCallee(spec.implementation())]
            students.append(DirectCallee({n: not_written for n in spec.functions}))
            students += [DirectCallee(spec.implementation(m)) for m in spec.mistakes]
            for token in [None, *tokens]:
                for student in students:
                    # A mistake that draws from numpy's global random state records the
                    # same numbers in every build (the caller's state is put back).
                    saved = np.random.get_state()
                    np.random.seed(RECORDING_SEED)
                    try:
                        run_spec(spec, student, 1.0, token)
                    finally:
                        np.random.set_state(saved)
    return recorder


def practice_tokens(assignment: str, count: int = PRACTICE_DRAWS) -> list[str]:
    """The kit's practice tokens: fixed per assignment (a rebuild gives the same kit)."""
    from ..grading.seeds import PRACTICE_PREFIX

    return [f"{PRACTICE_PREFIX}kit-{assignment}-{k}" for k in range(count)]


# ------------------------------------------------------------------ the wheel


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gradkit").split("+")[0]
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def write_wheel(
    package_root: Path,
    out: Path,
    assignment: str,
    local: str = "",
    requires: list[str] | None = None,
    summary: str = "",
) -> Path:
    """A pure-Python wheel of ``package_root/gradkit`` (deterministic bytes); its version
    is gradkit's with the local label ``local`` (default ``kitNN``)."""
    number = assignment.split("_", 1)[0]
    version = f"{_version()}+{local or 'kit' + number}"
    dist = f"gradkit-{version}"
    files: list[tuple[str, bytes]] = []
    for path in sorted((package_root / "gradkit").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files.append((path.relative_to(package_root).as_posix(), path.read_bytes()))
    config = (
        json.dumps(
            {"ServerApp": {"jpserver_extensions": {"gradkit.course.jupyter": True}}}, indent=2
        )
        + "\n"
    )
    files.append(
        (f"{dist}.data/data/etc/jupyter/jupyter_server_config.d/gradkit.json", config.encode())
    )
    metadata = [
        "Metadata-Version: 2.1",
        "Name: gradkit",
        f"Version: {version}",
        "Summary: "
        + (
            summary
            or f"gradkit student kit for {assignment}: the course library without the "
            "answers of this assignment and the later ones"
        ),
        "Requires-Python: >=3.10",
        *(f"Requires-Dist: {r}" for r in (KIT_REQUIRES if requires is None else requires)),
    ]
    files.append((f"{dist}.dist-info/METADATA", ("\n".join(metadata) + "\n").encode()))
    files.append(
        (
            f"{dist}.dist-info/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: gradkit kit\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
        )
    )
    files.append(
        (
            f"{dist}.dist-info/entry_points.txt",
            b"[console_scripts]\ngradkit = gradkit.course.cli:main\n",
        )
    )
    record_lines = [f"{name},{_record_hash(data)},{len(data)}" for name, data in files]
    record_lines.append(f"{dist}.dist-info/RECORD,,")
    files.append((f"{dist}.dist-info/RECORD", ("\n".join(record_lines) + "\n").encode()))
    wheel = out / f"{dist}-py3-none-any.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    wheel.write_bytes(buffer.getvalue())
    return wheel


# ------------------------------------------------------------------ the kit


_README = """# {assignment}: your notebooks and the course library

This folder holds the notebooks of assignment {assignment} and `{wheel}`, the course's
library without the functions you write here (each of them is yours: the library calls
the one your notebook defines).

Install it (Python 3.10 or newer; a virtual environment is best) and open the notebooks:

    python -m pip install "./{wheel}"
    jupyter lab

In a hosted notebook service, upload the wheel and run in a first cell
`%pip install {wheel}`, then restart the kernel.

Check your work before you submit, from this folder:

    gradkit check {first_notebook}

or press **Validate** in JupyterLab. The self-check runs the notebook in a fresh kernel
and shows every test's checks, points and diagnoses on the public cases, plus practice
cases drawn like your hidden ones. It does not include your hidden cases (the grade
uses cases drawn for you alone) and it does not time your code: speed checks run
only when your work is graded.
"""


def _copy_release(course: Course, assignment: str, out: Path) -> list[str]:
    release = course.assignments_dir / assignment
    if not release.is_dir() or not any(release.glob("*.ipynb")):
        raise UserError(
            f"no release of {assignment} in {course.assignments_dir}: run `gradkit release` first"
        )
    copied = []
    for path in sorted(release.iterdir()):
        if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
            shutil.copyfile(path, out / path.name)
            copied.append(path.name)
    return copied


def build_kit(course: Course, assignment: str, out: Path, draws: int = PRACTICE_DRAWS) -> KitReport:
    """Build the kit of ``assignment`` into ``out`` (created; must be empty or absent)."""
    import time

    start = time.perf_counter()
    course.require_assignment(assignment)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} exists and is not an empty folder; choose another --out")
    with tempfile.TemporaryDirectory(prefix="gradkit-kit-") as tmp:
        stage = Path(tmp) / "kit"
        stage.mkdir()
        notebooks = _copy_release(course, assignment, stage)
        build = Path(tmp) / "build"
        report = build_library(course, assignment, build)
        tokens = practice_tokens(assignment, draws)
        recorder = record(course.solutions, assignment, tokens)
        recorder.save(
            build / "gradkit" / "_kitdata",
            {"assignment": assignment, "practice_tokens": tokens},
        )
        report.specs = sorted(recorder.outcomes)
        wheel = write_wheel(build, stage, assignment)
        first = next((n for n in notebooks if n.endswith(".ipynb")), "NOTEBOOK.ipynb")
        (stage / "README.md").write_text(
            _README.format(assignment=assignment, wheel=wheel.name, first_notebook=first),
            encoding="utf-8",
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists():
            out.rmdir()
        shutil.copytree(stage, out)
    report.out = out
    report.wheel = out / wheel.name
    report.files = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
    report.seconds = time.perf_counter() - start
    return report
