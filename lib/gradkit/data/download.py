"""Download CIFAR-10 (the python version) and find it again (import from :mod:`gradkit.data`).

Used by ``gradkit data cifar10 [--dir DIR]`` and by the notebooks of
assignment 05, which train on CIFAR-10 when it is present and on the
embedded digits otherwise.

:func:`download_cifar10` fetches the official archive
(``cifar-10-python.tar.gz``, 163 MiB) with a progress bar, verifies its
published MD5, unpacks it and returns the folder ``cifar-10-batches-py``
that :func:`~gradkit.data.load_cifar10` reads. What it guarantees:

* **resumable**: bytes arrive in ``<archive>.part``; a broken download keeps
  that file and the next run asks the server for the rest only (HTTP range);
* **verified**: the archive is used only when its MD5 is the published one; a
  wrong checksum deletes the partial file (it cannot be repaired by resuming);
* **atomic**: the archive is unpacked into a temporary folder beside the
  target and moved into place in one rename once every batch file is there,
  so a data folder that exists is complete;
* **one-line errors**: every failure (offline, HTTP error, truncated
  download, bad checksum, damaged archive) raises :class:`DownloadError`
  with one line saying what happened and what to do.

:func:`find_cifar10` returns the folder when it is there (``$GRADKIT_CIFAR10``,
then the data directory), ``None`` otherwise. The data directory is
``$GRADKIT_DATA`` or ``~/.gradkit/data``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.client import HTTPException
from pathlib import Path

__all__ = [
    "CIFAR10_URL",
    "CIFAR10_MD5",
    "CIFAR10_ARCHIVE",
    "CIFAR10_FOLDER",
    "DownloadError",
    "default_data_dir",
    "find_cifar10",
    "download_cifar10",
]

#: The official archive of the CIFAR-10 python version and its published MD5.
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
#: The folder the archive unpacks to (what load_cifar10 reads).
CIFAR10_FOLDER = "cifar-10-batches-py"
_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download or unpacking failure; the message is one line saying what to do."""


def default_data_dir() -> Path:
    """Where downloaded data sets live: ``$GRADKIT_DATA``, else ``~/.gradkit/data``."""
    env = os.environ.get("GRADKIT_DATA")
    return Path(env).expanduser() if env else Path.home() / ".gradkit" / "data"


def _is_complete(folder: Path) -> bool:
    return folder.is_dir() and all((folder / name).is_file() for name in _BATCHES)


def find_cifar10(root: str | os.PathLike[str] | None = None) -> Path | None:
    """The folder holding the CIFAR-10 python batches, or None when there is none.

    Looks at ``root`` (or ``$GRADKIT_CIFAR10``, then the default data directory)
    and at its ``cifar-10-batches-py`` sub-folder; a folder counts only when
    it holds data_batch_1 .. data_batch_5 and test_batch.
    """
    if root is not None:
        places = [Path(root).expanduser()]
    else:
        env = os.environ.get("GRADKIT_CIFAR10")
        places = ([Path(env).expanduser()] if env else []) + [default_data_dir()]
    for place in places:
        for folder in (place, place / CIFAR10_FOLDER):
            if _is_complete(folder):
                return folder
    return None


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mib(n: int) -> str:
    """A byte count for people: MiB, or KiB below one MiB."""
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"


def _fetch(url: str, part: Path, timeout: float, progress: bool) -> None:
    """Download ``url`` into ``part``, continuing from the bytes already there."""
    host = urllib.parse.urlsplit(url).netloc or url
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "gradkit"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        request = urllib.request.Request(url, headers=headers)
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the file is already whole
            return
        raise DownloadError(
            f"{host} answered HTTP {exc.code} ({exc.reason}) for {url}; "
            "check the address or try again later"
        ) from None
    except (urllib.error.URLError, OSError, HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"cannot reach {host} ({reason}); check your network connection, or download "
            f"{url} yourself and put the file in {part.parent}"
        ) from None
    with response:
        if offset and response.status == 206:
            mode = "ab"
        else:  # the server ignored the range: start again
            offset, mode = 0, "wb"
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        done = offset
        from tqdm.auto import tqdm

        with (
            open(part, mode) as out,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
                disable=not progress,
            ) as bar,
        ):
            try:
                while True:
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    done += len(chunk)
                    bar.update(len(chunk))
            except (OSError, HTTPException) as exc:
                raise DownloadError(
                    f"download interrupted after {_mib(done)}"
                    f"{f' of {_mib(total)}' if total else ''} ({type(exc).__name__}); "
                    "run the command again to resume"
                ) from None
    if total is not None and done < total:
        raise DownloadError(
            f"download interrupted after {_mib(done)} of {_mib(total)} (the server closed the "
            "connection); run the command again to resume"
        )


def _safe_members(archive: tarfile.TarFile, name: Path) -> list[tarfile.TarInfo]:
    """The members to extract: plain files and folders inside CIFAR10_FOLDER, nothing else."""
    members = []
    for member in archive.getmembers():
        parts = Path(member.name).parts
        if (
            member.name.startswith("/")
            or ".." in parts
            or not parts
            or parts[0] != CIFAR10_FOLDER
            or not (member.isfile() or member.isdir())
        ):
            raise DownloadError(
                f"{name} holds an unexpected entry {member.name!r}; it is not the CIFAR-10 "
                "python archive (delete it and run the command again)"
            )
        members.append(member)
    return members


def _unpack(archive_path: Path, root: Path) -> Path:
    """Unpack into a temporary folder in ``root``, check it, then move it into place."""
    target = root / CIFAR10_FOLDER
    tmp = Path(tempfile.mkdtemp(prefix=".cifar10-unpack-", dir=root))
    try:
        try:
            with tarfile.open(archive_path, "r:gz") as archive:
                members = _safe_members(archive, archive_path)
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(tmp, members=members, filter="data")
                else:  # pragma: no cover - Python without extraction filters
                    archive.extractall(tmp, members=members)
        except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
            raise DownloadError(
                f"cannot unpack {archive_path} ({type(exc).__name__}: {exc}); "
                "delete it and run the command again"
            ) from None
        unpacked = tmp / CIFAR10_FOLDER
        missing = [n for n in _BATCHES if not (unpacked / n).is_file()]
        if missing:
            raise DownloadError(
                f"{archive_path} lacks {', '.join(missing)}; it is not the CIFAR-10 python "
                "archive (delete it and run the command again)"
            )
        os.replace(unpacked, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def download_cifar10(
    root: str | os.PathLike[str] | None = None,
    *,
    url: str | None = None,
    md5: str | None = None,
    progress: bool = True,
    timeout: float = 30.0,
    keep_archive: bool = False,
    log: Callable[[str], object] | None = print,
) -> Path:
    """Download, verify and unpack CIFAR-10 into ``root``; return its batches folder.

    ``root`` defaults to :func:`default_data_dir`. Nothing is downloaded when
    ``root/cifar-10-batches-py`` is already complete; an archive already in
    ``root`` (e.g. copied there by hand) is verified and unpacked without
    downloading. A broken download resumes from ``<archive>.part`` on the
    next call. ``timeout`` is in seconds per network operation; ``log``
    receives one line per stage (None: silent). Raises :class:`DownloadError`
    (one line) on any failure; the data folder then does not exist.
    ``url`` and ``md5`` default to :data:`CIFAR10_URL` and :data:`CIFAR10_MD5`.
    """
    url = url or CIFAR10_URL
    md5 = (md5 or CIFAR10_MD5).lower()
    root = Path(root).expanduser() if root is not None else default_data_dir()
    say = log or (lambda _msg: None)
    target = root / CIFAR10_FOLDER
    if _is_complete(target):
        say(f"CIFAR-10 is already in {target}")
        return target
    if target.exists():
        raise DownloadError(
            f"{target} exists but lacks some of data_batch_1..5 and test_batch; "
            "remove it and run the command again"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create {root} ({exc.strerror}); pick another --dir") from None
    archive = root / CIFAR10_ARCHIVE
    part = root / (CIFAR10_ARCHIVE + ".part")
    if archive.is_file():
        say(f"verifying {archive} ...")
        got = _md5(archive)
        if got != md5:
            raise DownloadError(
                f"{archive} has MD5 {got}, not the published {md5}; "
                "delete it and run the command again"
            )
    else:
        if part.is_file():
            say(f"resuming the download of {url} ({_mib(part.stat().st_size)} already here)")
        else:
            say(f"downloading {url} to {root}")
        _fetch(url, part, timeout, progress)
        got = _md5(part)
        if got != md5:
            part.unlink()
            raise DownloadError(
                f"the downloaded file has MD5 {got}, not the published {md5} (corrupted or not "
                "the CIFAR-10 archive); it was deleted, run the command again"
            )
        os.replace(part, archive)
    say(f"unpacking {archive.name} ...")
    folder = _unpack(archive, root)
    if not keep_archive:
        archive.unlink()
    return folder
