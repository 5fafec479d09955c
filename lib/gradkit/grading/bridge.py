"""The grader's side of the bridge: call a student's functions in their kernel, read back data.

When a notebook is graded, the spec runs in the grader's process with a
:class:`BridgeCallee` as the student. For each batch of calls it writes a
request (JSON + ``.npy``, see :mod:`~gradkit.grading.codec`) into a fresh
directory, asks the kernel to run
:func:`gradkit.grading.bridge_kernel.serve` on it, and decodes the reply.
The kernel's code is untrusted: everything it sends is validated, nothing
it produced is unpickled, and the verdict is computed here.

Speed is measured here too, by the grader's clock around whole requests (see
:mod:`gradkit.grading.timing`).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .callee import Call, Outcome
from .codec import (
    MAX_REPLY_BYTES,
    BridgeDataError,
    Decoder,
    Encoder,
    Folder,
    read_json,
    write_json,
)
from .engine import CalleeLost
from .spec import Inputs
from .timing import large_positions

__all__ = ["BridgeCallee", "Channel", "kernel_code", "PROTOCOL"]

PROTOCOL = 1
#: Longest error text, watched-name list and probe log kept from a reply.
MAX_TEXT = 300
MAX_LOG = 10_000
#: The kernel-side function that keeps its arguments and returns handles to them.
KEEP = "@keep"


def kernel_code(req: str, out: str, number: int) -> str:
    """The one statement the kernel runs for request ``number``."""
    return (
        "__import__('gradkit.grading.bridge_kernel', fromlist=['serve'])"
        f".serve({str(req)!r}, {str(out)!r}, {int(number)})"
    )


def _encode_call(call: Call, enc: Encoder) -> dict[str, Any]:
    return {
        "fn": call.fn,
        "inputs": enc(call.inputs),
        "returns": list(call.returns) if call.returns is not None else None,
        "watch": list(call.watch),
        "reseed_global": call.reseed_global,
        "return_args": call.return_args,
        "bare": call.bare,
    }


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _decode_outcome(raw: Any, decoder: Decoder, names: set[str]) -> Outcome:
    """An :class:`Outcome` from the kernel's reply, every field checked.

    A value the grader cannot read fails this call only (with the reason), never
    the test or the notebook: the other calls of the reply are read as usual.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("ok"), bool):
        raise BridgeDataError("an outcome must be an object with a boolean 'ok'")
    outcome = Outcome(ok=raw["ok"], error=_text(raw.get("error")))
    if outcome.ok:
        try:
            outcome.value = decoder(raw.get("value"))
            after = raw.get("args_after")
            if after is not None:
                decoded = decoder(after)
                if not isinstance(decoded, Inputs):
                    raise BridgeDataError("args_after must be call inputs")
                outcome.args_after = decoded
        except BridgeDataError as exc:
            outcome = Outcome(False, error=f"returned a value the grader could not read ({exc})")
        else:
            outcome.mutated = bool(raw.get("mutated", False))
    delegated = _text(raw.get("delegated"))
    outcome.delegated = delegated if delegated in names else ""
    watched = raw.get("watched") or []
    if isinstance(watched, list):
        outcome.watched = tuple(w for w in watched[:20] if isinstance(w, str))
    shapes = raw.get("probe_shapes") or []
    if isinstance(shapes, list):
        outcome.probe_shapes = [
            tuple(int(n) for n in s)
            for s in shapes[:MAX_LOG]
            if isinstance(s, list) and all(type(n) is int for n in s)
        ]
    return outcome


@dataclass
class Channel:
    """Where requests and replies of one notebook's bridge live.

    ``req`` is the grader's folder of requests (the kernel reads it at ``req_path``);
    ``out()`` the current folder of the kernel's replies (it writes them at
    ``out_path``; a restarted kernel has a new one). Requests are numbered across the
    notebook, and each request's files carry its number (``7-request.json``,
    ``7-a1.npy``, ``7-reply.json``, ``7-r1.npy``). ``problems`` collects what could not
    be removed afterwards.
    """

    req: Folder
    out: Callable[[], Folder]
    req_path: str
    out_path: str
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    problems: list[str] = field(default_factory=list)

    @classmethod
    def local(cls, root: Path) -> Channel:
        """Both folders under ``root``, for a kernel that sees the grader's files (tests, and
        grading without the sandbox)."""
        for name in ("req", "out"):
            (Path(root) / name).mkdir(parents=True, exist_ok=True)
        req, out = Folder(Path(root) / "req"), Folder(Path(root) / "out")
        return cls(req, lambda: out, str(req.path), str(out.path))


class BridgeCallee:
    """A callee whose functions live in a student's kernel.

    ``execute(code, timeout)`` runs one statement in the kernel and returns
    ``"ok"``, ``"timeout"``, ``"dead"`` or ``"error: ..."``; ``request(req, out, number,
    timeout)``, when given, asks the kernel for request ``number`` instead, in a way of
    its own (a grading kernel's shell message) and answers the same. ``channel`` says where
    requests and replies go (a :class:`Channel`, or a folder for :meth:`Channel.local`).
    ``budget`` is the time the whole test may take; ``forbidden`` the dotted names whose
    use counts as delegation.
    """

    def __init__(
        self,
        execute: Callable[[str, float], str],
        channel: Channel | Path,
        forbidden: Sequence[str] = (),
        budget: float = 30.0,
        request: Callable[[str, str, int, float], str] | None = None,
    ):
        self.execute = execute
        self.request = request
        self.channel = channel if isinstance(channel, Channel) else Channel.local(Path(channel))
        self.forbidden = list(forbidden)
        self.budget = float(budget)
        self.deadline = time.monotonic() + self.budget
        self._reset = True

    def reset(self) -> None:
        """Let the next request clear what the kernel keeps for the tests (caches)."""
        self._reset = True

    def run(self, calls: list[Call]) -> list[Outcome]:
        return self._request(calls)[0]

    def time_calls(
        self, fn: str, batches: list[list[Inputs]], returns: tuple[str, ...] | None
    ) -> tuple[float, list[Outcome]]:
        """Best seconds per call of ``fn`` over ``batches``, and every outcome (see
        :mod:`gradkit.grading.timing`): the large arguments travel once and stay in the
        kernel; each batch is one request, timed by the grader's clock."""
        first = batches[0][0]
        big = large_positions(first)
        kept: dict[int | str, Any] = {}
        if big:
            values = [first.args[k] if isinstance(k, int) else first.kwargs[k] for k in big]
            outcome = self._request([Call(KEEP, Inputs(tuple(values), {}))])[0][0]
            if not outcome.ok or not isinstance(outcome.value, tuple):
                return math.inf, [outcome]
            kept = dict(zip(big, outcome.value))

        def with_kept(inp: Inputs) -> Inputs:
            args = tuple(kept.get(i, a) for i, a in enumerate(inp.args))
            kwargs = {k: kept.get(k, v) for k, v in inp.kwargs.items()}
            return Inputs(args, kwargs)

        best, outcomes = math.inf, []
        for batch in batches:
            calls = [
                Call(fn, with_kept(inp), returns=returns, return_args=False, bare=True)
                for inp in batch
            ]
            out, seconds = self._request(calls, timed=True)
            outcomes += out
            if not all(o.ok for o in out):
                break
            best = min(best, seconds / len(calls))
        return best, outcomes

    def _request(self, calls: list[Call], timed: bool = False) -> tuple[list[Outcome], float]:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise CalleeLost(f"the test ran out of its {self.budget:.0f} s")
        channel = self.channel
        n = next(channel.numbers)
        enc = Encoder(channel.req, f"{n}-a")
        sent = [f"{n}-request.json"]
        out: Folder | None = None
        try:
            request = {
                "protocol": PROTOCOL,
                "timed": timed,
                "reset": self._reset,
                "forbidden": self.forbidden,
                "calls": [_encode_call(c, enc) for c in calls],
            }
            sent += enc.names
            write_json(channel.req, sent[0], request)
            t0 = time.perf_counter()
            if self.request is not None:
                status = self.request(channel.req_path, channel.out_path, n, remaining)
            else:
                status = self.execute(kernel_code(channel.req_path, channel.out_path, n), remaining)
            seconds = time.perf_counter() - t0
            if status == "timeout":
                raise CalleeLost(f"your code did not finish within the test's {self.budget:.0f} s")
            if status == "dead":
                raise CalleeLost("the kernel died while running your code (it was restarted)")
            if status != "ok":
                raise CalleeLost(f"the grader could not call your function ({status[:120]})")
            self._reset = False
            out = channel.out()
            try:
                reply = read_json(out, f"{n}-reply.json")
                raws = reply.get("outcomes") if isinstance(reply, dict) else None
                if not isinstance(raws, list) or len(raws) != len(calls):
                    raise BridgeDataError("the reply does not hold one outcome per call")
                names = set(self.forbidden)
                decoder = Decoder(out, budget=MAX_REPLY_BYTES, prefix=f"{n}-r")
                return [_decode_outcome(r, decoder, names) for r in raws], seconds
            except BridgeDataError as exc:
                raise CalleeLost(f"the reply from your kernel was not usable: {exc}") from None
        finally:
            channel.problems += channel.req.remove(sent)
            try:
                out = out or channel.out()  # also what a failed request left behind
                channel.problems += out.remove([e for e in out.names() if e.startswith(f"{n}-")])
            except (OSError, KeyError):  # the kernel and its sandbox are gone
                pass
