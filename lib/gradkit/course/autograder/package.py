"""What a platform installs to run the grader: gradkit's full library as a wheel, and the
exact versions of what it needs (those of the environment that built the artifact)."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..directory import UserError

__all__ = ["GRADER_NEEDS", "python_floor", "requirements", "write_grader_wheel"]

#: What the grader imports (the library's and the course tools' direct dependencies).
GRADER_NEEDS = (
    "numpy",
    "scipy",
    "matplotlib",
    "scikit-learn",
    "tqdm",
    "threadpoolctl",
    "nbgrader",
    "nbformat",
    "nbconvert",
    "ipykernel",
    "jupyter_client",
)


def requirements() -> list[str]:
    """``name==version`` for each of :data:`GRADER_NEEDS`, as installed here."""
    pins = []
    for name in GRADER_NEEDS:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            raise UserError(
                f"{name} is not installed here; build the autograder in the course's "
                "environment (pip install -e '.[course]')"
            ) from None
    return pins


def python_floor() -> tuple[int, int]:
    """The Python these pins were resolved on (the platform needs this minor or newer)."""
    return sys.version_info[0], sys.version_info[1]


def write_grader_wheel(out: Path, assignment: str) -> Path:
    """A wheel of the full library (``gradkit-<v>+grader``), requiring the pinned versions."""
    import gradkit

    from ..kit import write_wheel

    root = Path(gradkit.__file__).resolve().parent.parent
    return write_wheel(
        root,
        out,
        assignment,
        local="grader",
        requires=requirements(),
        summary="gradkit with its references: the grader side of a platform's autograder",
    )
