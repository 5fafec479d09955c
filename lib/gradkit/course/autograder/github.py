"""GitHub Classroom: the student kit as a template repository, with an autograding workflow.

A workflow runs in the student's own repository, which the student can read and change:
it can hold neither the course secret nor the references. So this platform runs the
kit's self-check, exactly `gradkit check` (public cases and practice cases, from the
kit's recordings), and reports each test's points to GitHub Classroom the way its
reporter action reads them: a step output ``result``, base64 of
``{"version", "status", "max_score", "tests": [{"name", "status", "score", "message"}]}``
(``classroom-resources/autograding-grading-reporter`` adds up the tests' ``score``).
These points are a self-check's: a student who edits the workflow changes them. The
grade of record comes from `gradkit grade` on the collected repositories.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from pathlib import Path

__all__ = ["build", "main", "results_json"]

#: Where the workflow and the manifest of tests live in the repository.
WORKFLOW = ".github/workflows/classroom.yml"
MANIFEST = ".github/gradkit.json"
RUNNER = "gradkit"

WORKFLOW_TEXT = """# gradkit's self-check of {assignment}, reported to GitHub Classroom. These
# points are the self-check's (public and practice cases); your grade uses your
# hidden cases.
name: Autograding Tests
"on":
  - push
  - repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-24.04
    if: github.actor != 'github-classroom[bot]'
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "{python}"
      - name: Install the kit
        run: python -m pip install -r requirements.txt ./{wheel}
      - name: gradkit check
        id: {runner}
        run: python -m gradkit.course.autograder.github --manifest {manifest}
      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          {env}_RESULTS: "${{{{ steps.{runner}.outputs.result }}}}"
        with:
          runners: {runner}
"""


def build(course, assignment: str, out: Path) -> list[Path]:
    """The template repository: the kit (notebooks, wheel, README), pinned requirements,
    the workflow and the tests' manifest."""
    from importlib.metadata import PackageNotFoundError, version

    from ..directory import UserError
    from ..kit import KIT_REQUIRES, build_kit
    from .bundle import _manifest
    from .package import python_floor

    names = [r.split(">")[0].split("=")[0] for r in KIT_REQUIRES]
    try:  # what the kit was built with, checked before anything is written
        pins = [f"{name}=={version(name)}" for name in names]
    except PackageNotFoundError as exc:
        raise UserError(
            f"{exc.name} is not installed here; build the template in the course's "
            "environment (pip install -e '.[course]')"
        ) from None
    report = build_kit(course, assignment, Path(out))
    out = Path(out)
    (out / "requirements.txt").write_text("\n".join(pins) + "\n")
    workflow = out / WORKFLOW
    workflow.parent.mkdir(parents=True)
    assert report.wheel is not None
    workflow.write_text(
        WORKFLOW_TEXT.format(
            assignment=assignment,
            python=".".join(map(str, python_floor())),
            wheel=report.wheel.name,
            runner=RUNNER,
            env=RUNNER.upper(),
            manifest=MANIFEST,
        )
    )
    (out / MANIFEST).write_text(_manifest(course, assignment).to_json() + "\n")
    return [out]


def results_json(entries: list[dict]) -> dict:
    """The reporter's format: the tests with their points, the maximum, pass or fail."""
    max_score = round(sum(e["max_score"] for e in entries), 3)
    total = round(sum(e["score"] for e in entries), 3)
    tests = [
        {
            "name": e["name"],
            "status": "pass" if e["score"] >= e["max_score"] else "fail",
            "score": e["score"],
            "message": e["message"],
        }
        for e in entries
    ]
    return {
        "version": 1,
        "status": "pass" if total >= max_score else "fail",
        "max_score": max_score,
        "tests": tests,
    }


def _entries(repo: Path, manifest: dict, practice: bool) -> tuple[list[dict], list[str]]:
    """Each notebook's check, as entries and the lines `gradkit check` prints."""
    from ..directory import UserError
    from ..selfcheck import check_notebook, verdict_lines
    from ..submissions import match_notebook

    notebooks = sorted(manifest["tests"])
    found: dict[str, Path] = {}
    for candidate in sorted(repo.glob("*.ipynb")):
        name = match_notebook(candidate.stem, notebooks)
        if name is not None and name not in found:
            found[name] = candidate
    entries: list[dict] = []
    lines: list[str] = []
    for notebook in notebooks:
        tests = manifest["tests"][notebook]
        path = found.get(notebook)
        why = f"{notebook}.ipynb is not in the repository" if path is None else ""
        results = []
        if path is not None:
            try:
                results = check_notebook(path, practice=practice)
            except UserError as exc:
                why = str(exc)
        lines.append(f"== {path.name if path else notebook + '.ipynb'}")
        if why:
            lines.append(why)
        else:
            lines += verdict_lines(results)
        by_test = {r.test: r for r in results}
        for test, points in tests:
            r = by_test.get(test)
            if r is None:
                message = why or "no result for this test"
                entries.append(
                    {
                        "name": f"{notebook}: {test}",
                        "score": 0.0,
                        "max_score": points,
                        "message": message,
                    }
                )
                continue
            failing = [line for line in r.lines()[:-1] if not line.startswith(("PASS", "NOTE"))]
            entries.append(
                {
                    "name": f"{notebook}: {test}",
                    "score": r.score,
                    "max_score": points,
                    "message": "\n".join(failing),
                }
            )
    return entries, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gradkit-github-autograding")
    parser.add_argument("--repo", default=".")
    parser.add_argument("--manifest", default=MANIFEST)
    parser.add_argument("--public-only", action="store_true")
    args = parser.parse_args(argv)
    repo = Path(args.repo)
    manifest = json.loads((repo / args.manifest).read_text(encoding="utf-8"))
    entries, lines = _entries(repo, manifest, practice=not args.public_only)
    for line in lines:
        print(line)
    encoded = base64.b64encode(json.dumps(results_json(entries)).encode()).decode()
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as fh:
            fh.write(f"result={encoded}\n")
    else:
        print(f"result={encoded}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
