"""`gradkit check NOTEBOOK`: a student's self-check, graded the way the autograder will.

The notebook is run top to bottom in a fresh kernel, on a copy in a
temporary folder (the student's file is never written) that also holds the files
beside it (data, and, read-only, the other notebooks of the assignment, which a
demo's ``gradkit.yours.load`` reads), with the grader's
per-cell timeout, and each test cell is judged the way the grader judges it:
in this process, calling the notebook's functions in the kernel (see
:mod:`gradkit.course.execute`). In place of the student's hidden cases, which
only the course secret can draw, it runs practice cases drawn the same way
from a random token, so a function that fails on inputs the public cases do
not cover loses points here too.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .directory import UserError, ensure_tools_on_path
from .readykernel import REFERENCE_MODULES, ReadyKernel, needs_reference

if TYPE_CHECKING:
    from ..grading.result import TestResult

__all__ = ["check_notebook", "verdict_lines", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 30  # seconds per cell, as in nbgrader_config.py
#: Larger files beside the notebook are not copied for the check (a data set of that size
#: is loaded from its own path, not from the notebook's folder).
MAX_SIBLING_BYTES = 50_000_000


def check_notebook(
    path: Path,
    timeout: float = DEFAULT_TIMEOUT,
    practice: bool = True,
    kernel: ReadyKernel | None = None,
    reference: ReadyKernel | None = None,
) -> list[TestResult]:
    """Run ``path`` and return the result of every test cell, in notebook order.

    With ``practice`` (the default), each test also runs practice cases: cases drawn
    the way the grader draws the student's hidden cases, from a random token of this
    run, so the self-check's score carries the same risk as the graded one. A test
    cell that is not a registered spec (an instructor's own asserts) is scored with
    nbgrader's rule and reported as a result without checks.

    The notebook runs in ``kernel`` (started, unused; it is shut down at the end) or in
    one started here first, before the imports this check needs, so that it starts up
    while they load. Speed checks time the reference in ``reference`` (likewise), or in
    a kernel started here as soon as the notebook shows it has speed checks.
    """
    path = Path(path)
    if kernel is None:
        if not path.is_file():
            raise UserError(f"notebook {path} not found")
        kernel = ReadyKernel().start()
    kernels = [kernel, *([reference] if reference is not None else [])]
    try:
        return _check(path, timeout, practice, kernel, reference, kernels)
    finally:
        for each in kernels:
            each.close()


def _check(
    path: Path,
    timeout: float,
    practice: bool,
    kernel: ReadyKernel,
    reference: ReadyKernel | None,
    kernels: list[ReadyKernel],
) -> list[TestResult]:
    import nbformat

    from ..grading.result import TestResult
    from ..grading.seeds import practice_token
    from .results import results_from_notebook

    ensure_tools_on_path()
    from nbgrader.preprocessors import IgnorePattern
    from nbgrader.utils import determine_grade

    from .execute import GradkitExecute

    if not path.is_file():
        raise UserError(f"notebook {path} not found")
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise UserError(
            f"{path} is not a readable notebook: {str(exc).splitlines()[0][:150]}"
        ) from None
    if not _test_cells(nb) and _mark_source(nb):
        pass  # an instructor's source notebook: its one-line tests marked as at release
    if not _test_cells(nb):
        raise UserError(f"{path} has no test cells (is it a gradkit assignment notebook?)")
    _same_kit(path, nb)
    if reference is None and needs_reference([_spec_name(c) for c in _test_cells(nb)]):
        reference = ReadyKernel(REFERENCE_MODULES).start()  # starts while the notebook runs
        kernels.append(reference)
    # Data files the notebook may read, and the other notebooks of the assignment
    # (gradkit.yours.load reads one for a demo), read-only as the grader gives them, in
    # the kernel's private working folder.
    for sibling in path.parent.iterdir():
        if (
            sibling.is_file()
            and sibling.name != path.name
            and sibling.stat().st_size < MAX_SIBLING_BYTES
        ):
            copy = Path(shutil.copy(sibling, kernel.folder))
            if copy.suffix == ".ipynb":
                copy.chmod(0o444)
    ep = GradkitExecute(
        timeout=int(timeout),
        interrupt_on_timeout=True,
        raise_on_iopub_timeout=False,
        hidden_token=practice_token() if practice else None,
        reference_kernel=reference.km if reference is not None else None,
    )
    resources = {"metadata": {"path": str(kernel.folder)}, "nbgrader": {}}
    from .pipeline import _env

    kernel.wait()  # its imports: a notebook run after them finds them done
    with _env(NBGRADER_EXECUTION="autograde"):  # the heavier demos shrink, as when graded
        try:
            nb, resources = ep.preprocess(nb, resources, km=kernel.km)
        finally:
            if ep.kc is not None:  # the kernel is ours to stop, and its client
                ep.kc.stop_channels()
    IgnorePattern(enabled=True, pattern=r"\w*Warning: ").preprocess(nb, resources)
    results = []
    for cell in _test_cells(nb):
        found = results_from_notebook(nbformat.v4.new_notebook(cells=[cell]))
        if found:
            results.append(found[0])
            continue
        score, max_points = determine_grade(cell)
        grade_id = cell.metadata["nbgrader"].get("grade_id", "?")
        problem = "" if (score or 0) >= max_points else "an assertion of this test failed"
        results.append(TestResult(test=grade_id, points=float(max_points), problem=problem))
    return results


def _same_kit(path: Path, nb) -> None:
    """In a student kit, refuse (one line) a notebook whose tests another kit grades."""
    from ..grading.replay import installed_kit
    from ..grading.specs import all_specs
    from .nbgrader_plugins import TestCellError, parse_test_cell

    kit = installed_kit()
    if kit is None:
        return
    names = []
    for cell in _test_cells(nb):
        try:
            parsed = parse_test_cell(cell.source)
        except TestCellError:
            continue
        if parsed is not None and not kit.has_spec(parsed[0]):
            names.append(parsed[0])
    if names:
        known = "" if names[0] not in all_specs() else " (an earlier assignment's kit grades it)"
        raise UserError(
            f"this gradkit is the student kit of {kit.assignment}: it does not grade "
            f"{', '.join(names)} of {path.name}{known}; install the kit of that notebook's "
            "assignment"
        )


def _spec_name(cell) -> str:
    grade_id = str(cell.metadata["nbgrader"].get("grade_id", ""))
    return grade_id.removeprefix("test_")


def _test_cells(nb) -> list:
    """The notebook's test cells (code cells nbgrader grades)."""
    return [
        c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
    ]


def _mark_source(nb) -> bool:
    """Mark an instructor's source notebook (``solutions/``) as the release would: its
    one-line ``grade("name", points=N)`` cells become test cells, its solution cells answer
    cells (solutions kept), so it is checked like a student's; True if any test was found."""
    from .nbgrader_plugins import MarkGradedCells, TestCellError, parse_test_cell

    try:
        if not any(c.cell_type == "code" and parse_test_cell(c.source) for c in nb.cells):
            return False
    except TestCellError as exc:
        raise UserError(f"not a gradkit notebook: {exc}") from None
    marker = MarkGradedCells()
    for index, cell in enumerate(nb.cells):
        marker.preprocess_cell(cell, {}, index)
    return True


def verdict_lines(results: list[TestResult], verbose: bool = False) -> list[str]:
    """What `gradkit check` prints: a line per test, the failing checks under it (every
    check with ``verbose``), the total, and a note when practice cases ran."""
    if not results:
        return ["total 0/0"]
    width = max(len(r.test) for r in results)
    out = []
    for r in results:
        mark = "ok  " if r.score >= r.points else "FAIL"
        out.append(f"{mark}  {r.test.ljust(width)}  {r.score:g}/{r.points:g}")
        if verbose or r.score < r.points:
            for line in r.lines()[:-1]:
                if line.startswith("NOTE"):  # said once, below the total
                    continue
                if verbose or not line.startswith("PASS"):
                    out.append(f"        {line}")
    out.append(f"total {sum(r.score for r in results):g}/{sum(r.points for r in results):g}")
    if any(c.hidden for r in results for c in r.checks):
        out.append(
            "(practice cases are drawn at random on every check, the way your hidden cases "
            "are drawn; your grade uses your own hidden cases, so it can differ from this)"
        )
    return out
