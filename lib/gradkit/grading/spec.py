"""What a graded function is checked for, written down once: specs, cases and mistakes.

A :class:`Spec` names the function(s) a student writes, gradkit's reference
implementation of each, the :mod:`checks <gradkit.grading.checks>` to run
(with their weights), the hidden cases, and a catalogue of classic
:class:`Mistake` s. Specs live in one module per assignment under
:mod:`gradkit.grading.specs`; the registry, the delegation watch and the
pytest cases are all derived from them.

Inputs are described, not stored: a :class:`Case` holds a function
``make(rng) -> Inputs`` and a seed, so the same case is rebuilt bit for bit
on every run. Arguments that are not plain data travel as descriptors:
:class:`Fn` (a named probe function, see :mod:`gradkit.grading.probes`) and
:class:`Rng` (a ``np.random.Generator`` from a seed). A value a function
returns that is not data (a backward pass's cache) stays where it was
made and comes back as an opaque handle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Inputs", "inputs", "Case", "Fn", "Rng", "Mistake", "Spec", "dotted_name"]


@dataclass(frozen=True)
class Inputs:
    """Positional and keyword arguments of one call."""

    args: tuple
    kwargs: dict = field(default_factory=dict)

    def replace(self, **changes: Any) -> Inputs:
        """The same inputs with some keyword arguments changed (or added)."""
        return Inputs(self.args, {**self.kwargs, **changes})


def inputs(*args: Any, **kwargs: Any) -> Inputs:
    """``inputs(W, X, y, reg=0.1)``: the arguments of one call."""
    return Inputs(tuple(args), dict(kwargs))


@dataclass(frozen=True)
class Case:
    """One test input: ``make(np.random.default_rng(seed))`` returns its :class:`Inputs`.

    ``label`` describes the case to the student (public cases only).
    """

    label: str
    make: Callable[[np.random.Generator], Inputs]
    seed: int = 0

    def build(self) -> Inputs:
        from .replay import make_inputs  # replay imports this module

        made = make_inputs(self.make, np.random.default_rng(self.seed))
        if not isinstance(made, Inputs):
            raise TypeError(f"case {self.label!r}: make() must return inputs(...), got {made!r}")
        return made


@dataclass(frozen=True)
class Fn:
    """A probe function passed as an argument (e.g. the ``f`` of a numeric gradient).

    ``name`` is a key of :data:`gradkit.grading.probes.PROBES`; ``params`` are
    its keyword parameters. Each side of the bridge builds the real function.
    """

    name: str
    params: tuple = ()

    @classmethod
    def of(cls, name: str, **params: float) -> Fn:
        return cls(name, tuple(sorted(params.items())))


@dataclass(frozen=True)
class Rng:
    """A ``np.random.Generator`` argument, rebuilt from ``seed`` wherever the call runs."""

    seed: int


@dataclass(frozen=True)
class Mistake:
    """A classic wrong implementation, and how to tell the student they made it.

    ``impl`` has the reference's signature: a callable replaces the spec's
    primary function, a dict replaces functions by name (e.g. only the
    backward of a forward/backward pair). ``message`` is the diagnosis,
    phrased as what the student's output shows ("your loss equals the
    reference's without the 1/N average"); it never gives the answer away.
    """

    id: str
    message: str
    impl: Callable | Mapping[str, Callable]


def dotted_name(func: Callable) -> str:
    """``module.qualname`` of a function (how the delegation watch names it)."""
    return f"{func.__module__}.{func.__qualname__}"


@dataclass
class Spec:
    """One graded function: the references, the checks, the hidden cases, the mistakes.

    ``functions`` maps each name the student's notebook defines (primary
    first, e.g. ``affine_backward`` then the ``affine_forward`` it needs) to
    gradkit's reference. ``forbidden`` lists further dotted names the
    student's code may not run (besides the references), e.g. the library
    function that computes the same thing under another name.
    """

    name: str
    functions: dict[str, Callable]
    checks: Sequence[Any]
    #: What each function returns: a name (one value) or a tuple of names (a
    #: tuple). A name starting with ``~`` is not data (a cache): it stays
    #: with the callee. Functions not listed return one value.
    returns: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    mistakes: Sequence[Mistake] = ()
    forbidden: Sequence[str] = ()
    kind: str = "function"
    #: Short description for the course map ("SVM loss and gradient, loops").
    title: str = ""
    #: The assignment folder (``01_linear_models``); filled in by the registry.
    assignment: str = ""

    def __post_init__(self) -> None:
        if not self.functions:
            raise ValueError(f"spec {self.name}: functions must name at least one function")
        ids = [m.id for m in self.mistakes]
        if len(set(ids)) != len(ids):
            raise ValueError(f"spec {self.name}: mistake ids must be unique; got {ids}")
        for m in self.mistakes:
            if isinstance(m.impl, Mapping):
                unknown = set(m.impl) - set(self.functions)
                if unknown:
                    raise ValueError(
                        f"spec {self.name}: mistake {m.id!r} replaces unknown functions {unknown}"
                    )

    @property
    def primary(self) -> str:
        return next(iter(self.functions))

    def implementation(self, mistake: Mistake | None = None) -> dict[str, Callable]:
        """Name -> function: the references, with ``mistake``'s replacements if given."""
        funcs = dict(self.functions)
        if mistake is not None:
            if isinstance(mistake.impl, Mapping):
                funcs.update(mistake.impl)
            else:
                funcs[self.primary] = mistake.impl
        return funcs

    def outputs(self, fn: str | None = None) -> tuple[str, ...]:
        """The names of what ``fn`` (default: the primary function) returns."""
        ret = self.returns.get(fn or self.primary, "value")
        return (ret,) if isinstance(ret, str) else tuple(ret)

    def is_tuple(self, fn: str | None = None) -> bool:
        return not isinstance(self.returns.get(fn or self.primary, "value"), str)

    def forbidden_names(self) -> list[str]:
        """What the delegation watch flags: the primary function's reference and ``forbidden``.

        The other functions a spec needs (the forward pass a backward test
        calls) are helpers here: using gradkit's version of them is judged by
        their own test.
        """
        return sorted({dotted_name(self.functions[self.primary]), *self.forbidden})
