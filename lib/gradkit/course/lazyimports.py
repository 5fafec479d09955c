"""Third-party imports a self-check need not pay for up front.

nbformat imports jsonschema, and jsonschema, when the package ``rfc3987_syntax`` is
installed (JupyterLab's ``jupyter_events`` brings it), imports it to check the ``iri``
format: that import builds 38 Earley parsers from a grammar, 0.7 s of CPU on the project's
machine, about a fifth of a whole `gradkit check`. No notebook schema uses that format.
:func:`defer_iri_grammar` puts a stand-in in its place that loads the real module the
first time it is used, so everything works as before, only later if ever.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

__all__ = ["defer_iri_grammar"]

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
