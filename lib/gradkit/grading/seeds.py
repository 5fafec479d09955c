"""Per-student seeds for the hidden test cases.

A test cell's hidden block sets ``hidden = "gradkit:hidden"``. When the
course is graded, the grader (outside the student's kernel) replaces that
placeholder with ``"gradkit:hidden:<token>"``, where the token is an HMAC of
the assignment, notebook and student under the course secret. The checker
turns the token into the seed of its random cases, so every student gets
their own cases, reproducible by the instructor, unpredictable without the
secret. The secret itself never enters the kernel.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import numpy as np

__all__ = ["PLACEHOLDER", "derive_token", "hidden_rng", "inject"]

PLACEHOLDER = "gradkit:hidden"
# Cases used when the placeholder was never replaced (the instructor's own
# run of the solution notebook, e.g. under nbval).
_INSTRUCTOR_TOKEN = "instructor"


def derive_token(secret: bytes, assignment: str, notebook: str, student: str) -> str:
    """HMAC-SHA256 of ``assignment/notebook/student`` under ``secret`` (hex, 32 chars)."""
    msg = json.dumps([assignment, notebook, student]).encode()  # unambiguous, unlike "a/b/c"
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()[:32]


def inject(source: str, token: str) -> str:
    """Replace the placeholder string literal in a cell's source with the student's token."""
    for quote in ('"', "'"):
        source = source.replace(
            f"{quote}{PLACEHOLDER}{quote}", f"{quote}{PLACEHOLDER}:{token}{quote}"
        )
    return source


def hidden_rng(hidden, check_name: str) -> np.random.Generator | None:
    """The Generator for ``check_name``'s hidden cases, or None when ``hidden`` is None."""
    if hidden is None:
        return None
    if not isinstance(hidden, str) or not (
        hidden == PLACEHOLDER or hidden.startswith(PLACEHOLDER + ":")
    ):
        raise ValueError(f"hidden must be None or the grader's token string; got {hidden!r}")
    token = hidden[len(PLACEHOLDER) + 1 :] or _INSTRUCTOR_TOKEN
    digest = hashlib.sha256(f"{token}/{check_name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))
