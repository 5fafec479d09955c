"""gradkit.yours: the kit's stubs reach the student's own functions."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import types

import nbformat
import numpy as np
import pytest

import gradkit.solver
from gradkit import optim, yours
from gradkit.models import TwoLayerNet
from gradkit.optim import update_rules
from gradkit.solver import Solver

MAIN = sys.modules["__main__"]
TRAINING = "05_optimization/training.ipynb"
RULES = "05_optimization/update_rules.ipynb"


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    """An empty registry, no notebook front end, no IPython shell."""
    yours.reset()
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    for key in yours.SESSION_NAMES:
        monkeypatch.delattr(MAIN, key, raising=False)
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        monkeypatch.setattr(ipython, "get_ipython", lambda: None)
    yield
    yours.reset()


def stub(name: str, where: str):
    """What the kit generates for a graded function: dispatch to the student's."""

    def function(*args, **kwargs):
        return yours.call(name, where, args, kwargs)

    function.__name__ = name
    function.__gradkit_stub__ = where
    return function


def in_main(monkeypatch, **functions):
    """Define functions in the notebook's namespace (``__main__`` outside IPython)."""
    for name, func in functions.items():
        monkeypatch.setattr(MAIN, name, func, raising=False)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text
    return text


# ----------------------------------------------------------------------------- call


def test_call_dispatches_to_the_notebooks_function_with_the_same_arguments(monkeypatch):
    seen = []

    def kit_demo_fn(x, w, *, b):
        seen.append((x, w, b))
        return "student's"

    in_main(monkeypatch, kit_demo_fn=kit_demo_fn)
    x, w, b = np.ones(3), np.zeros(2), {"k": 1}
    assert yours.call("kit_demo_fn", TRAINING, (x, w), {"b": b}) == "student's"
    assert seen[0][0] is x and seen[0][1] is w and seen[0][2] is b  # no copies, nothing changed
    assert b == {"k": 1} and np.all(x == 1)


def test_call_uses_ipythons_user_namespace_in_a_kernel(monkeypatch):
    shell = types.SimpleNamespace(user_ns={"kit_demo_fn": lambda: "from user_ns"})
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    in_main(monkeypatch, kit_demo_fn=lambda: "from __main__")
    assert yours.call("kit_demo_fn", TRAINING, (), {}) == "from user_ns"


def test_registered_functions_come_before_the_notebooks(monkeypatch):
    def kit_demo_fn():
        return "registered"

    in_main(monkeypatch, kit_demo_fn=lambda: "notebook")
    assert yours.use(kit_demo_fn) == ["kit_demo_fn"]
    assert yours.call("kit_demo_fn", TRAINING, (), {}) == "registered"
    yours.reset()
    assert yours.call("kit_demo_fn", TRAINING, (), {}) == "notebook"


def test_the_kits_own_stub_is_never_the_students_function(monkeypatch):
    # `from gradkit.optim import sgd` in a notebook binds the stub under the graded name
    in_main(monkeypatch, sgd=stub("sgd", RULES))
    with pytest.raises(yours.NotWrittenYet) as info:
        yours.call("sgd", RULES, (), {})
    assert "`sgd`" in one_line(info.value) and RULES in str(info.value)
    with pytest.raises(ValueError, match="stub"):
        yours.use(stub("sgd", RULES))


def test_a_student_function_that_calls_gradkits_own_raises_one_line(monkeypatch):
    gradkit_affine = stub("affine_forward", "02_backprop/backprop_layers.ipynb")

    def affine_forward(x, w, b):
        return gradkit_affine(x, w, b)  # would recurse forever without the guard

    def affine_relu_forward(x, w, b):
        out = gradkit_affine(x, w, b)  # another name: the student's affine_forward runs
        return np.maximum(out, 0)

    in_main(monkeypatch, affine_forward=affine_forward, affine_relu_forward=affine_relu_forward)
    with pytest.raises(yours.CallsItself) as info:
        gradkit_affine(1.0, 2.0, 3.0)
    message = one_line(info.value)
    assert "your `affine_forward` calls gradkit's `affine_forward`" in message
    # the guard is released afterwards, and nesting different names is fine
    in_main(monkeypatch, affine_forward=lambda x, w, b: x * w + b)
    relu = stub("affine_relu_forward", "02_backprop/backprop_layers.ipynb")
    assert relu(np.array([1.0, -2.0]), 1.0, 0.0).tolist() == [1.0, 0.0]


def test_the_guard_is_per_thread(monkeypatch):
    """Two threads may run the student's function at once: that is not recursion."""
    barrier = threading.Barrier(2, timeout=10)

    def kit_demo_fn(k):
        barrier.wait()  # both threads are inside the same student function here
        return k

    in_main(monkeypatch, kit_demo_fn=kit_demo_fn)
    results, errors = [], []

    def run(k):
        try:
            results.append(yours.call("kit_demo_fn", TRAINING, (k,), {}))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(results) == [0, 1]


def test_not_written_yet_is_one_line_naming_the_function_and_its_notebook(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # not an assignment folder: which notebook runs is unknown
    with pytest.raises(yours.NotWrittenYet) as info:
        yours.call("kit_missing_fn", "02_backprop/backprop_layers.ipynb", (), {})
    message = one_line(info.value)
    assert message.startswith("`kit_missing_fn` is yours to write in 02_backprop/backprop_layers")
    assert "run the cell that defines it" in message
    assert 'gradkit.yours.load("backprop_layers.ipynb")' in message
    exc = info.value
    assert isinstance(exc, RuntimeError) and not isinstance(exc, NotImplementedError)
    assert exc._render_traceback_() == [f"\x1b[31mNotWrittenYet\x1b[0m: {message}"]


def test_the_message_follows_the_running_notebook(monkeypatch, tmp_path):
    where = "02_backprop/backprop_layers.ipynb"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(MAIN, "__session__", "course/02_backprop/neural_nets.ipynb", raising=False)
    with pytest.raises(yours.NotWrittenYet) as info:
        yours.call("kit_missing_fn", where, (), {})
    assert one_line(info.value).endswith(
        'run gradkit.yours.load("backprop_layers.ipynb") before this cell'
    )
    monkeypatch.setattr(MAIN, "__session__", "02_backprop/backprop_layers.ipynb")
    with pytest.raises(yours.NotWrittenYet) as info:
        yours.call("kit_missing_fn", where, (), {})
    assert one_line(info.value).endswith(f"{where}: run the cell that defines it")


def test_a_function_of_another_assignment_is_said_to_be(monkeypatch, tmp_path):
    folder = tmp_path / "02_backprop"
    folder.mkdir()
    monkeypatch.chdir(folder)
    with pytest.raises(yours.NotWrittenYet) as info:
        yours.call("adam", RULES, (), {})
    assert "yours to write later, in 05_optimization/update_rules.ipynb" in one_line(info.value)
    with pytest.raises(yours.NotWrittenYet) as info:
        yours.call("kit_missing_fn", "01_linear_models/linear_classifiers.ipynb", (), {})
    assert 'gradkit.yours.load("../01_linear_models/linear_classifiers.ipynb")' in str(info.value)


def test_not_implemented_becomes_not_written_yet(monkeypatch):
    def adam(w, dw, config=None):
        raise NotImplementedError()

    in_main(monkeypatch, adam=adam)
    with pytest.raises(yours.NotWrittenYet) as info:
        yours.call("adam", RULES, (np.zeros(2), np.zeros(2)), {})
    message = one_line(info.value)
    assert message == (
        f"this demo needs your `adam` ({RULES}), which is not written yet: "
        "it raises NotImplementedError"
    )
    assert info.value.__suppress_context__  # one line: no chained traceback either


def test_a_missing_function_inside_a_written_one_is_named_as_itself(monkeypatch):
    """The student's solver_step is written; the adam it calls is not: the message says adam."""
    gradkit_adam = stub("adam", RULES)

    def adam(w, dw, config=None):
        raise NotImplementedError()

    def solver_step(params, grads, configs, update_rule, learning_rate=None):
        return gradkit_adam(params, grads)

    in_main(monkeypatch, adam=adam, solver_step=solver_step)
    with pytest.raises(yours.NotWrittenYet, match="needs your `adam`"):
        yours.call("solver_step", TRAINING, ({}, {}, {}, "adam"), {})


def test_other_errors_come_through_unchanged(monkeypatch):
    def kit_demo_fn():
        raise ValueError("x must have shape (N, D)")

    in_main(monkeypatch, kit_demo_fn=kit_demo_fn)
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\)"):
        yours.call("kit_demo_fn", TRAINING, (), {})


def test_use_rejects_what_is_not_a_named_function():
    with pytest.raises(ValueError, match="expected functions with a name"):
        yours.use(3)


def test_importing_yours_stays_light():
    code = "import gradkit.yours, sys; print('nbformat' in sys.modules, 'IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ----------------------------------------------------------------------------- load


def answer(source: str, grade_id: str):
    return nbformat.v4.new_code_cell(
        source,
        metadata={
            "nbgrader": {
                "grade": False,
                "grade_id": grade_id,
                "locked": False,
                "schema_version": 3,
                "solution": True,
            }
        },
    )


def locked(source: str, grade_id: str, tags=(), grade=False):
    meta = {"grade": grade, "grade_id": grade_id, "locked": True, "schema_version": 3}
    meta["solution"] = False
    if grade:
        meta["points"] = 1
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": meta, "tags": list(tags)})


SGD = '''def sgd(w, dw, config=None):
    """Vanilla SGD."""
    config = dict(config or {})
    config.setdefault("learning_rate", 1e-2)
    CALLS.append(np.shape(w))
    return w - config["learning_rate"] * dw, config


CALLS = []
'''


def sibling(path, *answers: str):
    """A notebook like update_rules.ipynb: setup, answers, test cells, demos, prose."""
    cells = [
        nbformat.v4.new_markdown_cell("# Update rules"),
        locked(
            "import os\n\nimport numpy as np\n%matplotlib inline\nfrom gradkit.optim import sgd\n"
            "\nraise RuntimeError('the setup cell ran beyond its imports')\n",
            "ur_setup",
        ),
    ]
    for k, source in enumerate(answers):
        cells.append(answer(source, f"answer_{k}"))
        cells.append(locked("raise RuntimeError('a test cell ran')", f"test_{k}", grade=True))
    cells.append(locked("raise RuntimeError('a demo ran')", "ur_demo", tags=["demo"]))
    cells.append(nbformat.v4.new_code_cell("grade('sgd', points=1)  # an instructor's test line"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nbformat.write(nb, str(path))
    return path


def test_load_runs_only_imports_and_answer_cells_and_leaves_the_file_alone(tmp_path, monkeypatch):
    path = sibling(tmp_path / "update_rules.ipynb", SGD, "def _helper():\n    return 2\n")
    os.chmod(path, 0o444)  # as the grader and the self-check provide it
    before, stat = path.read_bytes(), path.stat()
    monkeypatch.chdir(tmp_path)
    assert yours.load("update_rules.ipynb") == ["_helper", "sgd"]
    assert path.read_bytes() == before and path.stat().st_mtime_ns == stat.st_mtime_ns
    # the answer's function is registered, not the stub the setup imported under its name
    monkeypatch.setitem(update_rules.UPDATE_RULES, "sgd", stub("sgd", RULES))
    w, config = optim.get_update_rule("sgd")(np.ones(2), np.ones(2), {})
    assert w.tolist() == [0.99, 0.99] and config == {"learning_rate": 1e-2}
    registered = yours._registry["sgd"]
    assert registered.__globals__["CALLS"] == [(2,)]  # it ran in the namespace of its notebook
    assert "os" in registered.__globals__ and "grade" not in registered.__globals__


def test_load_names_the_cell_that_failed_and_registers_the_others(tmp_path, monkeypatch):
    broken = "def adam(w, dw, config=None):\n    return w -\n"
    failing = "def rmsprop(w, dw, config=None):\n    return w, config\n\nrmsprop(undefined)\n"
    sibling(tmp_path / "update_rules.ipynb", SGD, broken, failing)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(yours.LoadError) as info:
        yours.load("update_rules.ipynb")
    message = one_line(info.value)
    assert message.startswith(
        "gradkit.yours.load: update_rules.ipynb, the cell defining adam: SyntaxError at line 2"
    )
    assert "(and 1 more cells)" in message
    assert set(yours._registry) == {"sgd", "rmsprop"}


def test_load_of_a_missing_or_unreadable_notebook_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(yours.LoadError) as info:
        yours.load("update_rules.ipynb")
    assert one_line(info.value) == (
        f"gradkit.yours.load: there is no update_rules.ipynb in {tmp_path}: "
        "keep the notebooks of an assignment together in one folder"
    )
    (tmp_path / "broken.ipynb").write_text("{ not json")
    with pytest.raises(yours.LoadError) as info:
        yours.load("broken.ipynb")
    assert one_line(info.value).startswith(
        "gradkit.yours.load: broken.ipynb is not a readable notebook ("
    )


# --------------------------------------------------------------- the Solver on the kit


def test_the_solver_runs_on_the_students_solver_step_and_update_rule(tmp_path, monkeypatch):
    """A simulated kit: gradkit's solver_step and sgd are stubs; the student's solver_step is
    defined in the notebook, their sgd loaded from update_rules.ipynb beside it."""
    rng = np.random.default_rng(0)
    data = {
        "X_train": rng.standard_normal((40, 5)),
        "y_train": rng.integers(3, size=40),
        "X_val": rng.standard_normal((10, 5)),
        "y_val": rng.integers(3, size=10),
    }

    def train():
        model = TwoLayerNet(5, 7, 3, weight_scale=0.1, reg=0.01, seed=1)
        solver = Solver(
            model,
            data,
            update_rule="sgd",
            optim_config={"learning_rate": 0.5},
            lr_schedule="cosine",
            batch_size=10,
            num_epochs=2,
            progress=False,
            verbose=False,
            seed=0,
        )
        return solver.train()

    reference = train()  # the full library: nothing calls gradkit.yours

    steps = []

    def solver_step(params, grads, configs, update_rule, learning_rate=None):
        steps.append((update_rule, learning_rate))
        rule = optim.get_update_rule(update_rule)  # in the kit: the stub of sgd
        new_params, new_configs = {}, {}
        for name in params:
            config = dict(configs.get(name) or {})
            if learning_rate is not None:
                config["learning_rate"] = learning_rate
            new_params[name], new_configs[name] = rule(params[name], grads[name], config)
        return new_params, new_configs

    sibling(tmp_path / "update_rules.ipynb", SGD)
    monkeypatch.chdir(tmp_path)
    sgd_stub = stub("sgd", RULES)
    monkeypatch.setattr(gradkit.solver, "solver_step", stub("solver_step", TRAINING))
    monkeypatch.setitem(update_rules.UPDATE_RULES, "sgd", sgd_stub)
    in_main(monkeypatch, solver_step=solver_step, sgd=sgd_stub)  # the notebook's own names
    yours.load("update_rules.ipynb")

    kit = train()
    student_sgd = yours._registry["sgd"]
    iterations = 2 * (40 // 10)
    assert kit.t == iterations and len(steps) == iterations
    assert {rule for rule, _ in steps} == {"sgd"}  # the solver passes the rule's name
    assert [lr for _, lr in steps] == kit.lr_history  # and the schedule's rate
    assert len(student_sgd.__globals__["CALLS"]) == iterations * 4  # every parameter, every step
    assert kit.loss_history == reference.loss_history  # the same arithmetic, step for step
    for k in reference.model.params:
        assert np.array_equal(kit.model.params[k], reference.model.params[k])


def test_the_full_library_never_calls_yours(monkeypatch):
    def forbidden(*args):
        raise AssertionError("gradkit.yours.call ran in the full library")

    monkeypatch.setattr(yours, "call", forbidden)
    rng = np.random.default_rng(1)
    data = {
        "X_train": rng.standard_normal((30, 4)),
        "y_train": rng.integers(3, size=30),
        "X_val": rng.standard_normal((6, 4)),
        "y_val": rng.integers(3, size=6),
    }
    model = TwoLayerNet(4, 5, 3, weight_scale=0.1, seed=0)
    Solver(
        model,
        data,
        update_rule="adam",
        num_epochs=1,
        batch_size=10,
        progress=False,
        verbose=False,
        seed=0,
    ).train()
