"""Executing one submitted notebook, anywhere: a worker process of this machine or a Dask worker.

:func:`execute_notebook` takes and returns plain data (a dict of strings and
numbers), so the same function runs in a local process pool and on a
``dask.distributed`` cluster. It never sees the course secret (the grader
sends the student's hidden-case token) nor the gradebook (the grader writes
it); it refuses to run without the sandbox when the sandbox was asked for.
"""

from __future__ import annotations

import functools
import os
import tempfile
import time
import traceback
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RunSettings", "execute_notebook"]


@dataclass(frozen=True)
class RunSettings:
    """How every notebook of a grading run is executed."""

    timeout: int = 30
    sandbox: bool = True
    #: Without the sandbox, a root grader's kernels run as users of their own (platforms).
    separate_user: bool = False
    memory: int = 2 * 2**30
    notebook_timeout: float = 600.0
    cell_output_bytes: int = 1_000_000
    notebook_output_bytes: int = 8_000_000
    ignore_pattern: str = r"\w*Warning: "
    max_lines: int = 200
    max_traceback: int = 50

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@functools.lru_cache(maxsize=1)
def _sandbox_here() -> tuple[bool, str]:
    """Whether this process's machine runs the sandbox: probed once per process, or by
    the grading run that started this fork server (:func:`~.isolate.sandbox_probed`)."""
    from .isolate import PROBE_ENV, PROBED
    from .sandbox import probe

    if os.environ.get(PROBE_ENV) == PROBED:
        return True, ""
    return probe()


@contextmanager
def _env(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def execute_notebook(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one sanitized notebook; return ``{"nb": json}`` or ``{"error": one line}``.

    ``payload``: ``nb`` (the notebook as JSON), ``token`` (hidden cases, or None),
    ``settings`` (:meth:`RunSettings.to_dict`), ``kit`` (the student kit's library as
    :func:`gradkit.course.kit.pack_library` made it, or absent), ``siblings`` (file name
    -> JSON of the student's other notebooks of the assignment, put read-only beside it;
    optional), and
    ``student``/``notebook`` for logs, ``profile`` (true: the result's ``profile`` holds
    the notebook's phases, see :mod:`gradkit.course.profile`).
    """
    import nbformat
    from nbgrader.preprocessors import IgnorePattern, LimitOutput

    from .execute import GradkitExecute

    started = time.monotonic()
    settings = RunSettings(**payload["settings"])
    profile = clock = None
    if payload.get("profile"):
        from .profile import KernelClock, Profile

        clock = KernelClock()
        profile = Profile(clock)
    try:
        if settings.sandbox:
            ok, why = _sandbox_here()
            if not ok:
                return {"error": f"this worker cannot run the sandbox: {why}"}
        nb = nbformat.reads(payload["nb"], as_version=4)
        library = ""
        if (settings.sandbox or settings.separate_user) and payload.get("kit"):
            from .kit import unpack_library

            library = str(unpack_library(payload["kit"]))
        ep = GradkitExecute(
            kit_library=library,
            timeout=settings.timeout,
            interrupt_on_timeout=True,
            raise_on_iopub_timeout=False,
            hidden_token=payload.get("token"),
            sandbox=settings.sandbox,
            separate_user=settings.separate_user,
            sandbox_memory=settings.memory,
            notebook_timeout=settings.notebook_timeout,
            cell_output_bytes=settings.cell_output_bytes,
            notebook_output_bytes=settings.notebook_output_bytes,
            sibling_notebooks=dict(payload.get("siblings") or {}),
        )
        ep.profile, ep.kernel_clock = profile, clock
        with tempfile.TemporaryDirectory(prefix="gradkit-work-") as work:
            resources: dict[str, Any] = {"metadata": {"path": work}}
            with _env(NBGRADER_EXECUTION="autograde"):
                nb, resources = ep.preprocess(nb, resources)
        IgnorePattern(enabled=True, pattern=settings.ignore_pattern).preprocess(nb, resources)
        LimitOutput(max_lines=settings.max_lines, max_traceback=settings.max_traceback).preprocess(
            nb, resources
        )
        done = {"nb": nbformat.writes(nb), "seconds": time.monotonic() - started}
        if profile is not None:
            done["profile"] = profile.close(time.monotonic() - started)
        return done
    except Exception as exc:  # one notebook's failure is reported, never raised at the grader
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return {"error": f"{last[:200]}", "seconds": time.monotonic() - started}
