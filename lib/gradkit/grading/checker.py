"""The machinery every checker shares: sub-checks, safe calls, scoring.

A checker creates a :class:`Checker`, calls the student's function through
:meth:`Checker.call` (which copies the inputs, watches for delegation to the
reference, silences warnings, notices mutated inputs and tampering), records
one :meth:`Checker.record` per sub-check, and returns :meth:`Checker.finish`:

* each sub-check prints one line to stdout — ``PASS``/``FAIL``, its name,
  and for a failure what was expected, what came and a hint;
* the score is ``points × (weight passed) / (total weight)``, the float that
  nbgrader reads as partial credit from the test cell's last expression;
* when nothing passes, :class:`GradingFailure` (an ``AssertionError``) is
  raised so the test cell fails visibly and scores 0.
"""

from __future__ import annotations

import copy
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from . import guard
from .delegation import Watch

__all__ = ["Checker", "GradingFailure", "CallResult", "close", "describe_diff"]


class GradingFailure(AssertionError):
    """Raised by a checker that awards no points."""


@dataclass
class CallResult:
    ok: bool
    value: object = None
    error: str = ""
    delegated: str | None = None
    mutated: bool = False


def _deep_equal(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.shape == b.shape
            and a.dtype == b.dtype
            and bool(np.array_equal(a, b, equal_nan=True))
        )
    if isinstance(a, dict):
        return (
            isinstance(b, dict) and a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_deep_equal(x, y) for x, y in zip(a, b))
    return True


def close(a, b, rtol: float, atol: float = 0.0) -> bool:
    """True when ``a`` and ``b`` have one shape and agree within ``rtol``/``atol``."""
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape:
        return False
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def describe_diff(got, expected) -> str:
    """One short phrase saying how ``got`` differs from ``expected``."""
    try:
        g = np.asarray(got, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return f"expected a number or array, got {type(got).__name__}"
    if g.shape != e.shape:
        return f"expected shape {e.shape}, got {g.shape}"
    if not np.all(np.isfinite(g)):
        return "got non-finite values (nan or inf)"
    if g.ndim == 0:
        return f"expected {float(e):.6g}, got {float(g):.6g}"
    err = np.abs(g - e)
    i = np.unravel_index(int(np.argmax(err)), err.shape)
    where = tuple(int(k) for k in i)
    return f"largest difference at index {where}: expected {e[i]:.6g}, got {g[i]:.6g}"


@contextmanager
def _quiet():
    """Run student code with its warnings captured, so correct code never writes to stderr."""
    with warnings.catch_warnings(record=True), np.errstate(all="ignore"):
        warnings.simplefilter("always")
        yield


class Checker:
    """Collects the sub-checks of one graded function."""

    def __init__(
        self, name: str, func, points: float, forbidden: dict, allow_reference: bool = False
    ):
        self.name = name
        self.func = func
        self.points = float(points)
        # allow_reference exists so pytest can grade the reference itself; test
        # cells are locked, so a student cannot pass it where it counts.
        self.forbidden = {} if allow_reference else forbidden
        self.results: list[tuple[str, float, bool, str]] = []
        self.delegated: str | None = None
        guard.verify()  # tampering in earlier cells is undone before anything runs
        if not callable(func):
            raise GradingFailure(
                f"{name}: expected a function, got {type(func).__name__}; "
                f"did the cell that defines {name} run?"
            )

    # -- calling the student's code ------------------------------------
    def call(self, *args, **kwargs) -> CallResult:
        """Call the student's function on copies of the inputs; never raises."""
        args_before = copy.deepcopy((args, kwargs))
        call_args, call_kwargs = copy.deepcopy((args, kwargs))
        watch = Watch(self.forbidden)
        try:
            with _quiet(), watch:
                value = self.func(*call_args, **call_kwargs)
        except NotImplementedError:
            res = CallResult(False, error="not implemented yet (NotImplementedError)")
        except Exception as exc:  # the student's bug: report it, keep grading
            msg = str(exc).splitlines()[0] if str(exc) else ""
            res = CallResult(False, error=f"raised {type(exc).__name__}: {msg}"[:200])
        else:
            res = CallResult(
                True, value=value, mutated=not _deep_equal(args_before, (call_args, call_kwargs))
            )
        if watch.hit is not None:
            res.delegated = watch.hit
            self.delegated = self.delegated or watch.hit
        guard.verify()  # undo and record anything the call rebound
        return res

    def observe(self, funcs: dict, *args, **kwargs) -> str | None:
        """Call the student's function; return the name of the first of ``funcs`` it ran."""
        watch = Watch(funcs)
        call_args, call_kwargs = copy.deepcopy((args, kwargs))
        try:
            with _quiet(), watch:
                self.func(*call_args, **call_kwargs)
        except Exception:
            pass
        guard.verify()
        return watch.hit

    # -- recording -------------------------------------------------------
    def record(
        self, check: str, passed: bool, detail: str = "", hint: str = "", weight: float = 1.0
    ):
        """Record one sub-check and print its line."""
        if passed and self.delegated:
            passed, detail = False, f"your function ran {self.delegated} (the reference)"
            hint = f"write {self.name} yourself instead of calling gradkit's implementation"
        line = f"{'PASS' if passed else 'FAIL'}  {check}"
        if not passed and detail:
            line += f": {detail}"
        if not passed and hint:
            line += f" — hint: {hint}"
        print(line)
        self.results.append((check, weight, passed, detail))

    def fail_call(self, check: str, res: CallResult, weight: float = 1.0) -> None:
        """Record a sub-check that failed because the call itself failed."""
        hint = (
            "implement the function"
            if "NotImplementedError" in res.error
            else "run the cell's code on a small example"
        )
        self.record(check, False, f"your function {res.error}", hint, weight)

    # -- scoring ---------------------------------------------------------
    def finish(self) -> float:
        """Print the summary line and return the points earned (raise when 0)."""
        total = sum(w for _, w, _, _ in self.results)
        earned_w = sum(w for _, w, p, _ in self.results if p)
        tampering = guard.verify()
        if tampering:
            print(
                "FAIL  integrity: the notebook changed what the tests rely on ("
                + "; ".join(tampering[:3])
                + (" ..." if len(tampering) > 3 else "")
                + ") — this test scores 0; restart the kernel and do not modify gradkit or numpy"
            )
            earned_w = 0.0
        if self.delegated:
            earned_w = 0.0
        score = round(self.points * earned_w / total, 4) if total else 0.0
        n_pass = (
            sum(1 for _, _, p, _ in self.results if p) if not (tampering or self.delegated) else 0
        )
        print(
            f"{self.name}: {n_pass}/{len(self.results)} checks passed, "
            f"{score:g}/{self.points:g} points"
        )
        if score <= 0:
            raise GradingFailure(
                f"{self.name}: no check passed (0/{self.points:g} points); see the lines above"
            )
        return score
