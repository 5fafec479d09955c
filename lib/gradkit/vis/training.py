"""Training: loss and accuracy curves, and update rules on a 2-D loss surface.

Part of :mod:`gradkit.vis` (see there for the conventions).
Taught in assignments 01 and 05.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_ndim, check_shape
from ._panels import check_limits, class_colors, grid_values, panels

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["plot_training_curves", "plot_optimizer_trajectories"]


def plot_training_curves(
    loss_history: npt.ArrayLike,
    train_acc_history: npt.ArrayLike | None = None,
    val_acc_history: npt.ArrayLike | None = None,
    *,
    axes: Axes | Iterable[Axes] | None = None,
    smooth: int = 0,
) -> Figure | SubFigure:
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
    accs: dict[str, np.ndarray] = {}
    for name, hist in (("train", train_acc_history), ("val", val_acc_history)):
        if hist is not None:
            accs[name] = as_array(f"{name}_acc_history", hist, where)
            check_ndim(f"{name}_acc_history", accs[name], 1, where)
    if len(accs) == 2 and accs["train"].shape != accs["val"].shape:
        raise ValueError(
            f"{where}: train_acc_history and val_acc_history must have the same "
            f"shape; got {accs['train'].shape} and {accs['val'].shape}"
        )
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


def plot_optimizer_trajectories(
    f: Callable[[np.ndarray], Any],
    trajectories: Mapping[str, npt.ArrayLike],
    xlim: npt.ArrayLike,
    ylim: npt.ArrayLike,
    *,
    ax: Axes | None = None,
    levels: int = 25,
    resolution: int = 150,
    title: str | None = None,
    xlabel: str = "$w_1$",
    ylabel: str = "$w_2$",
) -> Figure | SubFigure:
    """Contours of a 2-D function with the path each update rule took.

    ``f`` maps a point ``(2,)`` (or many points ``(M, 2)``) to a value; contour
    levels sit at quantiles of ``f`` over the window, so both steep and flat
    regions get lines. Each path is one line with a marker per step, named in
    the legend; the axes are the two parameters (``xlabel``, ``ylabel``).

    Shapes: trajectories {name: (T, 2)} -> one panel, one line per rule.
    Taught in assignment 05 (update rules on an ill-conditioned bowl / saddle).
    """
    where = "plot_optimizer_trajectories"
    xlim, ylim = check_limits("xlim", xlim, where), check_limits("ylim", ylim, where)
    if not isinstance(trajectories, Mapping):
        raise ValueError(f"{where}: trajectories must be a dict name -> (T, 2) array")
    paths: dict[str, np.ndarray] = {}
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
    ax.set(xlim=xlim, ylim=ylim, xlabel=xlabel, ylabel=ylabel)
    if paths:
        ax.legend(fontsize=8)
    if title is not None:
        ax.set_title(title)
    return fig
