"""Imports a grading process leaves out because they cost much and serve it nothing.

``jsonschema`` (which nbformat validates notebooks with) imports ``rfc3987_syntax``
when it is installed, only to check the ``iri`` string formats, and that import
compiles some forty Lark grammars: about one CPU second in every process that
reads a notebook. nbformat validates without format checks, and nothing gradkit
runs checks that format, so :func:`skip_slow_imports` makes the import fail as if
the package were absent (jsonschema then leaves those two formats unchecked).
"""

from __future__ import annotations

import sys

__all__ = ["SKIPPED", "skip_slow_imports"]

#: Modules never imported by a process that calls :func:`skip_slow_imports`.
SKIPPED = ("rfc3987_syntax",)


def skip_slow_imports() -> None:
    """Make the modules of :data:`SKIPPED` unimportable in this process, unless already
    imported (call it before anything imports jsonschema)."""
    for name in SKIPPED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
