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
  has not run, in a package whose code has not run either
  (:class:`gradkit.course.lazyimports.DeferredModule`: as
  :class:`importlib.util.LazyLoader`, but what the import system and ``isinstance`` read
  does not run it). The first use of one of pyplot's names runs matplotlib and
  pyplot, then the inline backend that ``%matplotlib inline`` asked for meanwhile; the
  first use of one of matplotlib's own names runs matplotlib alone. A notebook that
  draws gets the same figures, the imports' cost paid at their first use instead of
  in the setup cell. Other backends (``%matplotlib widget``, no argument) are set up
  at once, as always. A figure made without pyplot (``matplotlib.figure.Figure``) and
  left as a cell's value shows as text until pyplot has been used.

* **Bridge requests without a cell.** The grader asks for one request of the bridge
  (:mod:`gradkit.grading.bridge`) with a shell message of its own
  (:data:`BRIDGE_REQUEST`), answered once the request is served: what an
  ``execute_request`` adds (IPython's input transformations, compiling a statement,
  history, an execute reply) cost the kernel about 0.9 ms of CPU a request, of 2.3–2.4
  (measured on this project's 2-core machine, 300 round trips each way).
  As in a cell, the request runs in the main thread, where the grader's interrupt
  reaches it, between IPython's ``pre_execute`` and ``post_execute`` events.

Nothing here is a defence: the student's code runs in this process and may undo any of
it, which changes its own speed only.
"""

from __future__ import annotations

import sys
from typing import Any

from .lazyimports import Deferral, defer

__all__ = ["kernel_argv", "main", "PYPLOT", "PACKAGE", "BRIDGE_REQUEST", "MODULE"]

#: The module every grading kernel runs (what :func:`kernel_argv` puts in the command).
MODULE = "gradkit.course.graded_kernel"
#: The shell message of one bridge request: content ``{"req", "out", "number"}``, as
#: :func:`gradkit.grading.bridge.kernel_code`'s arguments; answered by ``gradkit_bridge_reply``
#: with ``{"status": "ok"}`` or ``{"status": "error", "ename": ...}``.
BRIDGE_REQUEST = "gradkit_bridge_request"

PACKAGE = "matplotlib"
PYPLOT = "matplotlib.pyplot"
#: ``%matplotlib`` backends set up only once pyplot is loaded (the one the notebooks use).
DEFERRED_GUIS = ("inline",)

_state: dict[str, Any] = {"loaded": False, "gui": None}


def _pyplot_ran() -> None:
    """pyplot has run: set up the backend ``%matplotlib`` asked for meanwhile."""
    _state["loaded"] = True
    gui, _state["gui"] = _state["gui"], None
    if gui is not None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.enable_matplotlib(gui)


def kernel_argv(argv: list[str]) -> list[str]:
    """A kernel command with ipykernel's launcher replaced by this module's; any other
    kernel command as it is."""
    for at in range(len(argv) - 1):
        if argv[at : at + 2] == ["-m", "ipykernel_launcher"]:
            return [*argv[:at], "-m", MODULE, *argv[at + 2 :]]
    return argv


def _defer_inline(original: Any) -> Any:
    def enable_matplotlib(self: Any, gui: str | None = None) -> Any:
        if gui in DEFERRED_GUIS and not _state["loaded"]:
            _state["gui"] = gui
            return gui, gui
        return original(self, gui)

    enable_matplotlib.__doc__ = original.__doc__
    return enable_matplotlib


def _kernel_class() -> Any:
    """ipykernel's kernel, answering :data:`BRIDGE_REQUEST` too."""
    from ipykernel.ipkernel import IPythonKernel

    class GradedKernel(IPythonKernel):
        def __init__(self, **kwargs: Any):
            super().__init__(**kwargs)
            self.shell_handlers[BRIDGE_REQUEST] = self.bridge_request

        def bridge_request(self, stream: Any, ident: Any, parent: dict) -> None:
            content = parent.get("content") or {}
            reply: dict[str, Any] = {"status": "ok"}
            shell: Any = self.shell
            session: Any = self.session
            events = shell.events
            try:
                events.trigger("pre_execute")
                from ..grading.bridge_kernel import serve

                serve(str(content["req"]), str(content["out"]), int(content["number"]))
            except BaseException as exc:  # noqa: BLE001 - the grader's interrupt included
                reply = {"status": "error", "ename": type(exc).__name__}
            finally:
                events.trigger("post_execute")  # figures shown and closed, as after a cell
            session.send(stream, "gradkit_bridge_reply", reply, parent, ident)

    return GradedKernel


def main() -> None:
    if sys.path and sys.path[0] in ("", "."):  # as ipykernel_launcher: not the cwd's modules
        del sys.path[0]
    sys.modules["debugpy"] = None  # type: ignore[assignment]  # ipykernel: no debugger
    if PACKAGE not in sys.modules:
        defer({PACKAGE: Deferral(), PYPLOT: Deferral(after=_pyplot_ran)})
        from IPython.core.interactiveshell import InteractiveShell

        InteractiveShell.enable_matplotlib = _defer_inline(  # type: ignore[method-assign]
            InteractiveShell.enable_matplotlib
        )
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(kernel_class=_kernel_class())


if __name__ == "__main__":
    main()
