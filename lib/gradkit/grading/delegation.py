"""Notice when a student's function executes the reference implementation.

While the student's function runs, a profile hook sees every Python function
that starts. If one of them is the reference implementation of the function
under test — the very function object, or a copy of its code (same bytecode,
constants and names, e.g. pasted from ``inspect.getsource``) — the call is
flagged as delegation.
"""

from __future__ import annotations

import sys
import threading
import types

__all__ = ["Watch", "code_objects"]


def code_objects(func) -> list[types.CodeType]:
    """The code object of ``func`` and of every function nested in it."""
    func = getattr(func, "__wrapped__", func)
    code = getattr(func, "__code__", None)
    if code is None:
        return []
    found, stack = [], [code]
    while stack:
        c = stack.pop()
        found.append(c)
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return found


def _fingerprint(code: types.CodeType):
    consts = tuple(_fingerprint(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts)
    return (code.co_code, consts, code.co_names)


class Watch:
    """Context manager: records whether any of ``forbidden`` functions ran.

    ``forbidden`` maps a display name (``"gradkit.linear.svm_loss_naive"``) to
    the function object. After the block, :attr:`hit` holds the display name
    of the first forbidden function seen, or ``None``.
    """

    def __init__(self, forbidden: dict):
        self._by_code = {}
        self._by_print = {}
        for name, func in forbidden.items():
            for code in code_objects(func):
                self._by_code[code] = name
                self._by_print[_fingerprint(code)] = name
        self._seen: dict = {}
        self.hit: str | None = None

    def _profile(self, frame, event, arg):
        if event != "call" or self.hit is not None:
            return
        code = frame.f_code
        name = self._by_code.get(code)
        if name is None:
            fp = self._seen.get(code)
            if fp is None:
                fp = self._seen[code] = _fingerprint(code)
            name = self._by_print.get(fp)
        if name is not None:
            self.hit = name

    def __enter__(self):
        self._old = sys.getprofile()
        self._old_thread = getattr(threading, "_profile_hook", None)
        sys.setprofile(self._profile)
        threading.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(self._old)
        threading.setprofile(self._old_thread)
        return False
