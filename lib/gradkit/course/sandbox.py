"""A sandbox for a student's kernel: bubblewrap namespaces, a read-only environment, limits.

``gradkit grade`` starts every student's kernel inside
`bubblewrap <https://github.com/containers/bubblewrap>`_ (``bwrap``, packaged by
every major Linux distribution). Inside:

* no network (a new, empty network namespace), its own PID namespace (``/proc``
  shows only the sandbox, the grader cannot be seen or signalled), its own IPC
  and UTS namespaces;
* a filesystem holding only the operating system's directories, the Python
  installation, the virtual environment and gradkit's library — all read-only —
  plus a private, empty home (the working directory), the kernel's socket
  directory and the bridge directory. The course (solutions, secret, gradebook),
  other students' work and the submissions folder are not there at all;
* an unprivileged user: when the grader runs as root, a user id of the kernel's
  own (:func:`lease_uid`, no account, no groups), so the process limit counts
  only this kernel's processes and :func:`kill_user` can remove anything it
  left; otherwise ``nobody`` (65534) mapped in a new user namespace;
* limits set by :mod:`gradkit.course.rlimits`: memory (address space), processes,
  size of written files, open files, CPU seconds, no core dumps;
* nothing outlives the kernel: bwrap's own init is the namespace's first
  process, and when it goes (the kernel manager kills it, or the grader dies:
  ``--die-with-parent``) the kernel manager's signal reaches every process in
  the namespace. The kernel is not that first process on purpose: a namespace's
  first process ignores signals it has no handler for, and dropping privileges
  (``setpriv``) clears the parent-death signal, so a kernel started with
  ``--as-pid-1`` outlived its manager.

:class:`SandboxedKernelManager` is the jupyter_client kernel manager that does
this; :func:`doctor` reports what a machine supports.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Int, Unicode

__all__ = [
    "BWRAP_ENV",
    "Limits",
    "SandboxUnavailable",
    "SandboxedKernelManager",
    "command",
    "doctor",
    "find_bwrap",
    "kill_user",
    "lease_uid",
    "probe",
    "release_uid",
]

#: The unprivileged user and group of a kernel in a user namespace (grader not root).
NOBODY = 65534
#: A root grader gives each kernel a user id of its own, from
#: ``KERNEL_UID_BASE + pid * UIDS_PER_PROCESS + slot``: process ids are unique among
#: live processes (at most 2**22 on Linux) and a process leases its slots one kernel at
#: a time (a Dask worker runs several at once, in threads). The range, 0x50000000 to
#: 0x60000000, is far above the ids of real accounts.
KERNEL_UID_BASE = 0x50000000
UIDS_PER_PROCESS = 64
_leased: set[int] = set()
_lease_lock = threading.Lock()
#: Environment variables a kernel may inherit from the grader (nothing else crosses).
PASSED_ENV = (
    "NBGRADER_EXECUTION",
    "NBGRADER_VALIDATING",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
)
#: The home (and working directory) of the kernel inside the sandbox.
HOME = "/home/student"


class SandboxUnavailable(RuntimeError):
    """This machine cannot run the sandbox; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """Per-kernel resource limits (bytes, counts, seconds)."""

    memory: int = 2 * 2**30
    processes: int = 64
    file_size: int = 64 * 2**20
    open_files: int = 512
    cpu_seconds: int = 1200

    def args(self, extra_processes: int = 0) -> list[str]:
        return [
            f"--as={self.memory}",
            f"--nproc={self.processes + extra_processes}",
            f"--fsize={self.file_size}",
            f"--nofile={self.open_files}",
            f"--cpu={self.cpu_seconds}",
            "--core=0",
        ]


#: Environment variable naming the bubblewrap executable to use instead of ``bwrap`` on
#: PATH (a build in a non-standard place); a value that is not an executable file means
#: "no bubblewrap here", which is how CI grades once more as a machine without it would.
BWRAP_ENV = "GRADKIT_BWRAP"


def find_bwrap() -> str | None:
    """The bubblewrap executable: ``$GRADKIT_BWRAP`` when set, else ``bwrap`` on PATH."""
    chosen = os.environ.get(BWRAP_ENV)
    if chosen is not None:
        return chosen if os.path.isfile(chosen) and os.access(chosen, os.X_OK) else None
    return shutil.which("bwrap")


def _no_bwrap_reason() -> str:
    chosen = os.environ.get(BWRAP_ENV)
    if chosen is not None:
        return f"no bubblewrap: {BWRAP_ENV}={chosen} is not an executable file"
    return "bwrap (bubblewrap) is not installed; install the 'bubblewrap' package"


def _python_paths() -> list[Path]:
    """What the kernel needs to run Python and import gradkit: read-only in the sandbox."""
    import gradkit

    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(gradkit.__file__).resolve().parents[1]}
    real = Path(os.path.realpath(sys.executable)).parent.parent
    paths.add(real)
    return sorted(p for p in paths if p.is_dir())


def _system_binds() -> list[str]:
    args: list[str] = []
    for name in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


def _own_processes() -> int:
    """How many processes this user runs now (RLIMIT_NPROC counts them all)."""
    uid = os.getuid()
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


def lease_uid() -> int:
    """A user id no other running kernel of this machine's graders has; give it back
    with :func:`release_uid` once the kernel and everything it started are gone."""
    with _lease_lock:
        for slot in range(UIDS_PER_PROCESS):
            uid = KERNEL_UID_BASE + os.getpid() * UIDS_PER_PROCESS + slot
            if uid not in _leased:
                _leased.add(uid)
                return uid
    raise SandboxUnavailable(f"more than {UIDS_PER_PROCESS} kernels at once in one process")


def release_uid(uid: int) -> None:
    with _lease_lock:
        _leased.discard(uid)


def kill_user(uid: int) -> int:
    """SIGKILL every process of ``uid`` (a kernel's own id); how many there were."""
    if uid < KERNEL_UID_BASE:
        raise ValueError(f"kill_user only removes kernel users (>= {KERNEL_UID_BASE}), got {uid}")
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
        except OSError:  # gone meanwhile
            continue
    return killed


def command(
    argv: list[str],
    home: Path,
    writable: list[Path],
    limits: Limits = Limits(),
    env: dict[str, str] | None = None,
    uid: int = NOBODY,
) -> list[str]:
    """The command that runs ``argv`` in the sandbox (see the module docstring).

    ``uid`` is the kernel's user id when the grader is root (see :func:`lease_uid`);
    ``home`` and the ``writable`` directories must belong to it.
    """
    bwrap = find_bwrap()
    if bwrap is None:
        raise SandboxUnavailable(_no_bwrap_reason())
    args = [
        bwrap,
        "--die-with-parent",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",
        *_system_binds(),
    ]
    made: set[str] = set()

    def parents(path: Path) -> list[str]:
        # bwrap would create missing parents as 0700 (root only): make them traversable.
        out = []
        for parent in reversed(path.parents[:-1]):
            if str(parent) not in made:
                made.add(str(parent))
                out += ["--perms", "0755", "--dir", str(parent)]
        return out

    for path in _python_paths():
        args += [*parents(path), "--ro-bind", str(path), str(path)]
    args += [*parents(Path(HOME)), "--bind", str(home), HOME, "--chdir", HOME]
    for path in writable:
        args += [*parents(path), "--bind", str(path), str(path)]
    args += ["--clearenv"]
    kernel_env = {
        "HOME": HOME,
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{HOME}/.config/matplotlib",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        **(env or {}),
    }
    for key, value in kernel_env.items():
        args += ["--setenv", key, value]
    inner = [sys.executable, "-m", "gradkit.course.rlimits"]
    if os.geteuid() == 0:
        inner += limits.args()
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise SandboxUnavailable("setpriv (util-linux) is needed to drop root in the sandbox")
        drop = [
            setpriv,
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--no-new-privs",
        ]
    else:
        args += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY)]
        inner += limits.args(extra_processes=_own_processes())
        drop = []
    return args + ["--", *inner, "--", *drop, *argv]


def probe() -> tuple[bool, str]:
    """Can this machine run the sandbox? (True, "") or (False, why)."""
    if not sys.platform.startswith("linux"):
        return False, f"the sandbox needs Linux namespaces; this is {sys.platform}"
    if find_bwrap() is None:
        return False, _no_bwrap_reason()
    import tempfile

    uid = lease_uid() if os.geteuid() == 0 else NOBODY
    try:
        with tempfile.TemporaryDirectory(prefix="gradkit-probe-") as tmp:
            home = Path(tmp)
            home.chmod(0o700)
            if os.geteuid() == 0:
                os.chown(home, uid, uid)
            try:
                argv = [sys.executable, "-c", "import numpy, gradkit; print('ok')"]
                cmd = command(argv, home, [], uid=uid)
            except SandboxUnavailable as exc:
                return False, str(exc)
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    finally:
        if os.geteuid() == 0:
            kill_user(uid)
            release_uid(uid)
    if res.returncode != 0 or "ok" not in res.stdout:
        detail = (res.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return False, f"bwrap could not start a sandbox here: {detail}"
    return True, ""


def doctor() -> list[tuple[str, bool, str]]:
    """(what, ok, detail) for each thing the sandbox needs on this machine."""
    rows = [("Linux", sys.platform.startswith("linux"), sys.platform)]
    bwrap = find_bwrap()
    version = ""
    if bwrap:
        version = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout
    rows.append(("bubblewrap (bwrap)", bwrap is not None, version.strip() or _no_bwrap_reason()))
    root = os.geteuid() == 0
    rows.append(
        (
            "unprivileged kernel user",
            (shutil.which("setpriv") is not None) if root else True,
            "root: each kernel gets its own user id via setpriv"
            if root
            else "user namespace, uid 65534",
        )
    )
    ok, why = probe()
    rows.append(("a sandboxed Python starts", ok, why or "numpy and gradkit import inside"))
    return rows


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside the sandbox.

    ``sandbox_home`` is the (empty) directory that becomes the kernel's home
    and working directory; ``sandbox_writable`` lists further directories the
    kernel may write (its socket directory, the bridge directory), separated
    by ``os.pathsep``. The connection file must sit in one of them.
    """

    sandbox_home = Unicode("", help="Directory mounted as the kernel's home.").tag(config=True)
    sandbox_writable = Unicode("", help="os.pathsep-separated writable directories.").tag(
        config=True
    )
    sandbox_memory = Int(Limits().memory, help="Address-space limit in bytes.").tag(config=True)
    sandbox_uid = Int(NOBODY, help="The kernel's user id when the grader is root.").tag(config=True)
    sandbox_enabled = Bool(True).tag(config=True)

    def write_connection_file(self, **kwargs: object) -> None:
        super().write_connection_file(**kwargs)
        if self.sandbox_enabled and os.geteuid() == 0:
            os.chown(self.connection_file, self.sandbox_uid, self.sandbox_uid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        argv = super().format_kernel_cmd(extra_arguments)
        if not self.sandbox_enabled:
            return argv
        writable = [Path(p) for p in self.sandbox_writable.split(os.pathsep) if p]
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        return command(
            argv,
            Path(self.sandbox_home),
            writable,
            Limits(memory=self.sandbox_memory),
            env,
            uid=self.sandbox_uid,
        )
