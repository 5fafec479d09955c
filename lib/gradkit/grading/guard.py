"""Tamper guard: notice when a submission rebinds what the checkers rely on.

A notebook kernel runs student code and the checkers in one process, so a
submission could replace a checker (``gradkit.grading.check_x = lambda *a: 3``),
a reference function, or numpy's comparison functions, before or while it is
checked. The guard takes a snapshot of those objects as soon as it is imported
(the grader imports it when the kernel starts, before any student code) and

* before every cell (an IPython ``pre_run_cell`` hook, see :func:`install`),
* before a checker starts, and after every call into student code,

compares the live objects with the snapshot. Any difference is recorded,
undone (the original object is put back), and makes every later checker score
0 with a message naming what was changed.

Limits: this stops rebinding and monkeypatching. It is not a sandbox: code
that reads gradkit's source and dismantles the guard itself is out of its
reach; the kernel process is the security boundary.
"""

from __future__ import annotations

import builtins
import importlib
import sys
import types

__all__ = ["snapshot", "verify", "tampering", "install", "reset"]

# Modules whose every attribute the checkers may rely on.
_WATCHED_MODULES = [
    "numpy",
    "numpy.linalg",
    "numpy.testing",
    "numpy.random",
    "math",
    "time",
    "copy",
    "inspect",
    "gradkit",
    "gradkit._validation",
    "gradkit.gradcheck",
    "gradkit.losses",
    "gradkit.linear",
]
# Builtins the checkers call (the whole builtins module changes legitimately
# while IPython runs a cell, so only these are watched).
_WATCHED_BUILTINS = [
    "abs",
    "all",
    "any",
    "bool",
    "callable",
    "dict",
    "float",
    "getattr",
    "hasattr",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "len",
    "list",
    "max",
    "min",
    "print",
    "range",
    "repr",
    "round",
    "set",
    "sorted",
    "str",
    "sum",
    "tuple",
    "type",
    "zip",
    "__import__",
]

_snapshot: dict | None = None
_tampered: list[str] = []


def _grading_modules() -> list[str]:
    return sorted(name for name in sys.modules if name.startswith("gradkit.grading"))


def _record(snap: dict, name: str, mod) -> None:
    """Add module ``name`` to the snapshot: its attributes and, for gradkit, its functions' code."""
    snap["modules"][name] = (mod, dict(vars(mod)))
    if name.startswith("gradkit"):
        for obj in vars(mod).values():
            if isinstance(obj, types.FunctionType) and obj.__module__.startswith("gradkit"):
                snap["functions"].setdefault(
                    id(obj), (obj, obj.__code__, obj.__defaults__, obj.__kwdefaults__)
                )


def snapshot() -> None:
    """Record the objects to protect (called once, at import)."""
    global _snapshot
    snap = {
        "modules": {},
        "functions": {},
        "builtins": {k: getattr(builtins, k) for k in _WATCHED_BUILTINS},
        "sys": {k: getattr(sys, k) for k in ("setprofile", "settrace", "getprofile")},
    }
    for name in _WATCHED_MODULES + _grading_modules():
        try:
            _record(snap, name, importlib.import_module(name))
        except ImportError:  # an optional module that is not installed
            continue
    _snapshot = snap


def _check_and_restore() -> list[str]:
    changes = []
    snap = _snapshot
    for name, (mod, attrs) in snap["modules"].items():
        if sys.modules.get(name) is not mod:
            changes.append(f"sys.modules[{name!r}] was replaced")
            sys.modules[name] = mod
        live = vars(mod)
        for attr, obj in attrs.items():
            if attr.startswith("__") or (name == __name__ and attr == "_snapshot"):
                # module dunders are not used by checkers; _snapshot is the guard's own state
                continue
            if live.get(attr, _MISSING) is not obj:
                changes.append(f"{name}.{attr} was rebound")
                setattr(mod, attr, obj)
    for obj, code, defaults, kwdefaults in snap["functions"].values():
        if (
            obj.__code__ is not code
            or obj.__defaults__ is not defaults
            or obj.__kwdefaults__ is not kwdefaults
        ):
            changes.append(f"the code of {obj.__module__}.{obj.__qualname__} was replaced")
            obj.__code__, obj.__defaults__, obj.__kwdefaults__ = code, defaults, kwdefaults
    for attr, obj in snap["builtins"].items():
        if getattr(builtins, attr, _MISSING) is not obj:
            changes.append(f"builtins.{attr} was rebound")
            setattr(builtins, attr, obj)
    for attr, obj in snap["sys"].items():
        if getattr(sys, attr) is not obj:
            changes.append(f"sys.{attr} was rebound")
            setattr(sys, attr, obj)
    return changes


_MISSING = object()


def verify() -> list[str]:
    """Compare live objects with the snapshot; undo and record every change.

    Returns the list of all changes seen so far in this process.
    """
    if _snapshot is None:
        snapshot()
    # The checkers' own modules may have been imported after the snapshot.
    for name in _grading_modules():
        if name not in _snapshot["modules"]:
            _record(_snapshot, name, sys.modules[name])
    for change in _check_and_restore():
        if change not in _tampered:
            _tampered.append(change)
    return list(_tampered)


def tampering() -> list[str]:
    """The changes recorded so far (empty when nothing was tampered with)."""
    return list(_tampered)


def reset() -> None:
    """Forget recorded tampering and take a new snapshot (for tests of the guard)."""
    _tampered.clear()
    snapshot()


def _pre_run_cell(*_args) -> None:
    verify()


def install() -> None:
    """Snapshot now and verify before every cell of the running IPython kernel.

    The grader calls this at kernel start-up, before any student code runs.
    Outside IPython only the snapshot is taken.
    """
    # Import the checkers now so that they are in the snapshot.
    importlib.import_module("gradkit.grading")
    reset()
    try:
        ip = get_ipython()  # noqa: F821 - defined inside IPython
    except NameError:
        return
    ip.events.register("pre_run_cell", _pre_run_cell)


snapshot()
