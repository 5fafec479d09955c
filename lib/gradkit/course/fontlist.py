"""matplotlib's font list for sandboxed kernels: built once, kept from run to run.

A kernel's matplotlib builds its list of the fonts it can use the first time it is
imported (about 0.1 CPU s) and keeps it in its configuration folder, which is on the
sandbox's tmpfs and gone with the kernel: every notebook would build it again.
:func:`font_list` has a sandboxed Python (no student code) build it once, keeps it in the
grader's private cache (:func:`gradkit.course.kit.worker_cache`), and
:meth:`gradkit.course.sandbox.SandboxedKernelManager.format_kernel_cmd` shows it
read-only to every kernel.

Building it takes a sandboxed Python that imports matplotlib (about 0.7 CPU s), once per
grading run. What goes into the list is the fonts the sandbox shows: matplotlib's own,
the system's font folders and fontconfig's configuration (read-only system folders in
the sandbox). So a list built once is kept under a key made of those inputs (every file's
name, size and modification time, matplotlib's and Python's location and version), and
the next run with the same key reads it instead of building it. A font added or removed
changes the key. Should a list ever name a font file that is gone, the kernel's
matplotlib notices when it looks the font up and rebuilds its list in memory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["font_list", "inputs_key", "FONT_FOLDERS"]

#: Where matplotlib (its X11 font folders) and fontconfig look for fonts and their
#: configuration on Linux, besides matplotlib's own ``mpl-data/fonts``.
FONT_FOLDERS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "/usr/X11R6/lib/X11/fonts",
    "/usr/X11/lib/X11/fonts",
    "/usr/lib/openoffice/share/fonts/truetype",
    "/etc/fonts",
)
#: Changed when what the key covers changes.
KEY_VERSION = 1

_built: dict[str, Path | None] = {}


def _matplotlib_folder() -> Path | None:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def inputs_key() -> str:
    """A digest of what the sandbox's font list is made from (see the module docstring)."""
    digest = hashlib.sha256(f"gradkit-fontlist-{KEY_VERSION}\0{sys.executable}".encode())
    mpl = _matplotlib_folder()
    folders = [Path(f) for f in FONT_FOLDERS]
    if mpl is not None:
        folders.append(mpl / "mpl-data" / "fonts")
        digest.update(str(mpl).encode())
        for name in ("_version.py", "font_manager.py"):
            try:
                digest.update((mpl / name).read_bytes())
            except OSError:
                digest.update(b"-")
    files = [shutil.which("fc-list") or "no fc-list"]
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            files += [os.path.join(root, name) for name in sorted(names)]
    for path in files:
        try:
            info = os.stat(path)
            digest.update(f"\0{path}\0{info.st_size}\0{info.st_mtime_ns}".encode())
        except OSError:
            digest.update(f"\0{path}\0-".encode())
    return digest.hexdigest()[:24]


def font_list(build: bool = False) -> Path | None:
    """matplotlib's font list for every sandboxed kernel this process starts.

    With ``build``: the list kept for the current inputs (:func:`inputs_key`), or one
    built now by a sandboxed Python and kept. Without ``build``, the one this process
    found or built earlier (the fork server of the grading processes does,
    :mod:`gradkit.course.forkserver_warm`), or None: each kernel then builds its own, as
    matplotlib does.
    """
    if "path" in _built or not build:
        return _built.get("path")
    _built["path"] = None
    from .kit import worker_cache

    cache = worker_cache()
    key = inputs_key()
    index = cache / f"fonts-key-{key}"
    try:
        kept = Path(index.read_text(encoding="utf-8").strip())
        if kept.parent.parent == cache and _own_file(kept):
            _built["path"] = kept
            return kept
    except (OSError, ValueError):
        pass
    path = _build(cache)
    if path is not None:
        _write_whole(index, str(path), 0o400)
    _built["path"] = path
    return path


def _own_file(path: Path) -> bool:
    """A regular file of this user's, not a link (the cache is private, but be sure)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (info.st_mode & 0o170000) == 0o100000 and info.st_uid == os.getuid()


def _write_whole(path: Path, text: str, mode: int) -> None:
    """Written whole: a temporary file, then renamed (a run killed leaves nothing half)."""
    scratch = Path(tempfile.mkstemp(prefix=".fontlist-", dir=path.parent)[1])
    try:
        scratch.write_text(text, encoding="utf-8")
        os.chmod(scratch, mode)
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)


def _build(cache: Path) -> Path | None:
    """Have a sandboxed Python build the list; keep it in ``cache``, named by its content."""
    from .kernel_users import kill_user, lease_uid, release_uid
    from .sandbox import NOBODY, SandboxUnavailable, command

    code = (
        "import os, sys, matplotlib.font_manager as fm\n"
        "name = f'fontlist-v{fm.FontManager.__version__}.json'\n"
        "path = os.path.join(os.environ['MPLCONFIGDIR'], name)\n"
        "sys.stdout.write(name + '\\n' + open(path).read())\n"
    )
    uid = lease_uid() if os.geteuid() == 0 else NOBODY
    try:
        with tempfile.TemporaryDirectory(prefix="gradkit-fonts-") as tmp:
            cmd = command([sys.executable, "-c", code], [], uid=uid)
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp)
    except (OSError, SandboxUnavailable, subprocess.SubprocessError):
        return None
    finally:
        if os.geteuid() == 0:
            kill_user(uid)
            release_uid(uid)
    name, _, text = res.stdout.partition("\n")
    try:
        if res.returncode != 0 or not re.fullmatch(r"fontlist-v[0-9.]+\.json", name):
            return None
        fonts = json.loads(text)
        # matplotlib lists the fonts in the order of a set: sorted, the same fonts give
        # the same file (and name) in every run
        for key in ("ttflist", "afmlist"):
            fonts[key] = sorted(fonts[key], key=lambda f: json.dumps(f, sort_keys=True))
        text = json.dumps(fonts, sort_keys=True, indent=2)
    except (ValueError, KeyError, TypeError):
        return None
    # Named by its content, so runs share it while the fonts stay the same.
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = cache / f"fonts-{digest}"
    path = folder / name
    if not path.is_file():
        folder.mkdir(mode=0o755, exist_ok=True)
        _write_whole(path, text, 0o444)
    return path
