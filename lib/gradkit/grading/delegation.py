"""Notice when a student's function executes the reference implementation.

While the student's function runs, a profile hook sees every Python function
that starts. If one of them is the reference implementation of the function
under test — the very function object, or a copy of its code (same bytecode,
constants and names, e.g. pasted from ``inspect.getsource``) — the call is
flagged as delegation.
"""

from __future__ import annotations

import dis
import importlib
import sys
import threading
import types

__all__ = ["Watch", "code_objects", "resolve"]


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


def resolve(dotted: str):
    """The object a dotted name (``"numpy.linalg.inv"``) refers to, or None if there is none."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


#: Fingerprints of the code objects seen so far, shared by every watch of the process:
#: each numpy function the student's code calls, and each watched reference, is
#: disassembled once, not once per call (per call, that made a watched batch-norm spec 20
#: times slower, and a watch cost 0.37 ms to set up).
_FINGERPRINTS: dict[types.CodeType, tuple] = {}


def _fingerprint_of(code: types.CodeType) -> tuple:
    """:func:`_fingerprint` of ``code``, computed once per process."""
    fp = _FINGERPRINTS.get(code)
    if fp is None:
        fp = _FINGERPRINTS[code] = _fingerprint(code)
    return fp


#: A copy is recognized by its instructions only when there are at least this many:
#: a short function (a three-line layer sandwich) written the natural way would
#: otherwise match the reference without having been copied. The reference object
#: itself is always recognized.
MIN_COPY_INSTRUCTIONS = 40


class Watch:
    """Context manager: records which of the ``watched`` functions ran.

    ``watched`` maps a display name (``"gradkit.linear.svm_loss_naive"``) to
    the function object. After the block, :attr:`hits` lists the display
    names seen, in the order they first ran, and :attr:`hit` the first one
    (or ``None``).
    """

    def __init__(self, watched: dict):
        self._by_code: dict = {}
        self._by_print: dict = {}
        for name, func in watched.items():
            codes = code_objects(func)
            for code in codes:
                self._by_code[code] = name
            # Copies are recognised by the whole function only (its fingerprint includes
            # its nested code): a nested generator or comprehension on its own is too
            # generic (``(cache[k] for k in names)``) to tell a copy from a student's
            # own code, and so is a short function.
            if codes:
                fingerprint = _fingerprint_of(codes[0])
                if len(fingerprint) >= MIN_COPY_INSTRUCTIONS:
                    self._by_print[fingerprint] = name
        self.hits: list[str] = []

    @property
    def hit(self) -> str | None:
        return self.hits[0] if self.hits else None

    def _profile(self, frame, event, arg):
        if event != "call" or not self._by_code:
            return
        code = frame.f_code
        name = self._by_code.get(code)
        if name is None and self._by_print:
            name = self._by_print.get(_fingerprint_of(code))
        if name is not None and name not in self.hits:
            self.hits.append(name)

    def __enter__(self):
        self._active = bool(self._by_code)
        if not self._active:  # nothing to watch: leave the interpreter alone
            return self
        self._old = sys.getprofile()
        self._old_thread = getattr(threading, "_profile_hook", None)
        sys.setprofile(self._profile)
        threading.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        if not self._active:
            return False
        sys.setprofile(self._old)
        threading.setprofile(self._old_thread)
        return False
