"""What a student kit stubs, and how a module is rewritten so that it holds no answer.

:func:`stub_targets` finds, from the specs and the solution notebooks, every function a kit
of one assignment must not hold: the graded functions of this assignment and the later
ones (and the same computation under their names elsewhere), and the catalogued mistakes
of this assignment's specs. :func:`rewrite_module` turns each into a stub through the
module's syntax tree: a graded function hands its call to the student's own function of
that name (:mod:`gradkit.yours`), a mistake raises, and private helpers that only they
used go with them. :mod:`gradkit.course.kit` builds the kit from the rewritten modules.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "KEPT_FOR_DEMOS",
    "Target",
    "graded_in",
    "imported_names",
    "kept_for_demos",
    "notebook_of",
    "rewrite_module",
    "stub_targets",
]

_SPEC_MODULES = "gradkit.grading.specs."
_MISSING = "_gradkit_not_in_kit"
_YOURS = "_gradkit_yours"
_SIGNATURE = "_gradkit_signature"


# ------------------------------------------------------------------ what becomes a stub

#: Graded functions of a *later* assignment that an assignment's demos need, through the
#: machinery (the Solver's step and update rules, a model's penalty), and that its kit
#: therefore keeps as gradkit's reference: without them those demos cannot run, and
#: students have not met these functions yet. It is a leak of those answers to the
#: earlier kits, kept as small as the demos allow; `tests/test_kit.py` runs every
#: solution notebook on its kit (so a missing entry fails) and checks that a kit holds
#: no other later reference.
KEPT_FOR_DEMOS: dict[str, tuple[str, ...]] = {
    "02_backprop": ("solver_step", "sgd", "adam"),
    "03_data_and_init": ("penalty_over_params", "l2_penalty", "solver_step", "adam"),
    "04_regularization": ("solver_step", "sgd_momentum", "adam"),
}


@dataclass(frozen=True)
class Target:
    """One function the kit must not hold: where it is, and what replaces it."""

    module: str
    qualname: str
    line: int
    #: ``"yours"``: the call goes to the student's function ``name`` (written in
    #: ``where``); ``"mistake"``: a catalogued mistake, which raises in a kit.
    kind: str
    name: str = ""
    where: str = ""
    lambda_: bool = False


def graded_in(solutions: Path, assignment: str) -> list[str]:
    """The graded functions the notebooks of ``assignment`` test, in notebook order."""
    from ..grading.specs import all_specs

    specs = all_specs()
    names: list[str] = []
    for nb in sorted((solutions / assignment).glob("*.ipynb")):
        for name in re.findall(r'grade\(\\?"([A-Za-z_0-9]+)\\?"', nb.read_text(encoding="utf-8")):
            if name in specs and name not in names:
                names.append(name)
    return names


def _from(solutions: Path, assignment: str, specs: dict[str, Any]) -> list[str]:
    """The spec assignments whose graded functions a kit of ``assignment`` stubs: the one
    of the earliest function its notebooks grade, and every later one (all of them when
    its notebooks grade none: a kit never holds more than it must)."""
    folders = sorted({s.assignment for s in specs.values()})
    here = [specs[n].assignment for n in graded_in(solutions, assignment)]
    first = min(here) if here else (assignment if assignment in folders else folders[0])
    return [f for f in folders if f >= first]


def kept_for_demos(assignment: str, specs: dict[str, Any]) -> list[str]:
    """The later graded functions the kit of ``assignment`` keeps (:data:`KEPT_FOR_DEMOS`)."""
    names = list(KEPT_FOR_DEMOS.get(assignment, ()))
    for name in names:
        if name not in specs or specs[name].assignment <= assignment:
            raise RuntimeError(f"KEPT_FOR_DEMOS[{assignment!r}] names {name!r}, not a later one")
    return names


def notebook_of(solutions: Path, specs: dict[str, Any]) -> dict[str, str]:
    """Graded function -> ``NN_name/notebook.ipynb`` whose test cell grades it."""
    found: dict[str, str] = {}
    for nb in sorted(solutions.glob("*/*.ipynb")):
        text = nb.read_text(encoding="utf-8")
        for name in re.findall(r'grade\(\\?"([A-Za-z_0-9]+)\\?"', text):
            found.setdefault(name, f"{nb.parent.name}/{nb.name}")
    for name, spec in specs.items():
        found.setdefault(name, f"{spec.assignment}/")
    return found


def _unwrap(func: Any) -> Any:
    import functools

    while isinstance(func, functools.partial):
        func = func.func
    return func


def _target(func: Any, kind: str, name: str = "", where: str = "") -> Target | None:
    func = _unwrap(func)
    code = getattr(func, "__code__", None)
    module = getattr(func, "__module__", "") or ""
    if code is None or not module.startswith("gradkit."):
        return None
    return Target(
        module,
        func.__qualname__,
        code.co_firstlineno,
        kind,
        name,
        where,
        lambda_=func.__name__ == "<lambda>",
    )


def stub_targets(assignment: str, solutions: Path) -> tuple[list[Target], list[str]]:
    """What the kit of ``assignment`` stubs, and the spec modules it ships."""
    import importlib

    from ..grading.delegation import resolve
    from ..grading.specs import MODULES, all_specs

    specs = all_specs()
    later = set(_from(solutions, assignment, specs))
    here = set(graded_in(solutions, assignment))
    where = notebook_of(solutions, specs)
    graded = {n for n, s in specs.items() if s.assignment in later}
    targets: dict[tuple[str, str, int], Target] = {}

    def add(t: Target | None) -> None:
        # A method (``Solver._step``) stays: the machinery calls the graded function,
        # which is a stub; only module-level functions and mistakes are rewritten.
        if t is not None and (t.kind == "mistake" or "." not in t.qualname):
            targets.setdefault((t.module, t.qualname, t.line), t)

    kept = set(kept_for_demos(assignment, specs))
    for spec in specs.values():
        if spec.assignment not in later or spec.name in kept:
            continue
        for fn_name, ref in spec.functions.items():
            if fn_name in kept:
                continue
            add(_target(ref, "yours", fn_name, where.get(fn_name, spec.assignment)))
        for dotted in spec.forbidden:
            last = dotted.rsplit(".", 1)[-1]
            if last in graded and last not in kept:  # the same computation, another name
                add(_target(resolve(dotted), "yours", last, where.get(last, "")))
        if spec.name in here or spec.assignment == assignment:
            for m in spec.mistakes:
                impls = m.impl.values() if isinstance(m.impl, dict) else [m.impl]
                for impl in impls:
                    t = _target(impl, "mistake")
                    if t is not None and t.module.startswith(_SPEC_MODULES):
                        add(t)
    shipped = []
    for mod in MODULES:
        module = importlib.import_module(f"gradkit.grading.specs.{mod}")
        mine = any(spec.name in here for spec in module.SPECS)
        if module.ASSIGNMENT not in later or module.ASSIGNMENT == assignment or mine:
            shipped.append(mod)
    return sorted(targets.values(), key=lambda t: (t.module, t.line)), shipped


# ------------------------------------------------------------------ rewriting a module


def _first_paragraph(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    doc = ast.get_docstring(node) or ""
    return doc.split("\n\n", 1)[0].strip()


def _stub_body(node: ast.FunctionDef, t: Target) -> list[ast.stmt]:
    if t.kind == "mistake":
        doc = "A catalogued mistake: a kit grades it from its recorded outputs."
        call = ast.Call(ast.Name(_MISSING, ast.Load()), [], [])
        return [ast.Expr(ast.Constant(doc)), ast.Expr(call)]
    summary = _first_paragraph(node)
    doc = (
        (summary + "\n\n" if summary else "")
        + f"Yours to write in {t.where}: this student kit holds no implementation of "
        f"{t.name}; it calls the one your notebook defines."
    )
    # The call goes on with the arguments the caller gave, no more: a student's function
    # need not take gradkit's optional extras (an initializer's ``dtype``). The
    # signature shown by help() is gradkit's (``__signature__``, set below the def).
    forward = ast.parse(f"{_YOURS}.call({t.name!r}, {t.where!r}, args, kwargs)", mode="eval")
    return [ast.Expr(ast.Constant(doc)), ast.Return(forward.body)]


def _signature_line(node: ast.FunctionDef, name: str) -> list[ast.stmt]:
    """``name.__signature__ = signature(lambda <node's parameters>: None)``."""
    params = copy.deepcopy(node.args)
    starred = [a for a in (params.vararg, params.kwarg) if a is not None]
    for a in [*params.posonlyargs, *params.args, *params.kwonlyargs, *starred]:
        a.annotation = None
    lam = ast.Lambda(args=params, body=ast.Constant(None))
    target = ast.Attribute(ast.Name(name, ast.Load()), "__signature__", ast.Store())
    value = ast.Call(ast.Name(_SIGNATURE, ast.Load()), [lam], [])
    return [ast.Assign(targets=[target], value=value)]


class _Stubber(ast.NodeTransformer):
    def __init__(self, targets: list[Target]):
        self.by_line = {(t.line, t.qualname.rsplit(".", 1)[-1]): t for t in targets}
        self.lambdas = {t.line for t in targets if t.lambda_}
        self.done: set[Target] = set()
        self.module_stubs: list[Target] = []
        self.signatures: dict[Target, list[ast.stmt]] = {}
        self._depth = 0

    def _def(self, node: ast.FunctionDef) -> ast.AST:
        line = node.decorator_list[0].lineno if node.decorator_list else node.lineno
        t = self.by_line.get((line, node.name)) or self.by_line.get((node.lineno, node.name))
        if t is not None:
            node.body = _stub_body(node, t)
            node.decorator_list = []
            self.done.add(t)
            if t.kind == "yours":
                self.signatures[t] = _signature_line(node, node.name)
                node.args = ast.arguments(
                    posonlyargs=[],
                    args=[],
                    vararg=ast.arg("args"),
                    kwonlyargs=[],
                    kw_defaults=[],
                    kwarg=ast.arg("kwargs"),
                    defaults=[],
                )
                node.returns = None
                if self._depth == 0:
                    self.module_stubs.append(t)
            return node
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return self._def(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        if node.lineno in self.lambdas:
            for t in self.by_line.values():
                if t.lambda_ and t.line == node.lineno:
                    self.done.add(t)
            node.body = ast.Call(ast.Name(_MISSING, ast.Load()), [], [])
            return node
        self.generic_visit(node)
        return node


def _names_used(tree: ast.AST) -> set[str]:
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            used.add(node.value)  # names in __all__
    return used


def _drop_unused_private(tree: ast.Module, elsewhere: set[str]) -> list[str]:
    """Remove module-level private functions nothing uses any more (``elsewhere``: the
    names other modules of the package use)."""
    dropped: list[str] = []
    while True:
        defs = [
            n
            for n in tree.body
            if isinstance(n, ast.FunctionDef) and n.name.startswith("_") and n.name != _MISSING
        ]
        removable = []
        for d in defs:
            others = ast.Module(body=[n for n in tree.body if n is not d], type_ignores=[])
            if d.name not in _names_used(others) and d.name not in elsewhere:
                removable.append(d)
        if not removable:
            return dropped
        for d in removable:
            tree.body.remove(d)
            dropped.append(d.name)


def imported_names(source: str) -> set[str]:
    """Names a module takes from others (``from x import _name``, ``module._name``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names


_HEADER = "# Rewritten by `gradkit kit`: the graded functions below are yours to write.\n"


def rewrite_module(
    source: str, targets: list[Target], elsewhere: set[str] | None = None
) -> tuple[str, list[Target], list[str]]:
    """``source`` with ``targets`` stubbed and the helpers they alone used removed."""
    tree = ast.parse(source)
    stubber = _Stubber(targets)
    stubber.visit(tree)
    dropped = _drop_unused_private(tree, elsewhere or set())
    imports: list[ast.stmt] = []
    if any(t.kind == "yours" for t in stubber.done):
        imports.append(
            ast.ImportFrom(module="gradkit", names=[ast.alias("yours", _YOURS)], level=0)
        )
        imports.append(
            ast.ImportFrom(module="inspect", names=[ast.alias("signature", _SIGNATURE)], level=0)
        )
    if any(t.kind == "mistake" for t in stubber.done):
        imports += ast.parse(
            f"def {_MISSING}(*args, **kwargs):\n"
            "    raise NotImplementedError('a catalogued mistake is not in the student kit')\n"
        ).body
    at = 0
    while at < len(tree.body) and (
        (isinstance(tree.body[at], ast.Expr) and isinstance(tree.body[at].value, ast.Constant))  # type: ignore[attr-defined]
        or (isinstance(tree.body[at], ast.ImportFrom) and tree.body[at].module == "__future__")  # type: ignore[attr-defined]
    ):
        at += 1
    tree.body[at:at] = imports
    for t in stubber.module_stubs:
        tree.body += stubber.signatures[t]
        tree.body += ast.parse(f"{t.qualname}.__gradkit_stub__ = {t.where!r}").body
    ast.fix_missing_locations(tree)
    return _HEADER + ast.unparse(tree) + "\n", sorted(stubber.done, key=lambda t: t.line), dropped
