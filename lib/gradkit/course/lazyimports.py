"""Third-party imports a grader, a kernel or a self-check need not pay for up front.

* nbformat imports jsonschema, and jsonschema, when the package ``rfc3987_syntax`` is
  installed (JupyterLab's ``jupyter_events`` brings it), imports it to check the ``iri``
  format: that import builds 38 Earley parsers from a grammar, 0.7 s of CPU on the
  project's machine, about a fifth of a whole `gradkit check`. No notebook schema uses
  that format. :func:`defer_iri_grammar` puts a stand-in in its place that loads the real
  module the first time it is used, so everything works as before, only later if ever.
* :func:`defer` hands out named modules whose code runs at their first use
  (:class:`DeferredModule`): what the import system and ``isinstance`` read of them, and
  the submodules bound to them meanwhile, do not run it. A package may name
  *shortcuts*, attributes served from one of its submodules without running the
  package's own code. The graded kernel defers matplotlib this way
  (:mod:`gradkit.course.graded_kernel`), and the grader's fork server nbgrader
  (:func:`defer_nbgrader_package`).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "defer_iri_grammar",
    "defer",
    "Deferral",
    "DeferredModule",
    "defer_nbgrader_package",
    "IMPORT_ATTRIBUTES",
]

_NAME = "rfc3987_syntax"
_real: types.ModuleType | None = None


def _load() -> types.ModuleType:
    global _real
    if _real is None:
        if isinstance(sys.modules.get(_NAME), _Deferred):
            del sys.modules[_NAME]
        _real = importlib.import_module(_NAME)
    return _real


class _Deferred(types.ModuleType):
    """Stands for ``rfc3987_syntax`` until something uses it."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # what the import system asks of every module (__path__)
            raise AttributeError(name)
        return getattr(_load(), name)


def _is_valid_syntax(term: str, value: str) -> bool:
    return bool(_load().is_valid_syntax(term, value))


def defer_iri_grammar() -> None:
    """Make ``rfc3987_syntax`` load on first use (call before jsonschema is imported)."""
    if _NAME in sys.modules or "jsonschema" in sys.modules:
        return
    try:
        if importlib.util.find_spec(_NAME) is None:
            return
    except (ImportError, ValueError):
        return
    stand_in = _Deferred(_NAME)
    # jsonschema imports this name at its own import: a function that loads on its call.
    stand_in.is_valid_syntax = _is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[_NAME] = stand_in


# --- modules whose code runs at first use ----------------------------------------------

#: What the import system reads of a package while it finds and binds its submodules, and
#: what ``isinstance`` reads.
IMPORT_ATTRIBUTES = frozenset(
    {"__name__", "__path__", "__spec__", "__loader__", "__package__", "__file__", "__class__"}
)


@dataclass
class Deferral:
    """How one module is deferred. ``shortcuts``: attribute -> the submodule (relative
    name) that defines it, served without running the module's code (if that submodule
    cannot be imported or lacks the name, the module's code runs, as without the
    shortcut); ``submodules``: a name that is a submodule of the package imports that
    submodule instead of running the package's code (only for packages whose code binds
    no attribute of a submodule's name); ``after()``: called once the code has run."""

    shortcuts: Mapping[str, str] = field(default_factory=dict)
    submodules: bool = False
    after: Callable[[], None] | None = None


class DeferredModule(types.ModuleType):
    """A module whose code has not run yet. What the import system reads of it (its
    ``__path__``, ...; :data:`IMPORT_ATTRIBUTES`), its ``__class__`` (``isinstance``), the
    submodules bound to it meanwhile and its :class:`Deferral`'s shortcuts are served as
    they are; any other name runs its code first, once."""

    def __getattribute__(self, name: str) -> Any:
        if name in IMPORT_ATTRIBUTES:
            return super().__getattribute__(name)
        own = super().__getattribute__("__dict__")
        if name == "__dict__":
            return own
        if isinstance(own.get(name), types.ModuleType):
            return own[name]
        loader: _DeferredLoader = own["__spec__"].loader_state
        if loader.runner == threading.get_ident():  # its own code, running now
            return super().__getattribute__(name)
        served = loader.serve(own, name)
        if served is not _NOT_SERVED:
            return served
        run_deferred(self)
        return getattr(self, name)


_NOT_SERVED = object()


#: Held while a deferred module's code runs: another thread that uses the module meanwhile
#: waits for it, as it would for an import, instead of reading it half-run.
_RUNNING = threading.RLock()


def run_deferred(module: Any) -> None:
    """Run the code of a :class:`DeferredModule` (nothing if it has run), then its
    deferral's ``after()``. A failure leaves no half-run module in ``sys.modules``."""
    with _RUNNING:
        if type(module) is DeferredModule:  # else run meanwhile, by another thread
            _run(module)


def _run(module: Any) -> None:
    deferred: _DeferredLoader = module.__spec__.loader_state
    # the module as the import system would have left it (inspect finds its source)
    module.__spec__.loader = module.__loader__ = deferred.loader
    deferred.runner = threading.get_ident()
    try:
        deferred.loader.exec_module(module)
    except BaseException:  # as a failed import: no half-run module left to find
        sys.modules.pop(module.__name__, None)
        raise
    finally:
        deferred.runner = None
        if type(module) is DeferredModule:  # unless its code set a class of its own
            module.__class__ = types.ModuleType  # type: ignore[assignment]
    if deferred.how.after is not None:
        deferred.how.after()


class _DeferredLoader(importlib.abc.Loader):
    """The loader of a module whose code runs at its first use (:class:`DeferredModule`)."""

    def __init__(self, loader: Any, how: Deferral) -> None:
        self.loader, self.how = loader, how
        self.served: set[str] = set()
        self.runner: int | None = None  # the thread running the module's code

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__spec__.loader_state = self
        module.__class__ = DeferredModule

    def serve(self, own: dict, name: str) -> Any:
        """``name`` without running the module's code, or :data:`_NOT_SERVED`."""
        if name in self.served:
            return own[name]
        package = own["__name__"]
        where = self.how.shortcuts.get(name)
        try:
            if where is not None:
                value = getattr(importlib.import_module(f"{package}.{where}"), name)
                own[name] = value
                self.served.add(name)
                return value
            if (
                self.how.submodules
                and not name.startswith("__")
                and importlib.util.find_spec(f"{package}.{name}") is not None
            ):
                return importlib.import_module(f"{package}.{name}")
        except (ImportError, AttributeError, ValueError):
            pass  # not where it was expected: the package's own code says
        return _NOT_SERVED


class _DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds each named module where it is and hands it out deferred, once."""

    def __init__(self, names: Mapping[str, Deferral]) -> None:
        self.names = dict(names)

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        how = self.names.pop(name, None)
        if how is None:
            return None
        if not self.names and self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _DeferredLoader(spec.loader, how)
        return spec


def defer(names: Mapping[str, Deferral]) -> None:
    """Hand out each of ``names`` (not yet imported) deferred at its first import."""
    todo = {name: how for name, how in names.items() if name not in sys.modules}
    if todo:
        sys.meta_path.insert(0, _DeferringFinder(todo))


#: What a grading process uses of nbgrader: its ``Execute`` preprocessor (the base of
#: :class:`gradkit.course.execute.GradkitExecute`) and two output filters.
NBGRADER_PREPROCESSORS = {
    "NbGraderPreprocessor": "base",
    "Execute": "execute",
    "LimitOutput": "limitoutput",
    "IgnorePattern": "ignorepattern",
}


def defer_nbgrader_package() -> None:
    """Import nbgrader's preprocessors that grading uses without nbgrader's package code.

    ``import nbgrader`` imports its Jupyter server extensions, and
    ``nbgrader.preprocessors`` imports every preprocessor, the gradebook's among them
    (SQLAlchemy): 0.5 CPU s that the fork server of the grading processes paid at every
    run for three classes. Deferred, ``from nbgrader.preprocessors import Execute`` imports
    ``nbgrader.preprocessors.execute`` and what it imports, and nothing else; any other
    use of either package (``nbgrader.__version__``, ``nbgrader.preprocessors.SaveCells``)
    runs its code as usual. Call before nbgrader is imported (nothing otherwise)."""
    defer(
        {
            "nbgrader": Deferral({"__version__": "_version"}, submodules=True),
            "nbgrader.preprocessors": Deferral(NBGRADER_PREPROCESSORS, submodules=True),
        }
    )
