"""The repository explains itself: docs/ is current and nothing points outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from gradkit.course.coursemap import curriculum_assignments, render, taught_in

REPO = Path(__file__).resolve().parents[1]


def test_course_map_is_current():
    committed = (REPO / "docs" / "course-map.md").read_text()
    assert committed == render(REPO), "docs/course-map.md is out of date: run `make course-map`"


def test_every_taught_in_names_an_assignment_of_the_curriculum():
    known = {number for number, _ in curriculum_assignments(REPO)}
    assert known == {"01", "02", "03", "04", "05"}
    for module, numbers in taught_in(REPO).items():
        assert numbers <= known, f"{module} says it is taught in {sorted(numbers - known)}"


def test_every_released_assignment_is_in_the_curriculum_and_the_map():
    known = {number for number, _ in curriculum_assignments(REPO)}
    course_map = (REPO / "docs" / "course-map.md").read_text()
    for folder in sorted((REPO / "solutions").iterdir()):
        assert folder.name[:2] in known, folder.name
        assert f"released (`{folder.name}`)" in course_map


def test_nothing_refers_to_files_outside_the_repository():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = []
    for name in tracked:
        path = REPO / name
        if path.suffix in {".py", ".md", ".toml", ".ipynb", ".yml", ".yaml", ".cfg"} or name in {
            "Makefile"
        }:
            if re.search(r"\.\./shared\b", path.read_text(errors="replace")):
                offenders.append(name)
    assert offenders == []


def test_docs_named_by_the_readme_exist():
    readme = (REPO / "README.md").read_text()
    for target in re.findall(r"\]\(((?:docs|bench)/[^)#]+)\)", readme):
        assert (REPO / target).exists(), target
