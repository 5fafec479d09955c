"""A student kit installed into a fresh virtual environment: its `gradkit check` grades the
solutions at full marks, the untouched release at 0, and a catalogued mistake with its
diagnosis, with no reference implementation installed.

The environment has the kit's wheel and nothing else of gradkit (tests/kit_env.py); the
kit's own import path is checked: every module of gradkit it runs comes from the wheel.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from gradkit.course.directory import Course
from gradkit.course.kit import build_kit
from kit_env import env_of
from kit_env import kit_env as make_kit_env

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_linear_models"
NOTEBOOK = "linear_regression.ipynb"
pytestmark = [pytest.mark.slow, pytest.mark.a01]


@pytest.fixture(scope="module")
def kit_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("kit-env")
    report = build_kit(Course(ROOT), ASSIGNMENT, base / "kit")
    assert report.wheel is not None
    return base / "kit", make_kit_env(report.wheel, base / "venv")


def _check(venv: Path, notebook: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / "gradkit"), "check", str(notebook)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env_of(venv),
        timeout=900,
    )


def _python(venv: Path, code: str) -> str:
    """What ``code`` prints, run by the kit environment's Python."""
    run = [str(venv / "bin" / "python"), "-c", code]
    return subprocess.run(run, capture_output=True, text=True, check=True).stdout


def test_the_kit_environment_holds_only_the_kit(kit_env):
    _, venv = kit_env
    probe = (
        "import gradkit, inspect, gradkit.linear as L, gradkit.grading.replay as r;"
        "print(gradkit.__file__); print(r.installed_kit().assignment);"
        "print(inspect.getsource(L.svm_loss_vectorized))"
    )
    out = _python(venv, probe)
    assert out.startswith(str(venv)), out
    assert "01_linear_models" in out
    assert "yours" in out and "np.maximum" not in out and "margins" not in out


def test_check_in_a_kit_only_environment(kit_env, tmp_path):
    kit, venv = kit_env
    # The solutions: full marks.
    solved = _check(venv, ROOT / "solutions" / ASSIGNMENT / NOTEBOOK, tmp_path)
    assert solved.returncode == 0, solved.stdout + solved.stderr
    total = re.search(r"total ([\d.]+)/([\d.]+)", solved.stdout)
    assert total and total.group(1) == total.group(2), solved.stdout
    assert "practice case" in solved.stdout
    # The release as students receive it: 0, and the check says what is not written.
    untouched = _check(venv, kit / NOTEBOOK, tmp_path)
    assert untouched.returncode == 1, untouched.stdout + untouched.stderr
    assert re.search(r"total 0/", untouched.stdout), untouched.stdout
    assert "not implemented yet" in untouched.stdout
    # A catalogued mistake: ridge that penalizes the bias weight.
    nb = json.loads((ROOT / "solutions" / ASSIGNMENT / NOTEBOOK).read_text())
    line = "        penalty[-1] = 0.0                       # the bias weight is not shrunk\n"
    changed = 0
    for cell in nb["cells"]:
        if line in cell["source"]:
            cell["source"] = [s if s != line else "        pass\n" for s in cell["source"]]
            changed += 1
    assert changed == 1, "the solution's ridge changed: update this test's mistake"
    wrong = tmp_path / "mistake" / NOTEBOOK
    wrong.parent.mkdir()
    wrong.write_text(json.dumps(nb))
    res = _check(venv, wrong, tmp_path)
    assert "with bias_last=True your solution still penalizes the bias weight" in res.stdout
    total = re.search(r"total ([\d.]+)/([\d.]+)", res.stdout)
    assert total and 0 < float(total.group(1)) < float(total.group(2)), res.stdout


def test_instructor_commands_refuse_in_a_kit(kit_env, tmp_path):
    _, venv = kit_env
    res = subprocess.run(
        [str(venv / "bin" / "gradkit"), "grade", "01_linear_models", "--submissions", "subs"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "student kit of 01_linear_models" in res.stderr


def test_the_wheel_is_pure_python(kit_env):
    kit, _ = kit_env
    (wheel,) = kit.glob("*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    assert not [n for n in names if n.endswith((".so", ".pyd", ".dll"))]
    assert any(n.endswith("jupyter_server_config.d/gradkit.json") for n in names)


def test_a_notebook_of_another_assignment_is_refused_in_one_line(kit_env, tmp_path):
    _, venv = kit_env
    res = _check(venv, ROOT / "assignments" / "02_backprop" / "neural_nets.ipynb", tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stdout + res.stderr
    assert "student kit of 01_linear_models: it does not grade two_layer_net_loss" in res.stderr


def test_a_hidden_token_in_a_kit_is_one_clear_error(kit_env):
    _, venv = kit_env
    probe = (
        "from gradkit.grading import grade\n"
        "try:\n"
        "    grade('least_squares', points=2, hidden='instructor', namespace={})\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
    )
    out = _python(venv, probe)
    assert "student kit of 01_linear_models has no hidden cases" in out, out
