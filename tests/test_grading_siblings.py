"""A notebook is graded and self-checked with the student's other notebooks beside it,
read-only, so a demo's ``gradkit.yours.load("second.ipynb")`` works; a missing one costs
only the cell that loads it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from course_helpers import ASSIGNMENT, NOTEBOOK, SANDBOX, SECOND, make_course, needs_sandbox
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course
from gradkit.course.execute import GradkitExecute
from gradkit.course.grade import grade
from gradkit.course.release import release
from gradkit.course.rundir import RunDir
from gradkit.course.sandbox import HOME, command
from gradkit.course.selfcheck import check_notebook

pytestmark = [pytest.mark.slow, pytest.mark.a01]

CELL_TIMEOUT = 10
LOAD_ID = "load_second"
#: The demo cell: what the notebook's folder shows, and what the load registers; then an
#: attempt to change the sibling, which must not reach the student's submitted file.
LOAD = f"""import os
import gradkit.yours

print("loaded", gradkit.yours.load("{SECOND}.ipynb"))
print("mode", oct(os.stat("{SECOND}.ipynb").st_mode & 0o777))
try:
    with open("{SECOND}.ipynb", "a") as f:
        f.write("changed")
    os.remove("{SECOND}.ipynb")
    print("sibling changed")
except OSError as exc:
    print("sibling kept", type(exc).__name__)
"""


def _with_load_cell(root: Path) -> None:
    path = root / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    meta = {"grade": False, "solution": False, "locked": True, "grade_id": LOAD_ID}
    meta["schema_version"] = 3
    nb.cells.insert(2, new_code_cell(LOAD, metadata={"nbgrader": meta}))
    nbformat.write(nb, str(path))


def _load_cell(nb) -> dict:
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == LOAD_ID)
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    errors = [o for o in cell.outputs if o.output_type == "error"]
    return {"text": text, "errors": errors}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("course"), second=True)
    _with_load_cell(root)
    course = Course(root)
    release(course, ASSIGNMENT, log=lambda m: None)
    return course


@pytest.fixture(scope="module")
def graded(course, tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    make_submission(course, ASSIGNMENT, subs / "both", "full")
    make_submission(course, ASSIGNMENT, subs / "alone", "full")
    (subs / "alone" / f"{SECOND}.ipynb").unlink()
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in subs.rglob("*.ipynb")}
    records = grade(course, ASSIGNMENT, subs, timeout=CELL_TIMEOUT, progress=False, sandbox=SANDBOX)
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in subs.rglob("*.ipynb")}
    return {"records": records, "before": before, "after": after}


def _autograded(course, student):
    path = course.root / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    return nbformat.read(str(path), as_version=4)


def test_grading_puts_the_students_other_notebook_beside_it_read_only(course, graded):
    cell = _load_cell(_autograded(course, "both"))
    assert cell["errors"] == []
    assert "mode 0o444" in cell["text"]
    assert "loaded ['least_squares']" in cell["text"]
    assert graded["records"]["both"][NOTEBOOK].status == "graded"
    assert graded["before"] == graded["after"]  # submissions are only read


@needs_sandbox
def test_the_sandboxed_kernel_cannot_change_or_remove_the_sibling(course, graded):
    assert "sibling kept" in _load_cell(_autograded(course, "both"))["text"]


def test_a_missing_sibling_costs_only_the_cell_that_loads_it(course, graded):
    record = graded["records"]["alone"][NOTEBOOK]
    full = graded["records"]["both"][NOTEBOOK]
    assert record.status == "graded" and not record.incidents
    assert [t.score for t in record.tests] == [t.score for t in full.tests]
    assert record.tests and all(t.score == t.points for t in record.tests)
    (error,) = _load_cell(_autograded(course, "alone"))["errors"]
    assert error["ename"] == "LoadError"
    assert error["evalue"].startswith(f"gradkit.yours.load: there is no {SECOND}.ipynb in ")
    assert "\n" not in error["evalue"]
    assert graded["records"]["alone"][SECOND].status == "not submitted"


def test_self_check_copies_the_other_notebooks_read_only(course, monkeypatch):
    executed = {}
    preprocess = GradkitExecute.preprocess

    def keep(self, nb, resources=None, km=None):
        nb, resources = preprocess(self, nb, resources, km)
        executed["nb"] = nb
        return nb, resources

    monkeypatch.setattr(GradkitExecute, "preprocess", keep)
    path = course.assignments_dir / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    sibling = path.parent / f"{SECOND}.ipynb"
    before = sibling.read_bytes(), oct(sibling.stat().st_mode)
    results = check_notebook(path, timeout=CELL_TIMEOUT)
    assert results and all(r.score == 0 for r in results)  # the release's stubs
    cell = _load_cell(executed["nb"])
    assert cell["errors"] == [] and "mode 0o444" in cell["text"]
    assert "loaded ['least_squares']" in cell["text"]  # the release's stub, registered
    assert (sibling.read_bytes(), oct(sibling.stat().st_mode)) == before


def test_the_sandbox_mounts_home_files_read_only_after_the_home(tmp_path):
    run = RunDir()
    try:
        path = run.add_home_file("second.ipynb", b"{}")
        assert oct(path.stat().st_mode & 0o777) == "0o444" and path.read_bytes() == b"{}"
        with pytest.raises(FileExistsError):
            run.add_home_file("second.ipynb", b"again")
        for bad in ("../x.ipynb", ".hidden.ipynb", "a/b.ipynb"):
            with pytest.raises(ValueError, match="not a plain file name"):
                run.add_home_file(bad, b"{}")
        if not SANDBOX:
            pytest.skip("builds a bubblewrap command line")
        argv = command(["true"], [], home_files=[path])
        at = argv.index(str(path))
        assert argv[at - 1 : at + 2] == ["--ro-bind", str(path), f"{HOME}/second.ipynb"]
        home = next(i for i, a in enumerate(argv) if a == "--tmpfs" and argv[i + 1] == HOME)
        assert home < at  # mounted on the home's tmpfs, not hidden by it
    finally:
        assert run.remove() == []
        assert not os.path.exists(run.path)
