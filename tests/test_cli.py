"""The gradkit command line: help, the training demo, one-line errors."""

import subprocess
import sys


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
