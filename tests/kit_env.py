"""A virtual environment with a student kit as its only gradkit (for the kit tests).

Third-party packages the kit's wheel requires (numpy, Jupyter, nbgrader, ...) come from
the test's own environment through a ``.pth`` line, so no network is needed; that
environment's editable gradkit stays out of reach (a path line runs no ``.pth`` there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path


def kit_env(wheel: Path, where: Path) -> Path:
    """Create ``where`` (a venv) and install ``wheel`` into it alone; return the venv."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
    )
    return where


def env_of(venv: Path) -> dict[str, str]:
    """The environment a command of ``venv`` runs with (its bin first, no PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    return env
