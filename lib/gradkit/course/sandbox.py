"""A sandbox for a student's kernel: bubblewrap namespaces, a read-only environment, limits.

``gradkit grade`` starts every student's kernel inside
`bubblewrap <https://github.com/containers/bubblewrap>`_ (``bwrap``, packaged by
every major Linux distribution). Inside:

* no network (a new, empty network namespace), its own PID namespace (``/proc``
  shows only the sandbox, the grader cannot be seen or signalled), its own IPC
  and UTS namespaces;
* a filesystem holding only the operating system's directories, the Python
  installation, the virtual environment and gradkit's library — all read-only —
  plus the two folders the grader writes for it, also read-only (the connection
  file, the bridge's requests; see :mod:`gradkit.course.rundir`), and the same
  student's other notebooks of the assignment, read-only files in its home (what
  ``gradkit.yours.load`` reads for a demo). Everything the
  kernel can write is a size-limited tmpfs of the sandbox: its home (the working
  directory), ``/tmp``, and the folders of its sockets and bridge replies. No
  folder of the host is writable, so the kernel can neither fill the host's disk
  nor plant a link where the grader works. The course (solutions, secret,
  gradebook), other students' work and the submissions folder are not there;
* an unprivileged user: when the grader runs as root, a user id of the kernel's
  own (:func:`~gradkit.course.kernel_users.lease_uid`, no account, no groups), so the
  process limit counts only this kernel's processes and
  :func:`~gradkit.course.kernel_users.kill_user` can remove anything it left;
  otherwise ``nobody`` (65534) mapped in a new user namespace;
* limits set by :mod:`gradkit.course.rlimits` on each process (address space,
  processes, size of written files, open files, CPU seconds, no core dumps) and,
  for a root grader, by a control group for the whole sandbox
  (:mod:`gradkit.course.cgroups`: memory with its tmpfs, processes, one core);
* nothing outlives the kernel: bwrap's own init is the namespace's first
  process, and when it goes (the kernel manager kills it, or the grader dies:
  ``--die-with-parent``) the kernel manager's signal reaches every process in
  the namespace.

The grader reaches the kernel's sockets and replies only through descriptors:
bubblewrap reports the sandbox's first process (``--info-fd``), the grader opens
the sandbox's folders through ``/proc/<pid>/root`` before any student code runs,
and connects to each socket through ``/proc/self/fd/N`` of a descriptor opened
without following links and checked to be a socket of the kernel's user. A link
the kernel plants later is never followed by the grader.

:class:`SandboxedKernelManager` is the jupyter_client kernel manager that does
this; :func:`doctor` reports what a machine supports and which limits hold.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Int, Unicode

from . import fontlist, graded_kernel
from .cgroups import KernelGroup
from .kernel_users import KERNEL_UID_BASE, kill_user, lease_uid, release_uid
from .lifeline import ALIVE_OPTION, guard_command

__all__ = [
    "BWRAP_ENV",
    "Limits",
    "SandboxUnavailable",
    "SandboxedKernelManager",
    "command",
    "doctor",
    "find_bwrap",
    "limit_report",
    "probe",
    "probe_user",
    "user_command",
]

#: The unprivileged user and group of a kernel in a user namespace (grader not root).
NOBODY = 65534
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
#: The sandbox's folders for the kernel's sockets and its bridge replies (tmpfs mounts at
#: the top of the sandbox: a mount point cannot be renamed or replaced by a link).
SANDBOX_IPC = "/gradkit-ipc"
SANDBOX_OUT = "/gradkit-out"
#: The ipc address prefix the kernel binds its five sockets under.
IPC_PREFIX = f"{SANDBOX_IPC}/kernel"
#: Where a kernel's matplotlib keeps its configuration and caches.
MPLCONFIGDIR = f"{HOME}/.config/matplotlib"


class SandboxUnavailable(RuntimeError):
    """This machine cannot run the sandbox; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """Per-kernel limits (bytes, counts, seconds, cores).

    ``memory`` is each process's address space (a ``MemoryError`` past it) and
    ``memory_total`` all of the sandbox's memory, tmpfs files included (a control
    group, root graders only); ``disk`` is what the kernel may write in its home and
    ``/tmp`` together; ``replies`` the room for bridge replies (the grader reads at
    most 64 MiB of arrays and 8 MiB of JSON per reply).
    """

    memory: int = 2 * 2**30
    memory_total: int = 2 * 2**30
    processes: int = 256
    file_size: int = 64 * 2**20
    open_files: int = 512
    cpu_seconds: int = 1200
    cpus: float = 1.0
    disk: int = 512 * 2**20
    replies: int = 80 * 2**20

    @property
    def home_size(self) -> int:
        return self.disk * 3 // 4

    @property
    def tmp_size(self) -> int:
        return self.disk - self.home_size

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
#: The module that starts a kernel under its limits, inside the sandbox.
RLIMITS = "gradkit.course.rlimits"


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


def _gradkit_root() -> Path:
    """The folder holding the gradkit package the grader imports."""
    import gradkit

    return Path(gradkit.__file__).resolve().parents[1]


def _system_binds() -> list[str]:
    args: list[str] = []
    for name in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    return args


def kernel_visible_paths() -> list[Path]:
    """The host folders every sandboxed kernel sees, read-only: the system's and Python's
    (what the grader keeps from students, such as its outcome cache, must lie elsewhere)."""
    binds = _system_binds()
    system = [Path(binds[i + 1]) for i, arg in enumerate(binds) if arg == "--ro-bind"]
    return [*system, *_python_paths()]


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


def _tmpfs(path: str, size: int, mode: str = "1777") -> list[str]:
    return ["--perms", mode, "--size", str(size), "--tmpfs", path]


def command(
    argv: list[str],
    readonly: list[Path],
    limits: Limits = Limits(),
    env: dict[str, str] | None = None,
    uid: int = NOBODY,
    library: Path | None = None,
    home_files: list[Path] | None = None,
    fonts: Path | None = None,
) -> list[str]:
    """The command that runs ``argv`` in the sandbox (see the module docstring).

    ``readonly`` folders of the grader (the connection file's, the bridge requests')
    appear at their own paths, read-only. ``home_files`` (files of the grader's run
    folder) appear in the kernel's home under their own names, read-only: mount points
    the kernel can neither change, remove nor replace. ``uid`` is the kernel's user id
    when the grader is root (see :func:`~gradkit.course.kernel_users.lease_uid`).
    ``library`` is a folder holding the ``gradkit`` package of a student kit
    (:func:`gradkit.course.kit.kit_library`): the kernel sees it in place of gradkit's, so
    no reference is within its reach.
    ``fonts`` is matplotlib's font list (:func:`~gradkit.course.fontlist.font_list`), shown
    read-only where the kernel's matplotlib looks for it.
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
        *_tmpfs("/tmp", limits.tmp_size),
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
    if library is not None:
        import gradkit

        package = Path(gradkit.__file__).resolve().parent
        args += ["--ro-bind", str(Path(library) / "gradkit"), str(package)]
    args += [*parents(Path(HOME)), *_tmpfs(HOME, limits.home_size), "--chdir", HOME]
    for path in home_files or []:  # after the home's tmpfs, which would hide them
        args += ["--ro-bind", str(path), f"{HOME}/{path.name}"]
    if fonts is not None:  # in folders the kernel may write in, but neither rename nor remove
        for folder in (Path(MPLCONFIGDIR).parent, Path(MPLCONFIGDIR)):
            args += ["--perms", "1777", "--dir", str(folder)]
        args += ["--ro-bind", str(fonts), f"{MPLCONFIGDIR}/{fonts.name}"]
    args += [*_tmpfs(SANDBOX_IPC, 2**20), *_tmpfs(SANDBOX_OUT, limits.replies)]
    for path in readonly:
        args += [*parents(path), "--ro-bind", str(path), str(path)]
    args += ["--clearenv"]
    kernel_env = {
        "HOME": HOME,
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": MPLCONFIGDIR,
        "PYTHONNOUSERSITE": "1",
        # the gradkit the grader imports (mounted above), even where the environment's
        # own (an editable install of another checkout) is not mounted
        "PYTHONPATH": str(_gradkit_root()),
        "PYTHONDONTWRITEBYTECODE": "1",
        **(env or {}),
    }
    for key, value in kernel_env.items():
        args += ["--setenv", key, value]
    inner = [sys.executable, "-m", RLIMITS]
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


def user_command(
    argv: list[str],
    uid: int,
    home: Path,
    limits: Limits = Limits(),
    env: dict[str, str] | None = None,
    library: Path | None = None,
) -> list[str]:
    """The command that runs ``argv`` as ``uid`` without namespaces (the *separate user*
    mode of a root grader in a container that forbids them, see
    :mod:`gradkit.course.autograder.isolation`).

    The limits of :mod:`gradkit.course.rlimits` are set, then ``setpriv`` drops root for
    ``uid`` (no groups, no new privileges) and ``env -i`` clears the environment: the
    kernel gets ``home`` as its home, ``library`` (a student kit) first on its path, and
    the variables of :data:`PASSED_ENV`. It sees the machine's files as that user may:
    what keeps the course secret and the reference from it are file permissions, which the
    caller checks (:func:`gradkit.course.autograder.isolation.check_private`).
    """
    if os.geteuid() != 0:
        raise SandboxUnavailable("the separate-user mode needs a root grader")
    if uid < KERNEL_UID_BASE:
        raise ValueError(f"a kernel's own user id is >= {KERNEL_UID_BASE}, got {uid}")
    setpriv, env_bin = shutil.which("setpriv"), shutil.which("env")
    if setpriv is None or env_bin is None:
        raise SandboxUnavailable("setpriv (util-linux) and env are needed to drop root")
    kernel_env = {
        "HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{home}/.config/matplotlib",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        **({"PYTHONPATH": str(library)} if library is not None else {}),
        **(env or {}),
    }
    drop = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs"]
    inner = [sys.executable, "-m", RLIMITS, *limits.args()]
    assignments = [f"{key}={value}" for key, value in kernel_env.items()]
    return [*inner, "--", *drop, "--", env_bin, "-i", *assignments, *argv]


def probe_user() -> tuple[bool, str]:
    """Can this machine run a kernel as a separate user? (True, "") or (False, why)."""
    import tempfile

    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False, "the separate-user mode needs Linux and a root grader"
    uid = lease_uid()
    try:
        with tempfile.TemporaryDirectory(prefix="gradkit-probe-") as tmp:
            os.chmod(tmp, 0o755)
            argv = [sys.executable, "-c", "import os, numpy; print('ok', os.getuid())"]
            try:
                cmd = user_command(argv, uid, Path(tmp))
            except SandboxUnavailable as exc:
                return False, str(exc)
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp)
    finally:
        kill_user(uid)
        release_uid(uid)
    if res.returncode != 0 or f"ok {uid}" not in res.stdout:
        detail = (res.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return False, f"a kernel could not start as user {uid} here: {detail}"
    return True, ""


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
            try:
                argv = [sys.executable, "-c", "import numpy, gradkit; print('ok')"]
                cmd = command(argv, [], uid=uid)
            except SandboxUnavailable as exc:
                return False, str(exc)
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp)
    finally:
        if os.geteuid() == 0:
            kill_user(uid)
            release_uid(uid)
    if res.returncode != 0 or "ok" not in res.stdout:
        detail = (res.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return False, f"bwrap could not start a sandbox here: {detail}"
    return True, ""


def limit_report(limits: Limits = Limits()) -> list[tuple[str, bool, str]]:
    """(limit, holds, how) for each limit of a sandboxed kernel on this machine."""
    from .cgroups import available

    why = available()
    gib = 2**30
    rows = [
        (
            "memory, whole sandbox",
            not why["memory"],
            f"{limits.memory_total / gib:g} GiB with its tmpfs files (control group)"
            if not why["memory"]
            else f"NOT held ({why['memory']}): each process still stops at "
            f"{limits.memory / gib:g} GiB, but its children and tmpfs files add up",
        ),
        (
            "processes",
            not why["pids"],
            f"{limits.processes} (control group)"
            if not why["pids"]
            else f"{limits.processes} per user id (setrlimit; {why['pids']})",
        ),
        (
            "CPU share",
            not why["cpu"],
            f"{limits.cpus:g} core (control group)"
            if not why["cpu"]
            else f"NOT held ({why['cpu']}): a kernel may use every core",
        ),
        (
            "disk",
            True,
            f"{limits.disk // 2**20} MiB in its home and /tmp (sized tmpfs), "
            f"{limits.file_size // 2**20} MiB per file",
        ),
    ]
    return rows


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


class CappedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets take messages of at most :data:`MAX_MESSAGE_BYTES`
    and queue at most :data:`RECEIVE_QUEUE` of them."""

    def _context_default(self) -> Any:
        import zmq

        context = super()._context_default()
        context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        return context


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start inside the sandbox.

    ``sandbox_readonly`` lists the grader's folders the kernel reads (the connection
    file's, the bridge requests'), separated by ``os.pathsep``; ``sandbox_home_files`` the
    files it reads in its home (the student's other notebooks); ``sandbox_workdir`` is a
    folder private to the grader that the launcher runs in (so no process of the
    sandbox ever had the course as its working directory). The connection file's
    ``ip`` must be :data:`IPC_PREFIX`, a path inside the sandbox; the grader's own
    sockets connect through descriptors (see the module docstring).
    """

    sandbox_readonly = Unicode("", help="os.pathsep-separated read-only folders.").tag(config=True)
    sandbox_home_files = Unicode(
        "", help="os.pathsep-separated files shown read-only in the kernel's home."
    ).tag(config=True)
    sandbox_workdir = Unicode("", help="Working directory of the launcher.").tag(config=True)
    sandbox_memory = Int(Limits().memory, help="Address-space limit in bytes.").tag(config=True)
    sandbox_uid = Int(NOBODY, help="The kernel's user id when the grader is root.").tag(config=True)
    sandbox_enabled = Bool(True).tag(config=True)
    sandbox_library = Unicode(
        "", help="A folder with a student kit's gradkit package, seen in place of gradkit's."
    ).tag(config=True)
    sandbox_cgroups = Bool(True, help="Limit the sandbox with a control group (root).").tag(
        config=True
    )
    separate_user = Bool(
        False,
        help="Without the sandbox: run the kernel as sandbox_uid, with limits and a cleared "
        "environment, in user_home (a root grader only; see user_command).",
    ).tag(config=True)
    user_home = Unicode("", help="The separate user's home and working folder.").tag(config=True)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        import zmq

        # What the kernel sends is capped at the socket, before anything is held whole: a
        # larger message drops the connection (ZeroMQ reconnects), and few are queued.
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self.context.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        self.client_factory = CappedKernelClient
        self.inner_pid: int | None = None
        #: Whether the kernel runs gradkit's graded kernel (which answers
        #: :data:`~gradkit.course.graded_kernel.BRIDGE_REQUEST`), set when it is launched.
        self.graded_kernel = False
        self._dir_fds: dict[str, int] = {}
        self._socket_fds: dict[str, int] = {}
        #: The writing end of the pipe whose other end tells the kernel's launcher that
        #: this process still runs (:mod:`gradkit.course.lifeline`).
        self._alive_fd: int | None = None
        self.group: KernelGroup | None = None
        #: Separate-user mode: the run folder's descriptors of the folders the kernel
        #: writes, opened before it starts ("ipc" its sockets, "out" its bridge replies).
        self.user_folders: dict[str, Any] = {}

    @property
    def _fenced(self) -> bool:
        """Whether the kernel runs as another user, reached only through descriptors."""
        return self.sandbox_enabled or self.separate_user

    @property
    def limits(self) -> Limits:
        return Limits(memory=self.sandbox_memory)

    @property
    def kernel_owner(self) -> int:
        """Whose files the sandbox's writable folders hold, as the host sees them."""
        return self.sandbox_uid if os.geteuid() == 0 else os.getuid()

    def write_connection_file(self, **kwargs: object) -> None:
        super().write_connection_file(**kwargs)
        if self._fenced:  # in the grader's own folder: the kernel only reads it
            os.chmod(self.connection_file, 0o644)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        argv = graded_kernel.kernel_argv(super().format_kernel_cmd(extra_arguments))
        self.graded_kernel = graded_kernel.MODULE in argv
        if not self.sandbox_enabled and self.separate_user:
            env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
            library = Path(self.sandbox_library) if self.sandbox_library else None
            cmd = user_command(
                argv, self.sandbox_uid, Path(self.user_home), self.limits, env, library
            )
            return self._in_group(cmd)
        if not self.sandbox_enabled:
            return argv
        readonly = [Path(p) for p in self.sandbox_readonly.split(os.pathsep) if p]
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        library = Path(self.sandbox_library) if self.sandbox_library else None
        home_files = [Path(p) for p in self.sandbox_home_files.split(os.pathsep) if p]
        cmd = command(
            argv,
            readonly,
            self.limits,
            env,
            uid=self.sandbox_uid,
            library=library,
            home_files=home_files,
            fonts=fontlist.font_list(),
        )
        return self._in_group(cmd)

    def _in_group(self, cmd: list[str]) -> list[str]:
        """``cmd`` joining the kernel's control group (root graders, where one can be made)."""
        if self.sandbox_cgroups and os.geteuid() == 0:
            if self.group is None:
                limits = self.limits
                self.group = KernelGroup(
                    limits.memory_total, limits.processes, limits.cpus
                ).create()
            cmd = self.group.join_command(cmd)
        return cmd

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        if not self.sandbox_enabled and self.separate_user:
            self._close_fds()
            kill_user(self.sandbox_uid)  # a restart: nothing of the last kernel remains
            kw["cwd"] = self.user_home
            await super()._async_launch_kernel(kernel_cmd, **kw)
            deadline = time.monotonic() + LAUNCH_TIMEOUT
            await self._open_sockets(self.user_folders["ipc"].fd, deadline)
            return
        if not self.sandbox_enabled:
            await super()._async_launch_kernel(kernel_cmd, **kw)
            return
        self._close_fds()
        bwrap = find_bwrap()
        at = kernel_cmd.index(bwrap) + 1 if bwrap in kernel_cmd else 1
        read_end, write_end = os.pipe()
        kernel_cmd = [*kernel_cmd[:at], "--info-fd", str(write_end), *kernel_cmd[at:]]
        # the kernel dies with this process, also when it dies during the sandbox's setup
        alive, self._alive_fd = os.pipe()
        launcher = kernel_cmd.index(RLIMITS) + 1
        kernel_cmd = [*kernel_cmd[:launcher], f"{ALIVE_OPTION}={alive}", *kernel_cmd[launcher:]]
        kernel_cmd = guard_command(kernel_cmd, os.getpid())
        kw["pass_fds"] = (*kw.get("pass_fds", ()), write_end, alive)
        if self.sandbox_workdir:
            kw["cwd"] = self.sandbox_workdir
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            os.close(write_end)
            os.close(alive)
        try:
            self.inner_pid = await asyncio.to_thread(_child_pid, read_end, LAUNCH_TIMEOUT)
        finally:
            os.close(read_end)
        await self._open_sandbox()

    async def _open_sandbox(self) -> None:
        """Descriptors of the sandbox's folders and sockets, taken before any student code
        runs: through ``/proc/<pid>/root``, one component each, no link followed."""
        root = f"/proc/{self.inner_pid}/root"
        deadline = time.monotonic() + LAUNCH_TIMEOUT
        for name, path in (("ipc", SANDBOX_IPC), ("out", SANDBOX_OUT)):
            while True:
                try:
                    self._dir_fds[name] = os.open(root + path, _DIR_FLAGS)
                    break
                except FileNotFoundError:  # the sandbox has not pivoted into its root yet
                    if time.monotonic() > deadline or not await self.is_alive():
                        raise SandboxUnavailable("the sandbox did not come up") from None
                    await asyncio.sleep(0.01)
        await self._open_sockets(self._dir_fds["ipc"], deadline)

    async def _open_sockets(self, ipc_fd: int, deadline: float) -> None:
        """A descriptor of each of the kernel's sockets in the folder ``ipc_fd``, opened
        without following a link and checked to be a socket of the kernel's user."""
        ports = {c: getattr(self, f"{c}_port") for c in CHANNELS}
        base = Path(self.ip).name
        while len(self._socket_fds) < len(ports):
            for channel, port in ports.items():
                if channel in self._socket_fds:
                    continue
                try:
                    fd = os.open(f"{base}-{port}", os.O_PATH | _NOFOLLOW, dir_fd=ipc_fd)
                except FileNotFoundError:
                    continue
                st = os.fstat(fd)
                if not stat.S_ISSOCK(st.st_mode) or st.st_uid != self.kernel_owner:
                    os.close(fd)
                    raise SandboxUnavailable(f"the kernel's {channel} socket is not a socket")
                self._socket_fds[channel] = fd
            if len(self._socket_fds) < len(ports):
                if time.monotonic() > deadline or not await self.is_alive():
                    raise SandboxUnavailable("the kernel did not open its sockets")
                await asyncio.sleep(0.01)

    def _make_url(self, channel: str) -> str:
        fd = self._socket_fds.get(channel)
        if self._fenced and fd is not None:
            return f"ipc:///proc/self/fd/{fd}"
        return super()._make_url(channel)

    def client(self, **kwargs: Any) -> Any:
        kc = super().client(**kwargs)
        if self._fenced:
            kc.__dict__["_make_url"] = self._make_url  # it connects through our descriptors
        return kc

    def out_folder(self) -> Any:
        """The sandbox's folder of bridge replies, as a :class:`~gradkit.grading.codec.Folder`
        on a descriptor (replies must be the kernel's own regular files)."""
        from ..grading.codec import Folder

        if not self.sandbox_enabled and self.separate_user:
            out = self.user_folders["out"]
            return Folder(out.path, fd=out.fd, owner=self.kernel_owner)
        fd = self._dir_fds["out"]
        return Folder(f"/proc/{self.inner_pid}/root{SANDBOX_OUT}", fd=fd, owner=self.kernel_owner)

    def _close_fds(self) -> None:
        alive = [] if self._alive_fd is None else [self._alive_fd]
        self._alive_fd = None
        for fd in [*self._dir_fds.values(), *self._socket_fds.values(), *alive]:
            try:
                os.close(fd)
            except OSError:
                pass
        self._dir_fds, self._socket_fds = {}, {}

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._fenced:
            self._close_fds()
            if self.group is not None:
                self.group.kill()  # what a dead kernel's sandbox left in its group

    def remove_group(self) -> list[str]:
        """Remove the kernel's control group (after the kernel is gone)."""
        if self.group is None:
            return []
        problems = self.group.remove()
        self.group = None
        return problems


#: Largest message the grader accepts from a kernel, and how many it queues per socket:
#: outputs are capped at 1 MB per cell anyway, and bridge replies travel as files.
MAX_MESSAGE_BYTES = 4 * 2**20
RECEIVE_QUEUE = 64
#: The kernel's five ZeroMQ channels.
CHANNELS = ("shell", "iopub", "stdin", "control", "hb")
#: Seconds a sandbox and its kernel get to come up.
LAUNCH_TIMEOUT = 60.0
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW


def _child_pid(fd: int, timeout: float) -> int:
    """The sandbox's first process, from what ``bwrap --info-fd`` writes."""
    import json
    import select

    data = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise SandboxUnavailable("bubblewrap did not report its sandbox")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        data += chunk
        try:
            return int(json.loads(data)["child-pid"])
        except ValueError:
            if not chunk or len(data) > 65536:
                raise SandboxUnavailable("bubblewrap did not report its sandbox") from None
