"""The run folder of one graded notebook: what the grader writes, kept apart from the kernel.

A sandboxed kernel runs as a user of its own and must never make the grader,
often root, act on a path it controls. The run folder is private to the grader
(mode 0700, made by ``mkdtemp``) and holds only the grader's folders:

========  ====================================================================
folder    holds
========  ====================================================================
``conn``  the kernel's connection file (mounted read-only in the sandbox)
``req``   bridge requests, JSON and ``.npy`` (mounted read-only)
``home``  the student's other notebooks of the assignment, each file mounted
          read-only in the kernel's home (:meth:`RunDir.add_home_file`)
========  ====================================================================

What the kernel writes (its sockets, bridge replies, its home and ``/tmp``) lives
on size-limited tmpfs mounts inside the sandbox, reached by the grader only
through descriptors (see :mod:`gradkit.course.sandbox`). A kernel that is not
sandboxed (``gradkit check``, ``--no-sandbox``) runs as the grader's own user, and
its ``ipc`` and ``out`` folders are made here too. A root grader that cannot sandbox on
a platform runs the kernel as a user of its own instead (the *separate-user* mode of
:mod:`gradkit.course.autograder.isolation`): that user owns ``kipc``, ``kout`` and
``home`` (its sockets, bridge replies, working folder) and may pass through the run
folder (mode 0711) to them and to ``conn`` and ``req``; the grader holds a descriptor of
each, opened before the kernel starts.

Removal at the end goes through descriptors (``shutil.rmtree`` does on Linux) and
what cannot be removed is reported, never ignored.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..grading.codec import Folder

__all__ = ["RunDir"]

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


class RunDir:
    """The run folder of one notebook (see the module docstring); ``host_kernel_dirs``
    adds the ``ipc`` and ``out`` folders an unsandboxed kernel writes; ``kernel_uid`` (a
    root grader's separate-user mode) adds ``kipc``, ``kout`` and ``home``, the folders
    the kernel of that user writes, owned by it."""

    def __init__(
        self, host_kernel_dirs: bool = False, parent: str | None = None, kernel_uid: int = -1
    ):
        self.path = Path(tempfile.mkdtemp(prefix="gradkit-run-", dir=parent))  # mode 0700
        self._fd = os.open(self.path, _DIR_FLAGS)
        self.folders: dict[str, Folder] = {}
        names = ["conn", "req"] + (["ipc", "out"] if host_kernel_dirs else [])
        for name in names:
            os.mkdir(name, 0o700, dir_fd=self._fd)
            fd = os.open(name, _DIR_FLAGS, dir_fd=self._fd)
            if name in ("conn", "req"):
                os.fchmod(fd, 0o755)  # the sandbox reads these through read-only mounts
            self.folders[name] = Folder(self.path / name, fd=fd)
        if kernel_uid >= 0:
            # The kernel's user may pass through the run folder (not list or change it)
            # to its own three folders and to conn and req; ipc and out stay the grader's.
            os.fchmod(self._fd, 0o711)
            for name in ("kipc", "kout", "home"):
                os.mkdir(name, 0o700, dir_fd=self._fd)
                fd = os.open(name, _DIR_FLAGS, dir_fd=self._fd)
                os.fchown(fd, kernel_uid, kernel_uid)
                self.folders[name] = Folder(self.path / name, fd=fd)

    def dir(self, name: str) -> Path:
        return self.path / name

    def add_home_file(self, name: str, data: bytes) -> Path:
        """Write ``home/<name>``, read-only (0444), for the sandbox to show in the kernel's
        home; return its path. ``name`` must be a plain file name."""
        if name != Path(name).name or name.startswith("."):
            raise ValueError(f"not a plain file name: {name!r}")
        if "home" not in self.folders:
            os.mkdir("home", 0o700, dir_fd=self._fd)
            fd = os.open("home", _DIR_FLAGS, dir_fd=self._fd)
            self.folders["home"] = Folder(self.path / "home", fd=fd)
        folder = self.folders["home"]
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(name, flags, 0o444, dir_fd=folder.fd)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return folder.path / name

    def remove(self) -> list[str]:
        """Remove the run folder; a line per entry that could not be removed."""
        for folder in self.folders.values():
            os.close(folder.fd)
            folder.fd = -1
        self.folders = {}
        os.close(self._fd)
        problems: list[str] = []

        def failed(func: Any, path: str, exc: Any) -> None:
            err = exc[1] if isinstance(exc, tuple) else exc
            problems.append(f"{Path(path).name}: {getattr(err, 'strerror', None) or err}")

        if sys.version_info >= (3, 12):
            shutil.rmtree(self.path, onexc=failed)
        else:  # pragma: no cover - Python 3.10 and 3.11
            shutil.rmtree(self.path, onerror=failed)
        return problems
