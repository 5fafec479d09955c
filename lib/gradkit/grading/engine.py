"""Run a spec against a student's functions and produce a :class:`TestResult`.

The engine owns what every check shares: calling the three kinds of
implementation (the student's through its callee, the reference and each
catalogued mistake directly), remembering outcomes so no call runs twice (and,
given an :mod:`~gradkit.grading.outcome_cache`, the reference's and the
mistakes' public outcomes across students and runs),
matching a wrong output against the mistake catalogue, and the scoring
rules:

* checks of kind ``"extra"`` (no mutation, speed, stability, a gradient
  consistent with its own loss) earn in proportion to the share of the
  ``"values"`` weight that passed: nothing while every value is wrong;
* only the first failure of a cascade gets a hint; a diagnosis already
  given is not repeated;
* a student function that ran gradkit's reference scores 0.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from . import replay
from .callee import Call, DirectCallee, Kept, Outcome
from .outcome_cache import CallDigests, NotCacheable, OutcomeCache, implementation_id
from .result import CheckResult, TestResult
from .seeds import hidden_rng, is_practice
from .spec import Inputs, Spec

__all__ = ["Context", "CalleeLost", "SpecRun", "run_spec", "reads_hidden", "STUDENT", "REFERENCE"]

STUDENT = "student"
REFERENCE = "reference"
#: What a self-check says of its practice cases.
PRACTICE_NOTE = (
    "practice cases are drawn at random, as your hidden cases are; "
    "your grade uses your own hidden cases, other draws of the same kind"
)


class CalleeLost(Exception):
    """The student's functions can no longer be called (time limit, dead kernel)."""


class Unrecorded:
    """Stands for the reference or a mistake in a kit: every call it is asked was recorded,
    so being called at all means the kit lacks a recording (a check fails with the reason)."""

    def __init__(self, spec: str):
        self.spec = spec

    def run(self, calls: Sequence[Any]) -> list[Outcome]:
        raise replay.KitMiss(f"the kit did not record this call of {self.spec}'s checks")

    def time_calls(self, *args: Any) -> Any:
        raise replay.KitMiss("the kit has no reference to time against")


def _global_draws() -> tuple[int, bytes]:
    """Where numpy's global random state stands (position and key): it moves with every
    draw from it."""
    state = np.random.get_state(legacy=True)
    assert isinstance(state, tuple)  # legacy=True: ("MT19937", key, pos, ...)
    return int(state[2]), np.asarray(state[1]).tobytes()


def _holds_kept(value: Any) -> bool:
    """Whether ``value`` (call inputs, a returned value) holds a handle to a kept value."""
    if isinstance(value, Kept):
        return True
    if isinstance(value, Inputs):
        return _holds_kept(value.args) or _holds_kept(value.kwargs)
    if isinstance(value, (tuple, list)):
        return any(_holds_kept(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_kept(v) for v in value.values())
    return False


class Context:
    """What the checks of one run share: the callees, their outcomes, the hidden rng."""

    def __init__(
        self,
        spec: Spec,
        student: Any,
        hidden: np.random.Generator | None = None,
        token: str | None = None,
        cache: OutcomeCache | None = None,
    ):
        self.spec = spec
        self._hidden = hidden
        self._memo: dict[tuple[str, str], Outcome] = {}
        #: The recordings this run replays (a student kit), or None with the full library.
        self.replay = replay.active()
        #: Where the reference's and the mistakes' outcomes of public calls are looked up
        #: and kept (:mod:`~gradkit.grading.outcome_cache`); never in a kit or a recording.
        recorder = replay.recorder_active()
        self.cache = cache if self.replay is None and recorder is None else None
        #: While a kit is recorded: what earlier runs of this spec and token computed.
        self._shared = recorder.shared(spec.name, token) if recorder is not None else None
        self._digests = CallDigests()
        #: Who -> what identifies its code (None: not cached), for the cache's digests.
        self._implementations: dict[str, str | None] = {}
        if self.replay is None:
            self.callees: dict[str, Any] = {
                STUDENT: student,
                REFERENCE: DirectCallee(spec.implementation()),
            }
            for m in spec.mistakes:
                self.callees[m.id] = DirectCallee(spec.implementation(m))
        else:  # a kit: what the reference and the mistakes returned was recorded
            self._memo.update(self.replay.outcomes(spec.name, token))
            self.callees = {STUDENT: student, REFERENCE: Unrecorded(spec.name)}
            for m in spec.mistakes:
                self.callees[m.id] = Unrecorded(spec.name)
        #: Mistake id -> [observations it matched, observations it contradicted].
        self.evidence: dict[str, list[int]] = {m.id: [0, 0] for m in spec.mistakes}
        #: Every outcome of the student's calls, in order (mutation, delegation).
        self.student_log: list[tuple[str, Call, Outcome]] = []
        #: What times the reference for a speed check: by default the reference here, in
        #: this process; the grader times it in a kernel of its own, as the student's.
        self.reference_timer: Any = self.callees[REFERENCE]

    @property
    def mistakes(self):
        return self.spec.mistakes

    @property
    def hidden(self) -> np.random.Generator | None:
        """The generator of the student's hidden cases. Reading it stops the cache for this
        test: what depends on it differs per student (nothing of the test is written)."""
        if self.cache is not None:
            self.cache.discard(self.spec.name)
            self.cache = None
        return self._hidden

    @hidden.setter
    def hidden(self, rng: np.random.Generator | None) -> None:
        self._hidden = rng

    def close_cache(self) -> None:
        """Write what the cache gained (the public phase is over) and stop using it."""
        if self.cache is not None:
            self.cache.flush(self.spec.name)
            self.cache = None

    def _digest(self, who: str, key: str, call: Call, reduce: Callable | None) -> str | None:
        if who not in self._implementations:
            mistake = next((m for m in self.spec.mistakes if m.id == who), None)
            if who != REFERENCE and mistake is None:
                return None
            self._implementations[who] = implementation_id(self.spec.implementation(mistake))
        implementation = self._implementations[who]
        if implementation is None:
            return None
        try:
            return self._digests(who, implementation, key, call, reduce)
        except NotCacheable:
            return None

    def run(
        self,
        who: str,
        requests: Sequence[tuple[str, Call]],
        reduce: Callable[[Any], Any] | None = None,
    ) -> list[Outcome]:
        """Outcomes of ``requests`` (key, call) for ``who``; a known key is not run again.

        ``reduce`` keeps, of what the reference and the mistakes return, only what the
        check looks at (the statistics of a large draw): the same in every mode, and
        small enough for a kit to record.
        """
        todo = [(k, c) for k, c in requests if (who, k) not in self._memo]
        cache = self.cache if who != STUDENT else None
        if todo and cache is not None and cache.holds(self.spec.name):
            left = []
            for key, call in todo:
                digest = self._digest(who, key, call, reduce)
                cached = cache.get(self.spec.name, digest) if digest else None
                if cached is not None:
                    self._memo[(who, key)] = cached
                else:
                    left.append((key, call))
            todo = left
        shared = self._shared if who != STUDENT else None
        if todo and shared:
            todo = [(k, c) for k, c in todo if not self._reuse(shared, who, k)]
        if shared is not None and any(_holds_kept(c.inputs) for _, c in todo):
            shared = None  # a kept value (a layer's cache) lives in this run's callee only
        if todo:
            started = time.process_time()
            drawn = _global_draws() if shared is not None else None
            outcomes = self.callees[who].run([c for _, c in todo])
            each = (time.process_time() - started) / len(todo)
            if shared is not None and _global_draws() != drawn:
                shared = None  # these calls drew from numpy's global state: run them always
            for (key, call), outcome in zip(todo, outcomes):
                if reduce is not None and who != STUDENT and outcome.ok:
                    outcome = dataclasses.replace(outcome, value=reduce(outcome.value))
                self._memo[(who, key)] = outcome
                if shared is not None and not _holds_kept(outcome.value):
                    shared.setdefault((who, key), outcome)
                if who == STUDENT:
                    self.student_log.append((key, call, outcome))
                elif cache is not None and each >= cache.min_seconds:
                    digest = self._digest(who, key, call, reduce)
                    if digest:
                        cache.put(self.spec.name, digest, who, key, outcome)
        return [self._memo[(who, k)] for k, _ in requests]

    def _reuse(self, shared: dict[tuple[str, str], Outcome], who: str, key: str) -> bool:
        known = shared.get((who, key))
        if known is not None:
            self._memo[(who, key)] = known
        return known is not None

    def run_all(
        self, requests: Sequence[tuple[str, Call]], reduce: Callable[[Any], Any] | None = None
    ) -> dict[str, list[Outcome]]:
        """The same requests for the student, the reference and every mistake."""
        return {who: self.run(who, requests, reduce) for who in self.callees}

    def diagnose(self, observed: Mapping[str, Any], agree: Callable[[Any, Any], bool]) -> list[str]:
        """Ids of the catalogued mistakes whose observation matches the student's.

        ``observed`` maps who (``STUDENT``, ``REFERENCE``, each mistake id)
        to what was observed. Call it for every comparison, passing or not:
        a mistake that differs from the reference where the student agrees
        with it is evidence against that mistake. Only mistakes that differ
        from the reference can match.
        """
        got, ref = observed[STUDENT], observed[REFERENCE]
        try:
            student_right = agree(got, ref)
        except Exception:
            student_right = False
        matches = []
        for m in self.mistakes:
            if m.id not in observed:
                continue
            try:
                differs = not agree(observed[m.id], ref)
                if differs and student_right:
                    self.evidence[m.id][1] += 1
                elif differs and agree(got, observed[m.id]):
                    self.evidence[m.id][0] += 1
                    matches.append(m.id)
            except Exception:  # an observation that cannot be compared is no match
                continue
        return matches

    def best_mistake(self, candidates: Sequence[str]) -> str:
        """Of ``candidates``, the mistake most consistent with everything observed."""
        scored = [
            (self.evidence[c][0] - 2 * self.evidence[c][1], -i, c) for i, c in enumerate(candidates)
        ]
        best = max(scored, default=None)
        return best[2] if best is not None and best[0] > 0 else ""


def _finalize(ctx: Context, results: list[CheckResult]) -> None:
    """Pick diagnoses, gate extras on the values, one hint per cascade, no repeats."""
    messages = {m.id: m.message for m in ctx.mistakes}
    for r in results:
        if not r.passed and r.candidates and not r.mistake:
            r.mistake = ctx.best_mistake(r.candidates)
            r.diagnosis = messages.get(r.mistake, "")
    values = [r for r in results if r.kind == "values"]
    total = sum(r.weight for r in values)
    share = sum(r.weight for r in values if r.passed) / total if total else 1.0
    for r in results:
        if r.kind == "extra":
            r.credit = round(share, 4)
    seen_failure, seen_diag, last_detail = False, set(), None
    for r in results:
        if r.passed:
            continue
        if r.diagnosis:
            if r.diagnosis in seen_diag:
                r.diagnosis = "the same mistake as above"
            seen_diag.add(r.diagnosis)
        if seen_failure:
            r.hint = ""
        if r.detail and r.detail == last_detail and r.detail.startswith("your function"):
            r.detail = "(same error as above)"
        else:
            last_detail = r.detail
        seen_failure = True


def _check_failed(check: Any, exc: Exception) -> CheckResult:
    """The result of a check that could not be completed: failed, with a one-line reason."""
    name = str(getattr(check, "name", "") or type(check).__name__)
    if "{" in name:  # a template such as "{output} matches the reference"
        name = type(check).__name__
    weight = getattr(check, "weight", 1.0)
    if not isinstance(weight, (int, float)):
        weight = float(sum(weight.values())) if isinstance(weight, Mapping) else 1.0
    hidden = "Hidden" in type(check).__name__
    why = type(exc).__name__
    if str(exc) and not hidden:  # a message about a hidden case could tell its shapes
        why = f"{why}: {str(exc).splitlines()[0]}"[:160]
    return CheckResult(
        name,
        False,
        float(weight),
        str(getattr(check, "kind", "values")),
        f"the grader could not complete this check on what your function returned ({why})",
        hidden=hidden,
    )


def reads_hidden(check: Any) -> bool:
    """Whether a check draws cases from the student's hidden seed (they run last)."""
    return bool(getattr(check, "reads_hidden", False))


class SpecRun:
    """One test of one student, in two phases: :meth:`public` runs every check that does
    not draw hidden cases, :meth:`hidden` the ones that do, and :meth:`result` assembles
    the verdict in the spec's order of checks.

    The grader calls every test's public phase while the notebook runs and every hidden
    phase after the notebook's last cell, so the student's code sees its hidden inputs
    only once nothing it prints, raises or displays can reach what the student is shown;
    a hidden case reports pass or fail and a diagnosis, never the code's own words.
    """

    def __init__(
        self,
        spec: Spec,
        student: Any,
        points: float,
        hidden_token: str | None = None,
        reference_timer: Any = None,
        cache: OutcomeCache | None = None,
    ):
        self.spec = spec
        self.points = float(points)
        self.token = hidden_token
        hidden = hidden_rng(hidden_token, spec.name)
        self.ctx = Context(spec, student, hidden, hidden_token, cache)
        if reference_timer is not None:
            self.ctx.reference_timer = reference_timer
        self.slots: list[list[CheckResult] | None] = [None] * len(spec.checks)
        self.problem = ""
        #: What a kit's self-check did not check (it needs gradkit's reference).
        self.left_to_grader: list[str] = []

    def _run(self, index: int, check: Any) -> None:
        if self.ctx.replay is not None and getattr(check, "needs_reference", False):
            self.slots[index] = []  # a kit's self-check leaves it to the grader (see replay)
            self.left_to_grader.append(str(getattr(check, "what", "speed")))
            return
        if getattr(check, "needs_reference", False) and replay.recorder_active():
            self.slots[index] = []  # recording a kit, which does not replay this check
            return
        try:
            with np.errstate(all="ignore"):  # nan and inf from a student's values are data
                self.slots[index] = list(check.run(self.ctx))
        except CalleeLost as exc:
            self.problem = f"grading stopped: {exc}"
        except Exception as exc:  # whatever a student's value does to a check costs that check
            self.slots[index] = [_check_failed(check, exc)]

    def public(self) -> SpecRun:
        for index, check in enumerate(self.spec.checks):
            if self.problem:
                break
            if not reads_hidden(check):
                self._run(index, check)
        self.ctx.close_cache()
        return self

    def hidden(self) -> SpecRun:
        self.ctx.close_cache()  # hidden cases differ per student: never cached
        for index, check in enumerate(self.spec.checks):
            if self.problem:
                break
            if reads_hidden(check):
                self._run(index, check)
        return self

    def skip_hidden(self, why: str) -> TestResult:
        """The verdict with every hidden check that has not run counted as failed (``why``)."""
        slots = list(self.slots)
        for index, check in enumerate(self.spec.checks):
            if reads_hidden(check) and slots[index] is None and self.token is not None:
                weight = getattr(check, "weight", 1.0)
                slots[index] = [
                    CheckResult(
                        "hidden cases",
                        False,
                        float(weight),
                        "values",
                        f"not run: {why}",
                        hidden=True,
                    )
                ]
        return self._result(slots)

    def result(self) -> TestResult:
        recorder = replay.recorder_active()
        if recorder is not None:
            done = {k: o for k, o in self.ctx._memo.items() if k[0] != STUDENT}
            recorder.add_outcomes(self.spec.name, self.token, done)
        return self._result(self.slots)

    def _result(self, slots: list[list[CheckResult] | None]) -> TestResult:
        results = [copy.copy(r) for slot in slots if slot is not None for r in slot]
        ctx, problem = self.ctx, self.problem
        _finalize(ctx, results)
        delegated = next((o.delegated for _, _, o in ctx.student_log if o.delegated), "")
        if delegated and not problem:
            problem = (
                f"your function ran {delegated} (gradkit's reference): write "
                f"{self.spec.primary} yourself; this test scores 0"
            )
        note = ""
        if is_practice(self.token):
            for r in results:
                if r.hidden:
                    r.name = r.name.replace("hidden case", "practice case")
            if any(r.hidden for r in results):
                note = PRACTICE_NOTE
        if self.left_to_grader:
            left = f"{' and '.join(sorted(set(self.left_to_grader)))} is checked by the grader only"
            note = f"{note}; {left}" if note else left
        return TestResult(
            test=self.spec.name, points=self.points, checks=results, problem=problem, note=note
        )


def run_spec(
    spec: Spec,
    student: Any,
    points: float,
    hidden_token: str | None = None,
    reference_timer: Any = None,
    cache: OutcomeCache | None = None,
) -> TestResult:
    """Grade ``student`` (a callee) against ``spec``; ``hidden_token`` adds the hidden cases
    (run after every other check, see :class:`SpecRun`); ``cache`` keeps the outcomes of the
    public checks that do not depend on the student (:mod:`~gradkit.grading.outcome_cache`)."""
    run = SpecRun(spec, student, points, hidden_token, reference_timer, cache)
    return run.public().hidden().result()


def call_for(spec: Spec, inputs: Inputs, fn: str | None = None, **options: Any) -> Call:
    """A :class:`Call` of the spec's primary function (or ``fn``) on ``inputs``."""
    return Call(fn or spec.primary, inputs, **options)
