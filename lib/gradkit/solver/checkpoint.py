"""Solver checkpoints as plain ``.npz`` files (no pickles).

Layout: arrays under ``param/<k>`` (current parameters), ``best/<k>`` (best
parameters so far), ``optim/<k>/<key>`` (array-valued optimizer state such as
Adam's ``m`` and ``v``) and ``bn/<i>/<key>`` (batch-norm running statistics
of hidden layer i, when the model has ``bn_params``, and ``bestbn/<i>/<key>``
for those that go with the best parameters); everything else (epoch,
iteration count, histories, scalar optimizer settings, solver settings and
the state of the solver's random generator, so a resumed run draws the same
minibatches as an uninterrupted one) is a JSON string stored under ``meta``.

Used by :meth:`gradkit.solver.Solver.save_checkpoint` and
:meth:`~gradkit.solver.Solver.load_checkpoint`. Taught in assignment 05.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from . import Solver

_STATE_KEYS = (
    "epoch",
    "t",
    "best_val_acc",
    "loss_history",
    "train_acc_history",
    "val_acc_history",
    "lr_history",
)


def _plain(value: object, where: str) -> bool | int | float | str | None:
    """A JSON-ready version of a scalar config value."""
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"{where}: cannot store optimizer setting of type {type(value).__name__} "
        "(only numbers, strings and arrays)"
    )


def save(solver: Solver, path: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """Write ``solver``'s model and training state to ``path``; return ``path``."""
    where = "Solver.save_checkpoint"
    arrays: dict[str, Any] = {}  # np.savez(**arrays) takes them as keyword arguments
    optim_meta: dict[str, dict[str, Any]] = {}
    for k, v in solver.model.params.items():
        arrays[f"param/{k}"] = np.asarray(v)
    for k, v in solver.best_params.items():
        arrays[f"best/{k}"] = np.asarray(v)
    for k, cfg in solver.optim_configs.items():
        optim_meta[k] = {}
        for key, val in cfg.items():
            if isinstance(val, np.ndarray):
                arrays[f"optim/{k}/{key}"] = val
            else:
                optim_meta[k][key] = _plain(val, where)
    for i, bn in enumerate(getattr(solver.model, "bn_params", None) or []):
        for key in ("running_mean", "running_var"):
            if key in bn:
                arrays[f"bn/{i}/{key}"] = np.asarray(bn[key])
    for i, state in enumerate(solver.best_model_state):
        for key, val in state.items():
            arrays[f"bestbn/{i}/{key}"] = val
    meta = {key: getattr(solver, key) for key in _STATE_KEYS}
    meta.update(
        optim_configs=optim_meta,
        optim_config={
            k: _plain(v, where)
            for k, v in solver.optim_config.items()
            if not isinstance(v, np.ndarray)
        },
        update_rule=getattr(solver.update_rule, "__name__", None),
        lr_decay=solver.lr_decay,
        batch_size=solver.batch_size,
        num_epochs=solver.num_epochs,
        reg=getattr(solver.model, "reg", None),
        rng_state=solver._rng.bit_generator.state,  # so a resumed run draws the same batches
    )
    arrays["meta"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def load(solver: Solver, path: str | os.PathLike[str]) -> None:
    """Restore a checkpoint written by :func:`save` into ``solver`` and its model."""
    where = "Solver.load_checkpoint"
    with np.load(path, allow_pickle=False) as f:
        files = {k: f[k] for k in f.files}
    if "meta" not in files:
        raise ValueError(f"{where}: {path} is not a Solver checkpoint (no 'meta' entry)")
    meta = json.loads(str(files.pop("meta")))
    params = {k[len("param/") :]: v for k, v in files.items() if k.startswith("param/")}
    current = solver.model.params
    want = {k: tuple(np.shape(v)) for k, v in current.items()}
    got = {k: tuple(v.shape) for k, v in params.items()}
    if want != got:
        raise ValueError(
            f"{where}: checkpoint parameter shapes {got} do not match the model's {want}"
        )
    solver.model.params = {k: v.astype(np.asarray(current[k]).dtype) for k, v in params.items()}
    solver.best_params = {k[len("best/") :]: v for k, v in files.items() if k.startswith("best/")}
    solver.optim_configs = {k: dict(cfg) for k, cfg in meta["optim_configs"].items()}
    bn_params = getattr(solver.model, "bn_params", None) or []
    solver.best_model_state = [{} for _ in bn_params]
    for name, v in files.items():
        if name.startswith("optim/"):
            _, k, key = name.split("/", 2)
            solver.optim_configs.setdefault(k, {})[key] = v
        elif name.startswith("bn/"):
            _, i, key = name.split("/", 2)
            if int(i) >= len(bn_params):
                raise ValueError(
                    f"{where}: checkpoint has batch-norm state for layer {i} "
                    f"but the model has {len(bn_params)} normalized layers"
                )
            bn_params[int(i)][key] = v
        elif name.startswith("bestbn/"):
            _, i, key = name.split("/", 2)
            solver.best_model_state[int(i)][key] = v
    for key in _STATE_KEYS:
        setattr(solver, key, meta[key])
    if meta.get("reg") is not None and hasattr(solver.model, "reg"):
        solver.model.reg = meta["reg"]
    state = meta.get("rng_state")
    if state and state.get("bit_generator") == type(solver._rng.bit_generator).__name__:
        solver._rng.bit_generator.state = state
