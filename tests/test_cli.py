"""The gradkit command line: help, the training demo, one-line errors."""

import subprocess
import sys

import pytest


def _run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "gradkit", *args], capture_output=True, text=True, cwd=cwd
    )


def test_help_lists_every_command():
    res = _run("--help")
    assert res.returncode == 0
    for cmd in (
        "release",
        "secret",
        "grade",
        "feedback",
        "export",
        "check",
        "train",
        "demo",
        "data",
    ):
        assert cmd in res.stdout


def test_train_quick_writes_the_plot(tmp_path):
    res = _run("train", "--quick", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "val" in res.stdout and (tmp_path / "digits_training.png").stat().st_size > 1000


def test_outside_a_course_is_one_line(tmp_path):
    res = _run("release", cwd=tmp_path)
    assert res.returncode == 2
    assert (
        res.stderr.strip().startswith("gradkit: error: no course found")
        and "Traceback" not in res.stderr
    )


def test_an_instructors_source_notebook_is_checked_like_a_students(tmp_path):
    """`gradkit check solutions/...` marks the one-line tests as the release would and
    grades the solutions: full marks, as nbgrader's validate does for a source notebook."""
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "solutions" / "01_linear_models"
    res = _run("check", str(source / "linear_regression.ipynb"), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "total 5/5" in res.stdout and "least_squares" in res.stdout


def test_doctor_says_whether_validate_runs_gradkits_check(tmp_path, monkeypatch):
    import json

    from gradkit.course import jupyter

    monkeypatch.setattr("jupyter_core.paths.jupyter_config_path", lambda: [str(tmp_path)])
    enabled, where = jupyter.extension_enabled()
    assert not enabled and "jupyter server extension enable gradkit.course.jupyter" in where
    folder = tmp_path / "jupyter_server_config.d"
    folder.mkdir()
    config = {"ServerApp": {"jpserver_extensions": {"gradkit.course.jupyter": True}}}
    (folder / "gradkit.json").write_text(json.dumps(config))
    enabled, where = jupyter.extension_enabled()
    assert enabled and "gradkit.json" in where


def test_a_checks_ready_kernel_starts_with_the_graders_kernel_arguments():
    from gradkit.course.execute import KERNEL_ARGS
    from gradkit.course.readykernel import KERNEL_ARGS as READY_ARGS

    assert READY_ARGS == KERNEL_ARGS


def test_the_deferred_iri_grammar_still_checks_iris():
    """`gradkit check` defers rfc3987_syntax's import (0.7 s): jsonschema's iri format must
    work as before, and the real module load only when used. In a fresh interpreter, as
    this one has imported jsonschema already."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from gradkit.course.lazyimports import defer_iri_grammar\n"
        "defer_iri_grammar()\n"
        "import nbformat\n"
        "from jsonschema import FormatChecker\n"
        "before = 'lark' in sys.modules\n"
        "checker = FormatChecker()\n"
        "print(before, checker.conforms('http://example.org/a', 'iri'),"
        " checker.conforms('http://exa mple.org/', 'iri'), 'lark' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "False", "True"]


@pytest.mark.slow
@pytest.mark.a01
def test_speed_checks_time_the_reference_in_the_kernel_started_ahead_for_it():
    """A Validate worker starts the reference's kernel before the notebook is known: the
    speed checks use it (full marks for the solution), and the check stops it."""
    from pathlib import Path

    from gradkit.course.readykernel import REFERENCE_MODULES, ReadyKernel
    from gradkit.course.selfcheck import check_notebook

    notebook = Path(__file__).resolve().parents[1] / "solutions/01_linear_models"
    reference = ReadyKernel(REFERENCE_MODULES).start()
    pid = reference.km.provisioner.process.pid
    results = check_notebook(notebook / "linear_classifiers.ipynb", reference=reference)
    timed = [c for r in results for c in r.checks if c.name.startswith("fast enough")]
    assert timed and all(c.passed for c in timed)
    assert sum(r.score for r in results) == sum(r.points for r in results)
    assert reference.km is None and not Path(f"/proc/{pid}").exists()
