"""`gradkit autograder`: each platform's entry point, run for real in a simulated layout.

One course (assignment 01, released once), two submissions (the demo's partial
sample, with planted mistakes in both notebooks, and a hostile notebook made of the demo's
full sample of one notebook), graded once by ``gradkit grade`` — the
baseline — and once through each platform's entry point, in a temporary folder laid out
as the platform documents it. Scores must equal the baseline's, results files validate
against the platform's schema (``tests/schemas/``, written from its documentation), and
nothing a notebook writes reaches them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest
from nbformat.v4 import new_code_cell

from course_helpers import REPO, SANDBOX, needs_sandbox
from gradkit.course.autograder import build, github, gradescope, prairielearn
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course
from gradkit.course.grade import grade
from gradkit.course.release import release

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_linear_models"
SCHEMAS = Path(__file__).parent / "schemas"
#: The cell limit of this test's course (the course's own is 30 s): the hostile
#: notebook's endless loop costs this much in each run.
CELL_TIMEOUT = 5
#: Students as each platform names them (Gradescope user ids) and their notebooks.
STUDENTS = {"1002": "partial", "1003": "hostile"}
FORGED = 99.0


def _hostile(course: Course, dest: Path, forged_paths: list[Path]) -> None:
    """The full solution of linear_regression only (linear_classifiers is missing), with
    cells that forge every results file they can reach, crash the kernel, print 3 MB and
    never return."""
    make_submission(course, ASSIGNMENT, dest, "full")
    (dest / "linear_classifiers.ipynb").unlink()
    path = dest / "linear_regression.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    forged = {"score": FORGED, "gradable": True, "output": "forged", "tests": []}
    nb.cells += [
        new_code_cell(
            "import json, os\n"
            f"for target in {[str(p) for p in forged_paths]!r}:\n"
            "    try:\n"
            "        os.makedirs(os.path.dirname(target), exist_ok=True)\n"
            "        with open(target, 'w') as fh:\n"
            f"            json.dump({forged!r}, fh)\n"
            "    except OSError:\n"
            "        pass\n"
        ),
        new_code_cell("print('x' * 3_000_000)"),
        new_code_cell("import os\nos._exit(3)"),
        new_code_cell("while True:\n    pass"),
    ]
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The course, the submissions, the baseline grades and the built artifacts."""
    tmp = tmp_path_factory.mktemp("autograder")
    root = tmp / "course"
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    config = (REPO / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(config + f"\nc.Execute.timeout = {CELL_TIMEOUT}\n")
    course = Course(root)
    course.new_secret()
    release(course, ASSIGNMENT, log=lambda m: None)
    layouts = {"gradescope": tmp / "gradescope-root", "prairielearn": tmp / "prairielearn-root"}
    forged_paths = [layouts[p] / "results" / "results.json" for p in sorted(layouts)]
    subs = tmp / "submissions"
    for student, kind in STUDENTS.items():
        if kind == "hostile":
            _hostile(course, subs / student, forged_paths)
        else:
            make_submission(course, ASSIGNMENT, subs / student, kind)
    baseline = grade(course, ASSIGNMENT, subs, sandbox=SANDBOX, progress=False)
    # Built as an instructor would for this machine: without --allow-unsandboxed where the
    # sandbox works (so it is required), with it where it does not (make test without bwrap).
    unsandboxed = {"allow_unsandboxed": not SANDBOX}
    artifacts = {
        "gradescope": build(
            course, ASSIGNMENT, "gradescope", tmp / "out-gradescope", **unsandboxed
        )[0],
        "prairielearn": build(
            course, ASSIGNMENT, "prairielearn", tmp / "out-prairielearn", **unsandboxed
        )[1],
        "github": build(course, ASSIGNMENT, "github", tmp / "out-github")[0],
    }
    return {
        "tmp": tmp,
        "course": course,
        "subs": subs,
        "baseline": baseline,
        "artifacts": artifacts,
        "layouts": layouts,
        "forged": forged_paths,
    }


def _env(**extra: str) -> dict[str, str]:
    """The entry point's environment: never locking this repository's library (the
    separate-user test locks a copy of its own)."""
    env = dict(os.environ)
    env["GRADKIT_AUTOGRADER_LOCK"] = "0"
    env.update(extra)
    return env


# ---------------------------------------------------------------- Gradescope


def _gradescope_layout(world: dict, student: str, root: Path | None = None) -> Path:
    """/autograder as Gradescope lays it out: source/ (the zip), run_autograder, the
    submission, its metadata, an empty results/."""
    root = root or world["layouts"]["gradescope"]
    if root.exists():
        shutil.rmtree(root)
    (root / "source").mkdir(parents=True)
    with zipfile.ZipFile(world["artifacts"]["gradescope"]) as zf:
        zf.extractall(root / "source")
    for name in ("run_autograder", "setup.sh"):
        (root / "source" / name).chmod(0o755)
    shutil.copyfile(root / "source" / "run_autograder", root / "run_autograder")
    shutil.copytree(world["subs"] / student, root / "submission")
    if student == "1002":  # an LMS-mangled name, matched as `gradkit grade` matches it
        (root / "submission" / "linear_regression.ipynb").rename(
            root / "submission" / "linear_regression (1).ipynb"
        )
    meta = {"id": 77, "users": [{"id": int(student), "email": "s@example.edu", "name": "S"}]}
    (root / "submission_metadata.json").write_text(json.dumps(meta))
    (root / "results").mkdir()
    return root


def _run_gradescope(root: Path, **env: str) -> dict:
    subprocess.run(
        ["bash", str(root / "run_autograder")],
        env=_env(**{"GRADKIT_AUTOGRADER_ROOT": str(root), "GRADKIT_PYTHON": sys.executable, **env}),
        check=True,
        capture_output=True,
        timeout=600,
    )
    return json.loads((root / "results" / "results.json").read_text())


@pytest.fixture(scope="module")
def gradescope_results(world):
    out = {}
    for student in STUDENTS:
        out[student] = _run_gradescope(_gradescope_layout(world, student))
    return out


def _schema(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text())


@pytest.mark.parametrize("student", list(STUDENTS))
def test_gradescope_scores_equal_gradkit_grade(world, gradescope_results, student):
    results = gradescope_results[student]
    jsonschema.validate(results, _schema("gradescope_results.schema.json"))
    records = world["baseline"][student]
    assert results["score"] == pytest.approx(round(sum(r.score for r in records.values()), 3))
    by_test = {}
    for test in results["tests"]:
        key = test["name"].removesuffix(" (hidden cases)")
        by_test[key] = by_test.get(key, 0.0) + test["score"]
    for notebook, record in records.items():
        for result in record.tests:
            assert by_test[f"{notebook}: {result.test}"] == pytest.approx(result.score, abs=2e-3)
    assert sum(t["max_score"] for t in results["tests"]) == pytest.approx(19.0)


def test_gradescope_hidden_cases_are_after_published_and_say_no_inputs(gradescope_results):
    tests = gradescope_results["1002"]["tests"]
    hidden = [t for t in tests if t["name"].endswith("(hidden cases)")]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)
    assert all(t["visibility"] == "visible" for t in tests if t not in hidden)
    for t in hidden:
        for line in t["output"].splitlines():
            assert line.split("  ", 1)[1].startswith("hidden case"), line


def test_gradescope_hostile_notebook_cannot_forge_its_result(world, gradescope_results):
    results = gradescope_results["1003"]
    assert results["score"] != FORGED
    assert results["output"] != "forged" and results["tests"]
    lines = results["output"].splitlines()
    regression = next(line for line in lines if line.startswith("linear_regression.ipynb"))
    assert "graded with incidents" in regression
    for incident in ("timeout", "kernel died", "output truncated"):
        assert incident in regression, regression
    classifiers = next(line for line in lines if line.startswith("linear_classifiers.ipynb"))
    assert "not submitted" in classifiers
    missing = [t for t in results["tests"] if t["name"].startswith("linear_classifiers")]
    assert missing and all(t["score"] == 0 and "not submitted" in t["output"] for t in missing)
    # full marks where the notebook's functions are right, as under `gradkit grade`
    assert results["score"] == pytest.approx(5.0)


def test_gradescope_mangled_name_is_graded_with_a_note(gradescope_results):
    output = gradescope_results["1002"]["output"]
    assert "linear_regression (1).ipynb was graded as linear_regression.ipynb" in output


def test_gradescope_zip_layout_and_what_it_holds(world):
    path = world["artifacts"]["gradescope"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the course secret
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        texts = {n: zf.read(n) for n in names}
    assert {"setup.sh", "run_autograder", "requirements.txt"} <= set(names)
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert modes["grader/secret"] == 0o600
    assert not any(n.startswith(("solutions/", "grader/course/solutions")) for n in names)
    assert not any(
        b"### BEGIN SOLUTION" in data for n, data in texts.items() if n.endswith(".ipynb")
    )
    pins = texts["requirements.txt"].decode().split()
    assert pins and all("==" in pin for pin in pins)
    wheel = next(n for n in names if n.endswith(".whl"))
    assert f"--no-deps {wheel}" in texts["setup.sh"].decode()
    db = world["tmp"] / "gradebook-from-zip.db"
    db.write_bytes(texts["grader/course/gradebook.db"])
    with sqlite3.connect(db) as con:
        assert con.execute("select count(*) from student").fetchone() == (0,)
        assert con.execute("select name from assignment").fetchall() == [(ASSIGNMENT,)]


def test_gradescope_student_id_comes_from_the_metadata(tmp_path):
    meta = tmp_path / "submission_metadata.json"
    meta.write_text(json.dumps({"users": [{"id": 52}, {"id": 7}]}))
    assert gradescope.student_of(meta) == ("52+7", "")  # a group: every member's id, sorted
    student, note = gradescope.student_of(tmp_path / "missing.json")
    assert student == "unknown" and "no user id" in note


def test_gradescope_broken_artifact_still_writes_a_result(world, tmp_path):
    root = _gradescope_layout(world, "1002", tmp_path / "autograder")
    (root / "source" / "grader" / "manifest.json").unlink()
    results = _run_gradescope(root)
    jsonschema.validate(results, _schema("gradescope_results.schema.json"))
    assert results["score"] == 0 and "the autograder is broken" in results["output"]


def test_by_default_a_container_that_cannot_sandbox_scores_zero_with_the_reason(world, tmp_path):
    """Unsandboxed grading is the instructor's explicit choice (--allow-unsandboxed), never a
    silent fallback: the default artifact requires the sandbox."""
    default = build(world["course"], ASSIGNMENT, "gradescope", tmp_path / "out")[0]
    with zipfile.ZipFile(default) as zf:
        assert 'GRADKIT_AUTOGRADER_SANDBOX="${GRADKIT_AUTOGRADER_SANDBOX:-require}"' in (
            zf.read("run_autograder").decode()
        )
    root = _gradescope_layout(
        {**world, "artifacts": {"gradescope": default}}, "1002", tmp_path / "ag"
    )
    results = _run_gradescope(root, GRADKIT_BWRAP=str(tmp_path / "no-bwrap"))
    jsonschema.validate(results, _schema("gradescope_results.schema.json"))
    assert results["score"] == 0 and len(results["tests"]) == 8
    assert all("cannot isolate" in t["output"] for t in results["tests"])


def test_allow_unsandboxed_goes_only_with_the_graders_that_sandbox(world, tmp_path):
    from gradkit.course.cli import main

    code = main(
        [
            "--course",
            str(world["course"].root),
            "autograder",
            ASSIGNMENT,
            "--platform",
            "github",
            "--allow-unsandboxed",
            "--out",
            str(tmp_path / "gh"),
        ]
    )
    assert code == 2 and not (tmp_path / "gh").exists()


@needs_sandbox
def test_gradescope_grades_sandboxed_where_the_container_allows(gradescope_results):
    assert "grading: sandboxed" in gradescope_results["1003"]["output"]


def _container(tmp: Path) -> list[str]:
    """A command prefix that runs a command as in a platform container without namespaces
    for bubblewrap: a private mount namespace (made by root, as Docker makes one) where the
    Python installation is reachable by every user, as a container's is, and this
    repository's library is hidden, so the only gradkit is the copy the test installs."""
    blocked = next(
        (p for p in reversed(Path(sys.base_prefix).parents) if not p.stat().st_mode & 0o001),
        None,
    )
    script = ["set -e"]
    if blocked is not None:  # e.g. a Python under /root (0700): put only it in a new /root
        child = Path(sys.base_prefix).relative_to(blocked).parts[0]
        script += [
            f"mkdir -p {tmp}/keep",
            f"mount --bind {blocked / child} {tmp}/keep",
            f"mount -t tmpfs -o mode=0755,size=1m tmpfs {blocked}",
            f"mkdir {blocked / child}",
            f"mount --move {tmp}/keep {blocked / child}",
        ]
    script += [f"mount -t tmpfs -o mode=0755,size=1m tmpfs {REPO / 'lib'}", 'exec "$@"']
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script), "-"]


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("setpriv") is None,
    reason="the separate-user mode is a root grader's (and this test makes a mount namespace)",
)
def test_gradescope_without_namespaces_grades_as_a_separate_user(world):
    """Where bubblewrap cannot run, the default artifact grades each kernel as a user of its
    own: the same scores as `gradkit grade`; the kernel reads neither the secret, the
    reference nor the upload and cannot write the results, because the entry point locked
    them (everything here starts world-readable, as in a container)."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="gradkit-container-"))
    try:
        os.chmod(base, 0o755)
        _grade_as_separate_users(world, base)
    finally:
        shutil.rmtree(base)


def _owned_by(proc: Path, uid: int) -> bool:
    """Whether /proc/<pid> is a live process of ``uid`` (a killed one waiting to be reaped
    by whoever adopted it is not)."""
    from gradkit.course.kernel_users import _zombie

    try:
        return proc.name.isdigit() and proc.stat().st_uid == uid and not _zombie(proc)
    except OSError:
        return False


def _grade_as_separate_users(world: dict, base: Path) -> None:
    lib = base / "site-packages"  # the platform's installed gradkit, locked by the entry point
    shutil.copytree(
        REPO / "lib" / "gradkit", lib / "gradkit", ignore=shutil.ignore_patterns("__pycache__")
    )
    spy_dir = base / "spy"  # where the kernel leaves what it saw
    spy_dir.mkdir(mode=0o777)
    os.chmod(spy_dir, 0o777)
    default = build(world["course"], ASSIGNMENT, "gradescope", base / "out")[0]
    scores = {}
    for student in ("1002", "1003"):
        root = _gradescope_layout(
            {**world, "artifacts": {"gradescope": default}}, student, base / f"ag{student}"
        )
        spy = next((root / "submission").glob("linear_regression*.ipynb"))
        nb = nbformat.read(str(spy), as_version=4)
        targets = {
            "secret": root / "source" / "grader" / "secret",
            "wheel": next((root / "source").glob("*.whl")),
            "reference": lib / "gradkit" / "linear" / "__init__.py",
            "results": root / "results" / "spy",
        }
        probe = (
            "import os, json\n"
            "seen = {'uid': os.getuid()}\n"
            f"for key, path in { ({k: str(v) for k, v in targets.items()})!r}.items():\n"
            "    try:\n"
            "        with open(path, 'wb' if key == 'results' else 'rb') as f:\n"
            "            f.write(b'x') if key == 'results' else f.read(1)\n"
            "        seen[key] = 'reached'\n"
            "    except OSError as exc:\n"
            "        seen[key] = type(exc).__name__\n"
            f"open({str(spy_dir / student)!r}, 'w').write(json.dumps(seen))\n"
            "import subprocess\n"  # a process meant to outlive the kernel
            "subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
        )
        nb.cells.insert(1, new_code_cell(probe))
        nbformat.write(nb, str(spy))
        res = subprocess.run(
            [*_container(base), "bash", str(root / "run_autograder")],
            env=_env(
                GRADKIT_AUTOGRADER_ROOT=str(root),
                GRADKIT_PYTHON=sys.executable,
                GRADKIT_BWRAP=str(base / "no-bwrap"),
                GRADKIT_AUTOGRADER_LOCK="1",
                PYTHONPATH=str(lib),
            ),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert res.returncode == 0, res.stderr[-2000:]
        results = json.loads((root / "results" / "results.json").read_text())
        jsonschema.validate(results, _schema("gradescope_results.schema.json"))
        assert "grading: a separate user" in results["output"], results["output"][-800:]
        seen = json.loads((spy_dir / student).read_text())
        assert seen["uid"] >= 0x50000000, seen
        left = [p.name for p in Path("/proc").iterdir() if _owned_by(p, seen["uid"])]
        assert left == [], f"processes of the kernel's user outlived the grader: {left}"
        assert {k: seen[k] for k in targets} == {k: "PermissionError" for k in targets}, seen
        for locked in (root / "source", root / "results", lib / "gradkit"):
            assert not stat.S_IMODE(locked.stat().st_mode) & 0o077, locked
        scores[student] = results["score"]
    for student, score in scores.items():
        expected = round(sum(r.score for r in world["baseline"][student].values()), 3)
        assert score == pytest.approx(expected), student


def test_gradescope_grader_that_cannot_start_still_leaves_a_result(world, tmp_path):
    root = _gradescope_layout(world, "1002", tmp_path / "autograder")
    results = _run_gradescope(root, GRADKIT_PYTHON=str(tmp_path / "no-python"))
    jsonschema.validate(results, _schema("gradescope_results.schema.json"))
    assert results["score"] == 0 and "the grader could not start" in results["output"]


# ---------------------------------------------------------------- PrairieLearn

#: PrairieLearn runs both students; the partial sample is also graded by `gradkit grade`
#: under PrairieLearn's key (the hostile one's score does not depend on its key).
PL_STUDENTS = ("1002", "1003")


def _prairielearn_layout(world: dict, student: str, root: Path | None = None) -> Path:
    """/grade as PrairieLearn lays it out: serverFilesCourse/<folder>/ (the course files),
    student/ (the uploaded files), data/data.json, an empty results/."""
    root = root or world["layouts"]["prairielearn"]
    if root.exists():
        shutil.rmtree(root)
    files = world["artifacts"]["prairielearn"]
    shutil.copytree(files, root / "serverFilesCourse" / files.name)
    shutil.copytree(world["subs"] / student, root / "student")
    (root / "data").mkdir()
    data = {"params": {}, "correct_answers": {}, "submitted_answers": {}, "gradable": True}
    (root / "data" / "data.json").write_text(json.dumps({**data, "variant_seed": int(student)}))
    (root / "results").mkdir()
    return root


def _run_prairielearn(root: Path, **env: str) -> dict:
    run = next((root / "serverFilesCourse").iterdir()) / "run"
    subprocess.run(
        ["bash", str(run)],
        env=_env(**{"GRADKIT_AUTOGRADER_ROOT": str(root), "GRADKIT_PYTHON": sys.executable, **env}),
        check=True,
        capture_output=True,
        timeout=600,
    )
    return json.loads((root / "results" / "results.json").read_text())


@pytest.fixture(scope="module")
def prairielearn_results(world):
    out = {}
    for student in PL_STUDENTS:
        out[student] = _run_prairielearn(_prairielearn_layout(world, student))
    return out


@pytest.fixture(scope="module")
def prairielearn_baseline(world):
    subs = world["tmp"] / "pl-submissions"
    shutil.copytree(world["subs"] / "1002", subs / "variant-1002")
    return grade(world["course"], ASSIGNMENT, subs, sandbox=SANDBOX, progress=False)


def test_prairielearn_scores_equal_gradkit_grade(prairielearn_results, prairielearn_baseline):
    results = prairielearn_results["1002"]
    jsonschema.validate(results, _schema("prairielearn_results.schema.json"))
    records = prairielearn_baseline["variant-1002"]
    total = round(sum(r.score for r in records.values()), 3)
    assert results["score"] == pytest.approx(total / 19.0, abs=1e-6)
    assert sum(t["points"] for t in results["tests"]) == pytest.approx(total, abs=5e-3)
    assert sum(t["max_points"] for t in results["tests"]) == pytest.approx(19.0)


def test_prairielearn_hostile_notebook_cannot_forge_its_result(prairielearn_results):
    results = prairielearn_results["1003"]
    jsonschema.validate(results, _schema("prairielearn_results.schema.json"))
    assert results["score"] == pytest.approx(5.0 / 19.0, abs=1e-6)
    assert "graded with incidents" in results["message"]
    assert "not submitted" in results["message"]


def test_prairielearn_artifact_keeps_private_files_out_of_the_image(world):
    files = world["artifacts"]["prairielearn"]
    out = files.parent.parent
    dockerfile = (out / "Dockerfile").read_text()
    copied = [line for line in dockerfile.splitlines() if line.startswith(("COPY", "ADD"))]
    assert copied == ["COPY requirements.txt /opt/gradkit-requirements.txt"]
    assert stat.S_IMODE((files / "grader" / "secret").stat().st_mode) == 0o600
    assert (files / "run").stat().st_mode & 0o100
    info = json.loads((out / "questions" / files.name / "info.json").read_text())
    options = info["externalGradingOptions"]
    assert options["entrypoint"] == f"/grade/serverFilesCourse/{files.name}/run"
    assert options["serverFilesCourse"] == [f"{files.name}/"]


def test_prairielearn_key_is_the_variant_seed(tmp_path):
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"variant_seed": 123456}))
    assert prairielearn.student_of(data) == ("variant-123456", "")
    assert prairielearn.student_of(tmp_path / "none.json")[0] == "unknown"


def test_prairielearn_broken_course_files_still_write_a_result(world, tmp_path):
    root = _prairielearn_layout(world, "1002", tmp_path / "grade")
    (next((root / "serverFilesCourse").iterdir()) / "grader" / "manifest.json").unlink()
    results = _run_prairielearn(root)
    jsonschema.validate(results, _schema("prairielearn_results.schema.json"))
    assert results["score"] == 0 and "the autograder is broken" in results["message"]


def _docker_daemon() -> str:
    if shutil.which("docker") is None:
        return "docker is not installed"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    return "" if probe.returncode == 0 else "no Docker daemon answers here (docker info failed)"


@pytest.mark.skipif(bool(_docker_daemon()), reason=f"builds the image: {_docker_daemon()}")
def test_prairielearn_image_builds_and_grades(world, tmp_path):
    out = world["artifacts"]["prairielearn"].parent.parent
    tag = "gradkit-autograder-test"
    subprocess.run(["docker", "build", "-t", tag, str(out)], check=True, timeout=1800)
    root = _prairielearn_layout(world, "1002", tmp_path / "grade")
    folder = next((root / "serverFilesCourse").iterdir()).name
    subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            f"{root}:/grade",
            tag,
            f"/grade/serverFilesCourse/{folder}/run",
        ],
        check=True,
        timeout=1200,
    )
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, _schema("prairielearn_results.schema.json"))
    assert results["score"] > 0


def test_doctor_says_how_a_platform_container_like_this_one_grades(tmp_path, monkeypatch, capsys):
    from gradkit.course.cli import main

    monkeypatch.setenv("GRADKIT_BWRAP", str(tmp_path / "no-bwrap"))
    main(["doctor"])
    out = capsys.readouterr().out
    for platform in ("gradescope", "prairielearn"):
        line = next(x for x in out.splitlines() if x.split()[1:2] == [platform])
        assert line.startswith("NO") and "cannot isolate" in line and "score 0" in line
        assert "--allow-unsandboxed" in line and "no bubblewrap" in line
    monkeypatch.setenv("GRADKIT_AUTOGRADER_SANDBOX", "auto")  # what --allow-unsandboxed bakes in
    main(["doctor"])
    assert "NOT sandboxed" in capsys.readouterr().out


# ---------------------------------------------------------------- GitHub Classroom


def _github_repo(world: dict, tmp_path: Path, student: str | None) -> Path:
    """The student's repository: the template (the kit and the workflow) with the
    student's notebooks in place of the release's."""
    repo = tmp_path / "repo"
    shutil.copytree(world["artifacts"]["github"], repo)
    for path in repo.glob("*.ipynb"):
        path.unlink()
    if student is not None:
        for path in (world["subs"] / student).glob("*.ipynb"):
            shutil.copyfile(path, repo / path.name.replace(".ipynb", " (1).ipynb"))
    return repo


def _run_github(repo: Path) -> tuple[str, dict]:
    output = repo.parent / "github_output"
    res = subprocess.run(
        [sys.executable, "-m", "gradkit.course.autograder.github", "--public-only"],
        cwd=repo,
        env=_env(GITHUB_OUTPUT=str(output)),
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    key, _, value = output.read_text().strip().partition("=")
    assert key == "result"
    return res.stdout, json.loads(base64.b64decode(value))


def test_github_prints_gradkit_checks_verdict_and_reports_its_points(world, tmp_path):
    repo = _github_repo(world, tmp_path, "1002")
    stdout, result = _run_github(repo)
    jsonschema.validate(result, _schema("github_classroom_result.schema.json"))
    assert result["max_score"] == pytest.approx(19.0)
    path = next(repo.glob("linear_regression*.ipynb"))  # one notebook is enough
    check = subprocess.run(
        [sys.executable, "-m", "gradkit", "check", path.name, "--public-only"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert f"== {path.name}\n{check.stdout}" in stdout
    checked = float(check.stdout.splitlines()[-1].split()[1].split("/")[0])
    reported = [t["score"] for t in result["tests"] if t["name"].startswith("linear_regression")]
    assert len(reported) == 3 and sum(reported) == pytest.approx(checked, abs=2e-3)
    assert result["status"] == "fail"  # the planted mistakes cost points


def test_github_missing_notebooks_score_zero_with_the_reason(world, tmp_path):
    _, result = _run_github(_github_repo(world, tmp_path, None))
    jsonschema.validate(result, _schema("github_classroom_result.schema.json"))
    assert len(result["tests"]) == 8 and all(t["score"] == 0 for t in result["tests"])
    assert all("is not in the repository" in t["message"] for t in result["tests"])


def test_github_template_holds_the_kit_and_the_workflow_only(world):
    repo = world["artifacts"]["github"]
    workflow = (repo / github.WORKFLOW).read_text()
    assert "classroom-resources/autograding-grading-reporter@v1" in workflow
    assert 'GRADKIT_RESULTS: "${{ steps.gradkit.outputs.result }}"' in workflow
    assert "runners: gradkit" in workflow
    wheel = next(repo.glob("*.whl"))
    assert "+kit01" in wheel.name and f"./{wheel.name}" in workflow
    assert not (repo / "grader").exists() and not list(repo.rglob("secret"))
    pins = (repo / "requirements.txt").read_text().split()
    assert pins and all("==" in pin for pin in pins)


def test_a_submission_is_copied_without_links_hidden_folders_or_huge_files(tmp_path, monkeypatch):
    from gradkit.course.autograder import run

    monkeypatch.setattr(run, "MAX_NOTEBOOK_BYTES", 100)
    source = tmp_path / "submission"
    (source / "sub" / ".ipynb_checkpoints").mkdir(parents=True)
    (source / "a.ipynb").write_text("{}")
    (source / "sub" / "a.ipynb").write_text("{}")  # a second a.ipynb: the first one wins
    (source / "sub" / ".ipynb_checkpoints" / "b.ipynb").write_text("{}")
    (source / "big.ipynb").write_text("x" * 101)
    (source / "link.ipynb").symlink_to(tmp_path / "elsewhere.ipynb")
    notes = run._copy_notebooks(source, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.ipynb"]
    text = "\n".join(notes)
    assert "big.ipynb holds 101 bytes" in text and "link.ipynb is not a regular file" in text
    assert "sub/a.ipynb: a notebook of that name came first" in text


def test_generated_scripts_and_workflow_parse(world, tmp_path):
    import yaml

    with zipfile.ZipFile(world["artifacts"]["gradescope"]) as zf:
        zf.extract("setup.sh", tmp_path)
        zf.extract("run_autograder", tmp_path)
    scripts = [tmp_path / "setup.sh", tmp_path / "run_autograder"]
    scripts.append(world["artifacts"]["prairielearn"] / "run")
    for script in scripts:
        subprocess.run(["bash", "-n", str(script)], check=True)
    workflow = yaml.safe_load((world["artifacts"]["github"] / github.WORKFLOW).read_text())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    assert [s.get("id") for s in steps if s.get("id")] == ["gradkit"]
    assert steps[-1]["with"]["runners"] == "gradkit"


def test_a_private_path_is_open_until_locked_and_a_link_is_refused(monkeypatch):
    import tempfile

    from gradkit.course.autograder import isolation

    if os.geteuid() != 0:
        pytest.skip("private paths are root's in a platform's container")
    base = Path(tempfile.mkdtemp(prefix="gradkit-private-"))  # in /tmp, open as a container's
    try:
        os.chmod(base, 0o755)
        assert all(p.stat().st_mode & 0o001 for p in base.parents)
        (base / "secret").write_text("s")
        os.chmod(base / "secret", 0o644)
        package = base / "gradkit"
        package.mkdir(mode=0o700)
        monkeypatch.setattr(isolation, "_package", lambda: package)
        with pytest.raises(isolation.SandboxRequired, match="open to other users"):
            isolation.check_private([base / "secret"])
        isolation.lock_down([base / "secret"])
        assert stat.S_IMODE((base / "secret").stat().st_mode) == 0o600
        isolation.check_private([base / "secret", base / "missing"])
        os.chmod(package, 0o755)
        with pytest.raises(isolation.SandboxRequired, match="gradkit"):
            isolation.check_private([base / "secret"])
        (base / "link").symlink_to(base / "secret")
        with pytest.raises(isolation.SandboxRequired, match="symbolic link"):
            isolation.lock_down([base / "link"])
    finally:
        shutil.rmtree(base)
