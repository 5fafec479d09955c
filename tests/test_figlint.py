"""The figure lint that the solution notebooks run under (tests/figlint.py)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from figlint import figure_problems  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_a_labelled_single_series_is_readable():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 0, 2])
    ax.set(xlabel="epoch", ylabel="loss")
    assert figure_problems(fig) == []


def test_missing_axis_labels_are_named_per_axis():
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [1, 0, 2])
    ax.set_title("loss")
    ax.set_xlabel("epoch")
    assert figure_problems(fig) == ['panel 1 ("loss"): the y axis has no label']


def test_shared_axes_and_figure_labels_count_for_every_panel():
    fig, axes = plt.subplots(2, 2, sharex=True, sharey=True)
    for ax in axes.ravel():
        ax.plot([0, 1], [0, 1])
    axes[1, 0].set_xlabel("x")
    fig.supylabel("y")
    assert figure_problems(fig) == []
    fig2, grid = plt.subplots(1, 3)  # same row: one y label serves it; x unlabelled
    for ax in grid:
        ax.plot([0, 1], [0, 1])
    grid[0].set_ylabel("y")
    assert figure_problems(fig2) == [f"panel {i}: the x axis has no label" for i in (1, 2, 3)]


def test_several_series_need_a_legend_or_a_text_label_each():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.scatter([0, 1], [1, 0])
    ax.axhline(0.5)  # a reference line is not a series
    ax.set(xlabel="x", ylabel="y")
    assert figure_problems(fig) == ["panel 1: 2 series and no legend"]
    ax.legend(["fit", "data"])
    assert figure_problems(fig) == []


def test_a_value_coloured_image_needs_a_colour_bar_unless_it_is_a_picture_grid():
    fig, (a, b) = plt.subplots(1, 2)
    image = a.imshow(np.arange(6.0).reshape(2, 3))
    a.set(xlabel="column", ylabel="row")
    b.imshow(np.zeros((4, 4)), cmap="gray")
    b.axis("off")  # a digit in a grid: its pixels are the picture
    assert figure_problems(fig) == ["panel 1: a colour-mapped AxesImage without a colour bar"]
    fig.colorbar(image, ax=a)
    assert figure_problems(fig) == []


def test_an_rgb_image_and_class_coloured_regions_with_a_legend_pass():
    fig, (a, b) = plt.subplots(1, 2)
    a.imshow(np.zeros((3, 3, 3)))
    a.set(xlabel="x", ylabel="y")
    xx, yy = np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    b.contourf(xx, yy, (xx > yy).astype(float))
    b.scatter([0.2], [0.8], label="class 0")
    b.legend()
    b.set(xlabel="x1", ylabel="x2")
    assert figure_problems(fig) == []
    fig2, c = plt.subplots()
    c.contourf(xx, yy, xx + yy)
    c.set(xlabel="x1", ylabel="x2")
    assert figure_problems(fig2) == ["panel 1: a colour-mapped QuadContourSet without a colour bar"]


def test_every_shared_plot_of_gradkit_vis_is_readable(rng):
    from gradkit import vis

    X = rng.standard_normal((40, 2))
    y = (X[:, 0] > 0).astype(int)
    figures = [
        vis.plot_activation_functions(),
        vis.plot_activation_histograms([rng.standard_normal(50) for _ in range(4)], "layers"),
        vis.plot_decision_regions(lambda P: (P[:, 0] > 0).astype(int), X, y, resolution=20),
        vis.plot_preprocessing_clouds({"raw": X, "centred": X - X.mean(0)}),
        vis.plot_training_curves(rng.random(30), rng.random(4), rng.random(4), smooth=5),
        vis.plot_optimizer_trajectories(
            lambda P: (np.atleast_2d(P) ** 2).sum(-1),
            {"sgd": X[:5], "adam": X[5:9]},
            (-3, 3),
            (-3, 3),
            resolution=20,
        ),
        vis.show_image_grid(rng.random((6, 4, 4)), labels=np.arange(6)),
        vis.show_weight_templates(rng.standard_normal((17, 3)), (4, 4)),
    ]
    for fig in figures:
        assert figure_problems(fig) == [], fig
