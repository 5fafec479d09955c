"""`gradkit grade`: autograde a class of submissions into the gradebook, in parallel and resumably.

For each student, in this process: the submitted notebooks are copied into a
temporary staging course outside the course directory (the originals are only
read) and sanitized by nbgrader (locked cells restored from the gradebook).
Each notebook is then executed by a worker — a local process (``jobs`` at a
time) or a ``dask.distributed`` worker — in the sandbox, with its test cells
judged by the grader's engine and the same student's other notebooks of the
assignment read-only beside it (for the demos that load functions from them; a
grade never depends on them). Back in this process, the one writer of the
gradebook saves each notebook's scores and its record in one transaction, as
soon as it is done. A run stopped halfway (Ctrl-C, a kill) keeps everything
saved so far; the next run skips every notebook whose content, release and
checkers are unchanged (``force`` regrades, ``students`` limits the run).

What the submissions say about the students (a Canvas zip's display names and user
ids, its LATE marks) and the ``roster`` given are stored beside the grades
(:mod:`gradkit.course.students`, the ``late`` mark of each notebook's record).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat

from .directory import Course, UserError
from .integrity import changed_test_cells, restored_note
from .isolate import TIMED_OUT, run_isolated
from .pipeline import RunSettings
from .release import nbgrader_api, nbgrader_reason
from .results import (
    GRADED,
    INCIDENTS,
    NOT_GRADED,
    NOT_SUBMITTED,
    SCORED,
    NotebookRecord,
    incident_place,
    incidents_from_notebook,
    load,
    results_from_notebook,
    save,
    save_graded,
    set_late,
)
from .safe_write import write_text
from .students import (
    RosterEntry,
    identities,
    label_nbgrader_students,
    save_roster,
    save_students,
)
from .submissions import MAX_NOTEBOOK_BYTES, Submitted, collect_submissions

__all__ = ["grade", "collect_submissions", "fingerprint_of_release"]

#: Seconds a notebook's grading may run past its notebook budget (kernel start, recovery,
#: clean-up) before it is stopped from outside, as "timed out".
HARD_MARGIN = 120.0
#: The status of a notebook whose grading a stopped run left unfinished.
STOPPED = "grading stopped"

# Variables the grader's process (and so nbgrader's own steps) should not carry.
_SCRUBBED_ENV = ("PWD", "OLDPWD", "GRADKIT_SECRET_FILE", "GRADKIT_COURSE")


def fingerprint_of_release(course: Course, assignment: str, notebook: str) -> str:
    """What a grade depends on besides the submission: the release and gradkit's checkers."""
    import gradkit

    digest = hashlib.sha256(gradkit.__version__.encode())
    digest.update((course.assignments_dir / assignment / f"{notebook}.ipynb").read_bytes())
    grading = Path(gradkit.__file__).parent / "grading"
    for path in sorted(grading.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _problem(path: Path) -> str:
    """Why a submitted notebook cannot be graded, or '' when it can."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return f"{path.name} holds {size} bytes, over the {MAX_NOTEBOOK_BYTES} a notebook may"
    try:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # any parse/validation failure means: cannot grade
        first = str(exc).splitlines()[0][:120] if str(exc) else ""
        return f"{path.name} is not a valid notebook ({type(exc).__name__}: {first})"
    return ""


@contextmanager
def _scrubbed_env():
    saved = {k: os.environ.pop(k) for k in _SCRUBBED_ENV if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _settings(
    course: Course,
    timeout: float | None,
    sandbox: bool,
    notebook_timeout: float | None,
    separate_user: bool = False,
) -> RunSettings:
    cfg = course.nbgrader_config()
    defaults = RunSettings()

    def get(section: str, key: str, default: Any) -> Any:
        value = cfg[section].get(key) if section in cfg else None
        return default if value is None else value

    return RunSettings(
        timeout=int(timeout if timeout is not None else get("Execute", "timeout", 30)),
        sandbox=sandbox,
        separate_user=separate_user,
        notebook_timeout=notebook_timeout or defaults.notebook_timeout,
        ignore_pattern=str(get("IgnorePattern", "pattern", defaults.ignore_pattern)),
        max_lines=int(get("LimitOutput", "max_lines", defaults.max_lines)),
        max_traceback=int(get("LimitOutput", "max_traceback", defaults.max_traceback)),
    )


class _Executor:
    """Local worker processes, or a Dask cluster; ``submit`` returns a future of a dict."""

    def __init__(self, jobs: int, dask: str | None):
        self.client: Any = None
        self.pool: ThreadPoolExecutor | None = None
        if dask:
            try:
                from distributed import Client
            except ImportError:
                raise UserError(
                    "--dask needs the 'cluster' extra: pip install 'gradkit[cluster]'"
                ) from None
            try:
                self.client = Client(dask, timeout="20s")
            except OSError as exc:
                raise UserError(f"cannot reach the Dask scheduler at {dask}: {exc}") from None
        else:
            self.pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="gradkit")

    def require_sandbox(self) -> None:
        """Refuse a cluster with a worker that cannot sandbox kernels (before any notebook)."""
        from .sandbox import probe

        answers = self.client.run(probe) if self.client is not None else {}
        if not answers:
            self.close()
            raise UserError("the Dask cluster has no workers")
        unable = {worker: why for worker, (ok, why) in answers.items() if not ok}
        if unable:
            self.close()
            worker, why = sorted(unable.items())[0]
            raise UserError(
                f"{len(unable)} of {len(answers)} Dask workers cannot sandbox the students' "
                f"kernels (e.g. {worker}: {why}); install bubblewrap there or pass --no-sandbox"
            )

    def share(self, value: Any) -> Any:
        """``value`` as every task of the run receives it: sent once to each Dask worker
        (a task's argument that is a future arrives as its value), or as it is here."""
        if self.client is not None:
            return self.client.scatter([value], broadcast=True)[0]
        return value

    def submit(self, payload: dict, hard_timeout: float) -> Any:
        """Grade one notebook in a process of its own, killed past ``hard_timeout``."""
        if self.client is not None:
            return self.client.submit(run_isolated, payload, hard_timeout, pure=False)
        assert self.pool is not None
        return self.pool.submit(run_isolated, payload, hard_timeout)

    def wait(self, futures: Iterable[Any], block: bool) -> list[Any]:
        futures = list(futures)
        if not futures:
            return []
        if self.client is not None:
            from distributed import wait as dask_wait

            if block:
                dask_wait(futures, return_when="FIRST_COMPLETED")
            return [f for f in futures if f.done()]
        done, _ = wait(futures, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        return list(done)

    def close(self, cancel: bool = False) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=not cancel, cancel_futures=cancel)
        if self.client is not None:
            self.client.close()


def _result(future: Any) -> dict:
    try:
        return future.result()
    except Exception as exc:  # a worker that died, a cancelled task
        return {"error": f"the worker failed: {type(exc).__name__}: {str(exc)[:150]}"}


def grade(
    course: Course,
    assignment: str,
    submissions: Path,
    timeout: float | None = None,
    progress: bool = True,
    jobs: int | None = None,
    sandbox: bool = True,
    dask: str | None = None,
    force: bool = False,
    students: list[str] | None = None,
    notebook_timeout: float | None = None,
    roster: list[RosterEntry] | None = None,
    notify: Any = None,
    kit: dict[str, str] | None = None,
    separate_user: bool = False,
    profile: dict[tuple[str, str], dict[str, list[float]]] | None = None,
) -> dict[str, dict[str, NotebookRecord]]:
    """Grade every submission (see the module docstring); return student -> notebook -> record.

    ``notify(line)`` hears of limits this machine cannot hold, once the run is about to
    start. ``roster`` (from :func:`gradkit.course.students.read_roster`) replaces the stored
    roster of the course. ``kit`` is the student kit's library packed elsewhere
    (:func:`gradkit.course.kit.pack_library`), for a course that holds no ``solutions/``
    to build it from (a platform's autograder, :mod:`gradkit.course.autograder`).
    ``separate_user`` (with ``sandbox=False``, a root grader on a platform whose container
    forbids namespaces) runs each kernel as a user id of its own instead
    (:mod:`gradkit.course.autograder.isolation`).
    ``profile``, a dict, receives (student, notebook) -> the notebook's phases
    (:mod:`gradkit.course.profile`; ``gradkit grade --profile``).
    """
    from tqdm.auto import tqdm

    from ..grading.seeds import derive_token

    course.require_assignment(assignment)
    secret = course.require_secret().read_bytes().strip()
    notebooks = course.notebooks(assignment)
    if not course.db_path.is_file() or not (course.assignments_dir / assignment).is_dir():
        raise UserError(
            f"{assignment} was never released here; run `gradkit release {assignment}` first"
        )
    if not Path(submissions).exists():
        raise UserError(
            f"submissions {submissions} not found; "
            "pass a folder with one sub-folder per student, or a zip"
        )
    if sandbox and not dask:  # a cluster's workers sandbox the kernels: they are probed below
        from .isolate import sandbox_probed
        from .sandbox import probe

        ok, why = probe()
        if not ok:
            raise UserError(
                f"cannot sandbox the students' kernels: {why}; "
                "or pass --no-sandbox (student code then runs as you, see `gradkit doctor`)"
            )
        sandbox_probed()  # the grading processes' fork server need not probe again
        if notify is not None:
            from .sandbox import limit_report

            missing = [what for what, held, _ in limit_report() if not held]
            if missing:  # said once, when grading is about to start
                notify(
                    f"on this machine the sandbox does not limit {', '.join(missing)} "
                    "(control groups need root); see `gradkit doctor`"
                )
    separate_user = separate_user and not sandbox
    if separate_user:
        from .sandbox import probe_user

        ok, why = probe_user()
        if not ok:
            raise UserError(f"cannot run the students' kernels as separate users: {why}")
    settings = _settings(course, timeout, sandbox, notebook_timeout, separate_user)
    release_fp = {nb: fingerprint_of_release(course, assignment, nb) for nb in notebooks}
    before = load(course.db_path, assignment)
    records: dict[str, dict[str, NotebookRecord]] = {}
    with tempfile.TemporaryDirectory(prefix="gradkit-grade-") as tmp_name:
        tmp = Path(tmp_name)
        found = collect_submissions(Path(submissions), assignment, notebooks, tmp)
        if students:
            unknown = sorted(set(students) - set(found))
            if unknown:
                raise UserError(f"no submission from {', '.join(unknown)} in {submissions}")
            found = {s: found[s] for s in students}
        save_students(course.db_path, {s: _lms_identity(mine) for s, mine in found.items()})
        if roster is not None:
            save_roster(course.db_path, roster)
        staging = tmp / "course"
        (tmp / "release").mkdir()
        for name in notebooks:  # what each test cell must be (restored by nbgrader)
            shutil.copyfile(
                course.assignments_dir / assignment / f"{name}.ipynb",
                tmp / "release" / f"{name}.ipynb",
            )
        restored: dict[tuple[str, str], str] = {}
        plan = _plan(found, notebooks, release_fp, before, force, records)
        for student, mine in records.items():  # not submitted or not gradable: known now
            for name, record in mine.items():
                save(course.db_path, assignment, student, name, record)
        # One nbgrader API per notebook (CourseDirectory.notebook_id): a notebook nbgrader
        # cannot sanitize fails alone, never the student's other notebooks.
        apis = {
            name: nbgrader_api(
                course,
                root=staging,
                CourseDirectory={"db_url": f"sqlite:///{course.db_path}", "notebook_id": name},
                Autograde={"autograde_preprocessors": []},  # nbgrader sanitizes; workers execute
            )
            for name in notebooks
        }
        # The student kit's library: what the sandboxed kernels see in place of gradkit's,
        # so no reference is within reach of a student's function while it is graded.
        if not (sandbox or separate_user):
            kit = None
        elif kit is None:
            from .kit import pack_library

            kit = pack_library(course, assignment)
        todo = sum(len(v) for v in plan.values())
        bar = tqdm(total=todo, desc=f"grading {assignment}", unit="notebook", disable=not progress)
        executor = _Executor(jobs or os.cpu_count() or 1, dask)
        if sandbox and dask:
            executor.require_sandbox()
        if kit is not None:
            kit = executor.share(kit)
        pending: dict[Any, tuple[str, str, str]] = {}

        sanitized_in: dict[tuple[str, str], list[float]] = {}

        def finish(future: Any) -> None:
            job = pending.pop(future)
            outcome = _result(future)
            cpu, wall = time.thread_time(), time.perf_counter()
            _finish(course, assignment, job, outcome, found, records, restored)
            if profile is not None and "profile" in outcome:
                phases = outcome["profile"]
                phases["gradebook write"] = [
                    time.thread_time() - cpu,
                    0.0,
                    time.perf_counter() - wall,
                ]
                phases["sanitize"] = sanitized_in.get(job[:2], [0.0, 0.0, 0.0])
                profile[job[:2]] = phases
            bar.update(1)

        try:
            with _scrubbed_env(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy chatter
                for student, names in plan.items():
                    cpu, wall = time.thread_time(), time.perf_counter()
                    ready = _sanitize(
                        apis,
                        staging,
                        assignment,
                        student,
                        found[student],
                        names,
                        records,
                        restored,
                        course.db_path,
                    )
                    share = max(1, len(names))  # the student's notebooks share its cost
                    spent = [
                        (time.thread_time() - cpu) / share,
                        0.0,
                        (time.perf_counter() - wall) / share,
                    ]
                    for name, fp in ready.items():
                        sanitized_in[(student, name)] = spent
                        sanitized = staging / "autograded" / student / assignment / f"{name}.ipynb"
                        token = derive_token(secret, assignment, name, student)
                        payload = {
                            "nb": sanitized.read_text(),
                            "token": token,
                            "settings": settings.to_dict(),
                            "kit": kit,
                            "siblings": _siblings(found[student], name),
                            "profile": profile is not None,
                        }
                        # Until it is done, the gradebook says so: a run that stops here
                        # leaves "grading stopped", never an earlier or an empty grade.
                        save(
                            course.db_path,
                            assignment,
                            student,
                            name,
                            NotebookRecord(
                                STOPPED,
                                "the grading run stopped before this notebook was done",
                                late=found[student][name].late,
                            ),
                        )
                        future = executor.submit(payload, settings.notebook_timeout + HARD_MARGIN)
                        pending[future] = (student, name, fp)
                    for future in executor.wait(pending, block=False):
                        finish(future)
                while pending:
                    for future in executor.wait(pending, block=True):
                        finish(future)
        except KeyboardInterrupt:
            executor.close(cancel=True)
            raise
        executor.close()
        bar.close()
    for student in found:  # what was not (re)graded keeps its earlier record
        for name in notebooks:
            if name not in records.get(student, {}) and name in before.get(student, {}):
                earlier = before[student][name]
                sub = found[student].get(name)
                late = sub.late if sub is not None else earlier.late
                if earlier.late != late:  # the same file, marked differently by the LMS
                    set_late(course.db_path, assignment, student, name, late)
                    earlier.late = late
                records.setdefault(student, {})[name] = earlier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy chatter
        label_nbgrader_students(course.db_path, identities(course.db_path, found)[0].values())
    return records


def _lms_identity(mine: dict[str, Submitted]) -> tuple[str, str]:
    """(display name, Canvas user id) the LMS gave a student's files ('' when none)."""
    name = next((s.name for s in mine.values() if s.name), "")
    canvas_id = next((s.canvas_id for s in mine.values() if s.canvas_id), "")
    return name, canvas_id


def _siblings(mine: dict[str, Submitted], name: str) -> dict[str, str]:
    """The student's other notebooks of the assignment that can be read (file name -> text):
    the grader puts them read-only beside ``name``, where a demo's ``gradkit.yours.load``
    finds them. A missing or unreadable one is left out, which costs only the cell that
    loads it: the graded tests never need it."""
    out = {}
    for other, sub in sorted(mine.items()):
        if other != name and sub.path != Path() and not _problem(sub.path):
            out[f"{other}.ipynb"] = sub.path.read_text(encoding="utf-8", errors="replace")
    return out


def _plan(found, notebooks, release_fp, before, force, records) -> dict[str, dict[str, str]]:
    """student -> notebook -> fingerprint of what must be graded; records what needs no run."""
    plan: dict[str, dict[str, str]] = {}
    for student, mine in found.items():
        records[student] = {}
        for name in notebooks:
            sub: Submitted | None = mine.get(name)
            if sub is None or sub.path == Path():
                why = sub.note if sub is not None else f"{name}.ipynb was not submitted"
                records[student][name] = NotebookRecord(
                    NOT_SUBMITTED if sub is None else NOT_GRADED,
                    why,
                    late=sub is not None and sub.late,
                )
                continue
            problem = _problem(sub.path)
            if problem:
                records[student][name] = NotebookRecord(NOT_GRADED, problem, late=sub.late)
                continue
            fp = hashlib.sha256(sub.path.read_bytes() + release_fp[name].encode()).hexdigest()[:32]
            earlier = before.get(student, {}).get(name)
            if (
                not force
                and earlier is not None
                and earlier.fingerprint == fp
                and earlier.status in SCORED
            ):
                continue
            plan.setdefault(student, {})[name] = fp
    return plan


def _sanitize(
    apis: dict,
    staging: Path,
    assignment: str,
    student: str,
    mine: dict[str, Submitted],
    names: dict[str, str],
    records: dict,
    restored: dict[tuple[str, str], str],
    db_path: Path,
) -> dict[str, str]:
    """Stage a student's valid notebooks, let nbgrader sanitize the ones to run; return those.

    A test cell the student changed or deleted is put back by nbgrader; ``restored`` gets a
    note saying so, for the student's feedback."""
    dest = staging / "submitted" / student / assignment
    dest.mkdir(parents=True, exist_ok=True)
    for name, sub in mine.items():
        # unchanged notebooks are staged too: nbgrader zeroes the grades of missing files
        if sub.path != Path() and not _problem(sub.path):
            shutil.copyfile(sub.path, dest / f"{name}.ipynb")
    ready = {}
    for name, fp in names.items():
        released = staging.parent / "release" / f"{name}.ipynb"  # see grade(): the release copy
        if released.is_file():
            note = restored_note(changed_test_cells(dest / f"{name}.ipynb", released))
            if note:
                restored[(student, name)] = note
        result = apis[name].autograde(assignment, student, force=True, create=True)
        if result.get("success"):
            ready[name] = fp
            continue
        why = f"nbgrader could not read the notebook: {nbgrader_reason(result)}"[:200]
        record = NotebookRecord(NOT_GRADED, why, late=mine[name].late)
        save(db_path, assignment, student, name, record)  # the gradebook says so too
        records[student][name] = record
    return ready


def _finish(
    course: Course,
    assignment: str,
    job: tuple[str, str, str],
    outcome: dict,
    found: dict,
    records: dict,
    restored: dict[tuple[str, str], str],
) -> None:
    """Save one executed notebook: scores and record in one transaction, then the file."""
    student, name, fp = job
    note = "; ".join(filter(None, [found[student][name].note, restored.get((student, name), "")]))
    if "error" in outcome:
        late = found[student][name].late
        status = TIMED_OUT if outcome.get("status") == TIMED_OUT else NOT_GRADED
        record = NotebookRecord(status, outcome["error"], fingerprint="", late=late)
        save(course.db_path, assignment, student, name, record)
        records[student][name] = record
        return
    nb = nbformat.reads(outcome["nb"], as_version=4)
    incidents = incidents_from_notebook(nb)
    status = INCIDENTS if incidents else GRADED
    summary = "; ".join(f"{incident_place(i)}: {i['kind']}" for i in incidents)
    record = NotebookRecord(
        status,
        "; ".join(filter(None, [note, summary])),
        results_from_notebook(nb),
        incidents,
        fp,
        found[student][name].late,
    )
    save_graded(course.db_path, assignment, student, name, nb, record)
    out = course.root / "autograded" / student / assignment / f"{name}.ipynb"
    write_text(out, nbformat.writes(nb), course.root)
    records[student][name] = record
