"""`gradkit release`: generate the student notebooks from solutions/ with nbgrader."""

from __future__ import annotations

import json
from pathlib import Path

from .directory import Course, UserError, ensure_tools_on_path

__all__ = ["release", "release_problems", "nbgrader_api"]

_SOLUTION_MARKERS = (
    "### BEGIN SOLUTION",
    "### END SOLUTION",
    "### BEGIN HIDDEN TESTS",
    "### END HIDDEN TESTS",
)


def nbgrader_api(course: Course, root: Path | None = None, **overrides):
    """An in-process NbGraderAPI for ``course`` (config from its nbgrader_config.py)."""
    ensure_tools_on_path()
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    cfg = course.nbgrader_config()
    if root is not None:
        cfg.CourseDirectory.root = str(root)
    for section, values in overrides.items():
        for key, value in values.items():
            setattr(getattr(cfg, section), key, value)
    coursedir = CourseDirectory(config=cfg)
    return NbGraderAPI(coursedir=coursedir, config=cfg)


def release(course: Course, assignment: str | None = None, log=print) -> list[str]:
    """Regenerate ``assignments/<a>/`` for one or every assignment; return their names."""
    names = [course.require_assignment(assignment)] if assignment else course.assignments()
    if not names:
        raise UserError(f"no assignments in {course.solutions}")
    api = nbgrader_api(course)
    for name in names:
        log(f"releasing {name} ...")
        result = api.generate_assignment(name, force=True, create=True)
        if not result.get("success"):
            detail = (result.get("error") or result.get("log") or "").strip().splitlines()
            raise UserError(
                f"nbgrader could not release {name}: {detail[-1] if detail else 'unknown error'}"
            )
        problems = release_problems(course, name)
        if problems:
            raise UserError(f"release of {name} is unsafe: {problems[0]}")
        log(f"  -> {course.assignments_dir / name}")
    return names


def release_problems(course: Course, assignment: str) -> list[str]:
    """What is wrong with a release: leaked solution text, hidden tests or extra files."""
    out = course.assignments_dir / assignment
    problems = []
    if not out.is_dir():
        return [f"{out} does not exist; run `gradkit release {assignment}`"]
    expected = {f"{n}.ipynb" for n in course.notebooks(assignment)}
    present = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    for extra in sorted(present - expected):
        problems.append(f"{out / extra} is not a released notebook (a helper file leaked?)")
    for missing in sorted(expected - present):
        problems.append(f"{out / missing} is missing")
    for name in sorted(present & expected):
        text = (out / name).read_text()
        for marker in _SOLUTION_MARKERS:
            if marker in text:
                problems.append(f"{out / name} contains {marker!r}")
        nb = json.loads(text)
        for cell in nb["cells"]:
            if cell.get("outputs"):
                problems.append(f"{out / name} has stored outputs")
                break
    return problems
