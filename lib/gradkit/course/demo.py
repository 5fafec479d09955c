"""`gradkit demo`: the whole instructor cycle on built-in sample submissions.

In a temporary course: release assignment 01, make three submissions (the
full solution, the untouched release, one with a few wrong functions), grade
them, print the gradebook and write the feedback.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import nbformat

from .directory import Course, UserError
from .nbgrader_plugins import MarkGradedCells

__all__ = ["make_submission", "run_demo", "kit_root", "WRONG_FUNCTIONS"]

DEMO_ASSIGNMENT = "01_linear_models"
DEMO_MARKER = ".gradkit-demo"

# Planted mistakes for the "partial" sample: a missing 1/N in dW, an inverted
# matrix instead of a solve, a one-sided numeric gradient.
WRONG_FUNCTIONS = {
    "svm_loss_vectorized": """def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(N), y][:, None]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N + 0.5 * reg * np.sum(W * W)
    mask = (margins > 0).astype(float)
    mask[np.arange(N), y] = -mask.sum(axis=1)
    dW = X.T @ mask + reg * W  # forgot to divide by N
    return loss, dW
""",
    "least_squares": """def least_squares(X, y):
    return np.linalg.inv(X.T @ X) @ X.T @ y
""",
}


def _catalogued(function: str, mistake: str) -> str:
    """The source of a catalogued mistake's implementation, renamed to ``function``."""
    import inspect

    from ..grading import get_spec

    impl = next(m.impl for m in get_spec(function).mistakes if m.id == mistake)
    source = inspect.getsource(impl)  # type: ignore[arg-type]
    return re.sub(r"^def \w+\(", f"def {function}(", source, count=1)


# The third planted mistake is taken from the grader's own catalogue.
WRONG_FUNCTIONS["eval_numerical_gradient"] = _catalogued("eval_numerical_gradient", "one_sided")


def kit_root() -> Path:
    """The gradkit checkout that holds solutions/ (the course the demo copies)."""
    here = Path(__file__).resolve()
    for d in here.parents:
        if (d / "solutions").is_dir() and (d / "nbgrader_config.py").is_file():
            return d
    raise UserError(
        "the demo needs gradkit's course files (solutions/, nbgrader_config.py); "
        "run it from a checkout of the gradkit repository (pip install -e .)"
    )


def _strip_solution(source: str) -> str:
    return re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", "", source, flags=re.M)


def make_submission(course: Course, assignment: str, dest: Path, kind: str) -> None:
    """Write a sample submission: kind 'full', 'untouched' or 'partial'."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in course.notebooks(assignment):
        release = nbformat.read(
            str(course.assignments_dir / assignment / f"{name}.ipynb"), as_version=4
        )
        if kind != "untouched":
            source = nbformat.read(
                str(course.solutions / assignment / f"{name}.ipynb"), as_version=4
            )
            marker = MarkGradedCells()  # answer cells get their grade ids as at release
            for i, cell in enumerate(source.cells):
                marker.preprocess_cell(cell, {}, i)
            answers = {
                c.metadata["nbgrader"]["grade_id"]: c.source
                for c in source.cells
                if c.metadata.get("nbgrader", {}).get("solution")
            }
            for cell in release.cells:
                gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                if cell.metadata.get("nbgrader", {}).get("solution") and gid in answers:
                    cell.source = _strip_solution(answers[gid])
                    if kind == "partial":
                        for fname, wrong in WRONG_FUNCTIONS.items():
                            if re.search(rf"^def {fname}\(", cell.source, flags=re.M):
                                cell.source = wrong
        nbformat.write(release, str(dest / f"{name}.ipynb"))


def run_demo(workdir: Path, log=print) -> dict:
    """Run the cycle in ``workdir`` (created); return the gradebook rows."""
    from .grade import grade
    from .release import release
    from .report import export_csv, format_table, pending_summary, scores, write_feedback

    t0 = time.perf_counter()
    kit = kit_root()
    workdir = Path(workdir).resolve()
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / DEMO_MARKER).is_file():
            raise UserError(
                f"{workdir} is not empty and was not made by `gradkit demo`; pick a new directory"
            )
        shutil.rmtree(workdir)  # an earlier demo's output, safe to replace
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / DEMO_MARKER).write_text(
        "made by `gradkit demo`; the next demo run replaces this folder\n"
    )
    root = workdir / "course"
    shutil.copytree(kit / "solutions" / DEMO_ASSIGNMENT, root / "solutions" / DEMO_ASSIGNMENT)
    shutil.copy(kit / "nbgrader_config.py", root / "nbgrader_config.py")
    course = Course(root)
    log(f"1/5 course at {root}; new course secret at {course.new_secret()}")
    log("2/5 release")
    release(course, DEMO_ASSIGNMENT, log=lambda m: log("    " + m))
    subs = workdir / "submissions"
    for student, kind in [("ada", "full"), ("brook", "untouched"), ("cyd", "partial")]:
        make_submission(course, DEMO_ASSIGNMENT, subs / student, kind)
    log(
        f"3/5 sample submissions in {subs}: ada = full solution, brook = untouched release, "
        "cyd = three planted mistakes"
    )
    log("4/5 grade")
    from .sandbox import probe

    # The samples are gradkit's own code: on a machine that cannot sandbox (no root, no
    # bubblewrap) the demo still runs; `gradkit grade` of real students would refuse.
    sandboxed, why = probe()
    log(f"    kernels {'sandboxed' if sandboxed else 'NOT sandboxed (' + why + ')'}")
    grade(course, DEMO_ASSIGNMENT, subs, sandbox=sandboxed, progress=False)
    rows = scores(course, DEMO_ASSIGNMENT)
    log(format_table(rows, course.notebooks(DEMO_ASSIGNMENT)))
    waiting = pending_summary(rows)
    if waiting:  # written answers: a TA scores them in formgrader, then they join the totals
        log(f"    {waiting}; the totals above leave them out until a TA scores them")
    csv_path = export_csv(course, DEMO_ASSIGNMENT, root / "grades" / f"{DEMO_ASSIGNMENT}.csv")
    pages = write_feedback(course, DEMO_ASSIGNMENT)
    log(f"5/5 feedback: {len(pages)} pages under {root / 'feedback'}; grades CSV: {csv_path}")
    log(f"demo finished in {time.perf_counter() - t0:.0f} s")
    return {"rows": rows, "feedback": pages, "csv": csv_path, "course": course}
