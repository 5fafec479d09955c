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

Unsandboxed grading is the instructor's choice, never a silent fallback: an artifact
built by ``gradkit autograder`` grades with ``GRADKIT_AUTOGRADER_SANDBOX=require`` (a
container that cannot sandbox gives every test 0 and says why), unless it was built with
``--allow-unsandboxed``, which bakes ``auto`` into its entry point (sandbox when the
container allows, else grade unsandboxed and say so in the results). ``off`` never tries
the sandbox. Without the variable, ``require`` holds.
"""

from __future__ import annotations

import os

__all__ = ["ENV", "choose", "describe", "sandbox_policy"]

#: require (default), auto or off.
ENV = "GRADKIT_AUTOGRADER_SANDBOX"
POLICIES = ("require", "auto", "off")
SANDBOXED = "sandboxed (bubblewrap works in this container)"
UNSANDBOXED = "NOT sandboxed: student code runs as the grader's user in this container"


def sandbox_policy(allow_unsandboxed: bool) -> dict[str, str]:
    """The policy an entry point bakes in, and the comment that says so (template fields)."""
    if allow_unsandboxed:
        note = "built with --allow-unsandboxed: sandbox when possible, else grade NOT sandboxed"
        return {"policy": "auto", "policy_note": note}
    note = "a container that cannot sandbox scores 0 with the reason (--allow-unsandboxed: auto)"
    return {"policy": "require", "policy_note": note}


class SandboxRequired(RuntimeError):
    """The artifact requires the sandbox and this container cannot run it."""


def _policy() -> str:
    policy = os.environ.get(ENV, "require").strip().lower() or "require"
    if policy not in POLICIES:
        raise ValueError(f"{ENV} must be require, auto or off; got {policy!r}")
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
        if isinstance(exc, SandboxRequired):
            line += (
                "; every submission would score 0 (an artifact built with "
                "--allow-unsandboxed would grade it NOT sandboxed instead)"
            )
    rows = [(platform, sandbox, line) for platform in ("gradescope", "prairielearn")]
    github = (
        "runs in the student's own repository: the kit's self-check only (no secret, no "
        "reference, no hidden cases); its points are the student's to change"
    )
    return [*rows, ("github", False, github)]
