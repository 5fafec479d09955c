"""The result of grading one function: structured data, and its text and HTML renderings.

A :class:`TestResult` is what the engine produces. Everything else is a
rendering of it: the lines a test cell prints, the rich cell output, the
feedback page, the CSV, the class report. In a notebook it travels as the
custom MIME type :data:`MIME` next to the text, and the gradebook keeps it
as JSON, so nothing ever parses printed lines back.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["MIME", "CheckResult", "TestResult"]

#: MIME type of a test result inside a notebook cell's outputs.
MIME = "application/vnd.gradkit.result+json"
#: Bump when the JSON layout changes incompatibly.
FORMAT_VERSION = 1


@dataclass
class CheckResult:
    """One sub-check of a graded function.

    ``kind`` is ``"values"`` for checks that compare values and ``"extra"``
    for checks that do not (no mutation, speed, stability, consistency of a
    gradient with its own loss): an extra earns ``credit`` of its weight, the
    share of the values weight that passed — nothing while every value is
    wrong, all of it once the values are right. ``diagnosis`` names a
    catalogued mistake the student's output matches (``mistake`` is its id);
    ``hint`` is a general pointer, given only for the first failure of a
    cascade.
    """

    name: str
    passed: bool
    weight: float
    kind: str = "values"
    detail: str = ""
    diagnosis: str = ""
    mistake: str = ""
    hint: str = ""
    hidden: bool = False
    credit: float = 1.0
    #: Mistake ids whose output matched the student's here (the engine picks one).
    candidates: list[str] = field(default_factory=list, repr=False)

    @property
    def counted(self) -> bool:
        return self.credit > 0

    @property
    def earned(self) -> float:
        return self.weight * self.credit if self.passed else 0.0

    def _credit_note(self) -> str:
        if self.credit <= 0:
            return "scored once the values are right"
        return f"counts {self.credit:.0%}, the share of the value checks passed"

    def line(self) -> str:
        """``PASS  name`` or ``FAIL  name: detail — diagnosis or hint``."""
        text = f"{'PASS' if self.passed else 'FAIL'}  {self.name}"
        if not self.passed and self.detail:
            text += f": {self.detail}"
        if not self.passed and self.diagnosis:
            text += f" — {self.diagnosis}"
        elif not self.passed and self.hint:
            text += f" — hint: {self.hint}"
        if self.kind == "extra" and self.passed and self.credit < 1:
            text += f" ({self._credit_note()})"
        return text


@dataclass
class TestResult:
    """The verdict on one graded function: its checks, points and any whole-test problem."""

    __test__ = False  # not a pytest test class, despite its name

    test: str
    points: float
    checks: list[CheckResult] = field(default_factory=list)
    #: A reason that voids the whole test (delegation to the reference, the
    #: function is missing, the kernel was lost); empty when none.
    problem: str = ""
    version: int = FORMAT_VERSION
    #: A remark on the whole result (e.g. that its practice cases are random draws).
    note: str = ""

    @property
    def total_weight(self) -> float:
        return sum(c.weight for c in self.checks)

    @property
    def score(self) -> float:
        """Points earned: ``points × weight earned / total weight``, 0 with a problem."""
        total = self.total_weight
        if self.problem or total <= 0:
            return 0.0
        return round(self.points * sum(c.earned for c in self.checks) / total, 3)

    @property
    def passed_count(self) -> int:
        return 0 if self.problem else sum(1 for c in self.checks if c.passed)

    def summary(self) -> str:
        return (
            f"{self.test}: {self.passed_count}/{len(self.checks)} checks passed, "
            f"{self.score:g}/{self.points:g} points"
        )

    def lines(self) -> list[str]:
        """The text rendering: one line per check, the problem if any, the summary."""
        out = [c.line() for c in self.checks]
        if self.problem:
            out.append(f"FAIL  {self.problem}")
        if self.note:
            out.append(f"NOTE  {self.note}")
        out.append(self.summary())
        return out

    def text(self) -> str:
        return "\n".join(self.lines()) + "\n"

    def html(self) -> str:
        """A compact table: check, ✓/✗, what was wrong; then the points."""
        rows = []
        for c in self.checks:
            mark = "✓" if c.passed else "✗"
            why = ""
            if not c.passed:  # like line(): hints and diagnoses only for failures
                why = c.diagnosis or (f"hint: {c.hint}" if c.hint else "")
            if not c.passed and c.detail:
                why = f"{c.detail}{' — ' + why if why else ''}"
            if c.kind == "extra" and c.passed and c.credit < 1:
                why = c._credit_note()
            color = "#176f2c" if c.passed else "#a4161a"
            rows.append(
                f"<tr><td>{html.escape(c.name)}</td>"
                f"<td style='color:{color};text-align:center'>{mark}</td>"
                f"<td>{html.escape(why)}</td></tr>"
            )
        if self.problem:
            rows.append(
                f"<tr><td colspan=3 style='color:#a4161a'>{html.escape(self.problem)}</td></tr>"
            )
        if self.note:
            rows.append(f"<tr><td colspan=3><i>{html.escape(self.note)}</i></td></tr>")
        return (
            "<table class='gradkit-result'><thead><tr><th style='text-align:left'>"
            f"{html.escape(self.test)}</th><th></th><th></th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody><tfoot><tr><td colspan=3><b>"
            f"{self.score:g} / {self.points:g} points</b> ({self.passed_count}/"
            f"{len(self.checks)} checks passed)</td></tr></tfoot></table>"
        )

    # -- serialization -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for check in data["checks"]:
            check.pop("candidates", None)
        data["score"] = self.score
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestResult:
        """Rebuild a result from :meth:`to_dict` output (unknown keys are ignored)."""
        if not isinstance(data, dict) or not isinstance(data.get("test"), str):
            raise ValueError(f"not a gradkit test result: {str(data)[:80]!r}")
        known = {f for f in CheckResult.__dataclass_fields__} - {"candidates"}
        checks = [
            CheckResult(**{k: v for k, v in c.items() if k in known})
            for c in data.get("checks", [])
            if isinstance(c, dict)
        ]
        return cls(
            test=data["test"],
            points=float(data.get("points", 0.0)),
            checks=checks,
            problem=str(data.get("problem", "")),
            version=int(data.get("version", FORMAT_VERSION)),
            note=str(data.get("note", "")),
        )
