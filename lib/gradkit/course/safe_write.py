"""Writing the course's files: atomically, never through a link, never changing a mode.

What gradkit writes in a course (``grades/``, ``feedback/``, ``reports/``,
``autograded/``) is the instructor's, and the grader often runs as root. Each
file is written to a temporary name in its folder and renamed over the old one,
so a reader sees the old file or the new one, never half of one. The folders
on the way are walked one at a time from the course's root through descriptors
opened without following links: a link planted in place of ``grades/`` or of a
student's feedback folder makes the write fail with a one-line error instead of
writing where it points. New files get the mode of the user's umask; existing
ones are replaced, so their old mode never matters and nothing is ``chmod``-ed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .directory import UserError

__all__ = ["write_bytes", "write_text"]

_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)


def _open_folder(root: Path, parts: tuple[str, ...]) -> int:
    """A descriptor of ``root/parts...``, made where missing; no link on the way followed."""
    try:
        fd = os.open(root, _DIR_FLAGS)
    except OSError as exc:
        raise UserError(f"will not write in {root}: it is not a folder ({exc.strerror})") from None
    try:
        for part in parts:
            try:
                os.mkdir(part, 0o777, dir_fd=fd)
            except FileExistsError:
                pass
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise UserError(
                    f"will not write below {root / part}: it is not a folder "
                    f"(a link?) ({exc.strerror})"
                ) from None
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_bytes(path: Path, data: bytes, root: Path | None = None) -> Path:
    """Write ``data`` to ``path`` atomically. Below ``root`` (the course), every folder
    between the two is checked not to be a link; ``path`` itself may be a link only in
    that it is replaced by the new file, never written through."""
    path = Path(path)
    if root is not None:
        root = Path(root)
        try:
            parts = path.relative_to(root).parts[:-1]
        except ValueError:
            raise ValueError(f"{path} is not below {root}") from None
        base, folder_parts = root, parts
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        base, folder_parts = path.parent, ()
    fd = _open_folder(base, folder_parts)
    tmp = f".{path.name}.{secrets.token_hex(4)}.partial"
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        out = os.open(tmp, flags, 0o666, dir_fd=fd)
        try:
            with os.fdopen(out, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path.name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=fd)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)
    return path


def write_text(path: Path, text: str, root: Path | None = None) -> Path:
    return write_bytes(path, text.encode("utf-8"), root)
