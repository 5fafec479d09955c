"""Solver: the minibatch training loop shared by every model in the course.

A model is anything with a dict ``model.params`` and a method
``model.loss(X, y=None)`` returning scores, or ``(loss, grads)`` with
``grads`` keyed like ``params`` (TwoLayerNet, FullyConnectedNet, a student's
own class). The solver samples minibatches with its own seeded
``np.random.Generator`` (never the global numpy state), applies an update rule
from :mod:`gradkit.optim` with one config dict per parameter, follows a
learning-rate schedule, records loss and accuracy histories, keeps the
parameters with the best validation accuracy (with the batch-norm running
statistics that go with them) and shows a progress bar.

Typical use::

    solver = Solver(model, data, update_rule="adam",
                    optim_config={"learning_rate": 1e-3}, num_epochs=10, seed=0)
    solver.train()          # model.params now holds the best parameters
    solver.best_val_acc, solver.loss_history

Taught in assignment 05.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import optim
from .._validation import as_array, check_count, check_positive, get_rng
from ..optim.update_rules import UpdateRule
from . import checkpoint
from ._inputs import DATA_KEYS, LRSchedule, check_data, check_schedule, norm_state
from .step import solver_step

__all__ = ["Solver", "solver_step"]


class Solver:
    """Train a classification model with minibatch gradient descent.

    Each iteration: draw a minibatch, ``loss, grads = model.loss(X, y)``,
    then update every parameter with :func:`~gradkit.solver.step.solver_step`
    (``params[k], configs[k] = update_rule(params[k], grads[k], configs[k])``,
    the schedule's learning rate written into each config first).
    One epoch visits ``num_train // batch_size`` disjoint minibatches of a
    fresh permutation (the remainder is skipped; a training set smaller than
    a batch is one batch). Accuracy on ``num_train_samples`` training and
    ``num_val_samples`` validation examples is recorded before training and
    after every epoch.

    Learning rate: ``lr_schedule`` is None (constant), a name for
    :func:`gradkit.schedules.make_schedule` (its length is filled in with the
    total number of iterations), a ``(name, kwargs)`` pair, or a callable
    ``t -> lr`` of the 0-based iteration count. Without a schedule,
    ``lr_decay`` multiplies every learning rate after each epoch (classic
    step decay); the two cannot be combined.

    After :meth:`train`: ``loss_history`` (one per iteration), ``lr_history``
    (rate used at each iteration), ``train_acc_history`` and
    ``val_acc_history`` (epoch 0 = before training, then one per epoch),
    ``best_val_acc`` and ``best_params`` (copies, now also in
    ``model.params``), ``epoch``, ``t`` (iterations done), ``optim_configs``.

    Shapes: data X_train (N, D...), y_train (N,), X_val (M, D...), y_val (M,).

    Taught in assignment 05.
    """

    def __init__(
        self,
        model: Any,
        data: dict[str, Any],
        *,
        update_rule: str | UpdateRule = "sgd",
        optim_config: dict[str, Any] | None = None,
        lr_schedule: LRSchedule = None,
        lr_decay: float = 1.0,
        batch_size: int = 100,
        num_epochs: int = 10,
        num_train_samples: int | None = 1000,
        num_val_samples: int | None = None,
        checkpoint_name: str | None = None,
        print_every: int = 10,
        verbose: bool = True,
        progress: bool = True,
        seed: int | None = None,
    ) -> None:
        if not (hasattr(model, "params") and callable(getattr(model, "loss", None))):
            raise ValueError("Solver: model must have a params dict and a loss(X, y=None) method")
        self.model = model
        d = check_data(data)
        self.X_train, self.y_train, self.X_val, self.y_val = (d[k] for k in DATA_KEYS)
        self.update_rule = optim.get_update_rule(update_rule)
        # solver_step gets the rule's name when it has one (a student's step may look it up).
        self._rule_name = update_rule if isinstance(update_rule, str) else None
        if optim_config is not None and not isinstance(optim_config, dict):
            raise ValueError(
                f"Solver: optim_config must be a dict; got {type(optim_config).__name__}"
            )
        self.optim_config = dict(optim_config or {})
        self.lr_decay = check_positive("lr_decay", lr_decay, "Solver")
        self.batch_size = check_count("batch_size", batch_size, "Solver")
        self.num_epochs = check_count("num_epochs", num_epochs, "Solver", minimum=0)
        self.num_train_samples = check_count(
            "num_train_samples", num_train_samples, "Solver", optional=True
        )
        self.num_val_samples = check_count(
            "num_val_samples", num_val_samples, "Solver", optional=True
        )
        self.checkpoint_name = checkpoint_name
        self.print_every = print_every
        self.verbose = bool(verbose)
        self.progress = bool(progress)
        self._rng = get_rng(seed=seed)
        if lr_schedule is not None and self.lr_decay != 1.0:
            raise ValueError("Solver: give either lr_schedule or lr_decay != 1, not both")
        self.lr_schedule = check_schedule(lr_schedule)
        # Resolved by train(): a named schedule needs the iteration count.
        self._schedule: Callable[[int], float] | None = None
        self._reset()

    # ------------------------------------------------------------------ state
    def _reset(self) -> None:
        """Fresh histories, epoch/iteration counters and one optim config per parameter."""
        self.epoch = 0
        self.t = 0
        self.best_val_acc = 0.0
        self.best_params: dict[str, np.ndarray] = {}
        self.best_model_state: list[dict[str, np.ndarray]] = []
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.lr_history: list[float] = []
        self.optim_configs: dict[str, dict[str, Any]] = {
            k: dict(self.optim_config) for k in self.model.params
        }

    @property
    def iterations_per_epoch(self) -> int:
        return max(self.X_train.shape[0] // self.batch_size, 1)

    def _base_lr(self) -> float:
        if "learning_rate" in self.optim_config:
            return float(self.optim_config["learning_rate"])
        # The rule's own default, read by running it once on a dummy parameter.
        _, cfg = self.update_rule(np.zeros(1), np.zeros(1), {})
        return float(cfg["learning_rate"])

    def _resolve_schedule(self) -> Callable[[int], float] | None:
        sched = self.lr_schedule
        if sched is None or callable(sched):
            return sched
        from ..schedules import make_schedule

        name, kw = (sched, {}) if isinstance(sched, str) else sched
        lr0 = self._base_lr()
        total = max(self.num_epochs * self.iterations_per_epoch, 1)
        try:  # schedules with a length T (cosine, linear) span the whole run by default
            return make_schedule(name, lr0, **{"T": total, **kw})
        except ValueError:
            return make_schedule(name, lr0, **kw)

    # --------------------------------------------------------------- training
    def _rule_for_step(self) -> str | UpdateRule:
        """The rule as :func:`solver_step` takes it: the name this solver was given, unless
        ``update_rule`` was replaced since; else the rule itself."""
        name = self._rule_name
        if name is not None and optim.get_update_rule(name) is self.update_rule:
            return name
        return self.update_rule

    def _step(self, X_batch: np.ndarray, y_batch: np.ndarray) -> float:
        loss, grads = self.model.loss(X_batch, y_batch)
        lr = None
        if self._schedule is not None:
            lr = float(self._schedule(self.t))
        params = self.model.params
        for k in params:  # a parameter added after construction starts from optim_config
            self.optim_configs.setdefault(k, dict(self.optim_config))
        # The graded step of assignment 05; in the student kit, the student's own.
        new_params, new_configs = solver_step(
            params, grads, self.optim_configs, self._rule_for_step(), lr
        )
        params.update(new_params)  # the model keeps its dict: only the arrays are replaced
        self.optim_configs.update(new_configs)
        if lr is None:  # constant or per-epoch decay: read the rate the rule used
            lr = float(next(iter(self.optim_configs.values()), {}).get("learning_rate", np.nan))
        self.lr_history.append(lr)
        self.t += 1
        return float(loss)

    def _record_accuracy(self, log: Callable[[str], object]) -> tuple[float, float]:
        train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            self.best_params = {k: np.array(v, copy=True) for k, v in self.model.params.items()}
            self.best_model_state = norm_state(self.model)
        if self.verbose:
            log(
                f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:.4f}; "
                f"val acc: {val_acc:.4f}"
            )
        return train_acc, val_acc

    def train(self) -> Solver:
        """Train until ``self.epoch == self.num_epochs``, then load the best parameters.

        Resumes from ``self.epoch`` (e.g. after :meth:`load_checkpoint`); raise
        ``num_epochs`` to train a finished solver further. Returns ``self``.
        """
        self._schedule = self._resolve_schedule()  # T follows num_epochs, which may have grown
        n = self.X_train.shape[0]
        per_epoch = self.iterations_per_epoch
        batch = min(self.batch_size, n)
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            remaining = (self.num_epochs - self.epoch) * per_epoch
            bar = tqdm(total=remaining, desc="training", unit="it", leave=True)
        log = bar.write if bar is not None else print
        try:
            if not self.val_acc_history:
                self._record_accuracy(log)
            while self.epoch < self.num_epochs:
                order = self._rng.permutation(n)
                for i in range(per_epoch):
                    idx = order[i * batch : (i + 1) * batch]
                    loss = self._step(self.X_train[idx], self.y_train[idx])
                    self.loss_history.append(loss)
                    if self.verbose and self.print_every and self.t % self.print_every == 0:
                        total = self.num_epochs * per_epoch
                        log(f"(Iteration {self.t} / {total}) loss: {loss:.6f}")
                    if bar is not None:
                        bar.update(1)
                        if self.t % 10 == 0 or i == per_epoch - 1:
                            bar.set_postfix(
                                loss=f"{loss:.3f}",
                                epoch=self.epoch + 1,
                                val_acc=f"{self.val_acc_history[-1]:.3f}",
                                refresh=False,
                            )
                self.epoch += 1
                if self._schedule is None and self.lr_decay != 1.0:
                    base = self._base_lr()
                    for cfg in self.optim_configs.values():
                        cfg["learning_rate"] = float(cfg.get("learning_rate", base)) * self.lr_decay
                self._record_accuracy(log)
                if bar is not None:
                    bar.set_postfix(
                        loss=f"{self.loss_history[-1]:.3f}",
                        epoch=self.epoch,
                        val_acc=f"{self.val_acc_history[-1]:.3f}",
                    )
                if self.checkpoint_name:
                    self.save_checkpoint(f"{self.checkpoint_name}_epoch_{self.epoch}.npz")
        finally:
            if bar is not None:
                bar.close()
        self.model.params = {k: np.array(v, copy=True) for k, v in self.best_params.items()}
        for bn, state in zip(getattr(self.model, "bn_params", None) or [], self.best_model_state):
            bn.update({k: v.copy() for k, v in state.items()})
        return self

    def check_accuracy(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        num_samples: int | None = None,
        batch_size: int = 100,
    ) -> float:
        """Fraction of examples whose highest score is the true label.

        With ``num_samples`` < N a random subset (drawn with the solver's
        generator) is scored. Scores are computed ``batch_size`` rows at a time
        in test mode (``model.loss(X)``).

        Shapes: X (N, D...), y (N,) -> float in [0, 1].
        """
        X = as_array("X", X, "Solver.check_accuracy")
        y = np.asarray(y)
        if X.ndim < 2 or y.shape != (X.shape[0],):
            raise ValueError(
                f"Solver.check_accuracy: y must have shape ({X.shape[0] if X.ndim else '?'},) to "
                f"match X of shape {X.shape}; got {y.shape}"
            )
        num_samples = check_count("num_samples", num_samples, "Solver", optional=True)
        batch_size = check_count("batch_size", batch_size, "Solver")
        if num_samples is not None and num_samples < X.shape[0]:
            idx = self._rng.choice(X.shape[0], num_samples, replace=False)
            X, y = X[idx], y[idx]
        if X.shape[0] == 0:
            return 0.0
        pred = np.concatenate(
            [
                np.argmax(self.model.loss(X[i : i + batch_size]), axis=1)
                for i in range(0, X.shape[0], batch_size)
            ]
        )
        return float(np.mean(pred == y))

    # ------------------------------------------------------------ checkpoints
    def save_checkpoint(self, path: str | os.PathLike[str]) -> str | os.PathLike[str]:
        """Write params, best params, optimizer state, histories and settings to ``path`` (.npz).

        A plain ``.npz`` (no pickles, loads with ``allow_pickle=False``); see
        :mod:`gradkit.solver.checkpoint` for the layout. Returns ``path``.
        """
        return checkpoint.save(self, path)

    def load_checkpoint(self, path: str | os.PathLike[str]) -> Solver:
        """Restore what :meth:`save_checkpoint` wrote into this solver and its model.

        The model's params (same keys and shapes required), best params,
        optimizer state, batch-norm running statistics, epoch, iteration count
        and histories are replaced; :meth:`train` then resumes from the saved
        epoch. Returns ``self``.
        """
        checkpoint.load(self, path)
        return self
