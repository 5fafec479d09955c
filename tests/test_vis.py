"""gradkit.vis: every plot builds headless, with the panels and artists it promises."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gradkit import vis  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_training_curves_start_accuracy_at_epoch_zero():
    fig = vis.plot_training_curves(np.linspace(2, 0.1, 50), [0.1, 0.5, 0.8], [0.1, 0.4, 0.7], smooth=5)
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 2 and len(acc_ax.lines) == 2
    assert list(acc_ax.lines[0].get_xdata()) == [0, 1, 2]


def test_training_curves_loss_only_and_errors():
    assert len(vis.plot_training_curves([3.0, 2.0]).axes) == 1
    with pytest.raises(ValueError, match=r"same shape; got \(2,\) and \(3,\)"):
        vis.plot_training_curves([1.0], [0.1, 0.2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="must not be empty"):
        vis.plot_training_curves([])


def test_weight_templates_one_image_per_class_and_bias_row_dropped(rng):
    W = rng.standard_normal((64 + 1, 10))  # bias-trick row
    fig = vis.show_weight_templates(W, (8, 8))
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 10
    arr = images[0].get_array()
    assert arr.shape == (8, 8) and arr.min() >= 0 and arr.max() <= 1


def test_weight_templates_reject_a_wrong_image_shape(rng):
    with pytest.raises(ValueError, match="64"):
        vis.show_weight_templates(rng.standard_normal((50, 3)), (8, 8))


def test_decision_regions_colour_every_class(rng):
    X = rng.standard_normal((60, 2))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    fig = vis.plot_decision_regions(lambda P: (P[:, 0] > 0).astype(int) + (P[:, 1] > 0), X, y, resolution=40)
    ax = fig.axes[0]
    assert ax.collections  # the data points
    with pytest.raises(ValueError, match=r"\(60, 3\)"):
        vis.plot_decision_regions(lambda P: np.zeros(len(P), int), rng.standard_normal((60, 3)), y)


def test_preprocessing_clouds_one_panel_per_stage(rng):
    X = rng.standard_normal((100, 2)) @ np.array([[2.0, 0.5], [0.0, 0.3]])
    fig = vis.plot_preprocessing_clouds({"raw": X, "centred": X - X.mean(0), "normalized": X / X.std(0)})
    assert len(fig.axes) == 3 and all(ax.collections for ax in fig.axes)


def test_activation_histograms_one_panel_per_layer(rng):
    fig = vis.plot_activation_histograms([np.tanh(rng.standard_normal((20, 5)) * s) for s in (0.1, 1, 10)])
    assert len(fig.axes) == 3 and all(ax.patches for ax in fig.axes)


def test_optimizer_trajectories_draw_each_path():
    paths = {"sgd": np.array([[1.0, 1.0], [0.5, 0.6], [0.1, 0.2]]), "adam": np.array([[1.0, 1.0], [0.0, 0.0]])}
    fig = vis.plot_optimizer_trajectories(lambda p: p[0] ** 2 + 10 * p[1] ** 2, paths, (-1.5, 1.5), (-1.5, 1.5))
    assert len(fig.axes[0].lines) >= 2


def test_activation_functions_and_image_grid(rng):
    fig = vis.plot_activation_functions()
    assert len([ax for ax in fig.axes if ax.lines]) == 6
    fig = vis.show_image_grid(rng.random((4, 64)), labels=[0, 1, 2, 3], image_shape=(8, 8), ncols=2)
    assert sum(1 for ax in fig.axes if ax.images) == 4
