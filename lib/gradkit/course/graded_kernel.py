"""How a kernel that grades a notebook starts: ``python -m gradkit.course.graded_kernel -f FILE``.

This is ipykernel's own launcher, minus two start-up costs no graded notebook needs.
Every kernel the grader starts (the student's, and the reference's of the speed checks)
runs it in place of ``ipykernel_launcher``
(:meth:`gradkit.course.sandbox.SandboxedKernelManager.format_kernel_cmd`):

* **No debugger.** ipykernel imports debugpy when it starts, to offer Jupyter's
  debugger (about 0.06 CPU s, a quarter of a kernel's start). Nobody attaches a
  debugger to a kernel that grades, and one student's code has no use for it.
* **matplotlib when it is first used.** Every notebook's setup cell imports
  ``matplotlib.pyplot`` and runs ``%matplotlib inline`` (about 0.4 CPU s); under the
  autograder the cells that draw are ``demo`` cells, which are skipped, so most graded
  notebooks never draw. Here ``import matplotlib.pyplot`` binds a module whose code
  has not run, in a package whose code has not run either (:class:`_DeferredModule`:
  as :class:`importlib.util.LazyLoader`, but what the import system and ``isinstance``
  read does not run it). The first use of one of pyplot's names runs matplotlib and
  pyplot, then the inline backend that ``%matplotlib inline`` asked for meanwhile; the
  first use of one of matplotlib's own names runs matplotlib alone. A notebook that
  draws gets the same figures, the imports' cost paid at their first use instead of
  in the setup cell. Other backends (``%matplotlib widget``, no argument) are set up
  at once, as always. A figure made without pyplot (``matplotlib.figure.Figure``) and
  left as a cell's value shows as text until pyplot has been used.

Nothing here is a defence: the student's code runs in this process and may undo any of
it, which changes its own speed only.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

__all__ = ["kernel_argv", "main", "PYPLOT", "PACKAGE"]

PACKAGE = "matplotlib"
PYPLOT = "matplotlib.pyplot"
#: What the import system reads of a package while it finds and binds its submodules, and
#: what ``isinstance`` reads.
IMPORT_ATTRIBUTES = frozenset(
    {"__name__", "__path__", "__spec__", "__loader__", "__package__", "__file__", "__class__"}
)
#: ``%matplotlib`` backends set up only once pyplot is loaded (the one the notebooks use).
DEFERRED_GUIS = ("inline",)

_state: dict[str, Any] = {"loaded": False, "gui": None}


class _DeferredModule(types.ModuleType):
    """A module whose code has not run yet. What the import system reads of it (its
    ``__path__``, ...; :data:`IMPORT_ATTRIBUTES`), its ``__class__`` (``isinstance``) and
    the submodules bound to it meanwhile are served as they are; any other name runs its
    code first, once."""

    def __getattribute__(self, name: str) -> Any:
        if name in IMPORT_ATTRIBUTES:
            return super().__getattribute__(name)
        own = super().__getattribute__("__dict__")
        if name == "__dict__":
            return own
        if isinstance(own.get(name), types.ModuleType):
            return own[name]
        _run(self)
        return getattr(self, name)


def _run(module: Any) -> None:
    """Run the code of a :class:`_DeferredModule`, then what its loader runs after it."""
    module.__class__ = types.ModuleType
    deferred = module.__spec__.loader_state
    # the module as the import system would have left it (inspect finds its source)
    module.__spec__.loader = module.__loader__ = deferred.loader
    try:
        deferred.loader.exec_module(module)
    except BaseException:  # as a failed import: no half-run module left to find
        sys.modules.pop(module.__name__, None)
        raise
    if deferred.after is not None:
        deferred.after()


class _Deferred(importlib.abc.Loader):
    """The loader of a module whose code runs at its first use (:class:`_DeferredModule`);
    ``after()`` is called once it has run."""

    def __init__(self, loader: Any, after: Any = None) -> None:
        self.loader, self.after = loader, after

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__spec__.loader_state = self
        module.__class__ = _DeferredModule


def _pyplot_ran() -> None:
    """pyplot has run: set up the backend ``%matplotlib`` asked for meanwhile."""
    _state["loaded"] = True
    gui, _state["gui"] = _state["gui"], None
    if gui is not None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.enable_matplotlib(gui)


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds ``matplotlib`` and ``matplotlib.pyplot`` where they are, and hands each out
    deferred, once."""

    def __init__(self) -> None:
        self.names = {PACKAGE, PYPLOT}

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in self.names:
            return None
        self.names.discard(name)
        if not self.names:
            sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Deferred(spec.loader, _pyplot_ran if name == PYPLOT else None)
        return spec


def kernel_argv(argv: list[str]) -> list[str]:
    """A kernel command with ipykernel's launcher replaced by this module's; any other
    kernel command as it is."""
    for at in range(len(argv) - 1):
        if argv[at : at + 2] == ["-m", "ipykernel_launcher"]:
            return [*argv[:at], "-m", "gradkit.course.graded_kernel", *argv[at + 2 :]]
    return argv


def _defer_inline(original: Any) -> Any:
    def enable_matplotlib(self: Any, gui: str | None = None) -> Any:
        if gui in DEFERRED_GUIS and not _state["loaded"]:
            _state["gui"] = gui
            return gui, gui
        return original(self, gui)

    enable_matplotlib.__doc__ = original.__doc__
    return enable_matplotlib


def main() -> None:
    if sys.path and sys.path[0] in ("", "."):  # as ipykernel_launcher: not the cwd's modules
        del sys.path[0]
    sys.modules["debugpy"] = None  # type: ignore[assignment]  # ipykernel: no debugger
    if PACKAGE not in sys.modules:
        sys.meta_path.insert(0, _LazyFinder())
        from IPython.core.interactiveshell import InteractiveShell

        InteractiveShell.enable_matplotlib = _defer_inline(  # type: ignore[method-assign]
            InteractiveShell.enable_matplotlib
        )
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
