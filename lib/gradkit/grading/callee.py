"""Calling the functions under test: what a call asks for and what comes back.

The engine never calls a student's function itself. It describes each call
as a :class:`Call` and hands a batch to a *callee*, which returns one
:class:`Outcome` per call:

* :class:`DirectCallee` calls Python functions in this process: gradkit's
  references and catalogued mistakes in the grader, or the student's own
  functions when a test cell runs inside Jupyter or nbval;
* :class:`gradkit.grading.bridge.BridgeCallee` sends the batch to the
  student's kernel and reads plain data back (the grader's mode).

Both apply the same rules, implemented here once: inputs are fresh copies,
warnings and prints are swallowed, a mutated input is noticed, positions of
a returned tuple can be kept where they were made (a cache) or dropped, and
a watch reports delegation to the reference or calls to watched functions.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .compare import deep_equal, summarize
from .delegation import Watch, resolve
from .probes import Probe
from .spec import Fn, Inputs, Rng

__all__ = ["Call", "Outcome", "DirectCallee", "materialize", "invoke", "Kept"]

#: Longest error message kept from a student's exception.
MAX_ERROR_CHARS = 200


@dataclass(frozen=True)
class Call:
    """One call of the function ``fn`` (a name the callee knows) on ``inputs``.

    ``returns`` tags the positions of a returned tuple: ``"data"`` comes
    back, ``"keep"`` stays with the callee (an opaque :class:`Kept` comes
    back, usable as an argument of a later call), ``"drop"`` is discarded.
    ``None`` returns the value as it is. ``watch`` lists dotted names whose use is
    reported; ``reseed_global`` seeds numpy's global RNG first (to expose a
    function that draws from it); ``return_args`` sends the arguments back
    as they are after the call.
    """

    fn: str
    inputs: Inputs
    returns: tuple[str, ...] | None = None
    watch: tuple[str, ...] = ()
    reseed_global: int | None = None
    return_args: bool = True
    #: A call whose time is measured: run it bare, with no watch (a profile hook would
    #: slow the code under test).
    bare: bool = False


@dataclass
class Outcome:
    """What one :class:`Call` produced."""

    ok: bool
    value: Any = None
    error: str = ""
    args_after: Inputs | None = None
    mutated: bool = False
    delegated: str = ""
    watched: tuple[str, ...] = ()
    probe_shapes: list[tuple[int, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class Kept:
    """A returned value that stayed with the callee (e.g. a cache); pass it back as an argument."""

    key: int


class _Materializer:
    """Turns call inputs (with descriptors) into real Python arguments, on copies."""

    def __init__(self, kept: Mapping[int, Any]):
        self.kept = kept
        self.probes: list[Probe] = []

    def __call__(self, value: Any) -> Any:
        if isinstance(value, Fn):
            probe = Probe(value)
            self.probes.append(probe)
            return probe
        if isinstance(value, Rng):
            return np.random.default_rng(value.seed)
        if isinstance(value, Kept):
            return self.kept[value.key]
        if isinstance(value, np.ndarray):
            return value.copy()
        if isinstance(value, tuple):
            return tuple(self(v) for v in value)
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return copy.deepcopy(value)


def materialize(inputs: Inputs, kept: Mapping[int, Any]) -> tuple[tuple, dict, list[Probe]]:
    """Fresh arguments for one call: arrays copied, descriptors built, kept objects restored."""
    m = _Materializer(kept)
    args = tuple(m(a) for a in inputs.args)
    kwargs = {k: m(v) for k, v in inputs.kwargs.items()}
    return args, kwargs, m.probes


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow warnings, floating-point alarms and prints of the code under test."""
    sink = io.StringIO()
    with (
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        warnings.simplefilter("ignore")
        yield


def describe_error(exc: BaseException) -> str:
    """One line for an exception raised by the code under test."""
    if isinstance(exc, NotImplementedError):
        return "is not implemented yet (it raises NotImplementedError)"
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"raised {type(exc).__name__}: {first}"[:MAX_ERROR_CHARS]


class WrongStructure(Exception):
    """What a function returned does not have the structure its spec says (grader's words)."""


def _shape_value(value: Any, returns: tuple[str, ...] | None, store: Callable[[Any], Kept]):
    """Apply a call's ``returns`` tags; raise :class:`WrongStructure` when the structure is
    wrong."""
    if returns is None:
        return value
    if not isinstance(value, (tuple, list)) or len(value) != len(returns):
        raise WrongStructure(
            f"returned {summarize(value)} instead of a tuple of {len(returns)} values"
        )
    out: list[Any] = []
    for item, tag in zip(value, returns):
        if tag == "keep":
            out.append(store(item))
        elif tag == "drop":
            out.append(None)
        else:
            out.append(item)
    return tuple(out)


def invoke(
    func: Callable,
    call: Call,
    kept: dict[int, Any],
    forbidden: Mapping[str, Callable],
) -> Outcome:
    """Run one call of ``func`` under the callee rules; never raises for the callee's code."""
    args, kwargs, probes = materialize(call.inputs, kept)
    before = copy.deepcopy((args, kwargs)) if call.return_args else None
    watched_funcs = {name: resolve(name) for name in call.watch}
    watched = {**forbidden, **{k: v for k, v in watched_funcs.items() if v is not None}}
    watch = Watch({} if call.bare else watched)

    def store(obj: Any) -> Kept:
        key = len(kept) + 1
        kept[key] = obj
        return Kept(key)

    try:
        with quiet(), watch:
            if call.reseed_global is not None:
                np.random.seed(call.reseed_global)
            value = func(*args, **kwargs)
        value = _shape_value(value, call.returns, store)
    except WrongStructure as exc:
        outcome = Outcome(False, error=str(exc))
    except Exception as exc:  # the code under test failed: report it, keep grading
        outcome = Outcome(False, error=describe_error(exc))
    else:
        outcome = Outcome(True, value=value)
        if before is not None:
            outcome.args_after = Inputs(args, kwargs)
            outcome.mutated = not deep_equal(before, (args, kwargs))
    hits = watch.hits
    outcome.delegated = next((h for h in hits if h in forbidden), "")
    outcome.watched = tuple(h for h in hits if h in watched_funcs)
    outcome.probe_shapes = [s for p in probes for s in p.shapes]
    return outcome


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """BLAS on one thread while calls are timed, for the student and the reference alike:
    with several threads a busy machine makes the time of a matrix product swing by 10x."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def time_batches(
    run: Callable[[list[Call]], list[Outcome]], calls: list[list[Call]]
) -> tuple[float, list[Outcome]]:
    """Best time per call over the batches (each timed whole by this process's clock), and
    every outcome in order."""
    best, outcomes = math.inf, []
    for batch in calls:
        t0 = time.perf_counter()
        out = run(batch)
        seconds = time.perf_counter() - t0
        outcomes += out
        if not all(o.ok for o in out):
            break
        best = min(best, seconds / max(len(batch), 1))
    return best, outcomes


class DirectCallee:
    """Calls Python functions in this process.

    ``functions`` maps names to functions; a name mapped to None is reported
    as not defined. ``forbidden`` lists dotted names whose use counts as
    delegation (empty for the references themselves).
    """

    def __init__(self, functions: Mapping[str, Callable | None], forbidden: tuple[str, ...] = ()):
        self.functions = dict(functions)
        self.forbidden = {n: f for n in forbidden if (f := resolve(n)) is not None}
        self.kept: dict[int, Any] = {}

    def run(self, calls: list[Call]) -> list[Outcome]:
        outcomes = []
        for call in calls:
            func = self.functions.get(call.fn)
            if func is None or not callable(func):
                what = "is not defined" if func is None else f"is a {type(func).__name__}"
                outcomes.append(
                    Outcome(False, error=f"{what}; run the cell that defines {call.fn}")
                )
                continue
            outcomes.append(invoke(func, call, self.kept, self.forbidden))
        return outcomes

    def reset(self) -> None:
        """Forget kept values (between tests)."""
        self.kept.clear()

    def time_calls(
        self, fn: str, batches: list[list[Inputs]], returns: tuple[str, ...] | None
    ) -> tuple[float, list[Outcome]]:
        """Best seconds per call of ``fn`` over ``batches`` of inputs, and every outcome
        (see :mod:`gradkit.grading.timing`): timed here, in this process."""
        calls = [
            [Call(fn, inp, returns=returns, return_args=False, bare=True) for inp in batch]
            for batch in batches
        ]
        with one_thread():
            return time_batches(self.run, calls)
