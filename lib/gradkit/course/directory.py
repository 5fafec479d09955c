"""Where a course lives: its root, its assignments, its secret and its nbgrader config."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

__all__ = ["UserError", "Course", "find_course"]


class UserError(Exception):
    """A mistake the user can fix; the CLI prints its message as one line."""


class Course:
    """A course directory: ``nbgrader_config.py``, ``solutions/``, ``assignments/``."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.solutions = self.root / "solutions"
        self.assignments_dir = self.root / "assignments"
        self.db_path = self.root / "gradebook.db"
        self.state = self.root / ".gradkit"

    # -- assignments ------------------------------------------------------
    def assignments(self) -> list[str]:
        if not self.solutions.is_dir():
            return []
        return sorted(
            p.name for p in self.solutions.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))
        )

    def require_assignment(self, name: str) -> str:
        known = self.assignments()
        if name not in known:
            raise UserError(
                f"unknown assignment {name!r}; the course has: {', '.join(known) or 'none'} "
                f"(folders of {self.solutions})"
            )
        return name

    def notebooks(self, assignment: str) -> list[str]:
        return sorted(p.stem for p in (self.solutions / assignment).glob("*.ipynb"))

    # -- secret -----------------------------------------------------------
    @property
    def secret_file(self) -> Path:
        env = os.environ.get("GRADKIT_SECRET_FILE")
        return Path(env).resolve() if env else self.state / "secret"

    def require_secret(self) -> Path:
        path = self.secret_file
        if not path.is_file() or not path.read_bytes().strip():
            raise UserError(
                f"no course secret at {path}; create one with `gradkit secret --new` "
                "(keep it out of git and back it up: it fixes every student's hidden tests)"
            )
        return path

    def new_secret(self) -> Path:
        path = self.secret_file
        if path.exists():
            raise UserError(
                f"{path} already exists; delete it first if you really want a new secret"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
        return path

    # -- nbgrader ---------------------------------------------------------
    def nbgrader_config(self):
        from traitlets.config.loader import PyFileConfigLoader

        cfg_file = self.root / "nbgrader_config.py"
        if not cfg_file.is_file():
            raise UserError(
                f"{self.root} has no nbgrader_config.py; run gradkit inside a course directory"
            )
        cfg = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        cfg.CourseDirectory.root = str(self.root)
        cfg.CourseDirectory.db_url = f"sqlite:///{self.db_path}"
        return cfg


def ensure_tools_on_path() -> None:
    """nbgrader runs `alembic` by name: put this interpreter's bin directory on PATH."""
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir] + parts)


def find_course(start: str | os.PathLike | None = None) -> Course:
    """The course whose root holds ``nbgrader_config.py``: ``start`` or its nearest parent."""
    here = Path(start or os.getcwd()).resolve()
    if start is not None and not here.is_dir():
        raise UserError(f"course directory {here} does not exist")
    for d in [here, *here.parents]:
        if (d / "nbgrader_config.py").is_file() and (d / "solutions").is_dir():
            return Course(d)
    raise UserError(
        f"no course found at or above {here} (a course has nbgrader_config.py and solutions/); "
        "cd into it or pass --course DIR"
    )
