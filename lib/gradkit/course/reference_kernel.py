"""The reference's kernel of the speed checks, beside the student's.

A speed check times the student's function and the reference on the same inputs, and
the grader times both the same way: the reference runs in a kernel of the grader's own,
started when the first speed check of a notebook needs it, in the same kind of sandbox as
the student's kernel and with no student code in it, and answered through the same
bridge. :class:`ReferenceKernel` is the part of
:class:`~gradkit.course.execute.GradkitExecute` that starts, adopts and stops that
kernel; :class:`ReferenceTimer` is what a speed check calls.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from typing import TYPE_CHECKING, Any

from ..grading.bridge import BridgeCallee, Channel
from ..grading.callee import DirectCallee
from ..grading.spec import dotted_name
from .kernel_users import kill_user, lease_uid, release_uid
from .sandbox import (
    IPC_PREFIX,
    LAUNCH_TIMEOUT,
    NOBODY,
    SANDBOX_OUT,
    SandboxedKernelManager,
)

if TYPE_CHECKING:
    from .execute import GradkitExecute

__all__ = ["ReferenceKernel", "ReferenceTimer", "graded"]


def graded(km: Any) -> bool:
    """Whether ``km``'s kernel is gradkit's graded kernel, which answers bridge requests
    of its own (:data:`~gradkit.course.graded_kernel.BRIDGE_REQUEST`)."""
    return isinstance(km, SandboxedKernelManager) and km.graded_kernel


class ReferenceKernel:
    """Mixin of :class:`~gradkit.course.execute.GradkitExecute`: the reference's kernel
    (``self._ref``: its manager, client, bridge channel and user id, once started)."""

    _ref: dict[str, Any] | None
    # what the executor provides
    _run: Any
    _channel: Any
    _run_quietly: Any
    _request_quietly: Any
    km: Any
    log: Any
    config: Any
    kernel_name: Any
    kernel_clock: Any
    reference_kernel: Any
    sandbox: Any
    sandbox_memory: Any
    extra_arguments: Any
    timeout: Any

    async def _reference_callee(self, spec: Any) -> BridgeCallee:
        """A bridge to a kernel of the grader's own, started on first use, in a sandbox of
        its own like the student's and with no student code in it, where the speed checks
        time the reference the way they time the student's function."""
        run = self._run
        if self._ref is None and self.reference_kernel is not None and not self.sandbox:
            await self._adopt_reference(self.reference_kernel)
        if self._ref is None:
            uid = lease_uid() if self.sandbox and os.geteuid() == 0 else None
            km = SandboxedKernelManager(
                config=self.config,
                kernel_name=self.kernel_name or "python3",
                transport="ipc",
                ip=IPC_PREFIX if self.sandbox else str(run.dir("ipc") / "reference"),
                connection_file=str(run.dir("conn") / "reference.json"),
                sandbox_readonly=os.pathsep.join([str(run.dir("conn")), str(run.dir("req"))]),
                sandbox_workdir=str(run.path),
                sandbox_memory=self.sandbox_memory,
                sandbox_uid=NOBODY if uid is None else uid,
            )
            km.sandbox_enabled = self.sandbox
            self._ref = {"km": km, "uid": uid, "imported": set()}
            await km.start_kernel(
                extra_arguments=list(self.extra_arguments),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=str(run.path),
            )
            kc = km.client()
            started = kc.start_channels()
            if asyncio.iscoroutine(started):
                await started
            await kc.wait_for_ready(timeout=60)
            if self.kernel_clock is not None:
                self.kernel_clock.track(km)
            out = km.out_folder() if self.sandbox else run.folders["out"]
            self._ref["kc"] = kc
            self._ref["channel"] = Channel(
                run.folders["req"],
                km.out_folder if self.sandbox else (lambda: out),
                str(run.dir("req")),
                SANDBOX_OUT if self.sandbox else str(out.path),
                numbers=self._channel.numbers,
                problems=self._channel.problems,
            )
        ref, budget = self._ref, float(self.timeout or 30)
        for name, func in spec.implementation().items():
            if name not in ref["imported"]:
                module, _, attr = dotted_name(func).rpartition(".")
                code = f"globals()[{name!r}] = __import__({module!r}, fromlist=['x']).{attr}"
                if await self._run_quietly(code, budget, ref["kc"], ref["km"]) != "ok":
                    raise RuntimeError(f"the reference kernel could not import {module}.{attr}")
                ref["imported"].add(name)
        loop = asyncio.get_running_loop()

        def execute(code: str, timeout: float) -> str:
            future = asyncio.run_coroutine_threadsafe(
                self._run_quietly(code, timeout, ref["kc"], ref["km"]), loop
            )
            return future.result()

        def request(req: str, out: str, number: int, timeout: float) -> str:
            future = asyncio.run_coroutine_threadsafe(
                self._request_quietly((req, out, number), timeout, ref["kc"], ref["km"]), loop
            )
            return future.result()

        # the student's and the reference's requests go the same way: the speed checks
        # time both by the grader's clock
        same = graded(ref["km"]) and graded(self.km)
        own = request if same else None
        return BridgeCallee(execute, ref["channel"], budget=budget, request=own)

    async def _adopt_reference(self, km: Any) -> None:
        """Use ``km``'s started kernel as the reference's (see :attr:`reference_kernel`)."""
        kc = km.client()
        started = kc.start_channels()
        if asyncio.iscoroutine(started):
            await started
        await kc.wait_for_ready(timeout=60)
        out = self._run.folders["out"]
        self._ref = {"km": km, "uid": None, "imported": set(), "kc": kc}
        self._ref["channel"] = Channel(
            self._run.folders["req"],
            lambda: out,
            str(self._run.dir("req")),
            str(out.path),
            numbers=self._channel.numbers,
            problems=self._channel.problems,
        )

    async def _stop_reference(self) -> None:
        ref, self._ref = self._ref, None
        if ref is None:
            return
        if self.kernel_clock is not None:
            self.kernel_clock.retire(ref["km"])
        try:
            if "kc" in ref:
                ref["kc"].stop_channels()
            await ref["km"].shutdown_kernel(now=True)
        except Exception as exc:  # the kernel is killed below either way
            self.log.warning("stopping the reference kernel: %s", exc)
        if ref["uid"] is not None:
            kill_user(ref["uid"])
            release_uid(ref["uid"])
        self._channel.problems.extend(ref["km"].remove_group())


class ReferenceTimer:
    """What a speed check times the reference with, when the grader runs it: the reference's
    own kernel (:meth:`ReferenceKernel._reference_callee`), started on first use. Should that
    kernel not start, the reference is timed in the grader's process, and the log says so."""

    def __init__(self, ep: GradkitExecute, spec: Any, loop: asyncio.AbstractEventLoop):
        self.ep, self.spec, self.loop = ep, spec, loop

    def time_calls(self, fn: str, batches: list, returns: Any) -> Any:
        with self.ep._phase("reference kernel"):
            return self._time_calls(fn, batches, returns)

    def _time_calls(self, fn: str, batches: list, returns: Any) -> Any:
        try:
            future = asyncio.run_coroutine_threadsafe(
                self.ep._reference_callee(self.spec), self.loop
            )
            callee = future.result(timeout=LAUNCH_TIMEOUT + 30)
        except Exception as exc:
            self.ep.log.warning("timing the reference in the grader's process: %s", exc)
            return DirectCallee(self.spec.implementation()).time_calls(fn, batches, returns)
        return callee.time_calls(fn, batches, returns)
