"""Handing a kit out and collecting submissions through nbgrader's exchange.

nbgrader's default exchange is a folder every user of a JupyterHub sees
(``c.Exchange.root``, ``/usr/local/share/nbgrader/exchange`` unless configured). For a
course id ``C`` and an assignment ``A`` it holds (nbgrader 0.9.6,
``nbgrader/exchange/default/``):

* ``<root>/C/outbound/A/``: what ``nbgrader fetch_assignment A --course C`` copies
  into a student's folder ``A/``. nbgrader's release makes ``<root>/C`` and
  ``outbound`` mode 0755, ``inbound`` 02733 (students may write there, not list it),
  the released folders 0755 and the files 0644 (without ``groupshared``).
* ``<root>/C/inbound/<student>+A+<timestamp>+<random>``: one folder per
  ``nbgrader submit``: the student's assignment folder plus ``timestamp.txt`` and
  ``submission_secret.txt``. The timestamp is the submit time as nbgrader writes it
  (``2026-01-31 23:59:12.345678 UTC`` by default); the random part (12 URL-safe
  characters, absent with ``ExchangeSubmit.add_random_string = False``) keeps the
  name unguessable. nbgrader makes these folders 0777 and their files 0644.

:func:`release` publishes a kit folder there; :func:`collect` copies each student's
latest submission (by nbgrader's timestamp, as ``nbgrader collect`` picks it) into
``<dest>/<student>/A/``, the layout ``gradkit grade A --submissions <dest>`` reads,
with nbgrader's ``timestamp.txt`` beside the notebooks as in nbgrader's
``submitted/``. Neither ever deletes or changes anything in the exchange that it did
not just create: ``collect`` only reads it, ``release`` only adds.

What a student wrote is hostile: entries of ``inbound/`` are read below descriptors
opened without following links, only regular ``.ipynb`` files with plain names are
copied, each at most :data:`MAX_NOTEBOOK_BYTES`, and an entry or file that is not as
nbgrader writes it is skipped with a one-line note while the others are collected.
"""

from __future__ import annotations

import datetime
import fnmatch
import os
import re
import secrets
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .directory import UserError
from .safe_write import write_bytes
from .submissions import MAX_NOTEBOOK_BYTES

__all__ = [
    "release",
    "collect",
    "MAX_SUBMISSION_BYTES",
    "MAX_SUBMISSION_ENTRIES",
    "RELEASE_IGNORE",
]

#: What nbgrader's release leaves out of a published folder (the default of
#: ``CourseDirectory.ignore``): a kit opened in Jupyter gains checkpoints.
RELEASE_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")
#: The modes nbgrader's ``release_assignment`` gives what it creates (not group-shared).
COURSE_MODE = 0o755
OUTBOUND_MODE = 0o755
INBOUND_MODE = 0o2733
RELEASED_DIR_MODE = 0o755
RELEASED_FILE_MODE = 0o644
#: The notebooks of one submission together may not be larger than this.
MAX_SUBMISSION_BYTES = 4 * MAX_NOTEBOOK_BYTES
#: A submission folder with more entries than this is not read.
MAX_SUBMISSION_ENTRIES = 1000
#: The file nbgrader's submit and collect keep the submission time in.
TIMESTAMP_FILE = "timestamp.txt"

#: Course ids and assignment names: what nbgrader accepts in a path and a submission's
#: name (no ``+``, which separates the fields of ``inbound/`` names).
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: Student ids: login names as JupyterHub gives them (``ada``, ``ada.l``, ``ada@uni.edu``).
_STUDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")
#: A notebook's file name, also as a browser may have changed it (``nb (1).ipynb``).
_NOTEBOOK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._() -]{0,150}\.ipynb")
#: nbgrader's timestamp (``%Y-%m-%d %H:%M:%S.%f %Z`` by default, any format it parses).
_STAMP = re.compile(r"[0-9][A-Za-z0-9 :._-]{0,63}")
#: A submission dated later than this after the collect is not believed.
FUTURE_SLACK = datetime.timedelta(hours=1)
#: nbgrader's random suffix: URL-safe base64.
_RANDOM = re.compile(r"[A-Za-z0-9_=-]{1,64}")
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)

Log = Callable[[str], None]


def _quiet(line: str) -> None:
    pass


def _shown(name: str) -> str:
    """A name as a message may show it: quoted, control characters escaped, bounded."""
    text = repr(name)
    return text if len(text) <= 80 else text[:77] + "...'"


def _require_plain(what: str, value: str) -> str:
    if not _PLAIN.fullmatch(value) or ".." in value:
        raise UserError(
            f"{what} {_shown(value)} cannot be used in nbgrader's exchange: expected letters, "
            "digits, '.', '_' and '-' (not starting with '.' or '-', no '..', no '+' or '/')"
        )
    return value


# -- release ---------------------------------------------------------------------------


def _remove_scratch(scratch: Path, say: Log, what: str = "unfinished") -> None:
    """Remove a folder of ours (a half-built release in ``outbound/``, a collected copy
    being replaced), saying if it stays."""
    if not os.path.lexists(scratch):
        return
    try:
        shutil.rmtree(scratch)
    except OSError as exc:
        say(f"note: could not remove the {what} {scratch} ({exc.strerror}); remove it by hand")


def release(
    kit_dir: Path, exchange: Path, course_id: str, assignment: str, log: Log | None = None
) -> Path:
    """Publish the files of ``kit_dir`` as ``<exchange>/<course_id>/outbound/<assignment>/``.

    That is where ``nbgrader fetch_assignment <assignment> --course <course_id>`` looks
    (with ``c.Exchange.root = <exchange>``), with the modes nbgrader's own release gives
    (see the module docstring); the course's ``outbound/`` and ``inbound/`` are made
    when missing, never changed when present. The folder is built under a hidden name
    beside its place and renamed into it, so a student fetches all of it or nothing.
    A release that is already there is left alone if it holds the same files, and
    refused otherwise (students may have fetched it). Returns the released folder.
    ``log`` hears a note when students' nbgrader would refuse the exchange root.
    """
    say = log or _quiet
    _require_plain("course id", course_id)
    _require_plain("assignment", assignment)
    kit_dir = Path(kit_dir)
    files = _kit_files(kit_dir)
    root = _exchange_root(exchange)
    if stat.S_IMODE(root.stat().st_mode) & 0o777 != 0o777:
        say(
            f"note: the exchange root {root} has mode "
            f"{oct(stat.S_IMODE(root.stat().st_mode))}; students' nbgrader refuses a root "
            "they cannot write (nbgrader's release sets 0777 unless groupshared)"
        )
    course = root / course_id
    outbound = course / "outbound"
    dest = outbound / assignment
    try:
        _ensure_folder(course, COURSE_MODE)
        _ensure_folder(outbound, OUTBOUND_MODE)
        _ensure_folder(course / "inbound", INBOUND_MODE)
    except OSError as exc:
        raise UserError(f"cannot prepare {course} in the exchange: {exc.strerror}") from None
    if os.path.lexists(dest):
        if _same_tree(dest, kit_dir, files):
            say(f"{dest} already holds this kit; left as it is")
            return dest
        raise UserError(
            f"{dest} already holds a different release of {assignment} (students may have "
            "fetched it); expected it absent or identical to "
            f"{kit_dir}: remove it yourself if students should fetch the new kit"
        )
    scratch = outbound / f".{assignment}.gradkit-new-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        _copy_kit(kit_dir, files, scratch)
        if os.path.lexists(dest):
            raise FileExistsError(0, f"{dest} appeared meanwhile")
        os.rename(scratch, dest)
    except OSError as exc:
        _remove_scratch(scratch, say)
        raise UserError(
            f"could not release {kit_dir} to {dest}: {exc.strerror or exc}; "
            "the release was not published"
        ) from None
    except BaseException:
        _remove_scratch(scratch, say)
        raise
    return dest


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in RELEASE_IGNORE)


def _kit_files(kit_dir: Path) -> list[str]:
    """The kit's files as relative paths (folders end with ``/``); links refused."""
    if not kit_dir.is_dir():
        raise UserError(f"kit {kit_dir} is not a folder; expected the folder `gradkit kit` wrote")
    found: list[str] = []
    for top, dirs, names in os.walk(kit_dir):
        here = Path(top)
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        for name in [*dirs, *sorted(n for n in names if not _ignored(n))]:
            path = here / name
            rel = path.relative_to(kit_dir).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise UserError(
                    f"kit {kit_dir} holds a link, {rel}; expected only files and folders "
                    "(put the file itself there)"
                )
            if stat.S_ISDIR(mode):
                found.append(rel + "/")
            elif stat.S_ISREG(mode):
                found.append(rel)
            else:
                raise UserError(f"kit {kit_dir} holds {rel}, which is not a regular file")
    if not any(not f.endswith("/") for f in found):
        raise UserError(f"kit {kit_dir} holds no files; expected notebooks, a wheel, README.md")
    return found


def _exchange_root(exchange: Path) -> Path:
    root = Path(exchange)
    if not root.is_dir():
        raise UserError(
            f"exchange root {root} does not exist or is not a folder; expected the folder "
            "nbgrader's c.Exchange.root names (made by the hub's administrator)"
        )
    if not os.access(root, os.W_OK | os.X_OK):
        raise UserError(
            f"exchange root {root} is not writable by you; expected a folder you can write"
        )
    return root.resolve()


def _ensure_folder(path: Path, mode: int) -> None:
    """Make ``path`` with ``mode`` (as nbgrader does: mkdir, then chmod past the umask);
    an existing folder is left as it is."""
    try:
        os.mkdir(path)
    except FileExistsError:
        if not path.is_dir():
            raise NotADirectoryError(
                20, f"{path} exists and is not a folder; expected nbgrader's folder"
            ) from None
        return
    os.chmod(path, mode)


def _copy_kit(kit_dir: Path, files: list[str], scratch: Path) -> None:
    os.mkdir(scratch, 0o700)
    for rel in files:
        target = scratch / rel.rstrip("/")
        if rel.endswith("/"):
            os.mkdir(target, 0o700)
            continue
        data = _read_regular(kit_dir / rel)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(target, flags, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), RELEASED_FILE_MODE)
    for rel in sorted((f for f in files if f.endswith("/")), reverse=True):
        os.chmod(scratch / rel.rstrip("/"), RELEASED_DIR_MODE)
    os.chmod(scratch, RELEASED_DIR_MODE)


def _read_regular(path: Path) -> bytes:
    fd = os.open(path, _FILE_FLAGS)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise UserError(f"{path} is not a regular file")
        return fh.read()


def _same_tree(dest: Path, kit_dir: Path, files: list[str]) -> bool:
    """Does the released folder ``dest`` hold exactly the kit's files, byte for byte?"""
    if dest.is_symlink() or not dest.is_dir():
        return False
    present: list[str] = []
    for top, dirs, names in os.walk(dest):
        here = Path(top)
        for name in [*dirs, *names]:
            path = here / name
            rel = path.relative_to(dest).as_posix()
            if path.is_symlink():
                return False
            present.append(rel + "/" if path.is_dir() else rel)
    if sorted(present) != sorted(files):
        return False
    return all(
        (dest / rel).read_bytes() == (kit_dir / rel).read_bytes()
        for rel in files
        if not rel.endswith("/")
    )


# -- collect ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One folder of ``inbound/`` named as nbgrader's submit names it."""

    name: str
    student: str
    stamp: str
    time: datetime.datetime
    uid: int


@dataclass
class _Read:
    """The notebooks read from one submission, and why any other file was left."""

    files: dict[str, bytes]
    notes: list[str]
    error: str = ""


def collect(
    exchange: Path, course_id: str, assignment: str, dest: Path, log: Log | None = None
) -> list[str]:
    """Copy each student's latest submission of ``assignment`` out of the exchange.

    Reads ``<exchange>/<course_id>/inbound/`` (never changes it) and writes
    ``<dest>/<student>/<assignment>/<notebook>.ipynb`` and ``timestamp.txt``: the layout
    ``gradkit grade <assignment> --submissions <dest>`` reads. The latest submission is
    the one with the latest timestamp in its name, as nbgrader's collect picks it (not
    the newest file). A student's folder written by an earlier collect is replaced when a
    later submission came, if it is still the exact copy of the one it was collected
    from; anything else already there (a copy someone edited, other files) is left as it
    is, with a note. Each line of what happened goes to ``log``; returns the students
    whose latest submission is now in ``dest``.
    """
    say = log or _quiet
    _require_plain("course id", course_id)
    _require_plain("assignment", assignment)
    inbound = Path(exchange) / course_id / "inbound"
    if not inbound.is_dir():
        raise UserError(
            f"{inbound} does not exist; expected the inbound folder of course {course_id!r} "
            "in nbgrader's exchange (made by the first release)"
        )
    dest = Path(dest).resolve()
    course_dir = (Path(exchange) / course_id).resolve()
    if dest == course_dir or course_dir in dest.parents or dest in course_dir.parents:
        raise UserError(
            f"will not collect into {dest}: it overlaps the exchange's {course_dir}; "
            "expected a folder of your own, e.g. submitted/"
        )
    try:
        inbound_fd = os.open(inbound, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        raise UserError(f"cannot read {inbound}: {exc.strerror}") from None
    try:
        entries, skipped = _entries(inbound_fd, assignment)
        for line in skipped:
            say(line)
        by_student: dict[str, list[_Entry]] = {}
        for entry in entries:
            by_student.setdefault(entry.student, []).append(entry)
        if not by_student:
            say(f"no submissions of {assignment} for course {course_id} in {inbound}")
            return []
        dest.mkdir(parents=True, exist_ok=True)
        for student in by_student:
            by_student[student].sort(key=lambda e: (e.time, e.name))
        owners = _ownership([mine[-1] for mine in by_student.values()])
        if "" in owners:
            say(f"note: {owners['']}")
        collected: list[str] = []
        for student, mine in sorted(by_student.items()):
            if student in owners:
                say(f"{student}: note: {owners[student]}")
            if _collect_one(inbound_fd, mine, dest, assignment, say):
                collected.append(student)
    finally:
        os.close(inbound_fd)
    say(f"{len(collected)} of {len(by_student)} students' latest submissions are in {dest}")
    return collected


def _entries(inbound_fd: int, assignment: str) -> tuple[list[_Entry], list[str]]:
    """The entries of ``inbound/`` submitted for ``assignment``, and a note per odd one."""
    from nbgrader.utils import parse_utc

    marker = f"+{assignment}+"
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    found: list[_Entry] = []
    notes: list[str] = []
    for name in sorted(os.listdir(inbound_fd)):
        if marker not in name:
            continue  # another assignment's
        student, _, rest = name.partition(marker)
        stamp, _, random = rest.partition("+")
        why = ""
        if not _STUDENT.fullmatch(student) or ".." in student:
            why = f"student id {_shown(student)} is not a plain login name"
        elif not _STAMP.fullmatch(stamp) or (random and not _RANDOM.fullmatch(random)):
            why = "it is not named <student>+<assignment>+<timestamp>[+<random>] as nbgrader names"
        if not why:
            try:
                when = parse_utc(stamp)
            except (ValueError, OverflowError, TypeError):
                why = f"its timestamp {_shown(stamp)} is not one nbgrader writes"
            else:
                if when > now + FUTURE_SLACK:
                    why = f"it is dated {stamp}, in the future"
        if not why:
            try:
                uid = os.stat(name, dir_fd=inbound_fd, follow_symlinks=False).st_uid
            except OSError as exc:
                why = f"it cannot be read ({exc.strerror})"
        if why:
            notes.append(f"skipped inbound entry {_shown(name)}: {why}")
            continue
        found.append(_Entry(name, student, stamp, when, uid))
    return found, notes


def _owner(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def _trusted_uids() -> set[int]:
    """Owners no student can be: root and the user collecting."""
    return {0, os.geteuid()}


def _ownership(latest: list[_Entry]) -> dict[str, str]:
    """Student -> a note when the submission collected is not owned by that login.

    Anyone may create entries in ``inbound/`` (nbgrader makes it writable by all), so a
    student can submit under another's name; nbgrader's collect warns of it
    (``CollectApp.check_owner``). When every submission belongs to one user, as on hubs
    whose servers all run as one user id (``jovyan``), owners say nothing: one note.
    Entries of root or of the user collecting (an instructor's test submission) are
    not questioned: no student can make them.
    """
    trusted = _trusted_uids()
    owners = {e.student: _owner(e.uid) for e in latest if e.uid not in trusted}
    odd = {s: o for s, o in owners.items() if o != s}
    if len(latest) > 1 and len(odd) == len(latest) and len(set(odd.values())) == 1:
        user = next(iter(odd.values()))
        return {"": f"every submission is owned by {user}: owners cannot tell students apart"}
    return {
        s: f"the submission is owned by {o}, not by {s} (submitted under another's name?)"
        for s, o in odd.items()
    }


def _read_entry(inbound_fd: int, entry: _Entry) -> _Read:
    """The notebooks of one submission folder, read without following any link."""
    try:
        fd = os.open(entry.name, _DIR_FLAGS, dir_fd=inbound_fd)
    except OSError as exc:
        return _Read({}, [], f"it is not a folder (a link?) ({exc.strerror})")
    files: dict[str, bytes] = {}
    notes: list[str] = []
    total = 0
    try:
        names = os.listdir(fd)
        if len(names) > MAX_SUBMISSION_ENTRIES:
            return _Read({}, [], f"it holds {len(names)} entries, over {MAX_SUBMISSION_ENTRIES}")
        for name in sorted(names):
            if not name.endswith(".ipynb"):
                continue  # timestamp.txt, submission_secret.txt, data, the kit's wheel
            if not _NOTEBOOK.fullmatch(name) or ".." in name:
                notes.append(f"file {_shown(name)} skipped: not a plain notebook name")
                continue
            try:
                nfd = os.open(name, _FILE_FLAGS, dir_fd=fd)
            except OSError as exc:
                notes.append(f"file {_shown(name)} skipped: a link or unreadable ({exc.strerror})")
                continue
            with os.fdopen(nfd, "rb") as fh:
                info = os.fstat(fh.fileno())
                if not stat.S_ISREG(info.st_mode):
                    notes.append(f"file {_shown(name)} skipped: not a regular file")
                    continue
                data = fh.read(MAX_NOTEBOOK_BYTES + 1)
            if len(data) > MAX_NOTEBOOK_BYTES:
                notes.append(f"file {_shown(name)} skipped: over {MAX_NOTEBOOK_BYTES} bytes")
                continue
            total += len(data)
            if total > MAX_SUBMISSION_BYTES:
                return _Read({}, [], f"its notebooks are over {MAX_SUBMISSION_BYTES} bytes")
            files[name] = data
    finally:
        os.close(fd)
    return _Read(files, notes)


def _folder_of(read: _Read, entry: _Entry) -> dict[str, bytes]:
    """What collecting ``entry`` writes in ``<dest>/<student>/<assignment>/``."""
    return {**read.files, TIMESTAMP_FILE: entry.stamp.encode()}


def _collect_one(
    inbound_fd: int, mine: list[_Entry], dest: Path, assignment: str, say: Log
) -> bool:
    """Collect the latest of one student's entries (oldest first); True if it is in ``dest``."""
    latest = mine[-1]
    student = latest.student
    earlier = f" (the latest of {len(mine)})" if len(mine) > 1 else ""
    read = _read_entry(inbound_fd, latest)
    target = dest / student / assignment
    if read.error:
        kept = f"; {target} keeps what was there" if os.path.lexists(target) else ""
        say(f"skipped {student}'s submission {_shown(latest.name)}: {read.error}{kept}")
        return False
    for note in read.notes:
        say(f"{student}: {note}")
    wanted = _folder_of(read, latest)
    present = _present(target)
    if present == wanted:
        say(f"{student}: unchanged, submitted {latest.stamp}{earlier}")
        return True
    if present is not None:
        why = _keep_reason(inbound_fd, mine, present, latest)
        if why:
            say(f"{student}: {target} left as it is: {why}; move it away to collect again")
            return False
    _install(dest, target, wanted, say)
    count = len(read.files)
    what = f"{count} notebook{'s' if count != 1 else ''}" if count else "no notebooks"
    say(f"{student}: collected {what}, submitted {latest.stamp}{earlier}")
    return True


def _present(target: Path) -> dict[str, bytes] | None:
    """What an earlier collect left at ``target`` (None: nothing); ``{"": b""}`` for a
    folder collect did not write (links, sub-folders, other files, huge files)."""
    if not os.path.lexists(target):
        return None
    foreign = {"": b""}
    if target.is_symlink() or not target.is_dir():
        return foreign
    found: dict[str, bytes] = {}
    for child in target.iterdir():
        info = child.lstat()
        ours = child.name == TIMESTAMP_FILE or child.name.endswith(".ipynb")
        if not ours or not stat.S_ISREG(info.st_mode) or info.st_size > MAX_NOTEBOOK_BYTES:
            return foreign
        found[child.name] = child.read_bytes()
    return found


def _keep_reason(
    inbound_fd: int, mine: list[_Entry], present: dict[str, bytes], latest: _Entry
) -> str:
    """'' if ``present`` is an exact copy of an earlier submission of this student (so
    replacing it loses nothing); else why it must stay."""
    if "" in present:
        return "it holds files gradkit collect does not write"
    stamp = present.get(TIMESTAMP_FILE, b"").decode("utf-8", "replace").strip()
    if not stamp:
        return f"it has no {TIMESTAMP_FILE}"
    source = [e for e in mine if e.stamp == stamp]
    if not source:
        return f"its submission of {stamp} is no longer in the exchange"
    if source[-1].time >= latest.time:
        return f"it differs from the exchange's copy of the submission of {stamp}"
    earlier = _read_entry(inbound_fd, source[-1])
    if earlier.error or _folder_of(earlier, source[-1]) != present:
        return f"it differs from the exchange's copy of the submission of {stamp}"
    return ""


def _install(dest: Path, target: Path, files: dict[str, bytes], say: Log) -> None:
    """Write ``files`` as the folder ``target`` (below ``dest``), replacing what is there,
    by renames: a reader sees the old folder or the new one. ``say`` hears of a folder of
    ours that could not be removed."""
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    new = target.with_name(f".{target.name}.collect-{tag}")
    old = target.with_name(f".{target.name}.old-{tag}")
    try:
        for name, data in sorted(files.items()):
            write_bytes(new / name, data, root=dest)
        if os.path.lexists(target):
            os.rename(target, old)
        os.rename(new, target)
    except OSError as exc:
        if os.path.lexists(old) and not os.path.lexists(target):
            os.rename(old, target)
        _remove_scratch(new, say)
        raise UserError(f"could not write {target}: {exc.strerror or exc}") from None
    except BaseException:
        _remove_scratch(new, say)
        raise
    _remove_scratch(old, say, "replaced copy")
