"""A term, as the README's "A term, step by step" walks it, on the real assignment 01.

Every step is the command an instructor types (``python -m gradkit ...``): a new secret,
the release, a Canvas "Download Submissions" zip and a folder of stragglers graded with
a roster, feedback, the Canvas import file, and a fix to the assignment released again.
The class: careful students, an honest bug (a softmax loss of ``inf``, what ``np.log(0)``
gives), a late submission, two students with the same name, one who made the classic
mistakes, one who handed in the release untouched, one on the roster who handed in
nothing.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_helpers import SANDBOX
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course
from gradkit.course.results import load

pytestmark = [pytest.mark.slow, pytest.mark.a01]

REPO = Path(__file__).resolve().parents[1]
A = "01_linear_models"
CLASSIFIERS = "linear_classifiers"
#: The softmax of a careful student, whose loss overflows to inf (as log(0) does).
INF_LOSS = (
    "\ndef softmax_loss_vectorized(W, X, y, reg):\n"
    "    loss, dW = _careful_softmax(W, X, y, reg)\n"
    "    return np.float64(np.inf), dW\n"
)
#: The Canvas students: user id -> (name in the file name, kind, late).
CANVAS = {
    "1000": ("smithalice", "full", False),
    "1001": ("smithalice", "inf", False),  # the same name as 1000
    "1002": ("jonesbob", "full", True),
    "1003": ("leecyd", "partial", False),
    "1004": ("parkdee", "untouched", False),
}
FOLDER = {"dana": "full", "eve": "full"}
ROSTER = [
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{A} (777)"],
    ["    Points Possible", "", "", "", "", "21"],
    ["Smith, Alice", "1000", "S1000", "asmith", "A", ""],
    ["Smith, Alice", "1001", "S1001", "asmith2", "B", ""],
    ["Jones, Bob", "1002", "S1002", "bjones", "A", ""],
    ["Lee, Cyd", "1003", "S1003", "clee", "A", ""],
    ["Park, Dee", "1004", "S1004", "dpark", "B", ""],
    ["Kim, Fay", "1005", "S1005", "fkim", "B", ""],  # handed in nothing
]


def gradkit(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gradkit", "--course", str(course), *args],
        capture_output=True,
        text=True,
    )


def _inf_student(course: Course, dest: Path) -> None:
    make_submission(course, A, dest, "full")
    path = dest / f"{CLASSIFIERS}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    cell = next(c for c in nb.cells if re.search(r"^def softmax_loss_vectorized\(", c.source, re.M))
    cell.source = cell.source.replace("def softmax_loss_vectorized(", "def _careful_softmax(")
    cell.source += INF_LOSS
    nbformat.write(nb, str(path))


#: What the TA gives each answered written question in formgrader (step 5 of the README's
#: term): full marks, except half to the student who made the classic mistakes.
WRITTEN_SHARE = {"1003": 0.5}


def _formgrader(course: Course) -> None:
    """Step 5: a TA scores every answer that awaits a grader, as formgrader records it."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        for submission in gb.assignment_submissions(A):
            share = WRITTEN_SHARE.get(submission.student.id, 1.0)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.needs_manual_grade:
                        grade.manual_score = share * grade.max_score
                        grade.needs_manual_grade = False
        gb.db.commit()


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "solutions" / A, root / "solutions" / A)
    log: dict[str, subprocess.CompletedProcess] = {}
    log["secret"] = gradkit(root, "secret", "--new")
    log["release"] = gradkit(root, "release", A)
    course = Course(root)

    # what Canvas's "Download Submissions" gives, and two stragglers by e-mail
    made = tmp_path_factory.mktemp("made")
    archive = tmp_path_factory.mktemp("canvas") / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for user, (name, kind, late) in CANVAS.items():
            if kind == "inf":
                _inf_student(course, made / user)
            else:
                make_submission(course, A, made / user, kind)
            for path in sorted((made / user).glob("*.ipynb")):
                marker = "LATE_" if late else ""
                zf.write(path, f"{name}_{marker}{user}_{52000 + int(user)}_{path.name}")
    folder = tmp_path_factory.mktemp("folder")
    for student, kind in FOLDER.items():
        make_submission(course, A, folder / student, kind)
    roster = made / "gradebook.csv"
    with open(roster, "w", newline="") as fh:
        csv.writer(fh).writerows(ROSTER)

    sandbox = [] if SANDBOX else ["--no-sandbox"]
    common = ["--no-progress", *sandbox]
    log["grade canvas"] = gradkit(
        root, "grade", A, "--submissions", str(archive), "--roster", str(roster), *common
    )
    log["grade folder"] = gradkit(root, "grade", A, "--submissions", str(folder), *common)
    _formgrader(course)
    log["feedback"] = gradkit(root, "feedback", A)
    log["export"] = gradkit(root, "export", A, "--canvas", "--canvas-column", f"{A} (777)")
    records = load(course.db_path, A)
    return {"root": root, "course": course, "log": log, "records": records}


def test_every_command_of_the_term_succeeds(term):
    for step, res in term["log"].items():
        assert res.returncode == 0, f"{step}: {res.stderr}"


def _canvas_rows(term) -> dict[str, dict]:
    path = term["root"] / "grades" / f"{A}-canvas.csv"
    rows = list(csv.DictReader(path.open()))
    assert rows[0]["Student"].strip() == "Points Possible"
    return {r["ID"] or r["SIS Login ID"]: r for r in rows[1:]}


def _autograded_maximum(term) -> float:
    return sum(float(t.points) for r in term["records"]["1000"].values() for t in r.tests)


def _maximum(term) -> float:
    """The assignment's points: its autograded tests and its written answers."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{term['course'].db_path}") as gb:
        total = float(gb.find_assignment(A).max_score)
    assert total > _autograded_maximum(term)  # assignment 01 asks written questions
    return total


def test_careful_students_get_full_marks_whichever_way_they_handed_in(term):
    full = _maximum(term)
    rows = _canvas_rows(term)
    for student in ("1000", "1002", "dana", "eve"):
        assert float(rows[student][f"{A} (777)"]) == full, student


def test_an_honest_inf_costs_one_test_never_the_notebook(term):
    tests = {t.test: t for r in term["records"]["1001"].values() for t in r.tests}
    softmax = tests.pop("softmax_loss_vectorized")
    assert 0 < softmax.score < softmax.points and softmax.problem == ""
    assert "your loss is inf for these inputs" in softmax.text()
    assert all(t.score == t.points for t in tests.values()), [t.summary() for t in tests.values()]
    total = float(_canvas_rows(term)["1001"][f"{A} (777)"])
    assert total == pytest.approx(_maximum(term) - softmax.points + softmax.score, abs=1e-3)
    page = term["root"] / "feedback" / "1001" / A / f"{CLASSIFIERS}.html"
    assert "your loss is inf for these inputs" in page.read_text()


def test_same_named_students_stay_apart_and_the_late_one_is_flagged(term):
    rows = _canvas_rows(term)
    assert rows["1000"]["Student"] == rows["1001"]["Student"] == "Smith, Alice"
    assert rows["1000"]["SIS Login ID"] == "asmith" and rows["1001"]["SIS Login ID"] == "asmith2"
    graded = list(csv.DictReader((term["root"] / "grades" / f"{A}.csv").open()))
    late = {r["student"] for r in graded if r["late"] == "yes"}
    assert late == {"1002"}


def test_the_missing_and_the_untouched_get_zero_and_the_mistakes_partial_credit(term):
    rows = _canvas_rows(term)
    column = f"{A} (777)"
    assert float(rows["1005"][column]) == 0 and float(rows["1004"][column]) == 0
    assert 0 < float(rows["1003"][column]) < _maximum(term)


def test_a_fix_that_would_drop_a_graded_test_is_refused_and_loses_nothing(term):
    root = term["root"]
    source = root / "solutions" / A / f"{CLASSIFIERS}.ipynb"
    saved = source.read_bytes()
    before = _tree(root / "assignments"), hashlib.sha256((root / "gradebook.db").read_bytes())
    nb = nbformat.read(str(source), as_version=4)
    nb.cells = [c for c in nb.cells if not c.source.strip().startswith('grade("svm_loss_naive",')]
    nbformat.write(nb, str(source))
    try:
        res = gradkit(root, "release", A)
    finally:
        source.write_bytes(saved)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "test_svm_loss_naive" in res.stderr and "Traceback" not in res.stderr
    after = _tree(root / "assignments"), hashlib.sha256((root / "gradebook.db").read_bytes())
    assert after[0] == before[0] and after[1].hexdigest() == before[1].hexdigest()
