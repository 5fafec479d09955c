"""How a kernel that grades a notebook starts: ``python -m gradkit.course.graded_kernel -f FILE``.

This is ipykernel's own launcher, minus two start-up costs no graded notebook needs.
Every kernel the grader starts (the student's, and the reference's of the speed checks)
runs it in place of ``ipykernel_launcher``
(:meth:`gradkit.course.sandbox.SandboxedKernelManager.format_kernel_cmd`):

* **No debugger.** ipykernel imports debugpy when it starts, to offer Jupyter's
  debugger (about 0.06 CPU s, a quarter of a kernel's start). Nobody attaches a
  debugger to a kernel that grades, and one student's code has no use for it.
* **pyplot when it is first used.** Every notebook's setup cell imports
  ``matplotlib.pyplot`` and runs ``%matplotlib inline`` (about 0.3 CPU s); under the
  autograder the cells that draw are ``demo`` cells, which are skipped, so most graded
  notebooks never draw. Here ``import matplotlib.pyplot`` binds a lazy module
  (:class:`importlib.util.LazyLoader`): the first use of one of its names runs the real
  module, and then the inline backend that ``%matplotlib inline`` asked for meanwhile.
  A notebook that draws gets the same figures, the import's cost paid at its first use
  instead of in the setup cell. Other backends (``%matplotlib widget``, no argument) are
  set up at once, as always.

Nothing here is a defence: the student's code runs in this process and may undo any of
it, which changes its own speed only.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from typing import Any

__all__ = ["main", "PYPLOT"]

PYPLOT = "matplotlib.pyplot"
#: ``%matplotlib`` backends set up only once pyplot is loaded (the one the notebooks use).
DEFERRED_GUIS = ("inline",)

_state: dict[str, Any] = {"loaded": False, "gui": None}


class _ThenInline(importlib.abc.Loader):
    """pyplot's own loader; once pyplot has run, the backend ``%matplotlib`` asked for."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        # the module as the import system would have left it (inspect finds its source)
        module.__spec__.loader = module.__loader__ = self.loader
        self.loader.exec_module(module)
        _state["loaded"] = True
        gui, _state["gui"] = _state["gui"], None
        if gui is not None:
            from IPython import get_ipython

            shell = get_ipython()
            if shell is not None:
                shell.enable_matplotlib(gui)


class _LazyPyplotFinder(importlib.abc.MetaPathFinder):
    """Finds ``matplotlib.pyplot`` where it is, and hands it out lazily (once)."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != PYPLOT:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = importlib.util.LazyLoader(_ThenInline(spec.loader))
        return spec


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
    if PYPLOT not in sys.modules:
        sys.meta_path.insert(0, _LazyPyplotFinder())
        from IPython.core.interactiveshell import InteractiveShell

        InteractiveShell.enable_matplotlib = _defer_inline(  # type: ignore[method-assign]
            InteractiveShell.enable_matplotlib
        )
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
