"""A small end-to-end training run on the embedded digits, for the ``gradkit demo`` command.

Trains the reference FullyConnectedNet (100-100, batch norm, dropout) with
the Solver and its progress bar, saves the loss and accuracy curves as a PNG
and returns the accuracies. The settings are those that reach the deep-net
target of docs/CURRICULUM.md in ``tests/test_targets.py``.

Taught in assignment 05 (training a network end to end).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ..data import load_digits
from ..models import FullyConnectedNet
from ..solver import Solver

__all__ = ["train_digits_demo", "DEMO_SETTINGS"]

#: Model and solver settings of the demo (chosen on a held-out part of the
#: training split, see tests/test_targets.py).
DEMO_SETTINGS: dict[str, Any] = {
    "hidden_dims": [100, 100],
    "normalization": "batchnorm",
    "dropout_keep_ratio": 0.7,
    "reg": 1e-2,
    "init": "he",
    "update_rule": "adam",
    "learning_rate": 1e-3,
    "batch_size": 50,
    "num_epochs": 30,
    "quick_epochs": 5,
}


def _plot(solver, path: Path) -> None:
    """Loss per iteration and train/val accuracy per epoch (epoch 0 = before training)."""
    from matplotlib.figure import Figure  # no pyplot: no global state, works headless

    fig = Figure(figsize=(10, 4), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    ax_loss.plot(solver.loss_history, lw=0.8)
    ax_loss.set(xlabel="iteration", ylabel="loss", title="Training loss")
    epochs = np.arange(len(solver.val_acc_history))
    ax_acc.plot(epochs, solver.train_acc_history, "o-", ms=3, label="train")
    ax_acc.plot(epochs, solver.val_acc_history, "o-", ms=3, label="val")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    ax_acc.legend()
    fig.savefig(path, dpi=100)


def train_digits_demo(out_dir, seed=0, quick=False) -> dict:
    """Train the reference FullyConnectedNet on the digits; save a plot; return accuracies.

    The model with the best validation accuracy is kept (Solver's best-model
    selection). ``quick`` trains 5 epochs instead of 30 (a few seconds less,
    for smoke tests). Writes ``<out_dir>/digits_training.png`` (``out_dir``
    is created if needed).

    Returns a dict: ``train_acc`` and ``val_acc`` (the kept model on the whole
    splits), ``final_val_acc`` (last epoch), ``epochs``, ``seconds`` and
    ``plot`` (the PNG's path as a string).

    Taught in assignment 05.
    """
    s = DEMO_SETTINGS
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = load_digits(seed=seed)
    data = {k: data[k] for k in ("X_train", "y_train", "X_val", "y_val")}
    model = FullyConnectedNet(
        s["hidden_dims"],
        input_dim=data["X_train"].shape[1],
        num_classes=10,
        dropout_keep_ratio=s["dropout_keep_ratio"],
        normalization=s["normalization"],
        reg=s["reg"],
        init=s["init"],
        seed=seed,
        dropout_rng=np.random.default_rng([seed, 1]),
    )
    epochs = s["quick_epochs"] if quick else s["num_epochs"]
    solver = Solver(
        model,
        data,
        update_rule=s["update_rule"],
        optim_config={"learning_rate": s["learning_rate"]},
        batch_size=s["batch_size"],
        num_epochs=epochs,
        num_train_samples=None,
        verbose=False,
        progress=True,
        seed=seed,
    )
    start = time.perf_counter()
    solver.train()
    seconds = time.perf_counter() - start
    plot = out / "digits_training.png"
    _plot(solver, plot)
    return {
        "train_acc": solver.check_accuracy(data["X_train"], data["y_train"]),
        "val_acc": solver.check_accuracy(data["X_val"], data["y_val"]),
        "final_val_acc": solver.val_acc_history[-1],
        "epochs": epochs,
        "seconds": round(seconds, 2),
        "plot": str(plot),
    }
