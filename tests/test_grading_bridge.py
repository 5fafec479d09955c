"""The bridge between the grader and a student's kernel: plain data only, nothing trusted.

The kernel side (``serve``) runs in this process here, on a namespace that
stands for the notebook; the end-to-end tests run it in real kernels.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from gradkit import linear
from gradkit.grading import bridge_kernel, get_spec
from gradkit.grading.bridge import BridgeCallee
from gradkit.grading.callee import Call, DirectCallee, Kept
from gradkit.grading.codec import BridgeDataError, Encoder, Opaque, decode, read_json
from gradkit.grading.engine import CalleeLost, run_spec
from gradkit.grading.spec import Fn, Inputs, Rng, inputs


@pytest.fixture
def notebook(monkeypatch):
    """The namespace the kernel side looks functions up in."""
    namespace: dict = {}
    monkeypatch.setattr(bridge_kernel, "_namespace", lambda: namespace)
    bridge_kernel._KEPT.clear()
    return namespace


def in_process(code: str, timeout: float) -> str:
    exec(code, {})
    return "ok"


def _serve_args(code: str) -> tuple[Path, Path, int]:
    """The request folder, reply folder and request number of a ``serve(...)`` statement."""
    import ast

    call = ast.parse(code).body[0].value
    req, out, number = (ast.literal_eval(a) for a in call.args)
    return Path(req), Path(out), number


def bridge(tmp_path, spec_name=None, execute=in_process, budget=30.0):
    forbidden = get_spec(spec_name).forbidden_names() if spec_name else ()
    return BridgeCallee(execute, tmp_path / "bridge", forbidden=forbidden, budget=budget)


# --- codec ---------------------------------------------------------------------------


def test_values_survive_the_round_trip(tmp_path):
    x = np.arange(12_000.0).reshape(2, 6_000)  # over INLINE_BYTES: a file
    value = {
        "t": (x, np.float32(1.5), 3, None, True, "s"),
        "l": [x, np.array([1, 2], dtype=np.int64)],
        "inf": float("inf"),
        "fn": Fn.of("exp", a=2.0),
        "rng": Rng(5),
        "kept": Kept(3),
        "inputs": inputs(x, reg=0.5),
    }
    enc = Encoder(tmp_path, "a")
    back = decode(json.loads(json.dumps(enc(value))), tmp_path)
    np.testing.assert_array_equal(back["t"][0], x)
    assert back["t"][1] == np.float32(1.5) and back["t"][1].dtype == np.float32
    assert back["t"][2:] == (3, None, True, "s")
    assert back["l"][1].dtype == np.int64 and back["inf"] == float("inf")
    assert back["fn"] == Fn.of("exp", a=2.0) and back["rng"] == Rng(5) and back["kept"] == Kept(3)
    assert isinstance(back["inputs"], Inputs) and back["inputs"].kwargs == {"reg": 0.5}
    assert len(list(tmp_path.glob("a*.npy"))) == 1  # x is written once; the rest inline


def test_what_cannot_cross_comes_back_opaque(tmp_path):
    enc = Encoder(tmp_path, "a")
    back = decode(enc([lambda: 0, np.array(["a"], dtype=object), {object(): 2}, {1}]), tmp_path)
    assert all(isinstance(v, Opaque) for v in back)
    assert [v.kind for v in back] == [
        "an object of type function",
        "an array of dtype object",
        "a dict with keys of type object",
        "an object of type set",
    ]


def test_decoder_refuses_links_big_files_bad_names_and_pickles(tmp_path, monkeypatch):
    secret = tmp_path / "secret.npy"
    np.save(secret, np.zeros(3))
    os.symlink(secret, tmp_path / "r1.npy")
    with pytest.raises(BridgeDataError, match="cannot open r1.npy"):
        decode({"__array__": "r1.npy"}, tmp_path)
    with pytest.raises(BridgeDataError, match="bad array file name"):
        decode({"__array__": "../secret.npy"}, tmp_path)
    np.save(tmp_path / "r2.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BridgeDataError, match="not a plain .npy array"):
        decode({"__array__": "r2.npy"}, tmp_path)
    np.save(tmp_path / "r3.npy", np.zeros(1000))
    monkeypatch.setattr("gradkit.grading.codec.MAX_ARRAY_BYTES", 100)
    with pytest.raises(BridgeDataError, match="over the limit"):
        decode({"__array__": "r3.npy"}, tmp_path)
    with pytest.raises(BridgeDataError, match="unexpected item"):
        decode({"__import__": "os"}, tmp_path)


def test_encoder_never_writes_through_a_planted_link(tmp_path):
    target = tmp_path / "gradebook.db"
    target.write_text("precious")
    os.symlink(target, tmp_path / "a1.npy")
    with pytest.raises(FileExistsError):
        Encoder(tmp_path, "a")(np.zeros(20_000))
    assert target.read_text() == "precious"


# --- the grader's side ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["svm_loss_vectorized", "logistic_regression_loss", "eval_numerical_gradient"]
)
def test_bridge_and_direct_calls_give_the_same_verdict(name, tmp_path, notebook):
    spec = get_spec(name)
    mistake = spec.mistakes[0]
    notebook.update(spec.implementation(mistake))
    direct = run_spec(spec, DirectCallee(dict(notebook), spec.forbidden_names()), 3, "tok")
    bridged = run_spec(spec, bridge(tmp_path, name), 3, "tok")
    strip = [ln for ln in bridged.lines() if "fast enough" not in ln]
    assert strip == [ln for ln in direct.lines() if "fast enough" not in ln]
    assert bridged.score == direct.score and mistake.message in bridged.text()


def test_kept_values_stay_in_the_kernel(tmp_path, notebook):
    notebook["fwd"] = lambda x: (2 * x, {"secret": object()})
    callee = bridge(tmp_path)
    out = callee.run([Call("fwd", inputs(np.ones(2)), returns=("data", "keep"))])[0]
    assert out.ok and isinstance(out.value[1], Kept)
    notebook["bwd"] = lambda dout, cache: dout * 2 if "secret" in cache else None
    back = callee.run([Call("bwd", Inputs((np.ones(2), out.value[1])))])[0]
    np.testing.assert_array_equal(back.value, [2.0, 2.0])


def test_mutation_is_judged_on_the_arrays_sent_back(tmp_path, notebook):
    def scales_in_place(x):
        x *= 2
        return x.sum()

    notebook["f"] = scales_in_place
    out = bridge(tmp_path).run([Call("f", inputs(np.ones(3)))])[0]
    assert out.mutated and out.args_after.args[0].tolist() == [2.0, 2.0, 2.0]


def test_a_missing_function_is_reported(tmp_path, notebook):
    out = bridge(tmp_path).run([Call("nowhere", inputs(1))])[0]
    assert not out.ok and out.error == "is not defined; run the cell that defines nowhere"


@pytest.mark.parametrize(
    "status, words",
    [
        ("timeout", "did not finish within the test's 30 s"),
        ("dead", "the kernel died"),
        ("error: KeyboardInterrupt", "could not call your function"),
    ],
)
def test_a_lost_kernel_stops_the_test_with_a_reason(tmp_path, status, words):
    callee = bridge(tmp_path, execute=lambda code, timeout: status)
    with pytest.raises(CalleeLost, match=words):
        callee.run([Call("f", inputs(1))])


def test_a_forged_reply_is_not_trusted(tmp_path, notebook):
    def forge(code: str, timeout: float) -> str:
        _, out, n = _serve_args(code)
        (out / f"{n}-reply.json").write_text(json.dumps({"outcomes": [{"ok": True}] * 5}))
        return "ok"

    with pytest.raises(CalleeLost, match="one outcome per call"):
        bridge(tmp_path, execute=forge).run([Call("f", inputs(1))])


def test_a_reply_cannot_claim_delegation_to_names_it_was_not_asked_about(tmp_path, notebook):
    def forge(code: str, timeout: float) -> str:
        _, out, n = _serve_args(code)
        reply = {"outcomes": [{"ok": True, "value": 1.0, "delegated": "os.system"}]}
        (out / f"{n}-reply.json").write_text(json.dumps(reply))
        return "ok"

    assert bridge(tmp_path, execute=forge).run([Call("f", inputs(1))])[0].delegated == ""


def test_the_request_and_its_reply_are_removed(tmp_path, notebook):
    notebook["f"] = lambda x: (x, x + 1)
    bridge(tmp_path).run([Call("f", inputs(np.ones(2)))])
    assert list((tmp_path / "bridge" / "req").iterdir()) == []
    assert list((tmp_path / "bridge" / "out").iterdir()) == []


def _timing_batches(repeats=3, calls=4):
    from gradkit.grading.timing import fresh_inputs

    base = inputs(
        np.random.default_rng(0).normal(size=(30, 4)) * 0.01,
        np.random.default_rng(1).normal(size=(200, 30)),
        np.random.default_rng(2).integers(0, 4, size=200),
        0.1,
    )
    fresh = fresh_inputs(base, repeats * calls, seed=7)
    return [fresh[i : i + calls] for i in range(0, len(fresh), calls)]


def test_timed_calls_send_the_data_once_and_time_whole_requests(tmp_path, notebook):
    seen = []

    def spy(code: str, timeout: float) -> str:
        req, _, n = _serve_args(code)
        seen.append(read_json(req, f"{n}-request.json"))
        return in_process(code, timeout)

    notebook["f"] = linear.svm_loss_vectorized
    batches = _timing_batches()
    seconds, outcomes = bridge(tmp_path, execute=spy).time_calls("f", batches, ("data", "data"))
    assert 0 < seconds < 1 and len(outcomes) == 12 and all(o.ok for o in outcomes)
    keep, *timed = seen
    assert keep["calls"][0]["fn"] == "@keep" and len(timed) == 3
    assert all(r["timed"] and len(r["calls"]) == 4 for r in timed)
    # X and y went once; every timed call carries a W of its own
    assert all("__kept__" in json.dumps(c["inputs"]) for r in timed for c in r["calls"])
    expected = [linear.svm_loss_vectorized(*inp.args) for b in batches for inp in b]
    assert all(np.allclose(o.value[1], e[1]) for o, e in zip(outcomes, expected))


def test_no_timed_call_sees_inputs_an_earlier_one_saw(tmp_path, notebook):
    """A function that remembers answers never finds one: every W is new."""
    seen: set = set()
    hits = []

    def memo(W, X, y, reg):
        key = W.tobytes()
        hits.append(key in seen)
        seen.add(key)
        return linear.svm_loss_vectorized(W, X, y, reg)

    notebook["f"] = memo
    bridge(tmp_path).time_calls("f", _timing_batches(), ("data", "data"))
    assert len(hits) == 12 and not any(hits)


def test_a_loop_is_slow_against_the_reference_timed_the_same_way(tmp_path, notebook):
    from gradkit.grading.engine import run_spec

    spec = get_spec("svm_loss_vectorized")
    notebook["svm_loss_vectorized"] = linear.svm_loss_naive  # right values, Python loops
    reference = BridgeCallee(in_process, tmp_path / "ref")  # stands for the reference kernel
    ref_namespace = {"svm_loss_vectorized": linear.svm_loss_vectorized}

    def timer(fn, batches, returns):
        original = bridge_kernel._namespace
        bridge_kernel._namespace = lambda: ref_namespace
        try:
            return reference.time_calls(fn, batches, returns)
        finally:
            bridge_kernel._namespace = original

    reference_timer = type("Timer", (), {"time_calls": staticmethod(timer)})()
    result = run_spec(spec, bridge(tmp_path), 3, None, reference_timer=reference_timer)
    speed = next(c for c in result.checks if c.name.startswith("fast enough"))
    assert not speed.passed and "slower than the reference" in speed.detail


def test_a_function_fast_because_it_returns_old_answers_fails_the_speed_check(tmp_path, notebook):
    from gradkit.grading.engine import run_spec

    spec = get_spec("svm_loss_vectorized")
    answers: dict = {}

    def replays(W, X, y, reg):  # right the first time for each data set, then replays
        key = (X.shape, float(reg))
        if key not in answers:
            answers[key] = linear.svm_loss_vectorized(W, X, y, reg)
        return answers[key]

    notebook["svm_loss_vectorized"] = replays
    result = run_spec(spec, bridge(tmp_path), 3, None)
    speed = next(c for c in result.checks if c.name.startswith("fast enough"))
    assert not speed.passed and "other values when it was timed" in speed.detail


def test_requests_are_plain_json(tmp_path, notebook):
    seen = []

    def spy(code: str, timeout: float) -> str:
        req, _, n = _serve_args(code)
        seen.append(read_json(req, f"{n}-request.json"))
        return in_process(code, timeout)

    notebook["f"] = lambda x: x
    bridge(tmp_path, execute=spy).run([Call("f", inputs(np.ones(2)))])
    assert seen[0]["calls"][0]["inputs"] == {
        "__inputs__": [[{"__inline__": ["<f8", [2], "AAAAAAAA8D8AAAAAAADwPw=="]}], {"__dict__": {}}]
    }
