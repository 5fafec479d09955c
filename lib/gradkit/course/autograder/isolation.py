"""How a platform's grader keeps the student's kernel away from itself, decided where it runs.

Gradescope and PrairieLearn run one container per submission, the grader as root in it.
The entry point probes the container once and grades in the first mode it allows:

* **sandboxed** when bubblewrap can make its namespaces there: the kernel runs exactly as
  under ``gradkit grade`` (its own user id, no network, read-only view without the
  course, the secret or the results folder, the kit library in place of gradkit's,
  limits), so everything ``docs/grading.md`` lists for the sandbox holds;
* **separate user** when it cannot (Docker's default seccomp profile forbids the
  namespaces) but the grader is root: the kernel runs as a user id of its own
  (``setpriv``: no groups, no new privileges), with the sandbox's resource limits, a
  cleared environment, the kit library first on its path, and a working folder of its
  own. What keeps the secret, the reference and the results from it are file
  permissions, so before grading the entry point locks the platform's copy of them
  (:func:`lock_down`: the artifact's folder, gradkit's installed package and the
  results folder lose every permission for other users) and checks that nothing it
  locked is within that user's reach; if anything is, this mode is refused. Unlike the
  sandbox it does not cut the network, hide the container's other files (the Python
  installation, the submission), or cap the kernel's disk beyond 64 MiB per file;
* **NOT sandboxed** (only with ``--allow-unsandboxed``): the kernel runs as the grader's
  user. The verdict is still computed in the grader's process, test cells are never
  run, hidden cases run after the last cell, the results file is written once every
  kernel is gone; but the student's code could read the container's files (the secret
  included) and rewrite anything before the grader finishes.

The policy, ``GRADKIT_AUTOGRADER_SANDBOX``, is baked into each entry point by
``gradkit autograder``: ``require`` (the default) takes the sandbox or a separate user
and otherwise gives every test 0 with the reason; ``sandbox`` takes only the sandbox;
``auto`` (``--allow-unsandboxed``) falls back to grading NOT sandboxed and says so in the
results; ``off`` never isolates. The results say which mode graded them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ENV", "Isolation", "check_private", "choose", "describe", "lock_down"]

#: require (default), sandbox, auto or off.
ENV = "GRADKIT_AUTOGRADER_SANDBOX"
POLICIES = ("require", "sandbox", "auto", "off")
#: Set by the generated entry points: in the separate-user mode, take every permission of
#: other users from the private paths (the platform's own copies, in a throwaway
#: container). Without it the mode only checks that they are locked already.
LOCK_ENV = "GRADKIT_AUTOGRADER_LOCK"
SANDBOXED = "sandboxed (bubblewrap works in this container)"
SEPARATE = (
    "a separate user (no namespaces in this container): the kernel runs as a user id of "
    "its own with limits; the secret, the reference and the results are locked from it; "
    "the network is not cut"
)
UNSANDBOXED = "NOT sandboxed: student code runs as the grader's user in this container"


@dataclass(frozen=True)
class Isolation:
    """How this container grades: ``kind`` is sandbox, user or none; ``line`` says it."""

    kind: str
    line: str

    @property
    def sandbox(self) -> bool:
        return self.kind == "sandbox"

    @property
    def separate_user(self) -> bool:
        return self.kind == "user"


def sandbox_policy(allow_unsandboxed: bool) -> dict[str, str]:
    """The policy an entry point bakes in, and the comment that says so (template fields)."""
    if allow_unsandboxed:
        note = "built with --allow-unsandboxed: isolate when possible, else grade NOT sandboxed"
        return {"policy": "auto", "policy_note": note}
    note = (
        "sandbox, else a separate user (root); a container allowing neither scores 0 with "
        "the reason (--allow-unsandboxed: auto)"
    )
    return {"policy": "require", "policy_note": note}


class SandboxRequired(RuntimeError):
    """The artifact requires isolation and this container cannot give it."""


def _policy() -> str:
    policy = os.environ.get(ENV, "require").strip().lower() or "require"
    if policy not in POLICIES:
        raise ValueError(f"{ENV} must be one of {', '.join(POLICIES)}; got {policy!r}")
    return policy


def _package() -> Path:
    import gradkit

    return Path(gradkit.__file__).resolve().parent


def lock_down(paths: list[Path]) -> None:
    """Take every permission of group and others from each existing path (not its
    contents: a folder others cannot pass through hides everything below it)."""
    for path in paths:
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(info.st_mode):
            raise SandboxRequired(f"{path} is a symbolic link; it cannot be locked")
        os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700, follow_symlinks=False)


def _open_to_others(path: Path) -> str:
    """Why a user with no groups could reach ``path`` (read it, or write the folder), or ""."""
    path = Path(os.path.abspath(path))
    if not os.path.lexists(path):
        return ""
    for folder in reversed([path, *path.parents]):
        info = os.stat(folder)
        if info.st_uid != 0:
            return f"{folder} belongs to user {info.st_uid}, not to root"
        if folder != path and not info.st_mode & stat.S_IXOTH:
            return ""  # a folder above it other users cannot pass through
    info = os.stat(path)
    if info.st_mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IXOTH):
        return f"{path} is open to other users (mode {stat.S_IMODE(info.st_mode):o})"
    return ""


def check_private(paths: list[Path]) -> None:
    """Raise :class:`SandboxRequired` unless a kernel's own user can reach none of ``paths``
    (gradkit's installed package is always among them)."""
    for path in [*paths, _package()]:
        why = _open_to_others(path)
        if why:
            raise SandboxRequired(
                f"a separate user could reach what it must not: {why}; the generated entry "
                f"point locks it ({LOCK_ENV}=1) in a throwaway container"
            )


def _separate_user(private: list[Path]) -> str:
    """ "" when this container can grade with a separate user (locking ``private`` and
    gradkit's package first where the entry point asks), else why not."""
    from ..sandbox import probe_user

    ok, why = probe_user()
    if not ok:
        return why
    try:
        if os.environ.get(LOCK_ENV) == "1":
            lock_down([*private, _package()])
        check_private(private)
    except (SandboxRequired, OSError) as exc:
        return str(exc)
    return ""


def choose(private: list[Path] | None = None) -> Isolation:
    """How this submission is graded (see the module docstring). ``private`` are the
    paths of the platform's copy a student's kernel must not reach (the artifact's
    folder, the results folder): locked and checked for the separate-user mode."""
    from ..sandbox import probe

    policy = _policy()
    if policy == "off":
        return Isolation("none", f"{UNSANDBOXED} ({ENV}=off)")
    ok, why = probe()
    if ok:
        return Isolation("sandbox", SANDBOXED)
    if policy != "sandbox":
        user_why = _separate_user(list(private or []))
        if not user_why:
            return Isolation("user", SEPARATE)
        why = f"{why}; no separate user either: {user_why}"
    if policy in ("require", "sandbox"):
        raise SandboxRequired(f"{ENV}={policy} but this container cannot isolate: {why}")
    return Isolation("none", f"{UNSANDBOXED} ({why})")


def describe() -> list[tuple[str, bool, str]]:
    """(platform, isolated, what a submission graded here would get), for `gradkit doctor`
    (which locks nothing: the separate-user mode is reported as the check finds it)."""
    saved = os.environ.pop(LOCK_ENV, None)
    try:
        isolation = choose()
        isolated, line = isolation.kind != "none", isolation.line
    except (SandboxRequired, ValueError) as exc:
        isolated, line = False, str(exc)
        if isinstance(exc, SandboxRequired):
            line += (
                "; every submission would score 0 (an artifact built with "
                "--allow-unsandboxed would grade it NOT sandboxed instead)"
            )
    finally:
        if saved is not None:
            os.environ[LOCK_ENV] = saved
    rows = [(platform, isolated, line) for platform in ("gradescope", "prairielearn")]
    github = (
        "runs in the student's own repository: the kit's self-check only (no secret, no "
        "reference, no hidden cases); its points are the student's to change"
    )
    return [*rows, ("github", False, github)]
