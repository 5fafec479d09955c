"""Run inside a student kit (``PYTHONPATH`` = an unpacked kit wheel) by tests/test_kit.py.

It grades "students" that live in the test's process (the full library's reference, a
function that is not written, each catalogued mistake) with the *kit's* engine, specs
and recordings: every call of a student's function is sent to the test's process and
its outcome comes back. So the verdicts it reports are what a kit's self-check says of
those functions, computed by nothing but the kit.

Usage: python kit_child.py ADDRESS AUTHKEY_HEX
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Client
from typing import Any


class RemoteCallee:
    """A student's functions in the test's process (one grading run: one id)."""

    def __init__(self, conn: Any, run: str, spec: str, who: str):
        self.conn, self.run_id, self.spec, self.who = conn, run, spec, who

    def run(self, calls: list) -> list:
        self.conn.send(("call", self.run_id, self.spec, self.who, calls))
        return self.conn.recv()  # type: ignore[no-any-return]


def main() -> int:
    address, key = sys.argv[1], bytes.fromhex(sys.argv[2])
    import gradkit
    from gradkit.grading import replay
    from gradkit.grading.engine import run_spec
    from gradkit.grading.specs import all_specs

    kit = replay.installed_kit()
    conn = Client(address, authkey=key)
    conn.send(("hello", gradkit.__file__, None if kit is None else kit.meta))
    while True:
        message = conn.recv()
        if message[0] == "stop":
            return 0
        _, spec_name, students, tokens = message
        spec = all_specs()[spec_name]
        for token in tokens:
            for who in students:
                run = f"{spec_name}|{token}|{who}"
                try:
                    result = run_spec(spec, RemoteCallee(conn, run, spec_name, who), 3.0, token)
                    conn.send(("result", run, result.to_dict()))
                except Exception as exc:  # reported, so the test names what broke
                    conn.send(("result", run, {"crash": f"{type(exc).__name__}: {exc}"}))
        conn.send(("done", spec_name))


if __name__ == "__main__":
    sys.exit(main())
