"""Notice when a student's function executes the reference implementation.

While the student's function runs, a profile hook sees every Python function
that starts. If one of them is the reference implementation of the function
under test — the very function object, or a copy of its code (same bytecode,
constants and names, e.g. pasted from ``inspect.getsource``) — the call is
flagged as delegation.
"""

from __future__ import annotations

import dis
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


# Instructions that depend on how (not what) the code was compiled.
_SKIP_OPS = {
    "CACHE",
    "PRECALL",
    "NOP",
    "RESUME",
    "EXTENDED_ARG",
    "PUSH_NULL",
    "KW_NAMES",
    "COPY_FREE_VARS",
    "MAKE_CELL",
    "RETURN_GENERATOR",
}
_SAME_OP = {"LOAD_METHOD": "LOAD_ATTR", "CALL_METHOD": "CALL", "CALL_FUNCTION": "CALL"}


def _fingerprint(code: types.CodeType):
    """What the code does, independent of where it was compiled.

    Opcodes with their names and constants, without the docstring, the
    jump offsets, or the cache/method-call details that differ between a
    module and an ``exec`` of the same source.
    """
    items = []
    for ins in dis.get_instructions(code):
        if ins.opname in _SKIP_OPS:
            continue
        op = _SAME_OP.get(ins.opname, ins.opname)
        if isinstance(ins.argval, types.CodeType):
            arg = _fingerprint(ins.argval)
        elif ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs or op.startswith("CALL"):
            arg = None
        else:
            arg = repr(ins.argval)
        items.append((op, arg))
    return tuple(items)


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
