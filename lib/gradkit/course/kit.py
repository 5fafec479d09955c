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

import ast
import base64
import copy
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .directory import Course, UserError

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
_SPEC_MODULES = "gradkit.grading.specs."
_MISSING = "_gradkit_not_in_kit"
_YOURS = "_gradkit_yours"
_SIGNATURE = "_gradkit_signature"


# ------------------------------------------------------------------ what becomes a stub

#: Graded functions of a *later* assignment that an assignment's demos need, through the
#: machinery (the Solver's step and update rules, a model's penalty), and that its kit
#: therefore keeps as gradkit's reference: without them those demos cannot run, and
#: students have not met these functions yet. It is a leak of those answers to the
#: earlier kits, kept as small as the demos allow; `tests/test_kit.py` runs every
#: solution notebook on its kit (so a missing entry fails) and checks that a kit holds
#: no other later reference.
KEPT_FOR_DEMOS: dict[str, tuple[str, ...]] = {
    "02_backprop": ("solver_step", "sgd", "adam"),
    "03_data_and_init": ("penalty_over_params", "l2_penalty", "solver_step", "adam"),
    "04_regularization": ("solver_step", "sgd_momentum", "adam"),
}


@dataclass(frozen=True)
class Target:
    """One function the kit must not hold: where it is, and what replaces it."""

    module: str
    qualname: str
    line: int
    #: ``"yours"``: the call goes to the student's function ``name`` (written in
    #: ``where``); ``"mistake"``: a catalogued mistake, which raises in a kit.
    kind: str
    name: str = ""
    where: str = ""
    lambda_: bool = False


def graded_in(solutions: Path, assignment: str) -> list[str]:
    """The graded functions the notebooks of ``assignment`` test, in notebook order."""
    from ..grading.specs import all_specs

    specs = all_specs()
    names: list[str] = []
    for nb in sorted((solutions / assignment).glob("*.ipynb")):
        for name in re.findall(r'grade\(\\?"([A-Za-z_0-9]+)\\?"', nb.read_text(encoding="utf-8")):
            if name in specs and name not in names:
                names.append(name)
    return names


def _from(solutions: Path, assignment: str, specs: dict[str, Any]) -> list[str]:
    """The spec assignments whose graded functions a kit of ``assignment`` stubs: the one
    of the earliest function its notebooks grade, and every later one (all of them when
    its notebooks grade none: a kit never holds more than it must)."""
    folders = sorted({s.assignment for s in specs.values()})
    here = [specs[n].assignment for n in graded_in(solutions, assignment)]
    first = min(here) if here else (assignment if assignment in folders else folders[0])
    return [f for f in folders if f >= first]


def kept_for_demos(assignment: str, specs: dict[str, Any]) -> list[str]:
    """The later graded functions the kit of ``assignment`` keeps (:data:`KEPT_FOR_DEMOS`)."""
    names = list(KEPT_FOR_DEMOS.get(assignment, ()))
    for name in names:
        if name not in specs or specs[name].assignment <= assignment:
            raise RuntimeError(f"KEPT_FOR_DEMOS[{assignment!r}] names {name!r}, not a later one")
    return names


def notebook_of(solutions: Path, specs: dict[str, Any]) -> dict[str, str]:
    """Graded function -> ``NN_name/notebook.ipynb`` whose test cell grades it."""
    found: dict[str, str] = {}
    for nb in sorted(solutions.glob("*/*.ipynb")):
        text = nb.read_text(encoding="utf-8")
        for name in re.findall(r'grade\(\\?"([A-Za-z_0-9]+)\\?"', text):
            found.setdefault(name, f"{nb.parent.name}/{nb.name}")
    for name, spec in specs.items():
        found.setdefault(name, f"{spec.assignment}/")
    return found


def _unwrap(func: Any) -> Any:
    import functools

    while isinstance(func, functools.partial):
        func = func.func
    return func


def _target(func: Any, kind: str, name: str = "", where: str = "") -> Target | None:
    func = _unwrap(func)
    code = getattr(func, "__code__", None)
    module = getattr(func, "__module__", "") or ""
    if code is None or not module.startswith("gradkit."):
        return None
    return Target(
        module,
        func.__qualname__,
        code.co_firstlineno,
        kind,
        name,
        where,
        lambda_=func.__name__ == "<lambda>",
    )


def stub_targets(assignment: str, solutions: Path) -> tuple[list[Target], list[str]]:
    """What the kit of ``assignment`` stubs, and the spec modules it ships."""
    import importlib

    from ..grading.delegation import resolve
    from ..grading.specs import MODULES, all_specs

    specs = all_specs()
    later = set(_from(solutions, assignment, specs))
    here = set(graded_in(solutions, assignment))
    where = notebook_of(solutions, specs)
    graded = {n for n, s in specs.items() if s.assignment in later}
    targets: dict[tuple[str, str, int], Target] = {}

    def add(t: Target | None) -> None:
        # A method (``Solver._step``) stays: the machinery calls the graded function,
        # which is a stub; only module-level functions and mistakes are rewritten.
        if t is not None and (t.kind == "mistake" or "." not in t.qualname):
            targets.setdefault((t.module, t.qualname, t.line), t)

    kept = set(kept_for_demos(assignment, specs))
    for spec in specs.values():
        if spec.assignment not in later or spec.name in kept:
            continue
        for fn_name, ref in spec.functions.items():
            if fn_name in kept:
                continue
            add(_target(ref, "yours", fn_name, where.get(fn_name, spec.assignment)))
        for dotted in spec.forbidden:
            last = dotted.rsplit(".", 1)[-1]
            if last in graded and last not in kept:  # the same computation, another name
                add(_target(resolve(dotted), "yours", last, where.get(last, "")))
        if spec.name in here or spec.assignment == assignment:
            for m in spec.mistakes:
                impls = m.impl.values() if isinstance(m.impl, dict) else [m.impl]
                for impl in impls:
                    t = _target(impl, "mistake")
                    if t is not None and t.module.startswith(_SPEC_MODULES):
                        add(t)
    shipped = []
    for mod in MODULES:
        module = importlib.import_module(f"gradkit.grading.specs.{mod}")
        mine = any(spec.name in here for spec in module.SPECS)
        if module.ASSIGNMENT not in later or module.ASSIGNMENT == assignment or mine:
            shipped.append(mod)
    return sorted(targets.values(), key=lambda t: (t.module, t.line)), shipped


# ------------------------------------------------------------------ rewriting a module


def _first_paragraph(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    doc = ast.get_docstring(node) or ""
    return doc.split("\n\n", 1)[0].strip()


def _stub_body(node: ast.FunctionDef, t: Target) -> list[ast.stmt]:
    if t.kind == "mistake":
        doc = "A catalogued mistake: a kit grades it from its recorded outputs."
        call = ast.Call(ast.Name(_MISSING, ast.Load()), [], [])
        return [ast.Expr(ast.Constant(doc)), ast.Expr(call)]
    summary = _first_paragraph(node)
    doc = (
        (summary + "\n\n" if summary else "")
        + f"Yours to write in {t.where}: this student kit holds no implementation of "
        f"{t.name}; it calls the one your notebook defines."
    )
    # The call goes on with the arguments the caller gave, no more: a student's function
    # need not take gradkit's optional extras (an initializer's ``dtype``). The
    # signature shown by help() is gradkit's (``__signature__``, set below the def).
    forward = ast.parse(f"{_YOURS}.call({t.name!r}, {t.where!r}, args, kwargs)", mode="eval")
    return [ast.Expr(ast.Constant(doc)), ast.Return(forward.body)]


def _signature_line(node: ast.FunctionDef, name: str) -> list[ast.stmt]:
    """``name.__signature__ = signature(lambda <node's parameters>: None)``."""
    params = copy.deepcopy(node.args)
    starred = [a for a in (params.vararg, params.kwarg) if a is not None]
    for a in [*params.posonlyargs, *params.args, *params.kwonlyargs, *starred]:
        a.annotation = None
    lam = ast.Lambda(args=params, body=ast.Constant(None))
    target = ast.Attribute(ast.Name(name, ast.Load()), "__signature__", ast.Store())
    value = ast.Call(ast.Name(_SIGNATURE, ast.Load()), [lam], [])
    return [ast.Assign(targets=[target], value=value)]


class _Stubber(ast.NodeTransformer):
    def __init__(self, targets: list[Target]):
        self.by_line = {(t.line, t.qualname.rsplit(".", 1)[-1]): t for t in targets}
        self.lambdas = {t.line for t in targets if t.lambda_}
        self.done: set[Target] = set()
        self.module_stubs: list[Target] = []
        self.signatures: dict[Target, list[ast.stmt]] = {}
        self._depth = 0

    def _def(self, node: ast.FunctionDef) -> ast.AST:
        line = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        t = self.by_line.get((line, node.name)) or self.by_line.get((node.lineno, node.name))
        if t is not None:
            node.body = _stub_body(node, t)
            node.decorator_list = []
            self.done.add(t)
            if t.kind == "yours":
                self.signatures[t] = _signature_line(node, node.name)
                node.args = ast.arguments(
                    posonlyargs=[],
                    args=[],
                    vararg=ast.arg("args"),
                    kwonlyargs=[],
                    kw_defaults=[],
                    kwarg=ast.arg("kwargs"),
                    defaults=[],
                )
                node.returns = None
                if self._depth == 0:
                    self.module_stubs.append(t)
            return node
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._def(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        if node.lineno in self.lambdas:
            for t in self.by_line.values():
                if t.lambda_ and t.line == node.lineno:
                    self.done.add(t)
            node.body = ast.Call(ast.Name(_MISSING, ast.Load()), [], [])
            return node
        self.generic_visit(node)
        return node


def _names_used(tree: ast.AST, skip: ast.AST | None = None) -> set[str]:
    used: set[str] = set()
    for node in ast.walk(tree):
        if node is skip:
            continue
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            used.add(node.value)  # names in __all__
    return used


def _drop_unused_private(tree: ast.Module, elsewhere: set[str]) -> list[str]:
    """Remove module-level private functions nothing uses any more (``elsewhere``: the
    names other modules of the package use)."""
    dropped: list[str] = []
    while True:
        defs = [
            n
            for n in tree.body
            if isinstance(n, ast.FunctionDef) and n.name.startswith("_") and n.name != _MISSING
        ]
        removable = []
        for d in defs:
            others = ast.Module(body=[n for n in tree.body if n is not d], type_ignores=[])
            if d.name not in _names_used(others) and d.name not in elsewhere:
                removable.append(d)
        if not removable:
            return dropped
        for d in removable:
            tree.body.remove(d)
            dropped.append(d.name)


def _imported_names(source: str) -> set[str]:
    """Names a module takes from others (``from x import _name``, ``module._name``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names


_HEADER = "# Rewritten by `gradkit kit`: the graded functions below are yours to write.\n"


def rewrite_module(
    source: str, targets: list[Target], elsewhere: set[str] | None = None
) -> tuple[str, list[Target], list[str]]:
    """``source`` with ``targets`` stubbed and the helpers they alone used removed."""
    tree = ast.parse(source)
    stubber = _Stubber(targets)
    stubber.visit(tree)
    dropped = _drop_unused_private(tree, elsewhere or set())
    imports: list[ast.stmt] = []
    if any(t.kind == "yours" for t in stubber.done):
        imports.append(
            ast.ImportFrom(module="gradkit", names=[ast.alias("yours", _YOURS)], level=0)
        )
        imports.append(
            ast.ImportFrom(module="inspect", names=[ast.alias("signature", _SIGNATURE)], level=0)
        )
    if any(t.kind == "mistake" for t in stubber.done):
        imports += ast.parse(
            f"def {_MISSING}(*args, **kwargs):\n"
            "    raise NotImplementedError('a catalogued mistake is not in the student kit')\n"
        ).body
    at = 0
    while at < len(tree.body) and (
        (isinstance(tree.body[at], ast.Expr) and isinstance(tree.body[at].value, ast.Constant))  # type: ignore[attr-defined]
        or (isinstance(tree.body[at], ast.ImportFrom) and tree.body[at].module == "__future__")  # type: ignore[attr-defined]
    ):
        at += 1
    tree.body[at:at] = imports
    for t in stubber.module_stubs:
        tree.body += stubber.signatures[t]
        tree.body += ast.parse(f"{t.qualname}.__gradkit_stub__ = {t.where!r}").body
    ast.fix_missing_locations(tree)
    return _HEADER + ast.unparse(tree) + "\n", sorted(stubber.done, key=lambda t: t.line), dropped


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
    used_in: dict[Path, set[str]] = {p: _imported_names(t) for p, t in sources.items()}
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


def unpack_library(packed: dict[str, str]) -> Path:
    """Where a worker keeps a packed kit library: a folder private to this user (0700),
    unpacked once per digest; its files are world-readable, so the sandbox's user reads
    them where they are mounted."""
    digest = str(packed["digest"])
    if not re.fullmatch(r"[0-9a-f]{24}", digest):
        raise ValueError(f"a kit library's digest must be 24 hex digits; got {digest[:40]!r}")
    base = Path(tempfile.gettempdir()) / f"gradkit-kits-{os.getuid()}"
    base.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(base)
    if not os.path.isdir(base) or os.path.islink(base) or info.st_uid != os.getuid():
        raise RuntimeError(f"{base} is not a folder of this user's own")
    os.chmod(base, 0o700)
    where = base / digest
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


def record(solutions: Path, assignment: str, tokens: list[str]) -> Any:
    """Run every spec the notebooks of ``assignment`` grade with the full library,
    recording what the kit replays: for the reference, a function that is not written,
    and each mistake."""
    from ..grading import replay
    from ..grading.callee import DirectCallee
    from ..grading.engine import run_spec
    from ..grading.specs import all_specs

    def not_written(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    import numpy as np

    names = set(graded_in(solutions, assignment))
    recorder = replay.Recorder()
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


def write_wheel(package_root: Path, out: Path, assignment: str) -> Path:
    """A pure-Python wheel of ``package_root/gradkit`` (deterministic bytes)."""
    number = assignment.split("_", 1)[0]
    version = f"{_version()}+kit{number}"
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
        f"Summary: gradkit student kit for {assignment}: the course library without the "
        "answers of this assignment and the later ones",
        "Requires-Python: >=3.10",
        *(f"Requires-Dist: {r}" for r in KIT_REQUIRES),
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


def iter_kit_sources(wheel: Path) -> Iterable[tuple[str, str]]:
    """``(name, text)`` of every Python file in a kit's wheel (for the leak tests)."""
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.endswith(".py"):
                yield name, zf.read(name).decode("utf-8")


Normalizer = Callable[[ast.AST], str]
