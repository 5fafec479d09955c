"""Per-student seeds for the hidden test cases.

The grader derives a token per student and notebook: an HMAC of the
assignment, notebook and student under the course secret. The engine turns
the token into the seed of each spec's hidden cases, so every student gets
their own cases, reproducible by the instructor, unpredictable without the
secret. Token and secret stay in the grader's process; only the inputs of
the hidden cases reach the student's kernel, when their function is called.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

import numpy as np

__all__ = [
    "INSTRUCTOR_TOKEN",
    "PRACTICE_PREFIX",
    "derive_token",
    "hidden_rng",
    "is_practice",
    "practice_token",
]

#: The token of the instructor's own runs (the hidden cases of the solutions).
INSTRUCTOR_TOKEN = "instructor"
#: Tokens of practice cases: a self-check draws cases the way the hidden cases are drawn,
#: from a random token nobody knows in advance, so its score carries the same risk as
#: the graded one; the graded hidden cases are other draws (from the course secret).
PRACTICE_PREFIX = "practice:"


def practice_token() -> str:
    """A fresh random token for practice cases (a self-check's stand-in for hidden cases).

    A student kit has the cases of a few practice tokens recorded (it cannot compute the
    reference's answers): it picks one of those at random.
    """
    from .replay import active  # replay needs this package's other modules

    kit = active()
    if kit is not None and kit.practice_tokens:
        return secrets.choice(kit.practice_tokens)
    return PRACTICE_PREFIX + secrets.token_hex(8)


def is_practice(token: str | None) -> bool:
    return isinstance(token, str) and token.startswith(PRACTICE_PREFIX)


def derive_token(secret: bytes, assignment: str, notebook: str, student: str) -> str:
    """HMAC-SHA256 of ``[assignment, notebook, student]`` under ``secret`` (hex, 32 chars)."""
    msg = json.dumps([assignment, notebook, student]).encode()  # unambiguous, unlike "a/b/c"
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()[:32]


def hidden_rng(token: str | None, test: str) -> np.random.Generator | None:
    """The Generator of ``test``'s hidden cases for ``token``, or None without a token."""
    if token is None:
        return None
    if not isinstance(token, str):
        raise ValueError(f"a hidden-case token must be a string; got {type(token).__name__}")
    digest = hashlib.sha256(f"{token or INSTRUCTOR_TOKEN}/{test}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))
