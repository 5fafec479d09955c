"""Tests for gradkit.vis: figures have the expected panels, lines and images.

Runs headless: the Agg backend is selected before pyplot is imported.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gradkit import vis  # noqa: E402
from helpers import assert_inputs_unchanged  # noqa: E402

# Plotted data are copies of the inputs, so they must match to float64 rounding.
DATA_TOL = 1e-12


@pytest.fixture(autouse=True)
def _close_figures(monkeypatch):
    """Fail if library code calls plt.show(); close every figure after each test."""

    def no_show(*args, **kwargs):
        raise AssertionError("library code must never call plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    yield
    plt.close("all")


def labelled_lines(ax):
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


# --- plot_activation_functions -------------------------------------------


def test_activation_functions_default_panels_and_derivatives():
    fig = vis.plot_activation_functions()
    assert isinstance(fig, matplotlib.figure.Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["step", "bipolar step", "linear", "sigmoid", "tanh", "ReLU"]
    for ax in fig.axes:
        assert len(ax.get_lines()) == 2  # the function and its derivative
    sig_ax = fig.axes[titles.index("sigmoid")]
    x, f = sig_ax.get_lines()[0].get_data()
    _, df = sig_ax.get_lines()[1].get_data()
    mid = np.argmin(np.abs(x))
    assert x[mid] == 0.0
    # σ(0) = 1/2 and σ'(0) = σ(0)(1 − σ(0)) = 1/4
    assert f[mid] == pytest.approx(0.5, abs=DATA_TOL)
    assert df[mid] == pytest.approx(0.25, abs=DATA_TOL)


def test_activation_functions_custom_on_given_axes():
    fig, axes = plt.subplots(1, 2)
    funcs = {"square": (lambda s: s**2, lambda s: 2 * s), "const": (np.ones_like, np.zeros_like)}
    out = vis.plot_activation_functions(funcs, x=[-1.0, 0.0, 2.0], axes=axes)
    assert out is fig
    ys = [ln.get_ydata() for ln in axes[0].get_lines()]
    np.testing.assert_allclose(ys[0], [1.0, 0.0, 4.0], atol=DATA_TOL)
    np.testing.assert_allclose(ys[1], [-2.0, 0.0, 4.0], atol=DATA_TOL)


def test_activation_functions_bad_inputs():
    with pytest.raises(ValueError, match=r"x must be 1-D; got shape \(2, 2\)"):
        vis.plot_activation_functions(x=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-empty dict"):
        vis.plot_activation_functions({})
    _, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="axes must hold 6 Axes .*; got 2"):
        vis.plot_activation_functions(axes=axes)


# --- show_image_grid ----------------------------------------------------


def test_image_grid_panels_titles_and_rescaling(rng):
    images = rng.standard_normal((5, 4, 3))
    fig = assert_inputs_unchanged(
        vis.show_image_grid,
        images,
        labels=[0, 1, 2, 1, 0],
        class_names=["cat", "car", "frog"],
        ncols=3,
    )
    assert len(fig.axes) == 5  # the unused sixth cell of the 2x3 grid is removed
    assert [ax.get_title() for ax in fig.axes] == ["cat", "car", "frog", "car", "cat"]
    for ax in fig.axes:
        (img,) = ax.get_images()
        arr = img.get_array()
        assert arr.shape == (4, 3)
        assert arr.min() == pytest.approx(0.0, abs=DATA_TOL)
        assert arr.max() == pytest.approx(1.0, abs=DATA_TOL)


def test_image_grid_flattened_rgb_rows():
    rows = np.arange(2 * 12, dtype=np.float64).reshape(2, 12)
    fig = vis.show_image_grid(rows, image_shape=(2, 2, 3))
    arr = fig.axes[0].get_images()[0].get_array()
    assert arr.shape == (2, 2, 3)
    # row 0 holds 0..11: rescaled (v − 0) / 11, reshaped in C order
    np.testing.assert_allclose(arr[1, 0], np.array([6, 7, 8]) / 11, atol=DATA_TOL)


def test_image_grid_bad_shapes():
    with pytest.raises(ValueError, match=r"images must have shape \(N, H, W\).*got \(3, 4\)"):
        vis.show_image_grid(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"images must have shape \(\*, 12\).*got \(3, 10\)"):
        vis.show_image_grid(np.zeros((3, 10)), image_shape=(2, 2, 3))
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\).*got \(2,\)"):
        vis.show_image_grid(np.zeros((3, 2, 2)), labels=[0, 1])


# --- show_weight_templates ---------------------------------------------


def test_templates_hand_case_and_bias_row_dropped():
    # Column 0 = [0, 1, 2, 3] -> rescaled [0, 1/3, 2/3, 1], shown as [[0, 1/3], [2/3, 1]].
    # Column 1 = [4, 4, 4, 2] -> rescaled [1, 1, 1, 0].
    W = np.array([[0.0, 4.0], [1.0, 4.0], [2.0, 4.0], [3.0, 2.0]])
    W_bias = np.vstack([W, [100.0, -100.0]])  # bias row (last) must be ignored
    for weights in (W, W_bias):
        fig = assert_inputs_unchanged(vis.show_weight_templates, weights, (2, 2), ["a", "b"])
        assert len(fig.axes) == 2
        assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
        t0 = fig.axes[0].get_images()[0].get_array()
        t1 = fig.axes[1].get_images()[0].get_array()
        np.testing.assert_allclose(t0, [[0.0, 1 / 3], [2 / 3, 1.0]], atol=DATA_TOL)
        np.testing.assert_allclose(t1, [[1.0, 1.0], [1.0, 0.0]], atol=DATA_TOL)


def test_templates_rgb_shapes_and_range(rng):
    W = rng.standard_normal((4 * 4 * 3 + 1, 10))
    fig = vis.show_weight_templates(W, (4, 4, 3))
    assert len(fig.axes) == 10
    for ax in fig.axes:
        arr = ax.get_images()[0].get_array()
        assert arr.shape == (4, 4, 3)
        assert arr.min() == pytest.approx(0.0, abs=DATA_TOL)
        assert arr.max() == pytest.approx(1.0, abs=DATA_TOL)


def test_templates_bad_shapes():
    with pytest.raises(
        ValueError, match=r"W must have shape \(64, C\) or \(65, C\).*got \(63, 10\)"
    ):
        vis.show_weight_templates(np.zeros((63, 10)), (8, 8))
    with pytest.raises(ValueError, match=r"W must be 2-D; got shape \(64,\)"):
        vis.show_weight_templates(np.zeros(64), (8, 8))
    with pytest.raises(
        ValueError, match=r"image_shape must be \(H, W\) or \(H, W, 3\); got \(2, 2, 4\)"
    ):
        vis.show_weight_templates(np.zeros((16, 3)), (2, 2, 4))
    with pytest.raises(ValueError, match="class_names must hold 3 names .*got 2"):
        vis.show_weight_templates(np.zeros((4, 3)), (2, 2), ["a", "b"])


# --- plot_training_curves ----------------------------------------------


def test_training_curves_lines_and_moving_average():
    fig = vis.plot_training_curves([1.0, 2.0, 3.0, 4.0], [0.1, 0.5], [0.2, 0.4], smooth=2)
    loss_ax, acc_ax = fig.axes
    raw, avg = loss_ax.get_lines()
    np.testing.assert_allclose(raw.get_ydata(), [1, 2, 3, 4], atol=DATA_TOL)
    # moving average of 2: (1+2)/2, (2+3)/2, (3+4)/2 at iterations 1, 2, 3
    np.testing.assert_allclose(avg.get_xdata(), [1, 2, 3], atol=DATA_TOL)
    np.testing.assert_allclose(avg.get_ydata(), [1.5, 2.5, 3.5], atol=DATA_TOL)
    assert [ln.get_label() for ln in acc_ax.get_lines()] == ["train", "val"]
    # the Solver records accuracy before training (epoch 0) and after each epoch
    np.testing.assert_allclose(acc_ax.get_lines()[1].get_xdata(), [0, 1], atol=DATA_TOL)
    np.testing.assert_allclose(acc_ax.get_lines()[1].get_ydata(), [0.2, 0.4], atol=DATA_TOL)


def test_training_curves_loss_only_and_given_axes():
    assert len(vis.plot_training_curves(np.ones(5)).axes) == 1
    fig, axes = plt.subplots(1, 2)
    assert vis.plot_training_curves(np.ones(5), [0.5], [0.5], axes=axes) is fig
    assert len(axes[1].get_lines()) == 2


def test_training_curves_bad_shapes():
    with pytest.raises(
        ValueError, match=r"train_acc_history and val_acc_history .*got \(2,\) and \(3,\)"
    ):
        vis.plot_training_curves([1.0], [0.1, 0.2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"loss_history must be 1-D; got shape \(2, 2\)"):
        vis.plot_training_curves(np.ones((2, 2)))
    with pytest.raises(ValueError, match="loss_history must not be empty"):
        vis.plot_training_curves([])


# --- plot_decision_regions ---------------------------------------------


def quadrant_classes(P):
    """Three classes: left half 0, upper-right 1, lower-right 2."""
    return np.where(P[:, 0] < 0, 0, np.where(P[:, 1] >= 0, 1, 2))


def region_colours(ax):
    (img,) = ax.get_images()
    rgba = img.to_rgba(img.get_array())
    return {tuple(c) for c in rgba.reshape(-1, 4)}


def test_decision_regions_one_colour_per_class(rng):
    X = rng.uniform(-1, 1, size=(60, 2))
    y = quadrant_classes(X)
    fig = assert_inputs_unchanged(vis.plot_decision_regions, quadrant_classes, X, y, resolution=50)
    (ax,) = fig.axes
    (img,) = ax.get_images()
    assert img.get_array().shape == (50, 50)
    assert set(np.unique(img.get_array())) == {0, 1, 2}
    assert len(region_colours(ax)) == 3
    assert len(ax.collections) == 1 and len(ax.collections[0].get_offsets()) == 60


def test_decision_regions_scores_two_classes_on_given_ax(rng):
    X = rng.standard_normal((30, 2))
    y = (X[:, 0] > 0).astype(int)
    fig, ax = plt.subplots()
    scores = lambda P: np.column_stack([-P[:, 0], P[:, 0]])  # noqa: E731 - argmax = (x > 0)
    assert vis.plot_decision_regions(scores, X, y, resolution=20, ax=ax) is fig
    assert len(region_colours(ax)) == 2
    # the left column of the grid (smallest x) is class 0, the right column class 1
    arr = ax.get_images()[0].get_array()
    assert np.all(arr[:, 0] == 0) and np.all(arr[:, -1] == 1)


def test_decision_regions_bad_shapes(rng):
    X = rng.standard_normal((10, 2))
    y = np.zeros(10, dtype=int)
    with pytest.raises(ValueError, match=r"X must have shape \(\*, 2\).*got \(10, 3\)"):
        vis.plot_decision_regions(quadrant_classes, np.zeros((10, 3)), y)
    with pytest.raises(ValueError, match=r"y must have shape \(10,\).*got \(9,\)"):
        vis.plot_decision_regions(quadrant_classes, X, y[:9])
    with pytest.raises(
        ValueError, match=r"predict_fn must return labels \(100,\).*got \(100, 2, 1\)"
    ):
        vis.plot_decision_regions(lambda P: P[:, :, None], X, y, resolution=10)
    with pytest.raises(ValueError, match="resolution must be >= 2; got 1"):
        vis.plot_decision_regions(quadrant_classes, X, y, resolution=1)


# --- plot_preprocessing_clouds -----------------------------------------


def test_preprocessing_clouds_panels_and_shared_limits():
    raw = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 0.0]])
    centred = raw - raw.mean(axis=0)
    stages = {"raw": raw, "zero-centred": centred, "normalized": centred / centred.std(axis=0)}
    fig = assert_inputs_unchanged(vis.plot_preprocessing_clouds, stages)
    assert [ax.get_title() for ax in fig.axes] == list(stages)
    for ax, pts in zip(fig.axes, stages.values()):
        np.testing.assert_allclose(ax.collections[0].get_offsets(), pts, atol=DATA_TOL)
        # the largest |coordinate| over all stages is 5, so every panel spans ±1.1·5
        np.testing.assert_allclose(ax.get_xlim(), (-5.5, 5.5), atol=DATA_TOL)
        np.testing.assert_allclose(ax.get_ylim(), (-5.5, 5.5), atol=DATA_TOL)


def test_preprocessing_clouds_bad_inputs():
    with pytest.raises(
        ValueError, match=r"stages\['pca'\] must have shape \(\*, 2\).*got \(4, 3\)"
    ):
        vis.plot_preprocessing_clouds({"raw": np.zeros((4, 2)), "pca": np.zeros((4, 3))})
    with pytest.raises(ValueError, match="non-empty dict"):
        vis.plot_preprocessing_clouds({})


# --- plot_activation_histograms ----------------------------------------


def test_activation_histograms_counts_and_titles(rng):
    acts = [np.array([0.0, 0.0, 1.0]), np.array([[0.25, 0.75], [1.0, 1.0]])]
    fig = vis.plot_activation_histograms(acts, "tanh, Xavier", bins=2)
    assert len(fig.axes) == 2
    assert fig.get_suptitle() == "tanh, Xavier"
    # common range [0, 1], two bins [0, .5) and [.5, 1]
    assert [p.get_height() for p in fig.axes[0].patches] == [2, 1]
    assert [p.get_height() for p in fig.axes[1].patches] == [1, 3]
    assert fig.axes[0].get_title().startswith("layer 1\nmean 0.33")
    many = vis.plot_activation_histograms({f"W{i}": rng.standard_normal(50) for i in range(4)})
    assert [ax.get_title().split("\n")[0] for ax in many.axes] == ["W0", "W1", "W2", "W3"]
    assert all(len(ax.patches) == 30 for ax in many.axes)


def test_activation_histograms_bad_inputs():
    with pytest.raises(ValueError, match="at least one array"):
        vis.plot_activation_histograms([])
    with pytest.raises(ValueError, match=r"layer 2 must not be empty; got shape \(0, 3\)"):
        vis.plot_activation_histograms([np.ones(3), np.ones((0, 3))])


# --- plot_optimizer_trajectories ---------------------------------------


def bowl_point(w):
    """Ill-conditioned quadratic written for a single point w (2,)."""
    return 0.5 * (w[0] ** 2 + 10.0 * w[1] ** 2)


def bowl_vectorized(w):
    return 0.5 * (w[..., 0] ** 2 + 10.0 * w[..., 1] ** 2)


def test_optimizer_trajectories_lines_and_contours():
    paths = {
        "sgd": np.array([[-3.0, 1.0], [-2.0, -0.5], [-1.0, 0.2]]),
        "adam": np.array([[-3.0, 1.0], [-2.9, 0.9]]),
    }
    fig = assert_inputs_unchanged(
        vis.plot_optimizer_trajectories, bowl_point, paths, (-4, 4), (-2, 2), resolution=30
    )
    (ax,) = fig.axes
    lines = labelled_lines(ax)
    assert [ln.get_label() for ln in lines] == ["sgd", "adam"]
    for ln, path in zip(lines, paths.values()):
        np.testing.assert_allclose(np.column_stack(ln.get_data()), path, atol=DATA_TOL)
    assert ax.get_xlim() == (-4.0, 4.0) and ax.get_ylim() == (-2.0, 2.0)
    # point-by-point and vectorized f give the same contour levels
    other = vis.plot_optimizer_trajectories(bowl_vectorized, paths, (-4, 4), (-2, 2), resolution=30)
    levels = [a.collections[0].levels for a in (ax, other.axes[0])]
    np.testing.assert_allclose(levels[0], levels[1], atol=DATA_TOL)


def test_optimizer_trajectories_bad_inputs():
    with pytest.raises(
        ValueError, match=r"xlim must be \(low, high\) with low < high; got \(1.0, 0.0\)"
    ):
        vis.plot_optimizer_trajectories(bowl_point, {}, (1, 0), (-1, 1))
    with pytest.raises(
        ValueError, match=r"trajectories\['sgd'\] must have shape \(\*, 2\).*got \(5, 3\)"
    ):
        vis.plot_optimizer_trajectories(bowl_point, {"sgd": np.zeros((5, 3))}, (-1, 1), (-1, 1))


# --- global state ------------------------------------------------------


def test_no_global_style_changes(rng):
    before = dict(matplotlib.rcParams)
    vis.plot_activation_functions()
    vis.show_weight_templates(rng.standard_normal((5, 3)), (2, 2))
    vis.plot_training_curves(np.ones(3), [0.5], [0.5])
    vis.plot_decision_regions(quadrant_classes, rng.standard_normal((5, 2)), [0, 1, 2, 0, 1])
    vis.plot_preprocessing_clouds({"raw": rng.standard_normal((5, 2))})
    vis.plot_activation_histograms([rng.standard_normal(5)])
    vis.plot_optimizer_trajectories(bowl_vectorized, {}, (-1, 1), (-1, 1))
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()
