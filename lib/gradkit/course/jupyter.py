"""The course inside JupyterLab: a Jupyter server extension that makes nbgrader's buttons gradkit's.

Installed with the ``course`` extra and enabled by the configuration file it
ships (``etc/jupyter/jupyter_server_config.d/gradkit.json``):

* **Validate** (nbgrader's toolbar button) answers with gradkit's self-check:
  the notebook, already saved by the button, is run on a copy with the
  grader's checks (:func:`gradkit.course.selfcheck.check_notebook`); each test
  that is not at full marks is listed with its points and the failing checks
  with their diagnosis — never a traceback or a path of the grader's machine.
  The reply keeps the JSON shape nbgrader's JavaScript expects, so no
  JavaScript is built or shipped.
* **Formgrader** stays the place for manual grading (the gradebook is the one
  ``gradkit grade`` writes), but its Generate, Autograde and Feedback buttons
  would bypass gradkit (no release checks, no hidden cases, no sandbox): they
  refuse, with a one-line message naming the ``gradkit`` command to run.

nbgrader's handler classes are patched when this extension loads, so the
order in which Jupyter loads server extensions does not matter.
"""

from __future__ import annotations

import html
import json
import textwrap
from pathlib import Path
from typing import Any

__all__ = ["validate", "REFUSALS", "extension_enabled", "_jupyter_server_extension_points"]

#: nbgrader's dialog shows each failure in a block that does not wrap lines.
DIALOG_COLUMNS = 96

#: Formgrader API handler -> what to run instead.
REFUSALS = {
    "AssignHandler": "gradkit release {assignment}",
    "AutogradeHandler": "gradkit grade {assignment} --submissions DIR",
    "GenerateAllFeedbackHandler": "gradkit feedback {assignment}",
    "GenerateFeedbackHandler": "gradkit feedback {assignment}",
}


def validate(path: Path) -> dict[str, Any]:
    """nbgrader's Validate reply for ``path``, computed by gradkit's self-check."""
    from .directory import UserError
    from .selfcheck import check_notebook

    try:
        results = check_notebook(Path(path))
    except UserError as exc:
        return {"success": False, "value": str(exc)}
    failed = []
    for result in results:
        if result.score >= result.points:
            continue
        lines = [ln for ln in result.lines()[:-1] if not ln.startswith("PASS")]
        wrapped = [
            "\n".join(textwrap.wrap(ln, DIALOG_COLUMNS, subsequent_indent=" " * 6) or [""])
            for ln in [*lines, result.summary()]
        ]
        failed.append(
            {
                "source": f"{result.test}: {result.score:g} / {result.points:g} points",
                "error": html.escape("\n".join(wrapped)),
            }
        )
    total = sum(r.score for r in results)
    possible = sum(r.points for r in results)
    value: dict[str, Any] = {"failed": failed} if failed else {}
    value["gradkit"] = {"score": total, "points": possible}
    return {"success": True, "value": value}


def _validate_notebook(handler: Any, path: str) -> dict[str, Any]:
    from tornado import web

    root = Path(handler.root_dir).resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root):
        raise web.HTTPError(403, "Access denied: path outside allowed directory")
    return validate(target)


def _refusing(command: str):
    def post(self: Any, assignment_id: str, *args: str) -> None:
        run = command.format(assignment=assignment_id)
        why = (
            f"Run `{run}` in the course directory instead. This course is graded with "
            "gradkit, and formgrader's button would bypass gradkit's release checks, "
            "hidden cases and sandbox."
        )
        # formgrader shows both in blocks that do not wrap: the error short, the log wrapped.
        self.write(
            json.dumps(
                {
                    "success": False,
                    "error": f"refused: run `{run}` instead",
                    "log": "\n".join(textwrap.wrap(why, 60)),
                }
            )
        )

    return post


def patch_nbgrader() -> None:
    """Route nbgrader's Validate to gradkit and make formgrader's grading buttons refuse."""
    from nbgrader.server_extensions.formgrader import apihandlers
    from nbgrader.server_extensions.validate_assignment import handlers

    handlers.ValidateAssignmentHandler.validate_notebook = _validate_notebook
    for name, command in REFUSALS.items():
        getattr(apihandlers, name).post = _refusing(command)


def extension_enabled() -> tuple[bool, str]:
    """Whether Jupyter loads this extension (so Validate runs gradkit's check), and where
    that is configured or how to turn it on."""
    try:
        from jupyter_core.paths import jupyter_config_path
    except ImportError:  # pragma: no cover - the course extra installs it
        return False, "Jupyter is not installed (pip install 'gradkit[course]')"
    for folder in jupyter_config_path():
        base = Path(folder)
        files = [
            base / "jupyter_server_config.json",
            *sorted(base.glob("jupyter_server_config.d/*.json")),
        ]
        for path in files:
            try:
                config = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            found = config.get("ServerApp", {}).get("jpserver_extensions", {})
            if found.get("gradkit.course.jupyter") is True:
                return True, f"enabled in {path}"
    return False, (
        "not enabled, so Validate gives plain nbgrader's answer: run "
        "`jupyter server extension enable gradkit.course.jupyter --sys-prefix`"
    )


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "gradkit.course.jupyter"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    patch_nbgrader()
    serverapp.log.info(
        "gradkit: Validate runs gradkit's checks; formgrader grading goes through gradkit"
    )
