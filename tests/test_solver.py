"""Tests for gradkit.solver.Solver (and its checkpoint files)."""

import numpy as np
import pytest

from gradkit.data import load_digits
from gradkit.models import FullyConnectedNet, TwoLayerNet
from gradkit.solver import Solver

# Learning rates after repeated multiplication: float64 products of a few
# exact binary fractions are exact, so only rounding could differ.
LR_TOL = 1e-15


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def small_data(digits, n_train=200, n_val=100):
    return {
        "X_train": digits["X_train"][:n_train],
        "y_train": digits["y_train"][:n_train],
        "X_val": digits["X_val"][:n_val],
        "y_val": digits["y_val"][:n_val],
    }


def quiet(model, data, **kw):
    kw = {"verbose": False, "progress": False, "seed": 0, **kw}
    return Solver(model, data, **kw)


class FixedScores:
    """A stand-in model whose scores are its input: accuracy is then known by hand."""

    params = {}

    def loss(self, X, y=None):
        return np.asarray(X)


def test_check_accuracy_hand_computed():
    X = np.array([[9.0, 0, 0], [0, 9, 0], [0, 1, 2], [0, 0, 5]])  # argmax 0, 1, 2, 2
    y = np.array([0, 1, 1, 2])
    data = {"X_train": X, "y_train": y, "X_val": X, "y_val": y}
    solver = quiet(FixedScores(), data)
    assert solver.check_accuracy(X, y) == 0.75
    assert solver.check_accuracy(X, y, batch_size=3) == 0.75  # batches of 3 and 1
    assert solver.check_accuracy(X[:2], y[:2]) == 1.0


def test_overfits_fifty_examples(digits):
    data = small_data(digits, n_train=50)
    model = TwoLayerNet(64, 100, 10, weight_scale=1e-2, seed=0)
    solver = quiet(
        model,
        data,
        update_rule="adam",
        optim_config={"learning_rate": 5e-3},
        batch_size=25,
        num_epochs=40,
    )
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
    assert solver.loss_history[-1] < 0.1 * solver.loss_history[0]


def test_histories_best_params_and_swap(digits):
    data = small_data(digits)
    model = FullyConnectedNet([40], input_dim=64, normalization="batchnorm", seed=1)
    solver = quiet(
        model,
        data,
        update_rule="sgd_momentum",
        optim_config={"learning_rate": 0.05},
        batch_size=50,
        num_epochs=3,
    )
    solver.train()
    assert len(solver.loss_history) == 3 * (200 // 50)
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 3 + 1
    assert solver.epoch == 3 and solver.t == 12
    assert solver.best_val_acc == max(solver.val_acc_history)
    # The best parameters are in the model, and the model scores best_val_acc on
    # the whole validation set (num_val_samples=None).
    assert all(np.array_equal(model.params[k], solver.best_params[k]) for k in model.params)
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc
    model.params["W1"][...] = 0.0  # best_params is a copy, not a view
    assert np.any(solver.best_params["W1"])


def test_best_epoch_restored_with_its_batchnorm_statistics(digits):
    data = small_data(digits)
    model = FullyConnectedNet([40], input_dim=64, normalization="batchnorm", seed=1)
    # A sane rate for two epochs, then a wild one that wrecks the last epoch.
    solver = quiet(
        model, data, lr_schedule=lambda t: 0.1 if t < 8 else 50.0, batch_size=50, num_epochs=3
    )
    solver.train()
    assert solver.val_acc_history[-1] < solver.best_val_acc  # the best epoch is not the last
    # Params *and* running statistics of the best epoch are back in the model.
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc


def test_one_config_per_param_and_caller_dict_untouched(digits):
    config = {"learning_rate": 1e-3}
    model = TwoLayerNet(64, 20, 10, seed=0)
    solver = quiet(
        model,
        small_data(digits),
        update_rule="adam",
        optim_config=config,
        batch_size=100,
        num_epochs=1,
    )
    solver.train()
    assert config == {"learning_rate": 1e-3}
    configs = solver.optim_configs
    assert configs["W1"] is not configs["W2"]
    assert configs["W1"]["m"].shape == model.params["W1"].shape
    assert configs["b2"]["t"] == 2  # two iterations of 100 out of 200 examples


def test_lr_decay_per_epoch(digits):
    solver = quiet(
        TwoLayerNet(64, 10, 10, seed=0),
        small_data(digits),
        update_rule="sgd",
        optim_config={"learning_rate": 0.1},
        lr_decay=0.5,
        num_epochs=3,
    )
    solver.train()
    # 0.1 · 0.5³ after three epochs; each epoch's updates used the rate in force.
    assert abs(solver.optim_configs["W1"]["learning_rate"] - 0.0125) < LR_TOL
    np.testing.assert_allclose(solver.lr_history, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])


def test_lr_schedule_callable_and_name(digits):
    data = small_data(digits)
    solver = quiet(
        TwoLayerNet(64, 10, 10, seed=0),
        data,
        lr_schedule=lambda t: 0.1 / (t + 1),
        batch_size=50,
        num_epochs=2,
    )
    solver.train()
    np.testing.assert_allclose(solver.lr_history, [0.1 / (t + 1) for t in range(8)])
    # A named schedule with a length spans the whole run (T = 8 iterations here).
    solver = quiet(
        TwoLayerNet(64, 10, 10, seed=0),
        data,
        optim_config={"learning_rate": 0.2},
        lr_schedule="linear",
        batch_size=50,
        num_epochs=2,
    )
    solver.train()
    np.testing.assert_allclose(solver.lr_history, [0.2 * (1 - t / 8) for t in range(8)])
    solver = quiet(
        TwoLayerNet(64, 10, 10, seed=0),
        data,
        lr_schedule=("step", {"step_size": 4}),
        batch_size=50,
        num_epochs=2,
    )  # sgd's default rate 1e-2 is lr0
    solver.train()
    np.testing.assert_allclose(solver.lr_history, [1e-2] * 4 + [1e-3] * 4)


def test_same_seed_same_run_and_no_global_rng(digits):
    def run():
        model = FullyConnectedNet(
            [30], input_dim=64, dropout_keep_ratio=0.8, seed=0, dropout_rng=np.random.default_rng(1)
        )
        solver = quiet(
            model,
            small_data(digits),
            update_rule="adam",
            num_epochs=2,
            num_train_samples=100,
            batch_size=40,
        )
        solver.train()
        return solver.loss_history, solver.val_acc_history

    before = np.random.get_state()
    first = run()
    after = np.random.get_state()
    assert before[2:] == after[2:] and np.array_equal(before[1], after[1])
    assert first == run()


def test_progress_bar_and_verbose_output(digits, capsys):
    data = small_data(digits)
    quiet(TwoLayerNet(64, 10, 10, seed=0), data, num_epochs=1).train()
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    quiet(TwoLayerNet(64, 10, 10, seed=0), data, num_epochs=1, progress=True).train()
    out, err = capsys.readouterr()
    assert "training" in err and "2/2" in err
    quiet(TwoLayerNet(64, 10, 10, seed=0), data, num_epochs=1, verbose=True, print_every=1).train()
    out, err = capsys.readouterr()
    assert "(Iteration 2 / 2) loss:" in out and "(Epoch 1 / 1) train acc:" in out


def test_checkpoint_round_trip_and_resume(digits, tmp_path):
    data = small_data(digits)

    def make():
        model = FullyConnectedNet([30], input_dim=64, normalization="batchnorm", seed=3)
        return model, quiet(
            model,
            data,
            update_rule="adam",
            batch_size=50,
            num_epochs=4,
            checkpoint_name=str(tmp_path / "run"),
        )

    model, solver = make()
    solver.train()
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [f"run_epoch_{e}.npz" for e in (1, 2, 3, 4)]

    # Resume from epoch 2 in a fresh solver: the rest of the run is identical.
    model2, solver2 = make()
    solver2.checkpoint_name = None
    solver2.load_checkpoint(tmp_path / "run_epoch_2.npz")
    assert solver2.epoch == 2 and solver2.t == 8 and len(solver2.val_acc_history) == 3
    assert solver2.optim_configs["W1"]["t"] == 8
    assert model2.bn_params[0]["running_mean"].shape == (30,)
    solver2.train()
    assert solver2.loss_history == solver.loss_history
    assert solver2.val_acc_history == solver.val_acc_history
    assert all(np.array_equal(model.params[k], model2.params[k]) for k in model.params)

    # save -> load restores exactly what was saved.
    path = solver.save_checkpoint(tmp_path / "final.npz")
    model3, solver3 = make()
    solver3.load_checkpoint(path)
    assert all(np.array_equal(model.params[k], model3.params[k]) for k in model.params)
    assert model3.params["W1"].dtype == np.float32
    assert all(
        np.array_equal(solver.optim_configs["W1"][k], solver3.optim_configs["W1"][k])
        for k in ("m", "v")
    )
    assert solver3.best_val_acc == solver.best_val_acc
    np.load(path, allow_pickle=False).close()  # a plain .npz, no pickled objects


def test_load_checkpoint_rejects_other_architecture(digits, tmp_path):
    data = small_data(digits)
    solver = quiet(TwoLayerNet(64, 10, 10, seed=0), data, num_epochs=0)
    path = solver.save_checkpoint(tmp_path / "c.npz")
    other = quiet(TwoLayerNet(64, 12, 10, seed=0), data)
    with pytest.raises(ValueError, match=r"'W1': \(64, 10\).*'W1': \(64, 12\)"):
        other.load_checkpoint(path)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("y_val"), r"missing keys \['y_val'\]"),
        (
            lambda d: d.update(y_train=d["y_train"][:5]),
            r"y_train must have shape \(200,\).*got \(5,\)",
        ),
        (
            lambda d: d.update(X_val=d["X_val"][:, :10]),
            r"same shape per example.*\(200, 64\).*\(100, 10\)",
        ),
        (lambda d: d.update(y_val=d["y_val"] + 0.5), "y_val must hold integer labels"),
    ],
)
def test_bad_data_raises(digits, change, message):
    data = small_data(digits)
    change(data)
    with pytest.raises(ValueError, match=message):
        Solver(TwoLayerNet(64, 10, 10), data)


def test_bad_settings_raise(digits):
    data = small_data(digits)
    model = TwoLayerNet(64, 10, 10)
    with pytest.raises(ValueError, match="unknown update rule 'adamw'"):
        Solver(model, data, update_rule="adamw")
    with pytest.raises(ValueError, match="either lr_schedule or lr_decay"):
        Solver(model, data, lr_schedule="cosine", lr_decay=0.9)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        Solver(model, data, batch_size=0)
    with pytest.raises(ValueError, match="lr_schedule must be None, a schedule name"):
        Solver(model, data, lr_schedule=3)


# A trained net scores far above chance (0.1) even after the 5 quick epochs
# (measured 0.958); 0.9 only catches a demo that does not learn.
DEMO_MIN_ACC = 0.9


def test_train_digits_demo_quick(tmp_path, capsys):
    from gradkit.course.train import train_digits_demo

    result = train_digits_demo(tmp_path / "out", seed=0, quick=True)
    assert result["epochs"] == 5
    assert result["val_acc"] >= DEMO_MIN_ACC and result["train_acc"] >= DEMO_MIN_ACC
    with open(result["plot"], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "training" in capsys.readouterr().err  # the progress bar was shown
