"""A simulated student kit: gradkit's graded functions replaced by stubs, in this process.

The real kit (``gradkit kit ASSIGNMENT``) is a wheel whose graded functions are
generated stubs. Tests and the audit of the notebooks need the same behaviour
without building it: :func:`install` replaces each graded library function of
the given assignments, wherever gradkit's library binds it (module attributes
and name tables like ``UPDATE_RULES``), by a stub that has the original
signature, is marked ``__gradkit_stub__`` and hands the call to
:func:`gradkit.yours.call`. The grading package keeps the references.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: Packages whose bindings stay: the grader's and the course tools' own.
KEPT = ("gradkit.grading", "gradkit.course", "gradkit.yours", "gradkit.__main__")


def graded_notebooks() -> dict[str, str]:
    """Graded function -> ``"NN_name/notebook.ipynb"`` where a student writes it."""
    from gradkit.course.nbgrader_plugins import parse_test_cell

    where = {}
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            code = cell["cell_type"] == "code"
            parsed = parse_test_cell("".join(cell["source"])) if code else None
            if parsed:
                where[parsed[0]] = f"{path.parent.name}/{path.name}"
    return where


def library_function(spec: Any) -> Callable | None:
    """The library function a kit stubs for ``spec``: its reference when that lives in the
    library, else the library function of the same name it forbids (``fit_center``)."""
    from gradkit.grading.delegation import resolve

    ref = spec.functions[spec.primary]
    module = getattr(ref, "__module__", "")
    if module.startswith("gradkit.") and not module.startswith(KEPT):
        return ref
    for dotted in spec.forbidden:
        if dotted.rsplit(".", 1)[-1] == spec.name:
            return resolve(dotted)
    return None


def make_stub(name: str, where: str, ref: Callable) -> Callable:
    """What the kit generates: the reference's signature, a body that calls the student's."""
    from gradkit import yours

    signature = inspect.signature(ref)

    def stub(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        return yours.call(name, where, bound.args, bound.kwargs)

    # A code object of its own, as a generated stub has: the delegation watch tells
    # functions apart by their code.
    stub.__code__ = stub.__code__.replace(co_name=name)
    stub.__name__ = stub.__qualname__ = name
    stub.__module__ = ref.__module__
    stub.__doc__ = (ref.__doc__ or "").strip().splitlines()[0] if ref.__doc__ else None
    stub.__signature__ = signature  # type: ignore[attr-defined]
    stub.__gradkit_stub__ = where  # type: ignore[attr-defined]
    return stub


def _library_modules() -> list[Any]:
    import gradkit

    for info in pkgutil.walk_packages(gradkit.__path__, "gradkit."):
        if not info.name.startswith(KEPT):
            importlib.import_module(info.name)
    return [
        m
        for name, m in sorted(sys.modules.items())
        if (name == "gradkit" or name.startswith("gradkit.")) and not name.startswith(KEPT)
    ]


def install(assignments: Iterable[str]) -> dict[str, str]:
    """Stub every graded library function of ``assignments``; return name -> notebook."""
    from gradkit.grading import all_specs

    wanted = set(assignments)
    where = graded_notebooks()
    stubs: dict[int, Callable] = {}
    stubbed = {}
    for name, spec in all_specs().items():
        if spec.assignment not in wanted:
            continue
        ref = library_function(spec)
        if ref is None:
            continue
        stubs[id(ref)] = make_stub(name, where[name], ref)
        stubbed[name] = where[name]
    for module in _library_modules():
        for attr, value in list(vars(module).items()):
            if id(value) in stubs:
                setattr(module, attr, stubs[id(value)])
            elif isinstance(value, dict) and attr.isupper():  # UPDATE_RULES, SCHEDULES, ...
                for key, item in list(value.items()):
                    if id(item) in stubs:
                        value[key] = stubs[id(item)]
    return stubbed
