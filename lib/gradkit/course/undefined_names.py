"""Why a graded function is not defined: the words a failed check gets.

A test whose function is missing says so ("is not defined; run the cell that defines
it"). When grading knows more, the check's detail says it instead: the only cell that
defines the name is a ``demo`` cell, which grading skips, or the cell that defines the
function failed (a ``SyntaxError`` with its line, or the exception it raised).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..grading.result import TestResult

__all__ = ["explain_undefined"]

_NAME_ERROR = re.compile(r"raised NameError: name '(\w+)' is not defined")
_NOT_DEFINED = re.compile(r"is not defined; run the cell that defines (\w+)")


def explain_undefined(
    result: TestResult,
    cells: Sequence[Any],
    skip_tag: str,
    cell_errors: Mapping[int, tuple[str, str]],
) -> None:
    """Give each check of ``result`` that failed on an undefined name the reason, from the
    notebook's ``cells`` before the test (cells tagged ``skip_tag`` are not run; a cell's
    index -> its exception name and first line in ``cell_errors``)."""
    skipped: set[str] = set()
    for cell in cells:
        if cell.cell_type == "code" and skip_tag in cell.metadata.get("tags", []):
            skipped |= _defined_names(cell.source)
    for check in result.checks:
        match = _NAME_ERROR.search(check.detail) or _NOT_DEFINED.search(check.detail)
        if not match:
            continue
        name = match.group(1)
        if name in skipped:
            check.detail += (
                f" ({name} is defined only in a demo cell, which grading skips: "
                "define what your function needs in its own cell)"
            )
            continue
        why = _why_undefined(name, cells, cell_errors)
        if why:
            check.detail = f"{name} is not defined: {why}"


def _why_undefined(
    name: str, cells: Sequence[Any], cell_errors: Mapping[int, tuple[str, str]]
) -> str:
    """Why the last of ``cells`` that defines ``name`` did not: its error, if it had one."""
    pattern = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", re.M)
    for index in range(len(cells) - 1, -1, -1):
        cell = cells[index]
        if cell.cell_type != "code" or not pattern.search(cell.source):
            continue
        if index not in cell_errors:
            return ""
        ename, evalue = cell_errors[index]
        if ename in ("SyntaxError", "IndentationError", "TabError"):
            where = _syntax_error_line(cell.source)
            return f"the cell that defines it has a {ename}{where}, so none of it ran"
        return f"the cell that defines it raised {ename} ({evalue[:100]})"
    return ""


def _syntax_error_line(source: str) -> str:
    """`` at line N (message)`` for a cell with a syntax error (IPython magics allowed)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        source = TransformerManager().transform_cell(source)
    except Exception:  # a cell IPython cannot transform: parse it as it is
        pass
    try:
        compile(source, "<cell>", "exec")
    except SyntaxError as exc:
        return f" at line {exc.lineno} ({exc.msg})"
    return ""


@functools.lru_cache(maxsize=512)
def _defined_names(source: str) -> frozenset[str]:
    """Names a cell's code defines (asked again for every test of the notebook)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return frozenset(names)
