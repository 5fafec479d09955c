"""The process that answers one Validate: started ahead, ready, then used once and gone.

The Jupyter server extension (:mod:`gradkit.course.jupyter`) runs each Validate in a
process of this module, and keeps the next one ready: it has imported everything a check
needs and started a :class:`~gradkit.course.readykernel.ReadyKernel` that has imported
numpy, matplotlib and the library. The protocol, on the process's standard streams:

1. it writes ``ready`` and a newline once the kernel's imports are done;
2. it reads one line, a JSON object ``{"path": "/abs/notebook.ipynb"}``; at end of
   input (the server stopped, or let it go) it shuts its kernel down and exits;
3. it writes nbgrader's Validate reply as one line of JSON, shuts the kernel down and exits.

Nothing else reaches its standard output: what the library prints goes to standard error
(the server's log), and the kernel's own output goes nowhere. One process checks one
notebook, in one kernel, so nothing a notebook does reaches the next Validate.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

__all__ = ["main", "READY"]

#: The line the worker writes once it is ready for a notebook.
READY = "ready"


def main() -> int:
    # The replies go to a copy of the standard output; the descriptor itself becomes the
    # standard error, so nothing printed by a library can be taken for a reply.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    # Asked to stop (the server stops): leave through the ``finally`` that stops the kernel.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from .lazyimports import defer_iri_grammar
    from .readykernel import REFERENCE_MODULES, ReadyKernel, needs_reference

    defer_iri_grammar()
    kernel = ReadyKernel().start()
    reference: ReadyKernel | None = None
    try:
        # What the check imports, while the kernel starts.
        from ..grading import specs
        from . import execute, jupyter, selfcheck  # noqa: F401

        if needs_reference(list(specs.all_specs())):  # the full library times the reference
            reference = ReadyKernel(REFERENCE_MODULES).start()
        kernel.wait()
        if reference is not None:
            reference.wait()
        out.write(READY + "\n")
        out.flush()
        line = sys.stdin.readline()
        if not line.strip():
            return 0
        try:
            path = Path(json.loads(line)["path"])
        except (ValueError, KeyError, TypeError):
            reply = {"success": False, "value": "gradkit: a malformed Validate request"}
        else:
            try:
                reply = jupyter.validate(path, kernel=kernel, reference=reference)
            except Exception as exc:  # one line, never a traceback, in the dialog
                first = str(exc).splitlines()[0][:200] if str(exc) else ""
                reply = {
                    "success": False,
                    "value": f"gradkit could not check {path.name}: {type(exc).__name__}: {first}",
                }
        out.write(json.dumps(reply) + "\n")
        out.flush()
        return 0
    except BrokenPipeError:  # the server went away
        return 0
    finally:
        kernel.close()
        if reference is not None:
            reference.close()


if __name__ == "__main__":
    sys.exit(main())
