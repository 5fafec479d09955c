"""Student kits (gradkit.course.kit, gradkit.grading.replay): what students receive holds
no answer, and its self-check says what the full library says.

* every kit is built once per session from this repository;
* **equivalence**: for every graded function of the kit's assignment, the verdict of
  the reference, of a function that is not written and of every catalogued mistake,
  computed by the kit alone (its library, specs and recordings, in a process of its
  own), equals the verdict of the full library, on the public checks and on two of the
  kit's practice draws (speed checks aside: a kit leaves them to the grader);
* **leaks**: no function in a kit has the code of a reference it must not hold (syntax
  trees compared with names, docstrings and annotations ignored); no solution cell's
  code, no course secret and no student's hidden case is in it;
* a build is reproducible: the same repository gives the same wheel, byte for byte.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import textwrap
import zipfile
from multiprocessing.connection import Listener
from pathlib import Path

import numpy as np
import pytest

from gradkit.course.directory import Course
from gradkit.course.kit import RECORDING_SEED, build_kit, practice_tokens, record
from gradkit.course.kit_stubs import kept_for_demos
from gradkit.grading import all_specs
from gradkit.grading.callee import DirectCallee
from gradkit.grading.engine import run_spec
from gradkit.grading.specs import MODULES
from kit_env import env_of, kit_env

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted({s.assignment for s in all_specs().values()})
#: Practice draws of each kit compared with the full library (besides the public cases).
COMPARED_DRAWS = 2


def _unpack(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest)
    return dest


@pytest.fixture(scope="session")
def kits(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Assignment -> (kit folder, unpacked wheel), built once."""
    course = Course(ROOT)
    built = {}
    for a in ASSIGNMENTS:
        base = tmp_path_factory.mktemp(f"kit-{a}")
        report = build_kit(course, a, base / "kit")
        assert report.wheel is not None
        built[a] = (base / "kit", _unpack(report.wheel, base / "unpacked"))
    return built


# ------------------------------------------------------------------ equivalence


def _not_written(*args, **kwargs):
    raise NotImplementedError


class _OwnGlobalRng(DirectCallee):
    """A student whose draws from numpy's global random state depend on its own calls
    only (a catalogued mistake redraws a mask from it), whatever else runs in between."""

    def __init__(self, functions, seed: int = 0):
        super().__init__(functions)
        self.state = np.random.RandomState(seed).get_state()

    def run(self, calls):
        saved = np.random.get_state()
        np.random.set_state(self.state)
        try:
            return super().run(calls)
        finally:
            self.state = np.random.get_state()
            np.random.set_state(saved)


def _implementation(spec, who: str):
    if who == "reference":
        return spec.implementation()
    if who == "stub":
        return {n: _not_written for n in spec.functions}
    return spec.implementation(next(m for m in spec.mistakes if m.id == who))


def _comparable(result: dict, with_detail: bool = True) -> dict:
    checks = [c for c in result["checks"] if not c["name"].startswith("fast enough")]
    if not with_detail:
        checks = [{k: v for k, v in c.items() if k != "detail"} for c in checks]
    return {"checks": checks, "problem": result["problem"]}


def _kit_verdicts(unpacked: Path, specs: list, tokens: list) -> dict[str, dict]:
    """Verdicts of the kit's engine in a process that imports only the kit's gradkit."""
    key = secrets.token_bytes(16)
    address = str(unpacked.parent / "kit.sock")
    verdicts: dict[str, dict] = {}
    with Listener(address, authkey=key) as listener:
        env = {**os.environ, "PYTHONPATH": str(unpacked)}
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("kit_child.py")), address, key.hex()],
            env=env,
        )
        try:
            with listener.accept() as conn:
                hello = conn.recv()
                assert hello[1].startswith(str(unpacked)), f"the child imported {hello[1]}"
                assert hello[2] is not None, "the child did not find the kit's recordings"
                callees: dict[str, DirectCallee] = {}
                for spec in specs:
                    students = ["reference", "stub", *(m.id for m in spec.mistakes)]
                    conn.send(("run", spec.name, students, tokens))
                    while True:
                        message = conn.recv()
                        if message[0] == "call":
                            _, run, spec_name, who, calls = message
                            if run not in callees:
                                callees[run] = _OwnGlobalRng(_implementation(spec, who))
                            conn.send(callees[run].run(calls))
                        elif message[0] == "result":
                            verdicts[message[1]] = message[2]
                        else:
                            break
                conn.send(("stop",))
        finally:
            child.wait(timeout=60)
    return verdicts


def _full_verdict(spec, who: str, token, seed: int) -> dict:
    """The full library's verdict on ``who``, whose global draws start from ``seed``."""
    student = _OwnGlobalRng(_implementation(spec, who), seed)
    saved = np.random.get_state()
    np.random.seed(RECORDING_SEED)  # the mistakes draw what the kit recorded
    try:
        return run_spec(spec, student, 3.0, token).to_dict()
    finally:
        np.random.set_state(saved)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_kit_verdicts_equal_the_full_library(kits, assignment):
    _, unpacked = kits[assignment]
    specs = [s for s in all_specs().values() if s.assignment == assignment]
    tokens = [None, *practice_tokens(assignment)[:COMPARED_DRAWS]]
    kit = _kit_verdicts(unpacked, specs, tokens)
    compared, differ = 0, []
    for spec in specs:
        for token in tokens:
            for who in ["reference", "stub", *(m.id for m in spec.mistakes)]:
                run = f"{spec.name}|{token}|{who}"
                got = kit[run]
                assert "crash" not in got, f"{run}: the kit crashed: {got['crash']}"
                full = _full_verdict(spec, who, token, seed=0)
                if _comparable(got) != _comparable(full):
                    # A function that draws from numpy's global state (a catalogued mistake
                    # redraws a mask) shows other numbers on every run: if it does, its
                    # verdict is compared without them.
                    others = [_full_verdict(spec, who, token, seed) for seed in (1, 12345)]
                    steady = all(_comparable(f) == _comparable(full) for f in others)
                    if steady or _comparable(got, False) != _comparable(full, False):
                        differ.append(run)
                compared += 1
    assert not differ, f"{len(differ)} of {compared} verdicts differ under the kit: {differ[:5]}"
    assert compared >= 3 * len(specs) * len(tokens)


# ------------------------------------------------------------------ the notebooks on their kit


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_solution_notebook_runs_on_its_kit(kits, assignment, tmp_path):
    """nbval, as CI runs notebooks, with only the kit installed: every cell of every
    solution notebook of the assignment runs, its test cells on the kit's recorded data,
    its demos (models, Solver, update rules) on the notebook's own functions through the
    kit's stubs, and a sibling's through gradkit.yours.load."""
    folder, _ = kits[assignment]
    (wheel,) = folder.glob("*.whl")
    venv = kit_env(wheel, tmp_path / "venv")
    notebooks = tmp_path / assignment
    shutil.copytree(ROOT / "solutions" / assignment, notebooks)
    res = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--rootdir",
            str(tmp_path),
            str(notebooks),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env_of(venv), "NBGRADER_EXECUTION": ""},
        timeout=1200,
    )
    needs = sorted(set(re.findall(r"`(\w+)` is yours to write[^\n]*", res.stdout)))
    assert res.returncode == 0, f"needs {needs}:\n" + res.stdout[-3000:]
    assert re.search(r"\d+ passed", res.stdout)


# ------------------------------------------------------------------ leaks


class _Normalize(ast.NodeTransformer):
    """Names to their order of appearance; docstrings and annotations dropped."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _n(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        return ast.Name(self._n(node.id), node.ctx)

    def visit_arg(self, node):
        return ast.arg(self._n(node.arg), None)

    def visit_FunctionDef(self, node):
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:] or [ast.Pass()]
        node = (
            ast.FunctionDef("f", node.args, body, [], None, type_params=[])
            if sys.version_info >= (3, 12)
            else ast.FunctionDef("f", node.args, body, [], None)
        )
        self.generic_visit(node)
        return node


def shape_of(func_node: ast.FunctionDef) -> str:
    return ast.dump(_Normalize().visit(func_node), annotate_fields=False)


def _functions(source: str):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef):
            yield node


def _kit_python(unpacked: Path):
    for path in sorted(unpacked.rglob("*.py")):
        yield path, path.read_text(encoding="utf-8")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_kit_holds_no_reference_it_grades(kits, assignment):
    _, unpacked = kits[assignment]
    later = set(ASSIGNMENTS[ASSIGNMENTS.index(assignment) :])
    kept = set(kept_for_demos(assignment, all_specs()))
    forbidden: dict[str, str] = {}
    for spec in all_specs().values():
        if spec.assignment in later and spec.name not in kept:
            for name, ref in spec.functions.items():
                node = next(_functions(textwrap.dedent(inspect.getsource(ref))))
                forbidden[shape_of(node)] = f"{name} ({spec.assignment})"
    assert len(forbidden) > 10
    found = []
    checked = 0
    for path, source in _kit_python(unpacked):
        for node in _functions(source):
            checked += 1
            hit = forbidden.get(shape_of(node))
            if hit:
                found.append(f"{path.relative_to(unpacked)}:{node.lineno} {node.name} = {hit}")
    assert checked > 500
    assert not found, f"the kit of {assignment} holds references it grades: {found}"


def test_the_normalization_sees_through_renaming():
    """A reference retyped with other names and docstrings is still recognised."""
    a = "def f(x, w):\n    '''doc'''\n    out = x @ w\n    return out, (x, w)\n"
    b = (
        "def g(inp: int, weights) -> tuple:\n"
        "    result = inp @ weights\n    return result, (inp, weights)\n"
    )
    c = "def g(inp, weights):\n    result = inp @ weights.T\n    return result, (inp, weights)\n"
    shapes = [shape_of(next(_functions(s))) for s in (a, b, c)]
    assert shapes[0] == shapes[1] != shapes[2]


def _solution_blocks(assignment: str, earlier: bool = False, skip=()) -> list[str]:
    """The answers (solution blocks) of ``assignment`` and later ones, or of the earlier;
    not those of the answer cells named in ``skip``."""
    blocks = []
    for nb in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        if (nb.parent.name < assignment) != earlier:
            continue
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if not meta.get("solution") or meta.get("grade_id") in skip:
                continue
            source = "".join(cell["source"])
            inside, block = False, []
            for line in source.splitlines():
                if "BEGIN SOLUTION" in line:
                    inside, block = True, []
                elif "END SOLUTION" in line:
                    inside = False
                    blocks.append("\n".join(block))
                elif inside:
                    block.append(line)
    return blocks


def _lines(text: str) -> set[str]:
    return {" ".join(line.split()) for line in text.splitlines()}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_kit_holds_no_solution_secret_or_hidden_case(kits, assignment, tmp_path):
    folder, unpacked = kits[assignment]
    texts = {p: p.read_bytes() for p in [*folder.rglob("*"), *unpacked.rglob("*")] if p.is_file()}
    # Solution code: no line of 30+ characters of an answer of this or a later assignment
    # appears in any notebook or source of the kit, unless an earlier assignment's answer,
    # which the kit holds by design (past its deadline), has that line too.
    kit_lines: set[str] = set()
    for p, data in texts.items():
        if p.suffix in {".py", ".ipynb", ".md"}:
            kit_lines |= _lines(data.decode("utf-8", "replace"))
    # The later functions the kit keeps for its demos are in it by design (KEPT_FOR_DEMOS).
    blocks = _solution_blocks(assignment, skip=kept_for_demos(assignment, all_specs()))
    assert blocks, "no solution blocks found: the test would prove nothing"
    # An earlier assignment's answers are in the kit by design, past their deadline: as its
    # solutions, the library's references and its spec modules (with their mistakes).
    given = set().union(*map(_lines, _solution_blocks(assignment, earlier=True)))
    for spec in all_specs().values():
        if spec.assignment < assignment:
            for ref in spec.functions.values():
                given |= _lines(inspect.getsource(ref))
    for name in MODULES:
        module = importlib.import_module(f"gradkit.grading.specs.{name}")
        if module.ASSIGNMENT < assignment:
            given |= _lines(inspect.getsource(module))
    leaked = sorted(
        line
        for block in blocks
        for line in _lines(block)
        if len(line) >= 30 and line in kit_lines and line not in given and line[0] != "#"
    )
    assert not leaked, f"solution lines in the kit of {assignment}: {leaked[:5]}"
    # The course secret, if the repository has one, is in no file.
    secret = Course(ROOT).secret_file
    if secret.is_file():
        value = secret.read_bytes().strip()
        assert not any(value in data for data in texts.values())
    # Only the kit's own practice draws were recorded: no student's hidden cases.
    meta = json.loads((unpacked / "gradkit" / "_kitdata" / "kit.json").read_text())
    assert meta["practice_tokens"] == practice_tokens(assignment)
    for name in meta["specs"].values():
        data = json.loads((unpacked / "gradkit" / "_kitdata" / f"spec-{name}.json").read_text())
        assert set(data["tokens"]) <= {"", *meta["practice_tokens"]}
    assert not any(p.name == "secret" for p in texts)


def test_a_kit_build_is_reproducible(kits, tmp_path):
    # 04: its catalogued mistakes draw from numpy's global random state
    first, _ = kits["04_regularization"]
    again = build_kit(Course(ROOT), "04_regularization", tmp_path / "again")
    assert again.wheel is not None
    for path in first.iterdir():
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_recording_that_reuses_outcomes_equals_one_that_computes_them_in_every_run(
    tmp_path,
):
    # 04: mistakes that draw from numpy's global state, and layers that keep a cache
    assignment, tokens = "04_regularization", practice_tokens("04_regularization", 2)
    for share in (True, False):
        recorder = record(ROOT / "solutions", assignment, tokens, share=share)
        recorder.save(tmp_path / str(share), {})
    shared = sorted(p.name for p in (tmp_path / "True").iterdir())
    assert shared == sorted(p.name for p in (tmp_path / "False").iterdir())
    assert len(shared) > 3
    for name in shared:
        assert (tmp_path / "True" / name).read_bytes() == (tmp_path / "False" / name).read_bytes()


def test_kit_refuses_what_it_cannot_build(tmp_path):
    from gradkit.course.directory import UserError

    course = Course(ROOT)
    with pytest.raises(UserError, match="unknown assignment"):
        build_kit(course, "07_nothing", tmp_path / "k")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="not an empty folder"):
        build_kit(course, "01_linear_models", tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
