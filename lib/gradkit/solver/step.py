"""One update of every parameter of a model: what the Solver does after each minibatch.

``solver_step`` is a graded function of assignment 05 (training.ipynb), and
:meth:`gradkit.solver.Solver._step` performs its update through it, so in the
student kit the Solver runs on the student's own step.

Taught in assignment 05.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import optim
from ..optim.update_rules import UpdateRule

__all__ = ["solver_step"]


def solver_step(
    params: Mapping[str, np.ndarray],
    grads: Mapping[str, np.ndarray],
    configs: Mapping[str, dict[str, Any] | None],
    update_rule: str | UpdateRule,
    learning_rate: float | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
    """Update every parameter with its own config: a new params dict and a new configs dict.

    For each ``name`` of ``params``: a copy of ``configs[name]`` (``{}`` when
    absent), its ``"learning_rate"`` set to ``learning_rate`` unless that is
    None (the schedule's rate for this step), then ``params[name], config =
    rule(params[name], grads[name], config)``. ``update_rule`` is a name for
    :func:`gradkit.optim.get_update_rule` or a rule itself. Nothing passed in
    is modified.

    Shapes: params, grads {name: array of params[name]'s shape}, configs
    {name: dict} -> (new params {name: array}, new configs {name: dict}).

    Taught in assignment 05.
    """
    missing = [name for name in params if name not in grads]
    if missing:
        raise ValueError(
            f"solver_step: grads must hold a gradient for every parameter; "
            f"got none for {', '.join(map(repr, missing))}"
        )
    rule = optim.get_update_rule(update_rule)
    new_params, new_configs = {}, {}
    for name, w in params.items():
        config = dict(configs.get(name) or {})
        if learning_rate is not None:
            config["learning_rate"] = learning_rate
        new_params[name], new_configs[name] = rule(w, grads[name], config)
    return new_params, new_configs
