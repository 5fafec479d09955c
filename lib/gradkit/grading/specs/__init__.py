"""The graded functions of the course: one module of specs per assignment notebook.

Every module lists its specs in ``SPECS`` and names its assignment folder in
``ASSIGNMENT``. Everything that needs to know the graded functions — the
registry below, the delegation watch, the pytest cases, the course map —
reads them from here; nothing lists a graded function twice.
"""

from __future__ import annotations

import importlib

from ..spec import Spec

__all__ = ["MODULES", "all_specs", "get_spec"]

#: Spec modules, in course order.
MODULES = [
    "a01_regression",
    "a01_classifiers",
    "a01_numgrad",
    "a02_graph",
    "a02_layers",
    "a02_activations",
    "a02_networks",
    "a03_scaling",
    "a03_minmax",
    "a03_pca",
    "a03_init",
    "a03_batchnorm",
    "a03_layernorm",
    "a04_penalties",
    "a04_model_weights",
    "a04_dropout",
    "a04_dropconnect",
    "a04_losses",
    "a04_regression_losses",
    "a05_update_rules",
    "a05_adaptive",
    "a05_schedules",
    "a05_training",
]

_REGISTRY: dict[str, Spec] | None = None


def _load() -> dict[str, Spec]:
    registry: dict[str, Spec] = {}
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        for spec in module.SPECS:
            if spec.name in registry:
                raise RuntimeError(f"graded function {spec.name!r} is specified twice")
            spec.assignment = module.ASSIGNMENT
            registry[spec.name] = spec
    return registry


def all_specs() -> dict[str, Spec]:
    """Name -> spec of every graded function, in course order."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _load()
    return dict(_REGISTRY)


def get_spec(name: str) -> Spec:
    """The spec of graded function ``name``; ValueError naming the known ones otherwise."""
    specs = all_specs()
    if name not in specs:
        raise ValueError(f"no graded function named {name!r}; known: {', '.join(specs)}")
    return specs[name]
