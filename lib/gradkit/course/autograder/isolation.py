"""How a platform's grader keeps the student's kernel away from itself, decided where it runs.

Gradescope and PrairieLearn run one container per submission, the grader as root in it.
The entry point probes the container once (:func:`gradkit.course.sandbox.probe`):

* **sandboxed** when bubblewrap can make its namespaces there: the kernel runs exactly as
  under ``gradkit grade`` (its own user id, no network, read-only view without the
  course, the secret or the results folder, the kit library in place of gradkit's,
  limits), so everything ``docs/grading.md`` lists for the sandbox holds;
* **unsandboxed** otherwise (Docker's default seccomp profile forbids the namespaces):
  the kernel runs as the grader's user in the container. The verdict is still computed
  in the grader's process, test cells are never run, hidden cases run after the last
  cell, the results file is written by the grader once every kernel is gone; but the
  student's code could read the container's files (the secret included) and rewrite
  anything before the grader finishes. The results say which mode graded them.

``GRADKIT_AUTOGRADER_SANDBOX=require`` makes an unsandboxed container an error (every test
at 0, the reason in the results) instead; ``off`` never tries the sandbox.
"""

from __future__ import annotations

import os

__all__ = ["ENV", "choose", "describe"]

#: auto (default), require or off.
ENV = "GRADKIT_AUTOGRADER_SANDBOX"
SANDBOXED = "sandboxed (bubblewrap works in this container)"
UNSANDBOXED = "NOT sandboxed: student code runs as the grader's user in this container"


class SandboxRequired(RuntimeError):
    """The artifact requires the sandbox and this container cannot run it."""


def _policy() -> str:
    policy = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if policy not in ("auto", "require", "off"):
        raise ValueError(f"{ENV} must be auto, require or off; got {policy!r}")
    return policy


def choose() -> tuple[bool, str]:
    """(sandbox, one line saying how this submission is graded)."""
    from ..sandbox import probe

    policy = _policy()
    if policy == "off":
        return False, f"{UNSANDBOXED} ({ENV}=off)"
    ok, why = probe()
    if ok:
        return True, SANDBOXED
    if policy == "require":
        raise SandboxRequired(f"{ENV}=require but this container cannot sandbox: {why}")
    return False, f"{UNSANDBOXED} ({why})"


def describe() -> list[tuple[str, bool, str]]:
    """(platform, sandboxed, what a submission graded here would get), for `gradkit doctor`."""
    try:
        sandbox, line = choose()
    except (SandboxRequired, ValueError) as exc:
        sandbox, line = False, str(exc)
    rows = [(platform, sandbox, line) for platform in ("gradescope", "prairielearn")]
    github = (
        "runs in the student's own repository: the kit's self-check only (no secret, no "
        "reference, no hidden cases); its points are the student's to change"
    )
    return [*rows, ("github", False, github)]
