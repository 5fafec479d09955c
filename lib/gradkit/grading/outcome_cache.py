"""What does not depend on the student, computed once: the reference's and the mistakes'
outcomes on the public cases, cached on disk until the library changes.

Every student's public checks ask the reference and each catalogued mistake the same
calls, so the grader computes their outcomes once and keeps them in the user's cache
folder (``$XDG_CACHE_HOME/gradkit``, else ``~/.cache/gradkit``; ``GRADKIT_CACHE=DIR``
moves it, ``GRADKIT_CACHE=off`` turns it off), where the next notebook, and the next
run, reads them. Hidden cases, which differ per student, are never cached; nor are
outcomes that took under :data:`MIN_COMPUTE_SECONDS` to compute (reading them back would
cost as much).

Why a cached outcome is always the outcome a live call would give:

* **The key is the whole call.** An entry is found by a digest of who is called (and
  the compiled code of its functions: an implementation with code from outside gradkit,
  numpy and Python, such as a spec a test wrote, is never cached), the memo key, the
  call itself (function, every argument's type, dtype, layout and bytes,
  return tags, watch list) and the check's ``reduce``: a call that differs in anything
  misses. Calls holding a handle to a kept value (a layer's cache), and outcomes holding
  one, are not cached, so every such call runs live, in the order it would without the
  cache, and each callee's kept values are what they would be.
* **The folder is the library.** Entries live in a folder named by a fingerprint of
  every file of the gradkit package (specs, references, mistakes, engine), the cache
  format, numpy's version and BLAS build, Python's version and the machine: editing any
  of them starts a new folder (old ones unused for :data:`STALE_DAYS` days are removed).
* **An entry is trusted only whole.** A file holds a SHA-256 of its content and names
  its fingerprint and spec; one that is truncated, corrupt, of another spec or not the
  grader's own regular file is ignored, and its outcomes are computed again and written
  anew. An outcome is stored only if it comes back from its encoding identical (types,
  dtypes, layouts, bytes); the encoding is the kit's (:mod:`~gradkit.grading.replay`:
  JSON and ``.npy``, never pickle), so a planted file can at worst hold wrong numbers,
  never code.
* **Writes are atomic.** A process writes a private temporary file and renames it over
  the entry, merging what another process wrote meanwhile; concurrent graders at worst
  compute an outcome twice.
* **Out of the students' reach.** The folders are the grader's own (mode 0700); the
  grader uses the cache only for sandboxed kernels, and not when the folder lies under
  a path the sandbox shows a kernel (:func:`for_sandboxed_grader`). A student's code
  never sees its content; it holds public-case outcomes only.
* **Only the public phase.** Outcomes are looked up and stored while a test's public
  checks run; a check that reads the hidden generator then turns the cache off for that
  test and nothing of the test is written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
import math
import os
import platform
import re
import secrets
import shutil
import stat
import sys
import time
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .callee import Call, Kept, Outcome
from .codec import BridgeDataError, Decoder, Encoder, MemoryFolder, Opaque
from .replay import _decode_outcome, _describe, _encode_outcome
from .spec import Fn, Inputs, Rng

__all__ = [
    "ENV",
    "OutcomeCache",
    "cache_root",
    "library_fingerprint",
    "implementation_id",
    "open_cache",
    "for_sandboxed_grader",
]

#: ``GRADKIT_CACHE=off`` turns the cache off; an absolute path moves it there.
ENV = "GRADKIT_CACHE"
_OFF = {"", "0", "off", "no", "false", "none"}
#: Bumped whenever the layout of an entry or the meaning of a digest changes.
FORMAT = 1
_MAGIC = b"gradkit outcome cache\n"
#: Largest entry read: the largest spec's outcomes (01's speed checks) take about 13 MiB.
MAX_ENTRY_BYTES = 256 * 2**20
#: An outcome is stored only if computing it took at least this much CPU time: reading one
#: back (checksum, decoding, a digest of its call) costs about 0.2 ms, so storing the
#: many calls of cheap numpy functions (a few microseconds each) would cost more than it
#: saves. Which outcomes are stored never changes what a lookup returns.
MIN_COMPUTE_SECONDS = 1e-3
#: A fingerprint folder no process used for this long belongs to an old library.
STALE_DAYS = 30
#: A temporary file this old was left by a writer that died.
STALE_TEMP_SECONDS = 3600
_SPEC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{40}$")


class NotCacheable(Exception):
    """A call or an outcome the cache cannot hold exactly (a kept handle, an object)."""


# ------------------------------------------------------------------ where, and for which library


def cache_root(environ: Mapping[str, str] | None = None) -> Path | None:
    """The cache's folder, or None when ``GRADKIT_CACHE`` turns it off."""
    env = os.environ if environ is None else environ
    value = env.get(ENV)
    if value is not None:
        if value.strip().lower() in _OFF:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute():
            raise ValueError(f"{ENV} must be an absolute folder or 'off', not {value!r}")
        return path
    xdg = env.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "gradkit"


def _blas() -> Any:
    try:
        config = np.show_config(mode="dicts")
        return config.get("Build Dependencies", config)
    except Exception:  # an older numpy: its version says the rest
        return None


def world() -> dict[str, Any]:
    """What outside the package the outcomes depend on: numpy and its BLAS, Python, the
    machine."""
    return {
        "numpy": np.__version__,
        "blas": _blas(),
        "python": sys.version,
        "tag": sys.implementation.cache_tag,
        "machine": platform.machine(),
        "byteorder": sys.byteorder,
    }


def package_fingerprint(package: Path, outside: Mapping[str, Any]) -> str:
    """A digest of every file under ``package`` (names and contents; compiled files left
    out), the cache format and ``outside``."""
    digest = hashlib.sha256(f"gradkit outcome cache {FORMAT}\n".encode())
    for rel, path in sorted(_files(str(package), "")):
        digest.update(f"{rel}\0".encode())
        with open(path, "rb") as fh:
            digest.update(hashlib.sha256(fh.read()).digest())
    digest.update(json.dumps(dict(outside), sort_keys=True, default=str).encode())
    return digest.hexdigest()[:40]


def _files(folder: str, prefix: str) -> list[tuple[str, str]]:
    """(relative name, path) of every file below ``folder``, compiled files left out."""
    out = []
    with os.scandir(folder) as entries:
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    out += _files(entry.path, f"{rel}/")
            elif entry.is_file() and not entry.name.endswith((".pyc", ".pyo")):
                out.append((rel, entry.path))
    return out


@functools.lru_cache(maxsize=1)
def library_fingerprint() -> str:
    """What every cached outcome depends on: each file of the gradkit package (by content),
    the cache format, numpy and its BLAS, Python and the machine."""
    return package_fingerprint(Path(__file__).resolve().parent.parent, world())


#: Modules whose code may run in a cached implementation: gradkit's (in the fingerprint)
#: and numpy's and Python's own (their versions are).
_COVERED = ("gradkit.", "numpy", "builtins", "math")
#: How deep :func:`implementation_id` follows the functions an implementation closes over.
_MAX_CLOSURE_DEPTH = 6


def _covered_code(fn: Any, depth: int = 0) -> bool:
    """Whether ``fn`` and what it closes over are code the fingerprint covers."""
    if depth > _MAX_CLOSURE_DEPTH:
        return False
    if isinstance(fn, functools.partial):
        return _covered_code(fn.func, depth + 1) and all(
            _covered_code(a, depth + 1) for a in (*fn.args, *fn.keywords.values()) if callable(a)
        )
    if isinstance(fn, types.FunctionType):
        if not str(fn.__module__).startswith(_COVERED):
            return False
        for cell in fn.__closure__ or ():
            try:
                content = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            if callable(content) and not _covered_code(content, depth + 1):
                return False
        return True
    if isinstance(fn, (types.BuiltinFunctionType, type)):
        return str(getattr(fn, "__module__", "") or "builtins").startswith(_COVERED)
    return type(fn).__module__.startswith("numpy")  # a ufunc, numpy's dispatchers


def implementation_id(functions: Mapping[str, Any]) -> str | None:
    """What identifies an implementation (the reference, or a mistake's functions): each
    function's name, module, compiled code and what it closes over. None when any of it is
    not code the library fingerprint covers (a spec a test wrote): never cached."""
    parts = []
    for name, fn in sorted(functions.items()):
        if fn is None or not _covered_code(fn):
            return None
        code = getattr(fn, "__code__", None)
        compiled = hashlib.sha256(marshal.dumps(code)).hexdigest() if code is not None else ""
        parts.append([name, compiled, _describe(fn)])
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


class CallDigests:
    """Digests of calls (see the module's docstring); an array is hashed once per object."""

    def __init__(self) -> None:
        self._arrays: dict[int, tuple[np.ndarray, str]] = {}

    def __call__(
        self, who: str, implementation: str, key: str, call: Call, reduce: Callable | None
    ) -> str:
        """The digest of one call of ``implementation`` (see :func:`implementation_id`), or
        :class:`NotCacheable`."""
        described = [
            FORMAT,
            who,
            implementation,
            key,
            call.fn,
            self._describe(call.inputs),
            None if call.returns is None else list(call.returns),
            list(call.watch),
            call.reseed_global,
            call.return_args,
            call.bare,
            None if reduce is None else _describe(reduce),
        ]
        text = json.dumps(described, separators=(",", ":"), default=_refuse)
        return hashlib.sha256(text.encode()).hexdigest()

    def _array(self, arr: np.ndarray) -> str:
        known = self._arrays.get(id(arr))
        if known is not None and known[0] is arr:
            return known[1]
        text = hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
        self._arrays[id(arr)] = (arr, text)  # the array is kept, so its id stays its own
        return text

    def _describe(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return [type(value).__name__, value]
        if type(value) is int:
            return ["int", str(value)]
        if type(value) is float:
            return ["float", value.hex()]
        if type(value) is complex:
            return ["complex", value.real.hex(), value.imag.hex()]
        if type(value) is np.ndarray:
            if value.dtype.hasobject:
                raise NotCacheable("an object array")
            flags = (value.flags.c_contiguous, value.flags.f_contiguous)
            return ["nd", value.dtype.str, list(value.shape), flags, self._array(value)]
        if isinstance(value, np.generic) and type(value).__module__ == "numpy":
            if value.dtype.hasobject:
                raise NotCacheable("an object scalar")
            return ["np", value.dtype.str, value.tobytes().hex()]
        if type(value) in (tuple, list):
            return [type(value).__name__, [self._describe(v) for v in value]]
        if type(value) is dict:
            return ["dict", [[self._describe(k), self._describe(v)] for k, v in value.items()]]
        if type(value) is Inputs:
            return ["Inputs", self._describe(value.args), self._describe(value.kwargs)]
        if type(value) is Fn:
            return ["Fn", value.name, self._describe(value.params)]
        if type(value) is Rng:
            return ["Rng", str(value.seed)]
        if type(value) is Kept:
            raise NotCacheable("a kept value's handle")
        raise NotCacheable(f"an argument of type {type(value).__name__}")


def _refuse(value: Any) -> Any:
    raise NotCacheable(f"cannot describe {type(value).__name__}")


# ------------------------------------------------------------------ exact round trips


def identical(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same value to every bit: types, dtypes, shapes,
    memory layouts and contents (nan included). A kept handle is never identical."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Kept):
        return False
    if isinstance(a, np.ndarray):
        return (
            a.dtype == b.dtype
            and a.shape == b.shape
            and not a.dtype.hasobject
            and a.flags.c_contiguous == b.flags.c_contiguous
            and a.flags.f_contiguous == b.flags.f_contiguous
            and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()
        )
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and not a.dtype.hasobject and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return a.hex() == b.hex() if not math.isnan(a) else math.isnan(b)
    if isinstance(a, complex):
        return identical(a.real, b.real) and identical(a.imag, b.imag)
    if a is None or isinstance(a, (bool, int, str, Fn, Rng, Opaque)):
        return bool(a == b)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, Inputs):
        return identical(a.args, b.args) and identical(a.kwargs, b.kwargs)
    return False


def _fresh(value: Any) -> Any:
    """A copy of a decoded value whose containers are new; its arrays, which the decoder
    made read-only, are shared (no run can change them for the next)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_fresh(v) for v in value)
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, Inputs):
        return Inputs(_fresh(value.args), _fresh(value.kwargs))
    return value


def _fresh_outcome(o: Outcome) -> Outcome:
    return Outcome(
        ok=o.ok,
        value=_fresh(o.value),
        error=o.error,
        args_after=_fresh(o.args_after),
        mutated=o.mutated,
        delegated=o.delegated,
        watched=tuple(o.watched),
        probe_shapes=[tuple(s) for s in o.probe_shapes],
    )


def _same_outcome(a: Outcome, b: Outcome) -> bool:
    return (
        a.ok == b.ok
        and a.error == b.error
        and a.mutated == b.mutated
        and a.delegated == b.delegated
        and tuple(a.watched) == tuple(b.watched)
        and [tuple(s) for s in a.probe_shapes] == [tuple(s) for s in b.probe_shapes]
        and identical(a.value, b.value)
        and identical(a.args_after, b.args_after)
    )


# ------------------------------------------------------------------ entry files


def _encode_entry(fingerprint: str, spec: str, entries: Mapping[str, tuple[str, str, Outcome]]):
    blobs: dict[str, bytes] = {}
    enc = Encoder(MemoryFolder(blobs), "a", budget=MAX_ENTRY_BYTES, sink=blobs)
    rows = [
        [digest, who, key, _encode_outcome(outcome, enc)]
        for digest, (who, key, outcome) in sorted(entries.items())
    ]
    names = list(blobs)
    doc = {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "spec": spec,
        "entries": rows,
        "arrays": [[n, len(blobs[n])] for n in names],
    }
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
    payload = b"".join([str(len(text)).encode(), b"\n", text, *(blobs[n] for n in names)])
    return _MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def _decode_entry(raw: bytes, fingerprint: str, spec: str) -> dict[str, tuple[str, str, Outcome]]:
    """The entries of a file, or ValueError when anything about it is wrong."""
    if not raw.startswith(_MAGIC):
        raise ValueError("not an entry of gradkit's outcome cache")
    head, sep, payload = raw[len(_MAGIC) :].partition(b"\n")
    if not sep or hashlib.sha256(payload).hexdigest().encode() != head:
        raise ValueError("its checksum does not match (truncated or corrupt)")
    length, sep, rest = payload.partition(b"\n")
    if not sep or not length.isdigit() or int(length) > len(rest):
        raise ValueError("malformed")
    doc = json.loads(rest[: int(length)])
    if (doc.get("format"), doc.get("fingerprint"), doc.get("spec")) != (
        FORMAT,
        fingerprint,
        spec,
    ):
        raise ValueError("it belongs to another spec or library")
    blobs, offset = {}, int(length)
    for name, size in doc["arrays"]:
        blobs[str(name)] = rest[offset : offset + int(size)]
        offset += int(size)
    if offset != len(rest):
        raise ValueError("malformed")
    dec = Decoder(MemoryFolder(blobs), budget=MAX_ENTRY_BYTES)
    out = {}
    for digest, who, key, encoded in doc["entries"]:
        out[str(digest)] = (str(who), str(key), _decode_outcome(encoded, dec))
    return out


_FILE_ERRORS = (OSError, ValueError, KeyError, TypeError, IndexError, BridgeDataError)


class OutcomeCache:
    """The outcomes of one library fingerprint, in ``folder``; see the module's docstring.

    :attr:`stats` counts hits, misses, outcomes stored, outcomes refused (not exactly
    encodable), entry files ignored (corrupt, foreign) and writes that failed.
    """

    def __init__(self, folder: Path, fingerprint: str, min_seconds: float = MIN_COMPUTE_SECONDS):
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        #: Outcomes that took less CPU time to compute are not stored (0: all are).
        self.min_seconds = min_seconds
        self._loaded: dict[str, dict[str, tuple[str, str, Outcome]]] = {}
        self._pending: dict[str, dict[str, tuple[str, str, Outcome]]] = {}
        self.stats = dict.fromkeys(
            ("hits", "misses", "stored", "refused", "ignored", "write_errors"), 0
        )

    def _path(self, spec: str) -> Path:
        if not _SPEC_NAME.match(spec):
            raise ValueError(f"not a spec name: {spec!r}")
        return self.folder / f"{spec}.outcomes"

    def _read(self, spec: str, count: bool = True) -> dict[str, tuple[str, str, Outcome]]:
        """The entries on disk; nothing when the file is missing or not to be trusted
        (counted in :attr:`stats` when ``count``)."""
        path = self._path(spec)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            return {}
        except OSError:
            self.stats["ignored"] += count
            return {}
        try:
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fh.fileno())
                if (
                    not stat.S_ISREG(st.st_mode)
                    or st.st_uid != os.geteuid()
                    or st.st_size > MAX_ENTRY_BYTES
                ):
                    raise ValueError("not the grader's own regular file of a sensible size")
                raw = fh.read(MAX_ENTRY_BYTES + 1)
            return _decode_entry(raw, self.fingerprint, spec)
        except _FILE_ERRORS:
            self.stats["ignored"] += count
            return {}

    def _entries(self, spec: str) -> dict[str, tuple[str, str, Outcome]]:
        if spec not in self._loaded:
            self._loaded[spec] = self._read(spec)
        return self._loaded[spec]

    def holds(self, spec: str) -> bool:
        """Whether anything of ``spec`` is stored (else no call of it needs a digest)."""
        return bool(self._entries(spec))

    def get(self, spec: str, digest: str) -> Outcome | None:
        """A fresh copy of the outcome stored under ``digest``, or None."""
        found = self._entries(spec).get(digest)
        if found is None:
            self.stats["misses"] += 1
            return None
        self.stats["hits"] += 1
        return _fresh_outcome(found[2])

    def put(self, spec: str, digest: str, who: str, key: str, outcome: Outcome) -> bool:
        """Keep ``outcome`` for :meth:`flush` if its encoding gives it back identical."""
        try:
            blob = _encode_entry(self.fingerprint, spec, {digest: (who, key, outcome)})
            back = _decode_entry(blob, self.fingerprint, spec)[digest][2]
        except (NotCacheable, ValueError, TypeError, BridgeDataError, RecursionError):
            back = None
        if back is None or not _same_outcome(outcome, back):
            self.stats["refused"] += 1
            return False
        self._entries(spec)[digest] = (who, key, back)
        self._pending.setdefault(spec, {})[digest] = (who, key, back)
        return True

    def discard(self, spec: str) -> None:
        """Forget what this process computed for ``spec`` and has not written."""
        for digest in self._pending.pop(spec, {}):
            self._entries(spec).pop(digest, None)

    def flush(self, spec: str) -> None:
        """Write the new outcomes of ``spec``, merged with the file as it is now."""
        pending = self._pending.pop(spec, None)
        if not pending:
            return
        merged = {**self._read(spec, count=False), **pending}
        try:
            self._write(spec, _encode_entry(self.fingerprint, spec, merged))
        except _FILE_ERRORS:
            self.stats["write_errors"] += 1
            return
        self.stats["stored"] += len(pending)

    def _write(self, spec: str, blob: bytes) -> None:
        path = self._path(spec)
        temp = self.folder / f".{spec}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temp, path)  # atomic; a link at ``path`` is replaced, never followed
        except BaseException:
            temp.unlink(missing_ok=True)
            raise


# ------------------------------------------------------------------ opening


_OPEN: dict[tuple[str, str], OutcomeCache] = {}
_WARNED: set[str] = set()


def _warn(reason: str) -> None:
    if reason not in _WARNED:
        _WARNED.add(reason)
        warnings.warn(f"gradkit's outcome cache is off: {reason}", RuntimeWarning, stacklevel=3)


def _own_folder(path: Path) -> None:
    """Create ``path`` (0700) if missing; raise ValueError unless it is a folder (not a
    link) of this user that no other user may write."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise ValueError(f"{path} is not a folder")
    if st.st_uid != os.geteuid():
        raise ValueError(f"{path} belongs to another user")
    if st.st_mode & 0o022:
        raise ValueError(f"{path} may be written by other users")


def _inside(path: Path, roots: Sequence[Path]) -> Path | None:
    for root in roots:
        try:
            real = Path(os.path.realpath(root))
        except OSError:
            continue
        if path == real or real in path.parents:
            return root
    return None


def _prune(outcomes: Path, keep: str) -> None:
    """Remove the folders of fingerprints no process used for :data:`STALE_DAYS` days, and
    temporary files of writers that died."""
    now = time.time()
    try:
        for entry in os.scandir(outcomes):
            if entry.name == keep or not _FINGERPRINT.match(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                if now - entry.stat(follow_symlinks=False).st_mtime > STALE_DAYS * 86400:
                    shutil.rmtree(entry.path, ignore_errors=True)  # never follows links
        for entry in os.scandir(outcomes / keep):
            if entry.name.endswith(".tmp") and entry.is_file(follow_symlinks=False):
                if now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_SECONDS:
                    os.unlink(entry.path)
    except OSError:
        pass


def open_cache(root: Path | None, hidden_from: Sequence[Path] = ()) -> OutcomeCache | None:
    """The cache of this library in ``root`` (created), or None, with a warning, when it
    cannot be used safely: ``root`` unusable or shared with other users, or the cache's
    folder inside one of ``hidden_from`` (paths a student's kernel sees)."""
    if root is None:
        return None
    fingerprint = library_fingerprint()
    real = Path(os.path.realpath(root))
    outcomes = real / f"outcomes-{FORMAT}"
    folder = outcomes / fingerprint
    shown = _inside(folder, hidden_from)
    if shown is not None:
        _warn(f"{folder} is inside {shown}, which a sandboxed kernel sees; set {ENV}")
        return None
    known = _OPEN.get((str(real), fingerprint))
    if known is not None:
        return known
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        for path in (real, outcomes, folder):
            _own_folder(path)
    except (OSError, ValueError) as exc:
        _warn(f"{root}: {exc}")
        return None
    try:
        os.utime(folder)  # in use: not stale
    except OSError:
        pass
    _prune(outcomes, fingerprint)
    cache = OutcomeCache(folder, fingerprint)
    _OPEN[(str(real), fingerprint)] = cache
    return cache


def for_sandboxed_grader(kernel_visible: Sequence[Path]) -> OutcomeCache | None:
    """The cache a grader whose kernels are sandboxed uses (None if off or unsafe):
    ``kernel_visible`` lists the host paths a sandboxed kernel sees."""
    try:
        root = cache_root()
    except ValueError as exc:
        _warn(str(exc))
        return None
    return open_cache(root, hidden_from=kernel_visible)
