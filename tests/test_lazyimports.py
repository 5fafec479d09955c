"""Modules whose code runs at first use (gradkit.course.lazyimports): a failure leaves
nothing half-run, shortcuts and submodules are served without the package's code, and
the grader's fork server imports what grading uses of nbgrader, not nbgrader whole."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gradkit.course.lazyimports import Deferral, DeferredModule, defer

LIB = str(Path(__file__).resolve().parents[1] / "lib")


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package ``lazypkg`` whose own code records that it ran, with submodules."""
    root = tmp_path / "lazypkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        "import sys\nsys.modules['lazypkg_ran'] = sys\nfrom .shapes import Square\nVERSION = 3\n"
    )
    (root / "shapes.py").write_text("class Square:\n    sides = 4\n")
    (root / "helpers.py").write_text("from . import Square\nHELPS = Square.sides\n")
    (root / "broken.py").write_text("x = 1\nraise ImportError('no such backend')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazypkg"
    for name in [m for m in sys.modules if m.startswith("lazypkg")]:
        del sys.modules[name]


def test_a_deferred_module_that_fails_leaves_nothing_half_run(package):
    after = []
    defer({"lazypkg": Deferral(), "lazypkg.broken": Deferral(after=lambda: after.append(1))})
    import lazypkg.broken as broken

    assert type(broken) is DeferredModule and isinstance(broken, type(sys))
    assert broken.__name__ == "lazypkg.broken" and "x" not in vars(broken)  # not run yet
    with pytest.raises(ImportError, match="no such backend"):
        getattr(broken, "x")  # noqa: B009 - the attribute access is what is tested
    assert "lazypkg.broken" not in sys.modules and after == []
    assert "lazypkg_ran" not in sys.modules  # the package's own code has not run either


def test_shortcuts_and_submodules_are_served_without_the_packages_code(package):
    defer({"lazypkg": Deferral({"Square": "shapes"}, submodules=True)})
    from lazypkg import (
        Square,  # a shortcut
        helpers,  # a submodule, itself using the shortcut
    )

    assert helpers.HELPS == 4 and Square.sides == 4
    pkg = sys.modules["lazypkg"]
    assert type(pkg) is DeferredModule and "lazypkg_ran" not in sys.modules
    # any other name runs the package's code, once, and it binds the same objects
    assert pkg.VERSION == 3 and "lazypkg_ran" in sys.modules
    assert type(pkg) is type(sys) and pkg.Square is Square
    assert importlib.import_module("lazypkg.shapes").Square is Square


def test_a_shortcut_that_is_not_where_it_was_said_runs_the_package(package):
    defer({"lazypkg": Deferral({"Square": "helpers_gone"})})
    from lazypkg import Square

    assert Square.sides == 4 and "lazypkg_ran" in sys.modules


def _in_fresh_python(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": LIB, "GRADKIT_FORKSERVER_PROBE": "0"},
    ).stdout


def test_the_fork_server_imports_what_grading_uses_of_nbgrader_and_no_more():
    out = _in_fresh_python(
        """
        import sys
        import gradkit.course.forkserver_warm
        import gradkit.course.execute, gradkit.course.pipeline
        from nbgrader.preprocessors import Execute, IgnorePattern, LimitOutput
        from gradkit.course.execute import GradkitExecute
        print("gradebook", "sqlalchemy" in sys.modules or "nbgrader.api" in sys.modules)
        print("extensions", any(m.startswith("nbgrader.server_extensions") for m in sys.modules))
        print("execute", issubclass(GradkitExecute, Execute), Execute.__module__)
        import importlib, nbgrader, nbgrader.preprocessors as pre
        version = importlib.import_module("nbgrader._version").__version__
        print("version", nbgrader.__version__ == version, type(nbgrader).__name__)
        print("still deferred", type(pre).__name__)
        from nbgrader.preprocessors import SaveCells  # anything else: the whole package
        print("whole", type(pre).__name__, SaveCells.__module__, "nbgrader.api" in sys.modules)
        print("same", pre.Execute is Execute)
        """
    )
    assert out.splitlines() == [
        "gradebook False",
        "extensions False",
        "execute True nbgrader.preprocessors.execute",
        "version True DeferredModule",
        "still deferred DeferredModule",
        "whole module nbgrader.preprocessors.savecells True",
        "same True",
    ]


def test_a_thread_using_a_deferred_module_while_it_runs_waits_for_it(tmp_path, monkeypatch):
    """Two threads use a deferred module at once: the second waits until its code has run
    (it never reads it half-run), and the code runs once."""
    import threading

    (tmp_path / "slowmod.py").write_text(
        "import sys, time\n"
        "sys.modules.setdefault('slowmod_runs', []).append(1)\n"
        "FIRST = 1\n"
        "time.sleep(0.3)\n"
        "LAST = 2\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slowmod_runs", raising=False)
    defer({"slowmod": Deferral()})
    import slowmod

    seen = []

    def use(name: str) -> None:
        try:
            seen.append(getattr(slowmod, name))
        except AttributeError as exc:
            seen.append(exc)

    first = threading.Thread(target=use, args=("FIRST",))
    first.start()
    deadline = time.monotonic() + 10
    while "slowmod_runs" not in sys.modules:  # the first thread is running its code now
        assert time.monotonic() < deadline, "the first thread never ran the module"
    use("LAST")
    first.join()
    assert sorted(seen) == [1, 2]
    assert sys.modules["slowmod_runs"] == [1]
    del sys.modules["slowmod"], sys.modules["slowmod_runs"]
