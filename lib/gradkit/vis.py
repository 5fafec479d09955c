"""The plots the notebooks share.

Every function draws on the axes it is given (``ax=`` for one panel, ``axes=``
for several) or on a new figure, and returns the
:class:`matplotlib.figure.Figure`. Nothing here calls ``plt.show()`` or
changes matplotlib's global style, so the functions run headless (Agg) as
well as in a notebook. In a notebook, assign the result or end the line with
``;`` so the figure is not displayed twice.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from ._validation import as_array, check_labels, check_ndim, check_shape
from ._vis_helpers import (
    check_image_shape,
    check_limits,
    class_colors,
    draw_images,
    grid_values,
    panels,
)

__all__ = [
    "plot_activation_functions",
    "show_image_grid",
    "show_weight_templates",
    "plot_training_curves",
    "plot_decision_regions",
    "plot_preprocessing_clouds",
    "plot_activation_histograms",
    "plot_optimizer_trajectories",
]


# --- 01 Linear models -------------------------------------------------------


def _default_activations() -> dict:
    sig = lambda s: 1.0 / (1.0 + np.exp(-s))  # noqa: E731
    return {
        "step": (lambda s: (s >= 0).astype(float), np.zeros_like),
        "bipolar step": (lambda s: np.where(s >= 0, 1.0, -1.0), np.zeros_like),
        "linear": (lambda s: s, np.ones_like),
        "sigmoid": (sig, lambda s: sig(s) * (1 - sig(s))),
        "tanh": (np.tanh, lambda s: 1 - np.tanh(s) ** 2),
        "ReLU": (lambda s: np.maximum(s, 0.0), lambda s: (s > 0).astype(float)),
    }


def plot_activation_functions(functions=None, x=None, *, axes=None, ncols: int = 3):
    """Plot each activation function (solid) with its derivative (dashed).

    ``functions`` maps a name to ``(f, df)`` (vectorized callables); the
    default shows step, bipolar step, linear, sigmoid, tanh and ReLU.

    Shapes: x (P,) sample points -> one panel per function, two lines each.
    Taught in assignments 01 (neurons) and 02 (activation trade-offs).
    """
    where = "plot_activation_functions"
    functions = _default_activations() if functions is None else functions
    if not isinstance(functions, Mapping) or not functions:
        raise ValueError(f"{where}: functions must be a non-empty dict name -> (f, df)")
    x = np.linspace(-4, 4, 401) if x is None else as_array("x", x, where)
    check_ndim("x", x, 1, where)
    fig, axs = panels(len(functions), axes, where, ncols=ncols, size=2.6)
    for ax, (name, (f, df)) in zip(axs, functions.items()):
        ax.plot(x, np.broadcast_to(f(x), x.shape), label="f(s)")
        ax.plot(x, np.broadcast_to(df(x), x.shape), "--", label="f'(s)")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axs[0].legend(loc="upper left", fontsize=8)
    return fig


def show_image_grid(images, labels=None, class_names=None, *, image_shape=None,
                    ncols: int = 10, rescale: bool = True, axes=None):
    """Show images in a grid, titled with their labels (class names when given).

    ``rescale`` maps each image to [0, 1] on its own (needed for mean-centred
    images, PCA eigenvectors); otherwise values are shown as given.

    Shapes: images (N, H, W), (N, H, W, 3) or (N, D) with image_shape;
    labels (N,) -> N panels.
    Taught in assignments 01 (the data) and 03 (eigenvectors, PCA images).
    """
    where = "show_image_grid"
    images = np.asarray(images)
    if image_shape is not None:
        shape = check_image_shape(image_shape, where)
        check_shape("images", images, (None, int(np.prod(shape))), where,
                    f"(flattened images of shape {shape})")
        images = images.reshape((len(images),) + shape)
    elif not (images.ndim == 3 or (images.ndim == 4 and images.shape[3] == 3)):
        raise ValueError(f"{where}: images must have shape (N, H, W) or (N, H, W, 3), or pass "
                         f"image_shape for flattened rows; got {images.shape}")
    if len(images) == 0:
        raise ValueError(f"{where}: images must hold at least one image; got shape {images.shape}")
    titles = [None] * len(images)
    if labels is not None:
        labels = np.asarray(labels)
        check_shape("labels", labels, (len(images),), where, "(one label per image)")
        titles = [class_names[int(k)] if class_names is not None else k for k in labels]
    fig, axs = panels(len(images), axes, where, ncols=ncols, size=1.4)
    draw_images(axs, images, titles, rescale)
    return fig


def show_weight_templates(W, image_shape, class_names=None, *, axes=None, ncols: int = 10):
    """Show each class's column of ``W`` as an image: the class's template.

    A bias row (the bias trick appends a constant-1 feature, so the bias is
    the last row) is dropped; each template is rescaled to [0, 1] on its own.

    Shapes: W (D, C) or (D + 1, C) with D = prod(image_shape);
    image_shape (H, W) or (H, W, 3) -> C panels.
    Taught in assignment 01 (the template reading of a linear classifier).
    """
    where = "show_weight_templates"
    W = as_array("W", W, where)
    check_ndim("W", W, 2, where)
    shape = check_image_shape(image_shape, where)
    D, C = int(np.prod(shape)), W.shape[1]
    if W.shape[0] == D + 1:
        W = W[:-1]
    elif W.shape[0] != D:
        raise ValueError(f"{where}: W must have shape ({D}, C) or ({D + 1}, C) (bias row last) "
                         f"for images of shape {shape}; got {W.shape}")
    if class_names is not None and len(class_names) != C:
        raise ValueError(f"{where}: class_names must hold {C} names (one per column of W); "
                         f"got {len(class_names)}")
    templates = W.T.reshape((C,) + shape)
    fig, axs = panels(C, axes, where, ncols=ncols, size=1.4)
    draw_images(axs, templates, class_names if class_names is not None else range(C), True)
    return fig


def plot_training_curves(loss_history, train_acc_history=None, val_acc_history=None,
                         *, axes=None, smooth: int = 0):
    """Plot the loss per iteration and the train / validation accuracy per epoch.

    ``smooth > 1`` adds a moving average of that many iterations to the loss
    panel. Without accuracy histories only the loss panel is drawn.

    Shapes: loss_history (T,), train_acc_history (E,), val_acc_history (E,)
    -> 1 or 2 panels.
    Taught in assignments 01 (training the linear classifiers) and 05.
    """
    where = "plot_training_curves"
    loss = as_array("loss_history", loss_history, where)
    check_ndim("loss_history", loss, 1, where)
    if loss.size == 0:
        raise ValueError(f"{where}: loss_history must not be empty; got shape (0,)")
    accs = {}
    for name, hist in (("train", train_acc_history), ("val", val_acc_history)):
        if hist is not None:
            accs[name] = as_array(f"{name}_acc_history", hist, where)
            check_ndim(f"{name}_acc_history", accs[name], 1, where)
    if len(accs) == 2 and accs["train"].shape != accs["val"].shape:
        raise ValueError(f"{where}: train_acc_history and val_acc_history must have the same "
                         f"shape; got {accs['train'].shape} and {accs['val'].shape}")
    fig, axs = panels(1 + bool(accs), axes, where, size=4.0)
    axs[0].plot(loss, lw=0.8, alpha=0.6 if smooth > 1 else 1.0, label="loss")
    if 1 < smooth <= loss.size:
        avg = np.convolve(loss, np.ones(smooth) / smooth, mode="valid")
        axs[0].plot(np.arange(smooth - 1, loss.size), avg, label=f"moving average ({smooth})")
        axs[0].legend()
    axs[0].set(xlabel="iteration", ylabel="loss", title="Training loss")
    if accs:
        for name, hist in accs.items():
            # The Solver records accuracy before training (epoch 0) and after each epoch.
            axs[1].plot(np.arange(hist.size), hist, "o-", ms=3, label=name)
        axs[1].set(xlabel="epoch (0 = before training)", ylabel="accuracy", title="Accuracy")
        axs[1].legend()
    return fig


# --- 02 Networks / 04 Regularization ----------------------------------------


def plot_decision_regions(predict_fn: Callable, X, y, resolution: int = 200, *, ax=None,
                          num_classes: int | None = None, margin: float = 0.1, title=None):
    """Colour the plane by the class ``predict_fn`` assigns, with the data on top.

    ``predict_fn`` receives grid points ``(M, 2)`` and returns labels ``(M,)``
    or scores ``(M, C)`` (the argmax is taken). One colour per class.

    Shapes: X (N, 2), y (N,) -> one panel with a (resolution, resolution) image.
    Taught in assignments 02 (capacity) and 04 (regularization strength).
    """
    where = "plot_decision_regions"
    X = as_array("X", X, where)
    check_shape("X", X, (None, 2), where, "(2-D points)")
    if len(X) == 0:
        raise ValueError(f"{where}: X must hold at least one point; got shape {X.shape}")
    if int(resolution) < 2:
        raise ValueError(f"{where}: resolution must be >= 2; got {resolution}")
    res = int(resolution)
    y_arr = np.asarray(y)
    if num_classes is not None:
        C = int(num_classes)
    else:
        C = int(np.max(y_arr)) + 1 if y_arr.size and y_arr.dtype.kind in "iuf" else 1
    y_arr = check_labels(y_arr, len(X), C, where)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * np.where(hi > lo, hi - lo, 1.0)
    gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], res)
    gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], res)
    xx, yy = np.meshgrid(gx, gy)
    out = np.asarray(predict_fn(np.column_stack([xx.ravel(), yy.ravel()])))
    if out.ndim == 2 and out.shape[0] == res * res:
        labels = np.argmax(out, axis=1)
    elif out.shape == (res * res,):
        labels = out.astype(np.int64)
    else:
        raise ValueError(f"{where}: predict_fn must return labels ({res * res},) or scores "
                         f"({res * res}, C) for {res * res} grid points; got {out.shape}")
    if num_classes is None:
        C = max(C, int(labels.max()) + 1)
    elif labels.min() < 0 or labels.max() >= C:
        raise ValueError(f"{where}: predict_fn returned labels outside [0, {C})")
    cmap = class_colors(C)
    fig, (ax,) = panels(1, ax, where, size=4.5)
    ax.imshow(labels.reshape(res, res), origin="lower", extent=(gx[0], gx[-1], gy[0], gy[-1]),
              cmap=cmap, vmin=-0.5, vmax=C - 0.5, alpha=0.35, interpolation="nearest",
              aspect="auto")
    ax.scatter(X[:, 0], X[:, 1], c=y_arr, cmap=cmap, vmin=-0.5, vmax=C - 0.5, s=14,
               edgecolors="k", linewidths=0.4)
    ax.set(xlim=(gx[0], gx[-1]), ylim=(gy[0], gy[-1]))
    if title is not None:
        ax.set_title(title)
    return fig


# --- 03 Data and model setup ------------------------------------------------


def plot_preprocessing_clouds(stages, *, axes=None, share_limits: bool = True, s: float = 6):
    """Scatter a 2-D point cloud after each preprocessing stage, side by side.

    E.g. ``{'raw': X, 'zero-centred': X - mu, 'normalized': (X - mu) / sd}``
    or raw -> PCA-rotated -> whitened. With ``share_limits`` every panel uses
    the same square limits around the origin, so shifts and scalings show.

    Shapes: stages {name: (N, 2)} -> one panel per stage.
    Taught in assignment 03 (preprocessing).
    """
    where = "plot_preprocessing_clouds"
    if not isinstance(stages, Mapping) or not stages:
        raise ValueError(f"{where}: stages must be a non-empty dict name -> (N, 2) array")
    clouds = {}
    for name, pts in stages.items():
        clouds[name] = as_array(f"stages[{name!r}]", pts, where)
        check_shape(f"stages[{name!r}]", clouds[name], (None, 2), where, "(2-D points)")
    fig, axs = panels(len(clouds), axes, where, size=3.2)
    lim = 1.1 * max(float(np.max(np.abs(p))) if p.size else 0.0 for p in clouds.values()) or 1.0
    for ax, (name, pts) in zip(axs, clouds.items()):
        ax.axhline(0, color="0.7", lw=0.8)
        ax.axvline(0, color="0.7", lw=0.8)
        ax.scatter(pts[:, 0], pts[:, 1], s=s, alpha=0.5)
        ax.set_title(str(name))
        ax.set_aspect("equal", adjustable="datalim" if not share_limits else "box")
        if share_limits:
            ax.set(xlim=(-lim, lim), ylim=(-lim, lim))
    return fig


def plot_activation_histograms(activations, title=None, *, axes=None, bins: int = 30,
                               value_range=None):
    """Histogram each layer's values, one panel per layer, on a common range.

    ``activations`` is a list of arrays (panels "layer 1", "layer 2", ...) or
    a dict name -> array; each panel's title gives the mean and std.

    Shapes: activations [L arrays of any shape] -> L panels.
    Taught in assignments 03 (activation statistics vs initialization) and 04.
    """
    where = "plot_activation_histograms"
    if isinstance(activations, Mapping):
        items = list(activations.items())
    else:
        items = [(f"layer {i + 1}", a) for i, a in enumerate(activations)]
    if not items:
        raise ValueError(f"{where}: activations must hold at least one array; got none")
    values = []
    for name, a in items:
        a = as_array(str(name), a, where)
        if a.size == 0:
            raise ValueError(f"{where}: {name} must not be empty; got shape {a.shape}")
        values.append((name, a.ravel()))
    if value_range is None:
        lo = min(float(v.min()) for _, v in values)
        hi = max(float(v.max()) for _, v in values)
        value_range = (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)
    fig, axs = panels(len(values), axes, where, size=2.4)
    for i, (ax, (name, v)) in enumerate(zip(axs, values)):
        ax.hist(v, bins=bins, range=value_range)
        ax.set_title(f"{name}\nmean {v.mean():.2g}, std {v.std():.2g}", fontsize=9)
        if i:
            ax.set_yticks([])
    if title is not None:
        fig.suptitle(title)
    return fig


# --- 05 Optimization --------------------------------------------------------


def plot_optimizer_trajectories(f: Callable, trajectories, xlim, ylim, *, ax=None,
                                levels: int = 25, resolution: int = 150, title=None):
    """Contours of a 2-D function with the path each update rule took.

    ``f`` maps a point ``(2,)`` (or many points ``(M, 2)``) to a value; contour
    levels sit at quantiles of ``f`` over the window, so both steep and flat
    regions get lines. Each path is one line with a marker per step.

    Shapes: trajectories {name: (T, 2)} -> one panel, one line per rule.
    Taught in assignment 05 (update rules on an ill-conditioned bowl / saddle).
    """
    where = "plot_optimizer_trajectories"
    xlim, ylim = check_limits("xlim", xlim, where), check_limits("ylim", ylim, where)
    if not isinstance(trajectories, Mapping):
        raise ValueError(f"{where}: trajectories must be a dict name -> (T, 2) array")
    paths = {}
    for name, path in trajectories.items():
        paths[name] = as_array(f"trajectories[{name!r}]", path, where)
        check_shape(f"trajectories[{name!r}]", paths[name], (None, 2), where, "(T points in 2-D)")
    xx, yy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    zz = grid_values(f, xx, yy)
    lv = np.unique(np.quantile(zz[np.isfinite(zz)], np.linspace(0.0, 1.0, levels + 2)[1:-1]))
    fig, (ax,) = panels(1, ax, where, size=4.5)
    ax.contour(xx, yy, zz, levels=lv if lv.size >= 2 else levels, cmap="viridis", linewidths=0.7)
    cmap = class_colors(max(1, len(paths)))
    for k, (name, path) in enumerate(paths.items()):
        ax.plot(path[:, 0], path[:, 1], "o-", ms=2.5, lw=1.2, color=cmap(k), label=str(name))
    ax.set(xlim=xlim, ylim=ylim)
    if paths:
        ax.legend(fontsize=8)
    if title is not None:
        ax.set_title(title)
    return fig
