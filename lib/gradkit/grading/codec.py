"""Plain-data encoding for the bridge: JSON plus ``.npy`` files, never pickle.

Arguments and results cross between the grader and a student's kernel as a
JSON document whose arrays live in ``.npy`` files beside it (read with
``allow_pickle=False``). Every value a student's function can return has an
encoding, so encoding never fails:

* ``None``, bools and strings as themselves; ints as themselves, or as text
  beyond 2**53; floats as themselves, or as text when not finite (``"inf"``,
  ``"-inf"``, ``"nan"``); complex numbers as two floats;
* numpy scalars of every numeric dtype inline, with their dtype (a
  ``np.float64(inf)`` comes back as ``np.float64(inf)``); arrays (0-d
  included) and the other numpy scalars in ``.npy`` files, for every dtype
  that holds no Python objects;
* tuples, lists and dicts (keys of any plain type), nested up to
  :data:`MAX_DEPTH` levels and :data:`MAX_ITEMS` items in all;
* the call descriptors :class:`~gradkit.grading.spec.Fn`,
  :class:`~gradkit.grading.spec.Rng`, :class:`~gradkit.grading.callee.Kept`
  and :class:`~gradkit.grading.spec.Inputs`;
* anything else (an object of a class, a function, an object array, a
  structure too deep or too large) as an :class:`Opaque` marker that says
  what it was, which a check reports as "returned an object of type Foo".

The decoder trusts nothing: it follows no links, opens only file names of the
pattern the encoder writes, refuses files above a size limit and object
arrays, reads each file once, stops at a byte budget for the whole message,
and rebuilds only the types above. Whatever is wrong with a message becomes a
:class:`BridgeDataError` (never another exception), which the bridge turns
into a failed call of that one function.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np

from .spec import Fn, Inputs, Rng

__all__ = [
    "Folder",
    "MemoryFolder",
    "Encoder",
    "Decoder",
    "decode",
    "read_json",
    "write_json",
    "BridgeDataError",
    "Opaque",
    "MAX_DEPTH",
    "MAX_ITEMS",
    "MAX_REPLY_BYTES",
]

#: Largest JSON document and largest total of arrays one message may carry.
MAX_JSON_BYTES = 8 * 2**20
MAX_ARRAY_BYTES = 256 * 2**20
#: Largest total of arrays a kernel's reply may carry: no graded function returns more
#: than a few MiB (the mutation check sends the largest inputs, 12 MiB, back).
MAX_REPLY_BYTES = 64 * 2**20
#: Deepest nesting and most items (containers and leaves) one value may have: far
#: beyond any honest return value, far below what would exhaust the grader.
MAX_DEPTH = 50
MAX_ITEMS = 100_000
#: Arrays of numbers up to this size travel inside the JSON (base64), larger ones as files.
INLINE_BYTES = 64 * 2**10
#: Longest string and longest integer (in decimal digits) carried as such.
MAX_STR_CHARS = 10_000
MAX_INT_DIGITS = 1_000
#: Array files: ``<request>-a<k>.npy`` from the grader, ``<request>-r<k>.npy`` from the kernel.
_ARRAY_NAME = re.compile(r"^(?:\d{1,9}-)?[ar]\d{1,6}\.npy$")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW
#: Array and scalar dtype kinds that cross as data (no Python objects inside):
#: bool, signed and unsigned int, float, complex, bytes, str, datetime, timedelta,
#: and structured (void) dtypes whose fields are of these kinds.
_DATA_KINDS = "biufcSUMmV"
#: Scalars written inline (exactly representable in JSON text); others go to files.
_INLINE_KINDS = "biufc"
_INLINE_FLOATS = {np.dtype(t) for t in ("float16", "float32", "float64", "complex64", "complex128")}


class BridgeDataError(ValueError):
    """A message that is not what the bridge writes (too large, malformed, a link)."""


class Opaque:
    """A value that could not cross the bridge; ``kind`` says what it was."""

    def __init__(self, kind: str):
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{self.kind} that cannot leave the kernel>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque) and other.kind == self.kind

    def __hash__(self) -> int:
        return hash(("Opaque", self.kind))


class Folder:
    """A folder messages are written to and read from, through a descriptor opened once
    without following links: entries are created with ``O_EXCL | O_NOFOLLOW`` and read only
    when ``fstat`` shows a regular file with one link, below a size limit, owned by
    ``owner`` (when given). A FIFO or device planted under an expected name is refused
    without blocking (``O_NONBLOCK``)."""

    def __init__(self, path: Path | str, fd: int | None = None, owner: int | None = None):
        self.path = Path(path)
        self.owner = owner
        self._own_fd = fd is None
        if fd is None:
            fd = os.open(self.path, _DIR_FLAGS)
        self.fd = fd

    def close(self) -> None:
        if self._own_fd and self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Folder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create(self, name: str) -> int:
        """A new file ``name`` for writing; fails if anything (a link included) is there."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
        return os.open(name, flags, 0o644, dir_fd=self.fd)

    def names(self) -> list[str]:
        return os.listdir(self.fd)

    def remove(self, names: list[str]) -> list[str]:
        """Remove ``names`` (a link is removed, never followed; a folder with what it holds);
        a line per entry that could not be removed."""
        failed = []
        for name in names:
            try:
                st = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    _rmtree_at(self.fd, name)
                else:
                    os.unlink(name, dir_fd=self.fd)
            except FileNotFoundError:
                continue
            except OSError as exc:
                failed.append(f"{self.path.name}/{name}: {exc.strerror}")
        return failed

    def read(self, name: str, limit: int) -> bytes:
        flags = os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK
        try:
            fd = os.open(name, flags, dir_fd=self.fd)
        except OSError as exc:
            raise BridgeDataError(f"cannot open {name}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise BridgeDataError(f"{name} is not a regular file")
            if st.st_nlink != 1:
                raise BridgeDataError(f"{name} has {st.st_nlink} links")
            if self.owner is not None and st.st_uid != self.owner:
                raise BridgeDataError(f"{name} does not belong to the kernel")
            if st.st_size > limit:
                raise BridgeDataError(f"{name} holds {st.st_size} bytes, over the limit of {limit}")
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise BridgeDataError(f"{name} grew past the limit of {limit} bytes")
        return data


class MemoryFolder(Folder):
    """Array files held in memory, by name: what :class:`Encoder` writes with a ``sink`` and
    :class:`Decoder` reads back (a grader-side cache stores them in one file)."""

    def __init__(self, files: dict[str, bytes]):
        self.path = Path("<memory>")
        self.owner = None
        self._own_fd = False
        self.fd = -1
        self.files = files

    def close(self) -> None:
        pass

    def create(self, name: str) -> int:
        raise BridgeDataError("a memory folder is written through an encoder's sink")

    def names(self) -> list[str]:
        return list(self.files)

    def read(self, name: str, limit: int) -> bytes:
        data = self.files.get(name)
        if data is None:
            raise BridgeDataError(f"cannot open {name}: no such array")
        if len(data) > limit:
            raise BridgeDataError(f"{name} holds {len(data)} bytes, over the limit of {limit}")
        return data


def _rmtree_at(dir_fd: int, name: str) -> None:
    """Remove the folder ``name`` below ``dir_fd`` without following any link in it."""
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        for entry in os.listdir(fd):
            st = os.stat(entry, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                _rmtree_at(fd, entry)
            else:
                os.unlink(entry, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)


def _folder(where: Folder | Path | str) -> Folder:
    return where if isinstance(where, Folder) else Folder(where)


def write_json(folder: Folder | Path | str, name: str, data: Any) -> None:
    f = _folder(folder)
    try:
        with os.fdopen(f.create(name), "w") as fh:
            json.dump(data, fh, allow_nan=False)
    finally:
        if f is not folder:
            f.close()


def read_json(folder: Folder | Path | str, name: str) -> Any:
    f = _folder(folder)
    try:
        raw = f.read(name, MAX_JSON_BYTES)
    finally:
        if f is not folder:
            f.close()
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BridgeDataError(f"{name} is not valid JSON") from None


def _float_text(value: float) -> float | str:
    """A float as JSON holds it: itself when finite, else ``"inf"``, ``"-inf"`` or ``"nan"``."""
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def _float_from(text: Any) -> float:
    if isinstance(text, bool) or not isinstance(text, (int, float, str)):
        raise BridgeDataError(f"not a float: {str(text)[:40]!r}")
    if isinstance(text, str) and text not in ("inf", "-inf", "nan"):
        raise BridgeDataError(f"not a float: {text[:40]!r}")
    return float(text)


def _data_dtype(dtype: np.dtype) -> bool:
    """Whether arrays of ``dtype`` are plain data that ``.npy`` holds without pickle."""
    return dtype.kind in _DATA_KINDS and not dtype.hasobject


def _describe(value: Any) -> str:
    """What an object that cannot cross is, for the message a check shows."""
    kind = type(value)
    module = kind.__module__
    name = (
        kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
    )
    return f"an object of type {name}"[:120]


class Encoder:
    """Encodes values into ``directory``, arrays as ``<prefix><n>.npy`` (each array once).

    Encoding never fails for the value itself: whatever has no encoding becomes
    an opaque marker. It fails only when the directory refuses a file (a
    planted link) or the message grows past :data:`MAX_ARRAY_BYTES` of arrays.
    """

    def __init__(
        self,
        folder: Folder | Path | str,
        prefix: str,
        budget: int = MAX_ARRAY_BYTES,
        sink: dict[str, bytes] | None = None,
    ):
        #: With a ``sink``, array files go into it (name -> bytes) instead of ``folder``.
        self.sink = sink
        self.folder = _folder(folder)
        self.prefix = prefix
        self.budget = budget
        self._files: dict[int, str] = {}
        self._keep_alive: list[Any] = []
        self.bytes = 0
        self.items = 0

    @property
    def names(self) -> list[str]:
        """The array files written so far."""
        return list(self._files.values())

    def _file(self, arr: np.ndarray) -> str:
        name = self._files.get(id(arr))
        if name is None:
            name = f"{self.prefix}{len(self._files) + 1}.npy"
            if self.bytes + arr.nbytes > self.budget:
                raise BridgeDataError(f"more than {self.budget} bytes of arrays in one message")
            self.bytes += arr.nbytes
            if self.sink is not None:
                buffer = io.BytesIO()
                np.save(buffer, arr, allow_pickle=False)
                self.sink[name] = buffer.getvalue()
            else:
                with os.fdopen(self.folder.create(name), "wb") as fh:
                    np.save(fh, arr, allow_pickle=False)
            self._files[id(arr)] = name
            self._keep_alive.append(arr)  # ids stay unique while the message is built
        return name

    def _array(self, value: np.ndarray) -> dict:
        arr = np.asarray(value)  # a subclass (matrix, masked array) crosses as its data
        if not _data_dtype(arr.dtype):
            return {"__opaque__": f"an array of dtype {arr.dtype}"}
        if arr.nbytes > self.budget - self.bytes:
            return {"__opaque__": f"an array of {arr.nbytes} bytes, more than the grader reads"}
        if arr.nbytes <= INLINE_BYTES and arr.dtype.kind in _INLINE_KINDS:
            self.bytes += arr.nbytes  # small: in the JSON itself, no file to write and read
            data = base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode("ascii")
            return {"__inline__": [arr.dtype.str, list(arr.shape), data]}
        return {"__array__": self._file(value if type(value) is np.ndarray else arr)}

    def _scalar(self, value: np.generic) -> Any:
        dtype = value.dtype
        if not _data_dtype(dtype):
            return {"__opaque__": f"a numpy {type(value).__name__}"}
        if dtype.kind == "b":
            return {"__np__": dtype.str, "v": bool(value)}
        if dtype.kind in "iu":
            return {"__np__": dtype.str, "v": str(int(value))}
        if dtype in _INLINE_FLOATS:
            if dtype.kind == "c":
                return {
                    "__np__": dtype.str,
                    "v": [_float_text(value.real), _float_text(value.imag)],
                }
            return {"__np__": dtype.str, "v": _float_text(float(value))}
        return {"__scalar__": self._file(np.asarray(value))}

    def _enc(self, value: Any, depth: int = 0) -> Any:
        from .callee import Kept

        self.items += 1
        if self.items > MAX_ITEMS:
            raise _TooLarge
        if depth > MAX_DEPTH:
            raise _TooDeep
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            if len(value) > MAX_STR_CHARS:
                return {"__opaque__": f"a str of {len(value)} characters"}
            return value
        if isinstance(value, np.generic):  # before float: np.float64 is a float too
            return self._scalar(value)
        if isinstance(value, int):
            if abs(value) < 2**53:
                return value
            if value.bit_length() > MAX_INT_DIGITS * 3.33:
                return {"__opaque__": f"an int of {value.bit_length()} bits"}
            return {"__int__": str(int(value))}
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else {"__float__": repr(float(value))}
        if isinstance(value, complex):
            return {"__complex__": [_float_text(value.real), _float_text(value.imag)]}
        if isinstance(value, np.ndarray):
            return self._array(value)
        if isinstance(value, Fn):
            return {"__fn__": value.name, "params": [list(p) for p in value.params]}
        if isinstance(value, Rng):
            return {"__rng__": int(value.seed)}
        if isinstance(value, Kept):
            return {"__kept__": int(value.key)}
        if isinstance(value, Inputs):
            args = [self._enc(v, depth + 2) for v in value.args]
            return {"__inputs__": [args, self._enc(value.kwargs, depth + 1)]}
        if isinstance(value, tuple):
            return {"__tuple__": [self._enc(v, depth + 1) for v in value]}
        if isinstance(value, list):
            return [self._enc(v, depth + 1) for v in value]
        if isinstance(value, dict):
            if all(type(k) is str for k in value):
                return {"__dict__": {k: self._enc(v, depth + 1) for k, v in value.items()}}
            if not all(_plain_key(k) for k in value):
                kinds = sorted({type(k).__name__ for k in value if not _plain_key(k)})
                return {"__opaque__": f"a dict with keys of type {', '.join(kinds)}"}
            return {
                "__items__": [
                    [self._enc(k, depth + 1), self._enc(v, depth + 1)] for k, v in value.items()
                ]
            }
        return {"__opaque__": _describe(value)}

    def __call__(self, value: Any) -> Any:
        """``value`` encoded; a structure too deep or too large becomes one opaque marker."""
        start = self.items
        try:
            return self._enc(value)
        except _TooDeep:
            return {"__opaque__": f"a structure nested more than {MAX_DEPTH} levels deep"}
        except _TooLarge:
            return {"__opaque__": f"a structure of more than {MAX_ITEMS} items"}
        except RecursionError:
            return {"__opaque__": "a structure nested too deeply"}
        finally:
            self.items = start


class _TooDeep(Exception):
    pass


class _TooLarge(Exception):
    pass


def _plain_key(key: Any) -> bool:
    if key is None or isinstance(key, (bool, int, float, str, np.generic)):
        return True
    return isinstance(key, tuple) and all(_plain_key(k) for k in key)


class Decoder:
    """Rebuilds values from :class:`Encoder` output found in ``directory``.

    Each array file is read once, however often the message names it, and the
    files of one decoder hold at most ``budget`` bytes in all.
    """

    def __init__(self, folder: Folder | Path | str, budget: int | None = None, prefix: str = ""):
        self.folder = _folder(folder)
        self.prefix = prefix
        self.budget = MAX_ARRAY_BYTES if budget is None else budget
        self.used = 0
        self.items = 0
        self._arrays: dict[str, np.ndarray] = {}

    def array(self, name: Any) -> np.ndarray:
        if (
            not isinstance(name, str)
            or not _ARRAY_NAME.match(name)
            or not name.startswith(self.prefix)
        ):
            raise BridgeDataError(f"bad array file name {str(name)[:40]!r}")
        if name in self._arrays:
            return self._arrays[name]
        raw = self.folder.read(name, max(self.budget - self.used, 0))
        self.used += len(raw)
        try:
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
        except Exception:  # numpy raises several kinds; its words may quote the file's bytes
            raise BridgeDataError(f"{name} is not a plain .npy array") from None
        if not isinstance(arr, np.ndarray) or not _data_dtype(arr.dtype):
            raise BridgeDataError(f"{name} holds no plain array")
        arr.flags.writeable = False  # shared by every reference to this file
        self._arrays[name] = arr
        return arr

    def _inline(self, value: Any) -> np.ndarray:
        dtype_text, shape, data = value
        dtype = np.dtype(str(dtype_text))
        if dtype.kind not in _INLINE_KINDS or dtype.hasobject:
            raise BridgeDataError(f"dtype {dtype} is not written inline")
        if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
            raise BridgeDataError("an inline array needs a shape of counts")
        raw = base64.b64decode(str(data), validate=True)
        if len(raw) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise BridgeDataError("an inline array's data does not match its shape")
        self.used += len(raw)
        if self.used > self.budget:
            raise BridgeDataError(f"more than {self.budget} bytes of arrays in one message")
        arr = np.frombuffer(raw, dtype=dtype).reshape(shape)  # read-only, like a shared file
        return arr

    def __call__(self, obj: Any) -> Any:
        try:
            return self._decode(obj, 0)
        except BridgeDataError:
            raise
        except (
            ValueError,
            TypeError,
            KeyError,
            IndexError,
            OverflowError,
            RecursionError,
            binascii.Error,
        ) as exc:
            raise BridgeDataError(
                f"malformed data ({type(exc).__name__}: {str(exc)[:60]})"
            ) from None

    def _decode(self, obj: Any, depth: int) -> Any:
        from .callee import Kept

        self.items += 1
        if depth > MAX_DEPTH + 4 or self.items > MAX_ITEMS * 2:
            raise BridgeDataError("data nested too deeply or holding too many items")
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            return obj
        if isinstance(obj, list):
            return [self._decode(v, depth + 1) for v in obj]
        if not isinstance(obj, dict) or not obj:
            raise BridgeDataError(f"unexpected item {str(obj)[:60]!r}")
        tag = next(iter(obj))
        if tag == "__dict__":
            items = obj["__dict__"]
            if len(obj) != 1 or not isinstance(items, dict):
                raise BridgeDataError("a __dict__ entry must hold an object")
            return {str(k): self._decode(v, depth + 1) for k, v in items.items()}
        if len(obj) > 2:
            raise BridgeDataError(f"unexpected item {str(obj)[:60]!r}")
        value = obj[tag]
        if tag == "__array__":
            return self.array(value)
        if tag == "__inline__":
            return self._inline(value)
        if tag == "__scalar__":
            arr = self.array(value)
            if arr.ndim != 0:
                raise BridgeDataError("a scalar file must hold a 0-d array")
            return arr[()]
        if tag == "__np__":
            return _numpy_scalar(value, obj.get("v"))
        if tag == "__float__":
            return _float_from(value)
        if tag == "__int__":
            if not isinstance(value, str) or len(value) > MAX_INT_DIGITS + 1:
                raise BridgeDataError("an __int__ entry must hold at most 1000 digits")
            return int(value)
        if tag == "__complex__":
            real, imag = value
            return complex(_float_from(real), _float_from(imag))
        if tag == "__tuple__":
            if not isinstance(value, list):
                raise BridgeDataError("a __tuple__ entry must hold a list")
            return tuple(self._decode(v, depth + 1) for v in value)
        if tag == "__items__":
            out = {}
            for pair in value:
                key, item = pair
                out[self._decode(key, depth + 1)] = self._decode(item, depth + 1)
            return out
        if tag == "__fn__":
            params = tuple((str(k), float(v)) for k, v in obj.get("params", []))
            return Fn(str(value), params)
        if tag == "__rng__":
            return Rng(int(value))
        if tag == "__kept__":
            return Kept(int(value))
        if tag == "__inputs__":
            args, kwargs = value
            args, kwargs = self._decode(args, depth + 1), self._decode(kwargs, depth + 1)
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise BridgeDataError("call inputs must be a list and a dict")
            return Inputs(tuple(args), kwargs)
        if tag == "__opaque__":
            return Opaque(str(value)[:120])
        raise BridgeDataError(f"unexpected item {str(obj)[:60]!r}")


def _numpy_scalar(dtype_text: Any, value: Any) -> np.generic:
    try:
        dtype = np.dtype(str(dtype_text))
    except TypeError:
        raise BridgeDataError(f"unknown dtype {str(dtype_text)[:20]!r}") from None
    if dtype.kind not in _INLINE_KINDS or dtype.hasobject:
        raise BridgeDataError(f"dtype {dtype} is not written inline")
    if dtype.kind == "b":
        if not isinstance(value, bool):
            raise BridgeDataError("a bool scalar must hold true or false")
        return np.bool_(value)
    if dtype.kind in "iu":
        if not isinstance(value, str) or len(value) > 25:
            raise BridgeDataError("an integer scalar must hold its digits")
        return dtype.type(int(value))
    if dtype.kind == "c":
        real, imag = value
        return dtype.type(complex(_float_from(real), _float_from(imag)))
    return dtype.type(_float_from(value))


def decode(obj: Any, folder: Folder | Path | str) -> Any:
    """Rebuild one value from :class:`Encoder` output found in ``folder``."""
    return Decoder(folder)(obj)
