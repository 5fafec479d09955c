"""Every spec in the registry, held to the same bar (the cases are derived from the specs).

For each graded function: the reference earns full marks (public and hidden
cases), the release stub earns 0, a function that calls the reference earns
0, and every catalogued mistake loses points and is named in the result.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradkit.course.nbgrader_plugins import parse_test_cell
from gradkit.grading import all_specs
from gradkit.grading.callee import DirectCallee
from gradkit.grading.engine import run_spec

REPO = Path(__file__).resolve().parents[1]
SPECS = all_specs()
MISTAKES = [(name, m.id) for name, spec in SPECS.items() for m in spec.mistakes]
POINTS = 3.0
TOKEN = "pytest-student"


def _as_student(spec, functions):
    """A callee like a student's notebook: delegation to the reference is watched."""
    return DirectCallee(functions, forbidden=tuple(spec.forbidden_names()))


def _with_mistake(spec, mistake):
    """A student who made ``mistake``. Catalogued mistakes are often written as the
    reference plus a change, so the delegation watch (tested above) is off here: with it,
    every such mistake would score 0 for calling the reference and the cost of the
    mistake itself would go untested."""
    return DirectCallee(spec.implementation(mistake))


@pytest.mark.parametrize("token", [None, TOKEN])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_reference_earns_full_marks(name, token):
    spec = SPECS[name]
    result = run_spec(spec, DirectCallee(spec.implementation()), POINTS, token)
    assert result.score == POINTS, result.text()
    assert any(c.hidden for c in result.checks) == (token is not None)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_stub_earns_zero_and_is_told_to_implement(name):
    spec = SPECS[name]

    def stub(*args, **kwargs):
        raise NotImplementedError()

    result = run_spec(spec, _as_student(spec, {f: stub for f in spec.functions}), POINTS, TOKEN)
    assert result.score == 0
    assert "not implemented yet" in result.text()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_calling_the_reference_earns_zero(name):
    spec = SPECS[name]
    wrappers = {}
    for fn, ref in spec.implementation().items():
        wrappers[fn] = lambda *a, _ref=ref, **k: _ref(*a, **k)
    result = run_spec(spec, _as_student(spec, wrappers), POINTS, TOKEN)
    assert result.score == 0
    assert "gradkit's reference" in result.problem


@pytest.mark.parametrize("name, mistake", MISTAKES)
def test_each_catalogued_mistake_loses_points_and_is_named(name, mistake):
    spec = SPECS[name]
    m = next(m for m in spec.mistakes if m.id == mistake)
    result = run_spec(spec, _with_mistake(spec, m), POINTS, TOKEN)
    assert 0 <= result.score < POINTS
    assert not result.problem, result.problem
    named = [c for c in result.checks if c.mistake == mistake]
    assert named, f"{mistake} was not diagnosed:\n{result.text()}"
    assert m.message in result.text()
    assert not [c for c in result.checks if c.mistake and c.mistake != mistake], result.text()


@pytest.mark.parametrize("name, mistake", MISTAKES)
def test_a_mistake_costs_every_student_the_same(name, mistake):
    """Hidden cases differ per student; the points a catalogued mistake loses must not."""
    spec = SPECS[name]
    m = next(m for m in spec.mistakes if m.id == mistake)
    scores = {
        run_spec(spec, _with_mistake(spec, m), POINTS, token).score
        for token in ("ada", "brook", "cyd", "dana")
    }
    assert len(scores) == 1, f"{mistake}: scores {sorted(scores)} depend on the student's seed"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hidden_cases_reveal_no_inputs_or_expected_values(name):
    spec = SPECS[name]
    worst = spec.mistakes[0] if spec.mistakes else None
    result = run_spec(spec, _with_mistake(spec, worst), POINTS, TOKEN)
    assert any(c.hidden for c in result.checks)
    for check in (c for c in result.checks if c.hidden):
        assert "expected" not in check.detail and "got" not in check.detail
        assert not any(ch.isdigit() for ch in check.detail), check.detail


def _graded_cells():
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                parsed = parse_test_cell("".join(cell["source"]))
                if parsed:
                    yield path, parsed


def test_every_test_cell_names_a_spec_of_its_assignment_and_every_spec_is_tested():
    seen = {}
    for path, (name, _points) in _graded_cells():
        assert name in SPECS, f"{path.name}: grade({name!r}) has no spec"
        assert SPECS[name].assignment == path.parent.name, name
        assert name not in seen, f"{name} is graded twice ({seen[name]} and {path.name})"
        seen[name] = path.name
    assert set(seen) == set(SPECS), f"specs without a test cell: {set(SPECS) - set(seen)}"


# --- honest bugs that return inf or nan ------------------------------------------------


def _poison(value, bad):
    """``value`` with its first float replaced by ``bad`` (inf or nan), as np.log(0) or 0/0
    would leave it."""
    import numpy as np

    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size:
        out = value.copy()
        out.flat[0] = bad
        return out, True
    if isinstance(value, (float, np.floating)):
        return type(value)(bad), True
    if isinstance(value, (tuple, list)):
        items, done = list(value), False
        for i, item in enumerate(items):
            items[i], done = _poison(item, bad)
            if done:
                break
        return type(value)(items), done
    if isinstance(value, dict):
        out, done = dict(value), False
        for key in out:
            out[key], done = _poison(out[key], bad)
            if done:
                break
        return out, done
    return value, False


@pytest.mark.parametrize("bad", [float("inf"), float("nan")], ids=["inf", "nan"])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_non_finite_return_costs_points_never_the_test(name, bad, tmp_path, monkeypatch):
    """Through the real bridge (the kernel's side in this process): the checks say what is
    not finite, and the test is scored like any wrong answer, never stopped."""
    from gradkit.grading import bridge_kernel
    from gradkit.grading.bridge import BridgeCallee

    spec = SPECS[name]
    functions = dict(spec.implementation())
    reference = functions[spec.primary]

    def poisoned(*args, **kwargs):
        return _poison(reference(*args, **kwargs), bad)[0]

    functions[spec.primary] = poisoned
    monkeypatch.setattr(bridge_kernel, "_namespace", lambda: functions)
    bridge_kernel._KEPT.clear()

    def in_process(code: str, timeout: float) -> str:
        exec(code, {})
        return "ok"

    callee = BridgeCallee(
        in_process, tmp_path / "bridge"
    )  # no delegation watch: it wraps the reference
    result = run_spec(spec, callee, POINTS, TOKEN)
    assert result.problem == "", result.text()
    assert 0 <= result.score < POINTS, result.text()
    failed = [c for c in result.checks if not c.passed]
    assert failed and all(c.detail or c.diagnosis for c in failed), result.text()
    said = " ".join(c.detail for c in failed)
    assert "not finite" in said or " is inf" in said or " is nan" in said or "nan" in said, said
    assert "could not complete" not in said and "Traceback" not in said, said
    json.dumps(result.to_dict(), allow_nan=False)  # storable in the gradebook as is


class _NoPeeking:
    """Stands for the hidden seed in a public phase: any draw from it fails the check."""

    def __getattr__(self, name):
        raise AssertionError("a public check drew from the hidden seed")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_public_checks_never_draw_hidden_cases_and_hidden_ones_run_last(name):
    """The grader runs every hidden check after the notebook's last cell: only checks marked
    ``reads_hidden`` may draw hidden cases, and they all do."""
    from gradkit.grading.engine import SpecRun, reads_hidden

    spec = SPECS[name]
    run = SpecRun(spec, DirectCallee(spec.implementation()), POINTS, TOKEN)
    seed = run.ctx.hidden
    run.ctx.hidden = _NoPeeking()
    run.public()
    public = [r for slot in run.slots if slot for r in slot]
    assert public and all(r.passed and not r.hidden for r in public), run.result().text()
    assert all((slot is None) == reads_hidden(c) for slot, c in zip(run.slots, spec.checks))
    run.ctx.hidden = seed
    run.hidden()
    assert all(r.hidden for c, slot in zip(spec.checks, run.slots) if reads_hidden(c) for r in slot)
    assert run.result().score == POINTS
