"""Accuracy targets of docs/CURRICULUM.md on the embedded digits (validation split).

| model                                   | target  | measured, seed 0 (seeds 0-4)   |
|-----------------------------------------|---------|--------------------------------|
| softmax on raw pixels                   | ≥ 0.95  | 0.953 (0.953-0.958)            |
| linear SVM on raw pixels                | ≥ 0.94  | 0.967 (0.958-0.967)            |
| two-layer net                           | ≥ 0.97  | 0.983 (0.975-0.983)            |
| FC net 100-100, batchnorm + dropout 0.7 | ≥ 0.975 | 0.989 (0.981-0.989)            |

For reference, on the same split scikit-learn's LogisticRegression scores
0.955-0.964 (C = 0.1-10) and MLPClassifier((100,)) 0.978.

How the hyper-parameters were chosen (never on the validation split that is
reported): the training split of ``load_digits(seed=0)`` was cut once more
with ``train_val_split(..., val_fraction=0.2, seed=1)`` into a fitting part
(1150 examples) and a held-out part (287); every configuration of the grids
below was trained on the fitting part with two or three seeds and scored on
the held-out part (final-epoch accuracy, not the best epoch); the top mean
(first listed on ties) was kept. ``python tests/test_targets.py`` repeats that
search. The tests then train on the whole training split with seed 0 and
assert on the accuracy of the *last* epoch on the whole validation split, so
the Solver's best-epoch selection (which looks at validation accuracy) does
not flatter the figures.

The softmax target is met with a margin of one example (342/359 correct,
0.95 needs 342): that is the honest level of a linear model on these pixels,
within a point of scikit-learn's.
"""

import itertools
import time

import numpy as np
import pytest

from gradkit.data import load_digits, train_val_split
from gradkit.linear import LinearSVM, Softmax, add_bias_column
from gradkit.models import FullyConnectedNet, TwoLayerNet
from gradkit.solver import Solver

pytestmark = pytest.mark.slow

# Targets from docs/CURRICULUM.md (validation accuracy on the embedded digits).
SOFTMAX_TARGET = 0.95
SVM_TARGET = 0.94
TWO_LAYER_TARGET = 0.97
DEEP_TARGET = 0.975

# Chosen by the held-out search described above.
SOFTMAX_HP = {"learning_rate": 1.0, "reg": 1e-3, "num_iters": 1500, "batch_size": 200}
SVM_HP = {"learning_rate": 1.0, "reg": 1e-2, "num_iters": 1500, "batch_size": 200}
TWO_LAYER_HP = {"learning_rate": 3e-3, "reg": 0.0}
DEEP_HP = {"keep": 0.7, "learning_rate": 1e-3, "reg": 1e-2}
EPOCHS, BATCH = 30, 50  # fixed for both networks, Adam in both

# The grids searched on the held-out part of the training split.
LINEAR_GRID = {
    "num_iters": [1500, 5000],
    "learning_rate": [0.3, 1.0, 3.0],
    "reg": [0.0, 3e-4, 1e-3, 3e-3, 1e-2],
}
TWO_LAYER_GRID = {"learning_rate": [5e-4, 1e-3, 3e-3], "reg": [0.0, 1e-3, 1e-2]}
DEEP_GRID = {"keep": [0.7, 0.85, 1.0], "learning_rate": [1e-3, 3e-3], "reg": [0.0, 1e-3, 1e-2]}


def digits_splits():
    d = load_digits(seed=0)
    return {k: d[k] for k in ("X_train", "y_train", "X_val", "y_val")}


def fit_linear(cls, data, seed, learning_rate, reg, num_iters, batch_size):
    model = cls(seed=seed)
    model.train(
        add_bias_column(data["X_train"]),
        data["y_train"],
        learning_rate=learning_rate,
        reg=reg,
        num_iters=num_iters,
        batch_size=batch_size,
    )
    return float(np.mean(model.predict(add_bias_column(data["X_val"])) == data["y_val"]))


def two_layer(seed, reg):
    return TwoLayerNet(64, 100, 10, weight_scale=1e-2, reg=reg, seed=seed)


def deep_net(seed, keep, reg):
    return FullyConnectedNet(
        [100, 100],
        input_dim=64,
        num_classes=10,
        dropout_keep_ratio=keep,
        normalization="batchnorm",
        reg=reg,
        init="he",
        seed=seed,
        dropout_rng=np.random.default_rng(seed + 100),
    )


def fit_net(model, data, seed, learning_rate):
    """Train with Adam; return the final-epoch validation accuracy (whole split)."""
    solver = Solver(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": learning_rate},
        num_epochs=EPOCHS,
        batch_size=BATCH,
        num_train_samples=None,
        num_val_samples=None,
        verbose=False,
        progress=False,
        seed=seed,
    )
    solver.train()
    return solver.val_acc_history[-1]


@pytest.mark.a01
def test_softmax_target():
    acc = fit_linear(Softmax, digits_splits(), 0, **SOFTMAX_HP)
    assert acc >= SOFTMAX_TARGET, f"softmax val acc {acc:.4f} < {SOFTMAX_TARGET}"


@pytest.mark.a01
def test_linear_svm_target():
    acc = fit_linear(LinearSVM, digits_splits(), 0, **SVM_HP)
    assert acc >= SVM_TARGET, f"linear SVM val acc {acc:.4f} < {SVM_TARGET}"


@pytest.mark.a02
def test_two_layer_target():
    hp = TWO_LAYER_HP
    acc = fit_net(two_layer(0, hp["reg"]), digits_splits(), 0, hp["learning_rate"])
    assert acc >= TWO_LAYER_TARGET, f"two-layer val acc {acc:.4f} < {TWO_LAYER_TARGET}"


@pytest.mark.a05
def test_deep_net_with_batchnorm_and_dropout_target():
    hp = DEEP_HP
    acc = fit_net(deep_net(0, hp["keep"], hp["reg"]), digits_splits(), 0, hp["learning_rate"])
    assert acc >= DEEP_TARGET, f"deep net val acc {acc:.4f} < {DEEP_TARGET}"


def _grid(grid):
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def search():
    """Repeat the hyper-parameter search on a held-out part of the training split."""
    d = digits_splits()
    Xf, yf, Xh, yh = train_val_split(d["X_train"], d["y_train"], val_fraction=0.2, seed=1)
    held = {"X_train": Xf, "y_train": yf, "X_val": Xh, "y_val": yh}
    runs = [
        (
            "softmax",
            LINEAR_GRID,
            (0, 1, 2),
            lambda hp, s: fit_linear(Softmax, held, s, batch_size=200, **hp),
        ),
        (
            "svm",
            LINEAR_GRID,
            (0, 1, 2),
            lambda hp, s: fit_linear(LinearSVM, held, s, batch_size=200, **hp),
        ),
        (
            "two-layer",
            TWO_LAYER_GRID,
            (0, 1),
            lambda hp, s: fit_net(two_layer(s, hp["reg"]), held, s, hp["learning_rate"]),
        ),
        (
            "deep",
            DEEP_GRID,
            (0, 1),
            lambda hp, s: fit_net(deep_net(s, hp["keep"], hp["reg"]), held, s, hp["learning_rate"]),
        ),
    ]
    for name, grid, seeds, run in runs:
        start = time.perf_counter()
        scored = [(float(np.mean([run(hp, s) for s in seeds])), hp) for hp in _grid(grid)]
        best = max(scored, key=lambda r: r[0])  # max keeps the first of equal scores
        print(
            f"{name}: best held-out acc {best[0]:.4f} with {best[1]} "
            f"({len(scored)} configs, {time.perf_counter() - start:.0f} s)"
        )


if __name__ == "__main__":
    search()
