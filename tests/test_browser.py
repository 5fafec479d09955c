"""The course inside JupyterLab, driven in a real browser (Chromium through Playwright).

JupyterLab runs on 127.0.0.1 from this environment, with gradkit's server
extension enabled, over a tiny graded course. The tests click nbgrader's
Validate button, run a test cell, hand-grade a written answer in formgrader
and press formgrader's grading buttons. Screenshots of every step go to the
test's output folder (``GRADKIT_SCREENSHOTS`` to keep them elsewhere).

They need Chromium (Debian's ``chromium`` package) and the ``playwright``
Python package; they never download a browser. Without them they are
skipped, except under CI (`.ci/run` installs Chromium and sets
GRADKIT_REQUIRE_BROWSER=1), where their absence fails them.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from course_helpers import ASSIGNMENT, NOTEBOOK, SANDBOX, SECOND, WRITTEN_ID, make_course
from gradkit.course.demo import make_submission
from gradkit.course.directory import Course
from gradkit.course.grade import grade
from gradkit.course.release import release

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        (CHROMIUM is None or sync_playwright is None)
        and not os.environ.get("GRADKIT_REQUIRE_BROWSER"),
        reason="needs Chromium (apt-get install chromium) and playwright",
    ),
]
TOKEN = "gradkit-browser-test"
WRONG = "def least_squares(X, y):\n    return X @ np.linalg.solve(X.T @ X, X.T @ y)\n"
UNSAVED = "def eval_numerical_gradient(f, x, h=1e-5):\n    return np.zeros(x.shape)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A graded tiny course, a student's notebook with a planted mistake, JupyterLab on it."""
    if CHROMIUM is None or sync_playwright is None:
        pytest.fail("GRADKIT_REQUIRE_BROWSER is set but Chromium or playwright is missing")
    root = make_course(tmp_path_factory.mktemp("lab") / "course", second=True, written=True)
    course = Course(root)
    release(course, ASSIGNMENT, log=lambda m: None)
    subs = root.parent / "subs"
    make_submission(course, ASSIGNMENT, subs / "ada", "full")
    grade(course, ASSIGNMENT, subs, progress=False, sandbox=SANDBOX, timeout=10)
    student = root / "student"
    student.mkdir()
    nb = nbformat.read(str(subs / "ada" / f"{NOTEBOOK}.ipynb"), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "least_squares":
            cell.source = WRONG
    nbformat.write(nb, str(student / f"{NOTEBOOK}.ipynb"))
    port = _free_port()
    home = root.parent / "home"
    home.mkdir()
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # No "get news?" notification over the screenshots.
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    log = open(root.parent / "jupyter.log", "w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            *(["--allow-root"] if os.geteuid() == 0 else []),
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and server.poll() is None:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail(
            f"JupyterLab did not start: {(root.parent / 'jupyter.log').read_text()[-2000:]}"
        )
    shots = Path(os.environ.get("GRADKIT_SCREENSHOTS", root.parent / "screenshots"))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield {"base": base, "page": page, "course": course, "shots": shots, "root": root}
        browser.close()
    server.terminate()
    server.wait(timeout=30)
    log.close()


def _open_notebook(lab, path: str):
    page = lab["page"]
    page.goto(f"{lab['base']}/lab/tree/{path}?token={TOKEN}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('.jp-Notebook-ExecutionIndicator, .jp-KernelStatus')"
        " !== null",
        timeout=60_000,
    )
    # The kernel ready and idle: a run-all sent while it still starts can run the first
    # cell only (seen in CI and here, about one run in two).
    page.wait_for_function(
        """() => {
            const widget = window.jupyterapp.shell.currentWidget;
            const context = widget && widget.sessionContext;
            const kernel = context && context.session && context.session.kernel;
            return Boolean(context && context.isReady && kernel && kernel.status === 'idle'
                && kernel.connectionStatus === 'connected');
        }""",
        timeout=120_000,
    )
    return page


def test_validate_saves_first_and_shows_gradkit_verdict_without_a_traceback(lab):
    path = lab["root"] / "student" / f"{NOTEBOOK}.ipynb"
    page = _open_notebook(lab, f"student/{NOTEBOOK}.ipynb")
    # An edit the student has not saved: Validate must save it first and judge it.
    edited = page.evaluate(
        """(source) => {
            for (const cell of window.jupyterapp.shell.currentWidget.content.widgets) {
                const meta = cell.model.getMetadata('nbgrader');
                if (meta && meta.grade_id === 'eval_numerical_gradient') {
                    cell.model.sharedModel.setSource(source);
                    return true;
                }
            }
            return false;
        }""",
        UNSAVED,
    )
    assert edited
    page.locator(".validate-button").first.click()
    dialog = page.locator(".jp-Dialog").filter(has_text="Validation Results")
    dialog.wait_for(timeout=120_000)
    page.screenshot(path=str(lab["shots"] / "1-validate.png"))
    text = " ".join(dialog.inner_text().split())  # the dialog's lines are wrapped
    assert "least_squares: 0 / 2 points" in text
    assert "returns the predictions" in text  # the diagnosis of the planted mistake
    assert "eval_numerical_gradient: 0 / 2 points" in text  # the unsaved edit was judged
    assert "Traceback" not in text and str(lab["root"]) not in text
    dialog.get_by_role("button", name="Ok").click()
    saved = nbformat.read(str(path), as_version=4)
    assert any(c.source == UNSAVED for c in saved.cells)  # saved, as nbgrader does
    assert not any(c.get("outputs") for c in saved.cells)  # validation ran on a copy


def test_a_test_cell_renders_a_verdict_table(lab):
    page = _open_notebook(lab, f"student/{NOTEBOOK}.ipynb")
    # Start the run without awaiting its promise, which need not settle (a CI run hung here
    # for 16 minutes): the wait below is the bound.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    table = page.locator("table.gradkit-result").first
    table.wait_for(timeout=120_000)
    table.scroll_into_view_if_needed()
    page.screenshot(path=str(lab["shots"] / "2-test-cell.png"))
    assert "✗" in table.inner_text() and "0 / 2 points" in table.inner_text()
    # The failing test cell ends with one line, not a traceback through gradkit's frames.
    outputs = " ".join(page.locator(".jp-OutputArea-output").all_inner_texts())
    assert "GradingFailure: least_squares: no check passed" in outputs
    assert "Traceback" not in outputs and "gradkit/grading" not in outputs


def test_formgrader_hand_grade_reaches_the_export_and_the_feedback(lab):
    from nbgrader.api import Gradebook

    course = lab["course"]
    with Gradebook(f"sqlite:///{course.db_path}") as gb:
        submission_id = gb.find_submission_notebook(SECOND, ASSIGNMENT, "ada").id
    page = lab["page"]
    page.goto(f"{lab['base']}/formgrader/submissions/{submission_id}?token={TOKEN}")
    score = page.locator(f"input.score#{WRITTEN_ID}")
    score.wait_for(timeout=60_000)
    score.fill("1")
    score.press("Tab")
    page.wait_for_timeout(2000)  # the form saves on change
    page.screenshot(path=str(lab["shots"] / "3-formgrader.png"), full_page=True)
    out = course.root / "export.csv"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gradkit",
            "--course",
            str(course.root),
            "export",
            ASSIGNMENT,
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert float(rows["ada"][SECOND]) == 3.0  # 2 autograded + 1 graded by hand
    subprocess.run(
        [sys.executable, "-m", "gradkit", "--course", str(course.root), "feedback", ASSIGNMENT],
        check=True,
        capture_output=True,
    )
    page_html = (course.root / "feedback" / "ada" / ASSIGNMENT / f"{SECOND}.html").read_text()
    assert f"{WRITTEN_ID} — 1 / 1 points" in page_html


@pytest.mark.parametrize(
    "path, command",
    [
        (f"assignment/{ASSIGNMENT}/assign", "gradkit release"),
        (f"submission/{ASSIGNMENT}/ada/autograde", "gradkit grade"),
        (f"assignment/{ASSIGNMENT}/generate_feedback", "gradkit feedback"),
    ],
)
def test_formgrader_grading_buttons_refuse_and_name_the_gradkit_command(lab, path, command):
    req = urllib.request.Request(
        f"{lab['base']}/formgrader/api/{path}",
        method="POST",
        data=b"",
        headers={"Authorization": f"token {TOKEN}"},
    )
    reply = json.loads(urllib.request.urlopen(req, timeout=30).read())
    assert reply["success"] is False and command in reply["error"]
    assert len(reply["error"].splitlines()) == 1


def test_formgrader_generate_button_shows_the_refusal(lab):
    page = lab["page"]
    page.goto(f"{lab['base']}/formgrader/manage_assignments?token={TOKEN}")
    button = page.locator("td.assign a").first  # formgrader's "Generate" icon
    button.wait_for(timeout=60_000)
    button.click()
    message = page.locator("#error-modal").filter(has_text="gradkit release")
    message.first.wait_for(timeout=60_000)
    page.wait_for_timeout(500)  # the modal fades in
    page.screenshot(path=str(lab["shots"] / "4-formgrader-generate.png"))
