"""Plain-data encoding for the bridge: JSON plus ``.npy`` files, never pickle.

Arguments and results cross between the grader and a student's kernel as a
JSON document whose arrays live in ``.npy`` files beside it (read with
``allow_pickle=False``). What can cross: ``None``, bools, ints, floats,
strings, numpy arrays and scalars of numeric dtypes, tuples, lists, dicts
with string keys, and the call descriptors :class:`~gradkit.grading.spec.Fn`,
:class:`~gradkit.grading.spec.Rng` and :class:`~gradkit.grading.callee.Kept`.
Anything else is encoded as an opaque marker with its type name.

The decoder trusts nothing: it follows no links, opens only file names it
generated the pattern of, refuses files above a size limit and object
arrays, and rebuilds only the types above.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np

from .spec import Fn, Inputs, Rng

__all__ = ["Encoder", "decode", "read_json", "write_json", "BridgeDataError", "Opaque"]

#: Largest JSON document and largest total of arrays one message may carry.
MAX_JSON_BYTES = 8 * 2**20
MAX_ARRAY_BYTES = 256 * 2**20
_ARRAY_NAME = re.compile(r"^[ar]\d{1,6}\.npy$")


class BridgeDataError(ValueError):
    """A message that is not what the bridge writes (too large, malformed, a link)."""


class Opaque:
    """A value that could not cross the bridge; ``kind`` is its type name."""

    def __init__(self, kind: str):
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{self.kind} that cannot leave the kernel>"


def _open_new(path: Path) -> int:
    """Create ``path`` for writing; fail if anything (a link included) is already there."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, flags, 0o644)


def write_json(path: Path, data: Any) -> None:
    with os.fdopen(_open_new(path), "w") as fh:
        json.dump(data, fh, allow_nan=True)


def _read_regular(path: Path, limit: int) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise BridgeDataError(f"cannot open {path.name}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise BridgeDataError(f"{path.name} is not a regular file")
        if st.st_size > limit:
            raise BridgeDataError(
                f"{path.name} holds {st.st_size} bytes, over the limit of {limit}"
            )
        return fh.read(limit + 1)


def read_json(path: Path) -> Any:
    raw = _read_regular(path, MAX_JSON_BYTES)
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BridgeDataError(f"{path.name} is not valid JSON: {exc}") from None


class Encoder:
    """Encodes values into ``directory``, arrays as ``<prefix><n>.npy`` (each array once)."""

    def __init__(self, directory: Path, prefix: str):
        self.directory = Path(directory)
        self.prefix = prefix
        self._files: dict[int, str] = {}
        self._keep_alive: list[Any] = []
        self.bytes = 0

    def _array(self, arr: np.ndarray) -> dict:
        name = self._files.get(id(arr))
        if name is None:
            if arr.dtype.kind not in "biufc":
                return {"__opaque__": f"array of dtype {arr.dtype}"}
            name = f"{self.prefix}{len(self._files) + 1}.npy"
            self.bytes += arr.nbytes
            if self.bytes > MAX_ARRAY_BYTES:
                raise BridgeDataError(f"more than {MAX_ARRAY_BYTES} bytes of arrays in one message")
            with os.fdopen(_open_new(self.directory / name), "wb") as fh:
                np.save(fh, arr, allow_pickle=False)
            self._files[id(arr)] = name
            self._keep_alive.append(arr)  # ids stay unique while the message is built
        return {"__array__": name}

    def __call__(self, value: Any) -> Any:
        from .callee import Kept

        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value if abs(value) < 2**53 else {"__opaque__": "int too large"}
        if isinstance(value, float):
            return value if np.isfinite(value) else {"__float__": repr(value)}
        if isinstance(value, np.ndarray):
            return self._array(value)
        if isinstance(value, np.generic):
            if value.dtype.kind not in "biufc":
                return {"__opaque__": type(value).__name__}
            return {"__scalar__": self._array(np.asarray(value))["__array__"]}
        if isinstance(value, Fn):
            return {"__fn__": value.name, "params": [list(p) for p in value.params]}
        if isinstance(value, Rng):
            return {"__rng__": int(value.seed)}
        if isinstance(value, Kept):
            return {"__kept__": int(value.key)}
        if isinstance(value, Inputs):
            return {"__inputs__": [self(list(value.args)), self(value.kwargs)]}
        if isinstance(value, tuple):
            return {"__tuple__": [self(v) for v in value]}
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                return {"__opaque__": "dict with non-string keys"}
            return {"__dict__": {k: self(v) for k, v in value.items()}}
        return {"__opaque__": type(value).__name__}


def decode(obj: Any, directory: Path, depth: int = 0) -> Any:
    """Rebuild a value from :class:`Encoder` output found in ``directory``."""
    from .callee import Kept

    if depth > 50:
        raise BridgeDataError("data nested more than 50 levels deep")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [decode(v, directory, depth + 1) for v in obj]
    if not isinstance(obj, dict) or len(obj) > 2 and "__dict__" not in obj:
        raise BridgeDataError(f"unexpected item {str(obj)[:60]!r}")
    if "__array__" in obj or "__scalar__" in obj:
        name = obj.get("__array__", obj.get("__scalar__"))
        if not isinstance(name, str) or not _ARRAY_NAME.match(name):
            raise BridgeDataError(f"bad array file name {str(name)[:40]!r}")
        raw = _read_regular(Path(directory) / name, MAX_ARRAY_BYTES)
        import io

        try:
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
        except ValueError as exc:
            raise BridgeDataError(f"{name} is not a plain .npy array: {exc}") from None
        return arr[()] if "__scalar__" in obj else arr
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__tuple__" in obj:
        return tuple(decode(v, directory, depth + 1) for v in obj["__tuple__"])
    if "__dict__" in obj:
        items = obj["__dict__"]
        if not isinstance(items, dict):
            raise BridgeDataError("a __dict__ entry must hold an object")
        return {str(k): decode(v, directory, depth + 1) for k, v in items.items()}
    if "__fn__" in obj:
        return Fn(str(obj["__fn__"]), tuple((str(k), float(v)) for k, v in obj.get("params", [])))
    if "__rng__" in obj:
        return Rng(int(obj["__rng__"]))
    if "__kept__" in obj:
        return Kept(int(obj["__kept__"]))
    if "__inputs__" in obj:
        args, kwargs = obj["__inputs__"]
        return Inputs(
            tuple(decode(args, directory, depth + 1)), decode(kwargs, directory, depth + 1)
        )
    if "__opaque__" in obj:
        return Opaque(str(obj["__opaque__"])[:80])
    raise BridgeDataError(f"unexpected item {str(obj)[:60]!r}")
