"""The kernel's side of the bridge: run the requested calls of the student's functions.

The grader sends one statement, ``serve(req, out, number)``. It reads the request
(plain data, see :mod:`~gradkit.grading.codec`), looks each function up in
the notebook's namespace, calls it under the same rules as in-process
grading (:func:`gradkit.grading.callee.invoke`: fresh copies, swallowed
output, mutation and delegation noticed) and writes the outcomes back as
plain data. Values a call keeps (a cache) stay here, in :data:`_KEPT`,
until the next test resets them.

Nothing here decides a grade: the grader validates the reply and judges it.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from .callee import Call, Kept, Outcome, describe_error, invoke, one_thread
from .codec import (
    MAX_REPLY_BYTES,
    BridgeDataError,
    Decoder,
    Encoder,
    Folder,
    read_json,
    write_json,
)
from .delegation import resolve

KEEP = "@keep"  # the grader's name for "keep these arguments" (gradkit.grading.bridge.KEEP)

__all__ = ["serve"]

_KEPT: dict[int, Any] = {}


def _namespace() -> dict[str, Any]:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - the kernel always has IPython
        shell = None
    if shell is not None:
        return shell.user_ns
    return vars(sys.modules["__main__"])


def _call(raw: dict, decoder: Decoder) -> Call:
    returns = raw.get("returns")
    return Call(
        fn=str(raw["fn"]),
        inputs=decoder(raw["inputs"]),
        returns=tuple(returns) if returns is not None else None,
        watch=tuple(raw.get("watch") or ()),
        reseed_global=raw.get("reseed_global"),
        return_args=bool(raw.get("return_args", True)),
        bare=bool(raw.get("bare", False)),
    )


def _encode(outcome: Outcome, enc: Encoder) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ok": outcome.ok,
        "error": outcome.error,
        "delegated": outcome.delegated,
        "watched": list(outcome.watched),
        "probe_shapes": [list(s) for s in outcome.probe_shapes],
        "mutated": outcome.mutated,
    }
    if outcome.ok:
        try:
            data["value"] = enc(outcome.value)
            data["args_after"] = enc(outcome.args_after) if outcome.args_after is not None else None
        except BridgeDataError as exc:
            data.update(ok=False, error=f"returned more than the grader accepts ({exc})")
        except OSError:  # the sandbox's room for replies, or its size of a file, is used up
            data.update(ok=False, error="returned more than the grader accepts (no room for it)")
        except Exception as exc:  # a value whose own methods fail while it is read
            data.update(
                ok=False, error=f"returned a value that could not be read ({describe_error(exc)})"
            )
        if not data["ok"]:
            data.pop("value", None)
            data.pop("args_after", None)
    return data


def serve(req: str, out: str, number: int) -> None:
    """Answer request ``number`` of folder ``req`` with ``<number>-reply.json`` (and
    ``<number>-r<k>.npy`` files) in folder ``out``."""
    with Folder(req) as requests, Folder(out) as replies:
        request = read_json(requests, f"{number}-request.json")
        if request.get("reset"):
            _KEPT.clear()
        namespace = _namespace()
        forbidden = {n: f for n in request.get("forbidden", []) if (f := resolve(n)) is not None}
        enc = Encoder(replies, f"{number}-r", budget=MAX_REPLY_BYTES)
        decoder = Decoder(requests, prefix=f"{number}-a")
        calls = [_call(raw, decoder) for raw in request["calls"]]
        with one_thread() if request.get("timed") else contextlib.nullcontext():
            outcomes = [_answer(call, namespace, forbidden, enc) for call in calls]
        write_json(replies, f"{number}-reply.json", {"outcomes": outcomes})


def _answer(call: Call, namespace: dict[str, Any], forbidden: dict, enc: Encoder) -> dict:
    if call.fn == KEEP:  # keep the arguments here for the calls that follow (timing)
        handles = []
        for value in call.inputs.args:
            key = len(_KEPT) + 1
            _KEPT[key] = value.copy() if hasattr(value, "copy") else value  # writable, its own
            handles.append(Kept(key))
        return {"ok": True, "value": enc(tuple(handles))}
    func = namespace.get(call.fn)
    if func is None or not callable(func):
        what = "is not defined" if func is None else f"is a {type(func).__name__}"
        return {"ok": False, "error": f"{what}; run the cell that defines {call.fn}"}
    return _encode(invoke(func, call, _KEPT, forbidden), enc)
