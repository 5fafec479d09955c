"""Your own functions, run by gradkit's machinery: the runtime of the student kit.

In the student kit of an assignment, every graded function of that assignment
and of the later ones is a *stub*: it keeps gradkit's signature and hands the
call to the function of the same name that you wrote. So ``Solver``,
``TwoLayerNet``, ``FullyConnectedNet`` or ``get_update_rule("adam")`` run on
your code. A stub is a one-liner::

    def affine_forward(x, w, b):
        return _yours.call("affine_forward", "02_backprop/backprop_layers.ipynb", (x, w, b), {})

:func:`call` finds your function: first among those :func:`load` or :func:`use`
registered, then in the notebook's namespace (the objects your cells defined),
never a stub (``from gradkit.layers import affine_forward`` in a notebook binds
the stub under the same name). When a demo needs a function you write in
another notebook of the assignment, one cell loads it::

    import gradkit.yours
    gradkit.yours.load("update_rules.ipynb")      # beside this notebook

:func:`load` runs only that notebook's import statements and its answer cells,
in a namespace of their own; never its tests or demos, and the file is only
read. With the full library (the instructor's), nothing calls :func:`call`:
loading is harmless and changes no result.

Every problem is one line (:class:`KitError` and its subclasses render so in
Jupyter). They subclass ``RuntimeError``, not ``NotImplementedError``: the
grader reports a function that raises ``NotImplementedError`` as "not
implemented yet", which would blame the function under test when a function it
calls is the one missing.
"""

from __future__ import annotations

import ast
import builtins
import linecache
import os
import re
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["call", "load", "use", "reset", "KitError", "NotWrittenYet", "CallsItself", "LoadError"]

#: The attribute that marks a kit's stub (its value: the notebook where the function is written).
STUB_MARK = "__gradkit_stub__"
#: Names a notebook front end leaves in the kernel's namespace: the running notebook's path.
SESSION_NAMES = ("__session__", "__vsc_ipynb_file__")
#: An assignment's folder name: two digits, an underscore (``05_optimization``).
_ASSIGNMENT_FOLDER = re.compile(r"^\d\d_")


class KitError(RuntimeError):
    """A problem of the student kit, shown as one line in Jupyter (no traceback)."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback through gradkit's frames.
        return [f"\x1b[31m{type(self).__name__}\x1b[0m: {self}"]


class NotWrittenYet(KitError):
    """A demo needs one of your functions, and it is not defined or not written yet."""


class CallsItself(KitError):
    """Your function calls gradkit's function of the same name, which in the kit is yours."""


class LoadError(KitError):
    """:func:`load` could not read a notebook, or one of its cells failed."""


_registry: dict[str, Callable[..., Any]] = {}
_registry_lock = threading.Lock()
_active = threading.local()  # per thread: the names whose student function is running


def _running() -> list[str]:
    names: list[str] | None = getattr(_active, "names", None)
    if names is None:
        names = _active.names = []
    return names


def _is_stub(obj: object) -> bool:
    return bool(getattr(obj, STUB_MARK, False))


def _namespace() -> dict[str, Any]:
    """The notebook's namespace: IPython's ``user_ns`` in a kernel, else ``__main__``'s."""
    ipython = sys.modules.get("IPython")  # imported by every kernel; never imported here
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        return shell.user_ns
    return vars(sys.modules["__main__"])


def _find(name: str) -> Callable[..., Any] | None:
    func = _registry.get(name)
    if func is not None:
        return func
    candidate = _namespace().get(name)
    if callable(candidate) and not _is_stub(candidate):
        return candidate
    return None


def _running_notebook() -> str:
    """The file name of the notebook this kernel runs, when the front end says (else '')."""
    namespace = _namespace()
    for key in SESSION_NAMES:
        value = namespace.get(key)
        if isinstance(value, str) and value.endswith(".ipynb"):
            return os.path.basename(value)
    return os.path.basename(os.environ.get("JPY_SESSION_NAME", ""))


def _missing(name: str, where: str) -> str:
    """What to do about a function that is nowhere: one line naming it and its notebook."""
    folder, _, notebook = where.rpartition("/")
    here = Path.cwd().name  # the running notebook's folder in Jupyter
    if folder and _ASSIGNMENT_FOLDER.match(here) and here != folder:
        if folder > here:
            return (
                f"`{name}` is yours to write later, in {where}: "
                "the kit of this assignment cannot run it yet"
            )
        return (
            f"`{name}` is yours to write in {where}: run "
            f'gradkit.yours.load("../{where}") before this cell'
        )
    running = _running_notebook()
    if running == notebook:
        return f"`{name}` is yours to write in {where}: run the cell that defines it"
    loader = f'gradkit.yours.load("{notebook}")'
    if running:
        return f"`{name}` is yours to write in {where}: run {loader} before this cell"
    return (
        f"`{name}` is yours to write in {where}: run the cell that defines it "
        f"(from another notebook: {loader})"
    )


def call(name: str, where: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Call your function ``name`` (written in notebook ``where``) with ``args`` and ``kwargs``.

    What a kit's stub does. Raises :class:`NotWrittenYet` when no function of
    that name is registered or defined in the notebook, or when yours raises
    ``NotImplementedError``; :class:`CallsItself` when your ``name`` calls
    gradkit's ``name`` (directly or through gradkit code that uses it), which
    in the kit is yours again. Anything else your function raises comes
    through unchanged, and so do the arguments: nothing is copied or modified.
    """
    __tracebackhide__ = True  # pytest and IPython leave this frame out of tracebacks
    running = _running()
    if name in running:
        raise CallsItself(
            f"your `{name}` calls gradkit's `{name}` (directly or through gradkit code that "
            f"uses it), which in this kit is yours to write: compute it in your own code"
        )
    func = _find(name)
    if func is None:
        raise NotWrittenYet(_missing(name, where))
    running.append(name)
    try:
        return func(*args, **kwargs)
    except KitError:
        raise
    except NotImplementedError:
        raise NotWrittenYet(
            f"this demo needs your `{name}` ({where}), which is not written yet: "
            "it raises NotImplementedError"
        ) from None
    finally:
        running.pop()


def use(*functions: Callable[..., Any]) -> list[str]:
    """Register ``functions`` as yours, each under its ``__name__``; return those names.

    Registered functions come before the notebook's own when :func:`call`
    looks one up, e.g. ``gradkit.yours.use(my_adam)`` after ``my_adam.__name__
    = "adam"``.
    """
    named: dict[str, Callable[..., Any]] = {}
    for func in functions:
        name = getattr(func, "__name__", None)
        if not callable(func) or not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"gradkit.yours.use: expected functions with a name; got {func!r}")
        if _is_stub(func):
            raise ValueError(f"gradkit.yours.use: {name} is the kit's stub, not your function")
        named[name] = func
    with _registry_lock:
        _registry.update(named)
    return list(named)


def reset() -> None:
    """Forget every function :func:`load` and :func:`use` registered."""
    with _registry_lock:
        _registry.clear()


# --------------------------------------------------------------------------------- load


def _python(source: str) -> str:
    """A cell's source as Python: IPython's magics turned into calls (or dropped without it)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with the course's kernel
        lines = source.splitlines()
        return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
    return str(TransformerManager().transform_cell(source))


def _imports(source: str) -> ast.Module | None:
    """The top-level import statements of a cell (None when it has none or does not parse)."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return None
    body: list[ast.stmt] = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    return ast.Module(body=body, type_ignores=[]) if body else None


def _cell_name(source: str, number: int) -> str:
    """How a message names a cell: by the first function it defines, else by its number."""
    match = re.search(r"^def\s+(\w+)", source, re.M)
    return f"the cell defining {match.group(1)}" if match else f"cell {number}"


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"SyntaxError at line {exc.lineno} ({exc.msg})"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]


class _Cell(types.SimpleNamespace):
    cell_type: str
    source: str
    metadata: dict[str, Any]


def _read_cells(path: Path) -> list[Any]:
    """The cells of the notebook at ``path`` (read only). A notebook of format 4, what
    Jupyter writes, is read as JSON: nbformat's import (its schema validator, jsonschema's
    format checkers) costs about a CPU second in every kernel that loads a notebook,
    and its checks would change nothing here. Another format goes through nbformat."""
    import json

    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    if not isinstance(raw, dict) or raw.get("nbformat") != 4:
        import nbformat

        return list(nbformat.reads(json.dumps(raw), as_version=4).cells)
    cells = raw.get("cells")
    if not isinstance(cells, list):
        raise ValueError("its 'cells' is not a list")
    out = []
    for cell in cells:
        if not isinstance(cell, dict):
            raise ValueError("a cell is not an object")
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        metadata = cell.get("metadata", {})
        out.append(
            _Cell(
                cell_type=str(cell.get("cell_type", "")),
                source=str(source),
                metadata=metadata if isinstance(metadata, dict) else {},
            )
        )
    return out


def load(notebook: str | os.PathLike[str]) -> list[str]:
    """Register the functions your answer cells of ``notebook`` define; return their names.

    ``notebook`` is a path relative to the working directory (in Jupyter, this
    notebook's folder), e.g. ``"update_rules.ipynb"``. In a namespace of its
    own, this runs the notebook's import statements (those of its cells that
    are neither answers, tests nor demos; nothing else of them) and then its
    answer cells (nbgrader's ``"solution": true``), in order; tests and demos
    never run and the file is only read. A cell that fails does not stop the
    others: their functions are registered, then :class:`LoadError` names the
    first cell that failed. A name loaded or used again is replaced.
    """
    path = Path(notebook)
    label = path.name
    if not path.is_file():
        folder = (Path.cwd() / path).parent
        raise LoadError(
            f"gradkit.yours.load: there is no {label} in {folder}: "
            "keep the notebooks of an assignment together in one folder"
        )
    try:
        cells = _read_cells(path)
    except Exception as exc:
        raise LoadError(
            f"gradkit.yours.load: {label} is not a readable notebook ({_first_line(exc)})"
        ) from None
    namespace: dict[str, Any] = {"__name__": f"gradkit.yours:{label}", "__builtins__": builtins}
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is not None:  # an answer cell's magics (turned into calls) find the kernel
        namespace["get_ipython"] = lambda: shell
    failures: list[str] = []
    for number, cell in enumerate(cells, start=1):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        meta = meta if isinstance(meta, dict) else {}
        filename = f"<{label}, cell {number}>"
        code: Any
        if meta.get("solution"):
            code = _python(cell.source)
        elif meta.get("grade") or "demo" in cell.metadata.get("tags", []):
            continue
        else:
            code = _imports(cell.source)
            if code is None:
                continue
        try:
            compiled = compile(code, filename, "exec")
            linecache.cache[filename] = (  # tracebacks through your functions show their lines
                len(cell.source),
                None,
                cell.source.splitlines(keepends=True),
                filename,
            )
            exec(compiled, namespace)
        except Exception as exc:  # the student's cell: named in one line below
            failures.append(f"{_cell_name(cell.source, number)}: {_first_line(exc)}")
    found = {
        name: value
        for name, value in namespace.items()
        if isinstance(value, types.FunctionType)
        and value.__globals__ is namespace
        and not _is_stub(value)
    }
    with _registry_lock:
        _registry.update(found)
    if failures:
        more = f" (and {len(failures) - 1} more cells)" if len(failures) > 1 else ""
        raise LoadError(
            f"gradkit.yours.load: {label}, {failures[0]}{more}; fix it there, save that "
            "notebook, and run this cell again"
        )
    return sorted(found)
