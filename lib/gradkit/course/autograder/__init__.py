"""`gradkit autograder`: what Gradescope or PrairieLearn runs to grade a submission with
``gradkit grade`` itself, and what a student's GitHub Classroom repository runs: the
kit's ``gradkit check`` (one module per platform; :mod:`.run` is the graders' core)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..directory import Course, UserError

__all__ = ["PLATFORMS", "build"]

PLATFORMS = ("gradescope", "prairielearn", "github")


def build(course: Course, assignment: str, platform: str, out: Path, **options: Any) -> list[Path]:
    """Write ``platform``'s artifact for ``assignment`` under ``out``; return its files."""
    if platform == "gradescope":
        from . import gradescope

        return [gradescope.build(course, assignment, out, **options)]
    if platform == "prairielearn":
        from . import prairielearn

        return prairielearn.build(course, assignment, out, **options)
    if platform == "github":
        from . import github

        return github.build(course, assignment, out)
    raise UserError(f"--platform must be one of {', '.join(PLATFORMS)}; got {platform!r}")
