"""Root pytest configuration: the solution notebooks run with the figure lint.

nbval starts one kernel per notebook while setting up its first cell. For the
notebooks under solutions/ that kernel gets an IPython profile whose startup file
installs ``tests/figlint.py``: a cell that shows a figure with an unlabelled axis,
several series without a legend, or a value-coloured image without a colour bar
fails, naming the figure, the panel and what is missing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parent


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def _worker_tmpdir() -> None:
    """Under pytest-xdist (``make test``), a TMPDIR of this worker's own, for it and every
    process it starts: grading's run folders, kernels and scratch files of one worker
    never meet the other's (tests that look for what a run left, ``kernels_left``, look
    there). Traversable by a separate-user kernel (0711), writable by this user only.
    The folders of earlier sessions whose worker has ended are removed first, with what
    their tests left (a killed run's folders; multiprocessing cleans its own at exit,
    after anything a session could do, so a folder is removed by the next session)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    base = Path(tempfile.gettempdir())
    for old in base.glob("gk-gw*-*"):
        try:
            pid = int(old.name.rsplit("-", 1)[1])
            mine = old.stat().st_uid == os.getuid()
        except (ValueError, OSError):
            continue
        if mine and not _running(pid):
            shutil.rmtree(old, ignore_errors=True)
    folder = base / f"gk-{worker}-{os.getpid()}"
    folder.mkdir(mode=0o711, exist_ok=True)
    os.chmod(folder, 0o711)
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again


_worker_tmpdir()


_STARTUP = """\
import importlib.util as _util
_spec = _util.spec_from_file_location("gradkit_figlint", {path!r})
_figlint = _util.module_from_spec(_spec)
_spec.loader.exec_module(_figlint)
_figlint.install(get_ipython())
del _util, _spec, _figlint
"""


def _profile_dir() -> str:
    folder = Path(tempfile.mkdtemp(prefix="gradkit-figlint-"))
    startup = folder / "profile_default" / "startup"
    startup.mkdir(parents=True)
    source = _STARTUP.format(path=str(_ROOT / "tests" / "figlint.py"))
    (startup / "00-figlint.py").write_text(source)
    return str(folder)


_PROFILE: list[str] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    path = Path(str(item.fspath))
    linted = path.suffix == ".ipynb" and "solutions" in path.parts
    if not linted or os.environ.get("GRADKIT_FIGLINT") == "0":
        yield
        return
    if not _PROFILE:
        _PROFILE.append(_profile_dir())
    before = os.environ.get("IPYTHONDIR")
    os.environ["IPYTHONDIR"] = _PROFILE[0]
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("IPYTHONDIR", None)
        else:
            os.environ["IPYTHONDIR"] = before
