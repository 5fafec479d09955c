"""Self-check without the reference: what a student kit replays in place of gradkit's code.

A student kit (``gradkit kit``) holds no reference implementation and no catalogued
mistake of the work it grades, yet its self-check must give the verdicts, points and
diagnoses of the full library on the public cases. Everything a check needs from code
the kit does not hold is recorded when the kit is built, with the full library, and
stored as data (JSON and ``.npy``, never code):

* **inputs**: every call of a case's ``make(rng)`` (public cases, and hidden-shaped
  cases drawn from the kit's practice tokens), keyed by what the maker is and the
  state of its random generator, with the generator's state after the call. Makers
  may use gradkit's own code (a few warm-up steps of a reference update rule);
  :func:`make_inputs` is the one place cases are made, and it replays them in a kit;
* **outcomes**: what the reference and every catalogued mistake returned for each call
  a check made of them, keyed the way the engine memoizes calls (``who``, ``key``).
  The engine preloads them and never calls those implementations in a kit.

Checks that need no reference run live on the student's function (a numeric gradient
of their own loss, no mutation, stability). A speed check is not replayed: without the
reference there is nothing fair to time against, so a kit's self-check leaves it to the
grader and says so. ``tests/test_kit.py`` proves the replay: for every spec, the verdict
of the reference, of a stub and of every catalogued mistake under a kit's recordings
equals the verdict under the full library.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import types
from collections.abc import Callable, Iterator
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .codec import Decoder, Encoder
from .spec import Inputs

__all__ = [
    "KitMiss",
    "Recorder",
    "Recordings",
    "make_inputs",
    "recording",
    "replaying",
    "active",
    "installed_kit",
]

#: Where a kit's recordings live inside its ``gradkit`` package.
KIT_DATA = Path(__file__).resolve().parent.parent / "_kitdata"
#: How deep a maker's description follows the functions and objects it closes over.
_MAX_DEPTH = 6


class KitMiss(RuntimeError):
    """A kit was asked for something it did not record (a case or a reference's outcome)."""


# ------------------------------------------------------------------ keys


def _describe(value: Any, depth: int = 0) -> Any:
    """A plain, version-independent description of a maker and what it closes over."""
    if depth > _MAX_DEPTH:
        return "…"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, np.ndarray):
        return [
            "ndarray",
            value.dtype.str,
            list(value.shape),
            hashlib.sha1(value.tobytes()).hexdigest(),
        ]
    if isinstance(value, np.generic):
        return repr(value.item())
    if isinstance(value, functools.partial):
        return [
            "partial",
            _describe(value.func, depth + 1),
            _describe(value.args, depth + 1),
            _describe(value.keywords, depth + 1),
        ]
    if isinstance(value, types.FunctionType):
        cells = [c.cell_contents for c in (value.__closure__ or ()) if _has_contents(c)]
        described = ["fn", value.__module__, value.__qualname__, _describe(tuple(cells), depth + 1)]
        if depth == 0:  # the maker's own defaults (``lambda rng, n=n: ...``) tell makers apart;
            # a function it uses is named only: in a kit a graded one is a stub (no defaults)
            described.append(_describe(value.__defaults__, depth + 1))
        return described
    if isinstance(value, (types.BuiltinFunctionType, type)):
        return ["callable", getattr(value, "__module__", ""), getattr(value, "__qualname__", "")]
    if isinstance(value, (tuple, list)):
        return [type(value).__name__, *(_describe(v, depth + 1) for v in value)]
    if isinstance(value, dict):
        return ["dict", *sorted((str(k), _describe(v, depth + 1)) for k, v in value.items())]
    if is_dataclass(value) and not isinstance(value, type):
        return [
            type(value).__qualname__,
            *((f.name, _describe(getattr(value, f.name), depth + 1)) for f in fields(value)),
        ]
    return ["object", type(value).__module__, type(value).__qualname__]


def _has_contents(cell: Any) -> bool:
    try:
        _ = cell.cell_contents
    except ValueError:  # an empty cell (a name assigned after the closure was made)
        return False
    return True


def _state(rng: np.random.Generator) -> Any:
    return rng.bit_generator.state


def maker_key(make: Callable, rng: np.random.Generator) -> str:
    """What identifies one call ``make(rng)``: the maker and its generator's state."""
    text = json.dumps([_describe(make), _state(rng)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ------------------------------------------------------------------ the active source

_RECORDER: Recorder | None = None
_REPLAY: Recordings | None = None
_KIT_CHECKED = False


def installed_kit() -> Recordings | None:
    """The recordings of the kit this gradkit is, or None in the full library."""
    global _REPLAY, _KIT_CHECKED
    if not _KIT_CHECKED:
        _KIT_CHECKED = True
        if (KIT_DATA / "kit.json").is_file():
            _REPLAY = Recordings(KIT_DATA)
    return _REPLAY


def active() -> Recordings | None:
    """The recordings replayed now: an installed kit's, or those of :func:`replaying`."""
    return _REPLAY if _KIT_CHECKED else installed_kit()


def make_inputs(make: Callable[[np.random.Generator], Inputs], rng: np.random.Generator) -> Inputs:
    """``make(rng)``: the one place a case's inputs are made (recorded or replayed)."""
    source = active()
    if source is not None:
        made, after = source.inputs(maker_key(make, rng))
        rng.bit_generator.state = after
        return made
    if _RECORDER is None:
        return make(rng)
    key = maker_key(make, rng)
    made = make(rng)
    _RECORDER.add_inputs(key, made, _state(rng))
    return made


@contextlib.contextmanager
def recording(recorder: Recorder | None) -> Iterator[Recorder | None]:
    """Record every case made while the block runs (the engine records outcomes itself);
    None pauses recording (a check a kit does not replay)."""
    global _RECORDER
    previous, _RECORDER = _RECORDER, recorder
    try:
        yield recorder
    finally:
        _RECORDER = previous


@contextlib.contextmanager
def replaying(recordings: Recordings | None) -> Iterator[None]:
    """Run the block as a kit with ``recordings`` would (tests; None: the full library)."""
    global _REPLAY, _KIT_CHECKED
    previous = (_REPLAY, _KIT_CHECKED)
    _REPLAY, _KIT_CHECKED = recordings, True
    try:
        yield
    finally:
        _REPLAY, _KIT_CHECKED = previous


def recorder_active() -> Recorder | None:
    return _RECORDER


# ------------------------------------------------------------------ storage


def _encode_outcome(outcome: Any, enc: Encoder) -> dict[str, Any]:
    return {
        "ok": outcome.ok,
        "value": enc(outcome.value) if outcome.ok else None,
        "error": outcome.error,
        "args_after": enc(outcome.args_after) if outcome.args_after is not None else None,
        "mutated": outcome.mutated,
        "delegated": outcome.delegated,
        "watched": list(outcome.watched),
        "probe_shapes": [list(s) for s in outcome.probe_shapes],
    }


def _decode_outcome(raw: dict[str, Any], dec: Decoder) -> Any:
    from .callee import Outcome

    return Outcome(
        ok=bool(raw["ok"]),
        value=dec(raw["value"]) if raw["ok"] else None,
        error=str(raw["error"]),
        args_after=dec(raw["args_after"]) if raw["args_after"] is not None else None,
        mutated=bool(raw["mutated"]),
        delegated=str(raw["delegated"]),
        watched=tuple(raw["watched"]),
        probe_shapes=[tuple(s) for s in raw["probe_shapes"]],
    )


class Recorder:
    """Collects cases and outcomes while specs run with the full library."""

    def __init__(self, share: bool = True) -> None:
        self.share = share
        self.cases: dict[str, tuple[Inputs, Any]] = {}
        #: spec -> token ("" for public) -> (who, key) -> outcome
        self.outcomes: dict[str, dict[str, dict[tuple[str, str], Any]]] = {}
        #: (spec, token) -> (who, key) -> outcome: what the reference and the mistakes gave
        #: in an earlier run of the recording, given to later runs as the kit will replay it
        #: (see :meth:`shared`).
        self._shared: dict[tuple[str, str], dict[tuple[str, str], Any]] = {}

    def shared(self, spec: str, token: str | None) -> dict[tuple[str, str], Any] | None:
        """Outcomes of the reference and the mistakes that every run of ``spec`` with
        ``token`` in this recording uses instead of calling them again.

        A kit replays one outcome per (who, key) whichever student it grades (the first
        recorded, :meth:`add_outcomes`), so a recording run that reuses it computes what
        the kit will. The engine shares only calls that left numpy's global random state
        as they found it: skipping one that drew from it would change what a later call
        of the same run draws. None when this recorder computes everything in every run
        (``share=False``: what the recording must equal)."""
        if not self.share:
            return None
        return self._shared.setdefault((spec, token or ""), {})

    def add_inputs(self, key: str, made: Inputs, after: Any) -> None:
        from .compare import deep_equal

        known = self.cases.setdefault(key, (made, after))
        if known[1] != after or not deep_equal(known[0], made):
            raise RuntimeError(
                "two different cases have the same key: give their makers different names "
                f"or parameters ({key})"
            )

    def add_outcomes(self, spec: str, token: str | None, memo: dict[tuple[str, str], Any]) -> None:
        table = self.outcomes.setdefault(spec, {}).setdefault(token or "", {})
        for who_key, outcome in memo.items():
            table.setdefault(who_key, outcome)

    def save(self, folder: Path, meta: dict[str, Any]) -> None:
        """Write everything as JSON and ``.npy`` files into ``folder`` (created)."""
        folder.mkdir(parents=True, exist_ok=True)
        enc = Encoder(folder, "0-a", budget=2**31)
        cases = {
            k: {"inputs": enc(made), "after": after} for k, (made, after) in self.cases.items()
        }
        _write(folder / "cases.json", cases)
        names = sorted(self.outcomes)
        for i, spec in enumerate(names, start=1):
            enc = Encoder(folder, f"{i}-a", budget=2**31)
            data = {
                token: [[who, key, _encode_outcome(o, enc)] for (who, key), o in table.items()]
                for token, table in self.outcomes[spec].items()
            }
            _write(folder / f"spec-{i}.json", {"spec": spec, "tokens": data})
        _write(folder / "kit.json", {**meta, "specs": {s: i for i, s in enumerate(names, 1)}})


def _write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, separators=(",", ":"), default=str), encoding="utf-8")


def _read(path: Path) -> Any:
    """A kit's own JSON file (written by :meth:`Recorder.save`, shipped in the wheel)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KitMiss(f"the kit's file {path.name} cannot be read ({exc})") from None


class Recordings:
    """A kit's recordings, read lazily: one spec's file when that spec first runs."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.meta: dict[str, Any] = _read(self.folder / "kit.json")
        self._cases: dict[str, tuple[Inputs, Any]] | None = None
        self._specs: dict[str, dict[str, dict[tuple[str, str], Any]]] = {}

    @property
    def practice_tokens(self) -> list[str]:
        return list(self.meta.get("practice_tokens", []))

    @property
    def assignment(self) -> str:
        return str(self.meta.get("assignment", ""))

    def inputs(self, key: str) -> tuple[Inputs, Any]:
        if self._cases is None:
            raw = _read(self.folder / "cases.json")
            dec = Decoder(self.folder, budget=2**31)
            self._cases = {k: (dec(v["inputs"]), v["after"]) for k, v in raw.items()}
        try:
            return self._cases[key]
        except KeyError:
            raise KitMiss("this case was not recorded in the kit") from None

    def has_spec(self, spec: str) -> bool:
        return spec in self.meta.get("specs", {})

    def outcomes(self, spec: str, token: str | None) -> dict[tuple[str, str], Any]:
        """The recorded outcomes of ``spec``'s reference and mistakes for ``token``."""
        if spec not in self._specs:
            index = self.meta.get("specs", {}).get(spec)
            if index is None:
                raise KitMiss(f"{spec} is not graded in this kit")
            raw = _read(self.folder / f"spec-{index}.json")
            dec = Decoder(self.folder, budget=2**31)
            self._specs[spec] = {
                token_: {(who, key): _decode_outcome(o, dec) for who, key, o in entries}
                for token_, entries in raw["tokens"].items()
            }
        tables = self._specs[spec]
        if (token or "") not in tables:
            raise KitMiss(f"the kit has no cases of {spec} for this token")
        return dict(tables[token or ""])
