"""The launcher of the kernels that grade (gradkit.course.graded_kernel): no debugger, and
pyplot loaded when it is first used, with the same figures as ipykernel's own launcher."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jupyter_client.manager import KernelManager

from gradkit.course.graded_kernel import kernel_argv

LIB = str(Path(__file__).resolve().parents[1] / "lib")

#: What every notebook's setup cell does, then what the kernel says about itself.
SETUP = """
import numpy as np
import matplotlib.pyplot as plt
%matplotlib inline
from gradkit.vis import plot_training_curves
import sys
print("debugpy", sys.modules.get("debugpy") is not None)
print("pyplot", type(sys.modules["matplotlib.pyplot"]).__name__)
print("matplotlib", type(sys.modules["matplotlib"]).__name__)
"""
DRAW = """
fig = plot_training_curves([3.0, 2.0, 1.5], [0.2, 0.5], [0.1, 0.4])
plt.figure()
plt.plot([1, 2, 3])
print("backend", plt.get_backend())
import inspect
print("source", len(inspect.getsource(plt)) > 1000)
print("loaded", type(sys.modules["matplotlib"]).__name__, type(plt).__name__)
"""
#: matplotlib's own names first (pyplot still lazy), then pyplot the other way round.
PACKAGE_FIRST = """
import matplotlib as mpl
print("rc", mpl.rcParams["lines.linewidth"], type(sys.modules["matplotlib.pyplot"]).__name__)
from matplotlib import pyplot
print("same", pyplot is plt, len(mpl.__version__) > 0)
"""


def _run(graded: bool, cells: list[str]) -> list[list[tuple[str, object]]]:
    """Each cell's outputs (message type, text or the MIME types shown) in a new kernel:
    a graded kernel's, or one of ipykernel's own launcher."""
    km = KernelManager(kernel_name="python3")
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    km.kernel_spec.argv = kernel_argv(argv) if graded else argv  # type: ignore[union-attr]
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": LIB}
    km.start_kernel(extra_arguments=["--HistoryManager.hist_file=:memory:"], env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        results = []
        for code in cells:
            outs: list[tuple[str, object]] = []

            def hook(msg: dict, outs: list = outs) -> None:
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    outs.append((kind, content["text"]))
                elif kind == "display_data":
                    outs.append((kind, sorted(content["data"])))
                elif kind == "error":
                    outs.append((kind, content["evalue"]))

            reply = kc.execute_interactive(code, timeout=60, output_hook=hook)
            assert reply["content"]["status"] == "ok", outs
            results.append(outs)
        return results
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _text(outs: list[tuple[str, object]]) -> str:
    return "".join(str(t) for kind, t in outs if kind == "stream")


def test_the_argv_of_ipykernel_is_replaced_and_any_other_kept():
    argv = ["/py", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert kernel_argv(argv) == [
        "/py",
        "-m",
        "gradkit.course.graded_kernel",
        "-f",
        "{connection_file}",
    ]
    other = ["/py", "-m", "my_kernel", "-f", "{connection_file}"]
    assert kernel_argv(other) == other


def test_import_gradkit_vis_leaves_matplotlib_unimported():
    code = "import sys, gradkit.vis; print(sorted(m for m in sys.modules if 'matplotlib' in m))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": LIB},
    ).stdout
    assert out.strip() == "[]"


def test_a_graded_kernel_has_no_debugger_and_draws_the_same_figures_when_asked():
    plain_setup, plain_draw = _run(False, [SETUP, DRAW])
    setup, draw = _run(True, [SETUP, DRAW])
    _, package = _run(True, [SETUP, PACKAGE_FIRST])
    assert "debugpy True" in _text(plain_setup)
    assert "pyplot module" in _text(plain_setup)
    # the graded kernel: no debugger, pyplot not run by the setup cell
    assert "debugpy False" in _text(setup)
    assert "pyplot DeferredModule" in _text(setup)
    assert "matplotlib DeferredModule" in _text(setup)
    # drawing: the same outputs, the inline backend, pyplot's source where inspect looks
    assert draw == plain_draw
    assert [t for kind, t in draw if kind == "display_data"] == [
        ["image/png", "text/plain"],
        ["image/png", "text/plain"],
    ]
    assert "backend inline" in _text(draw)
    assert "source True" in _text(draw)
    assert "loaded module module" in _text(draw)
    # matplotlib's own names run matplotlib alone; pyplot is the same module either way
    assert _text(package) == "rc 1.5 DeferredModule\nsame True True\n"


def test_a_bridge_request_message_is_served_in_the_main_thread_like_a_cell(tmp_path):
    """The grader's own shell message (BRIDGE_REQUEST) runs the request where a cell
    would: the main thread, the user's namespace; a request that fails says why."""
    import numpy as np

    from gradkit.course.graded_kernel import BRIDGE_REQUEST
    from gradkit.grading.bridge import BridgeCallee
    from gradkit.grading.callee import Call
    from gradkit.grading.spec import Inputs

    km = KernelManager(kernel_name="python3")
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    km.kernel_spec.argv = kernel_argv(argv)  # type: ignore[union-attr]
    km.start_kernel(env={**os.environ, "PYTHONPATH": LIB})
    kc = km.client()
    kc.start_channels()

    def ask(content: dict) -> dict:
        msg = kc.session.msg(BRIDGE_REQUEST, content)
        kc.shell_channel.send(msg)
        while True:
            reply = kc.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                return reply

    def request(req: str, out: str, number: int, timeout: float) -> str:
        status = ask({"req": req, "out": out, "number": number})["content"]
        return "ok" if status["status"] == "ok" else f"error: {status.get('ename')}"

    def no_cells(code: str, timeout: float) -> str:
        raise AssertionError("a graded kernel's requests are messages, not cells")

    try:
        kc.wait_for_ready(timeout=60)
        define = (
            "import threading\n"
            "def where(x):\n"
            "    return threading.current_thread() is threading.main_thread(), x + 1\n"
        )
        assert kc.execute_interactive(define, timeout=60)["content"]["status"] == "ok"
        callee = BridgeCallee(no_cells, tmp_path / "bridge", request=request)
        (outcome,) = callee.run([Call("where", Inputs((np.arange(3.0),), {}))])
        assert outcome.ok, outcome.error
        main, values = outcome.value
        assert main is True
        np.testing.assert_array_equal(values, [1.0, 2.0, 3.0])
        failed = ask({"req": str(tmp_path / "none"), "out": str(tmp_path / "none"), "number": 9})
        assert failed["msg_type"] == "gradkit_bridge_reply"
        assert failed["content"] == {"status": "error", "ename": "FileNotFoundError"}
        # the kernel goes on as before
        assert kc.execute_interactive("x = 1", timeout=60)["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
