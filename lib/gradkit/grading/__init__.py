"""Grading: what judges a student's function.

A notebook's test cell is one line::

    grade("svm_loss_naive", points=3)

Inside Jupyter (or nbval) this runs the function's spec right there, on the
functions the notebook defined, and shows the verdict: one line per check,
the points, and a diagnosis when an answer matches a classic mistake. When
the notebook is graded (``gradkit grade``) or self-checked (``gradkit
check``), the grader does not run the cell at all: it runs the same spec in
its own process and calls the student's functions in the kernel through
:mod:`~gradkit.grading.bridge`, so the verdict cannot be forged from the
notebook. See ``docs/grading.md`` for what each mode guarantees.

Modules: :mod:`~gradkit.grading.spec` (specs, cases, mistakes),
:mod:`~gradkit.grading.checks` and friends (the check vocabulary),
:mod:`~gradkit.grading.kinds` (standard checks per kind of function),
:mod:`~gradkit.grading.engine` (running a spec),
:mod:`~gradkit.grading.specs` (the course's specs, one module per notebook).
"""

from __future__ import annotations

import sys
from typing import Any

from . import replay
from .callee import DirectCallee
from .engine import run_spec
from .result import MIME, CheckResult, TestResult
from .seeds import practice_token
from .specs import all_specs, get_spec

#: Practice cases of test cells run in this kernel: the same draws until it restarts.
_SESSION_PRACTICE = practice_token()

__all__ = ["grade", "GradingFailure", "TestResult", "CheckResult", "MIME", "all_specs", "get_spec"]


class GradingFailure(AssertionError):
    """Raised by a test that scores 0, so the cell fails (nbgrader counts it as 0)."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback through gradkit's frames.
        return [f"\x1b[31mGradingFailure\x1b[0m: {self}"]


def show(result: TestResult) -> None:
    """Display a result: rich (table + data) in IPython, its text lines elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is installed with the course extra
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        bundle = {"text/plain": result.text(), "text/html": result.html(), MIME: result.to_dict()}
        display(bundle, raw=True)
    else:
        print(result.text(), end="")


def grade(
    name: str,
    points: float,
    hidden: str | None = None,
    namespace: dict[str, Any] | None = None,
) -> float:
    """Check the notebook's ``name`` (and the functions its spec needs) and show the verdict.

    ``namespace`` defaults to the caller's globals (the notebook). ``hidden``
    is a hidden-case token (the instructor's own runs pass ``"instructor"``);
    without one, the test adds practice cases drawn from a random token of this
    kernel session, the way the grader draws the student's hidden cases.
    Returns the points earned; a test that earns nothing raises
    :class:`GradingFailure`.
    """
    spec = get_spec(name)
    kit = replay.installed_kit()
    if kit is not None and hidden is not None and hidden not in kit.practice_tokens:
        raise ValueError(
            f"this student kit of {kit.assignment} has no hidden cases: only the grader draws "
            f"them; call grade({name!r}, points={points:g}) without hidden="
        )
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    functions = {fn: namespace.get(fn) for fn in spec.functions}
    callee = DirectCallee(functions, forbidden=tuple(spec.forbidden_names()))
    result = run_spec(spec, callee, points, _SESSION_PRACTICE if hidden is None else hidden)
    show(result)
    if result.score <= 0:
        raise GradingFailure(f"{name}: no check passed (0/{points:g} points); see the lines above")
    return result.score
