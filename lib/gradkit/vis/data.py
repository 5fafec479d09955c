"""2-D data: decision regions of a classifier and point clouds through preprocessing.

Part of :mod:`gradkit.vis` (see there for the conventions).
Taught in assignments 02, 03 and 04.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_labels, check_shape
from ._panels import class_colors, label_axes, panels

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["plot_decision_regions", "plot_preprocessing_clouds"]


def plot_decision_regions(
    predict_fn: Callable[[np.ndarray], npt.ArrayLike],
    X: npt.ArrayLike,
    y: npt.ArrayLike,
    resolution: int = 200,
    *,
    ax: Axes | None = None,
    num_classes: int | None = None,
    margin: float = 0.1,
    title: str | None = None,
    xlabel: str = "$x_1$",
    ylabel: str = "$x_2$",
    class_names: Sequence[str] | None = None,
    legend: bool = True,
) -> Figure | SubFigure:
    """Colour the plane by the class ``predict_fn`` assigns, with the data on top.

    ``predict_fn`` receives grid points ``(M, 2)`` and returns labels ``(M,)``
    or scores ``(M, C)`` (the argmax is taken). One colour per class, named in
    the legend (``class_names``, or "class 0", "class 1", ...); ``legend=False``
    leaves the legend to the caller (one figure legend for a grid of panels).

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
        raise ValueError(
            f"{where}: predict_fn must return labels ({res * res},) or scores "
            f"({res * res}, C) for {res * res} grid points; got {out.shape}"
        )
    if num_classes is None:
        C = max(C, int(labels.max()) + 1)
    elif labels.min() < 0 or labels.max() >= C:
        raise ValueError(f"{where}: predict_fn returned labels outside [0, {C})")
    cmap = class_colors(C)
    fig, (ax,) = panels(1, ax, where, size=4.5)
    ax.imshow(
        labels.reshape(res, res),
        origin="lower",
        extent=(gx[0], gx[-1], gy[0], gy[-1]),
        cmap=cmap,
        vmin=-0.5,
        vmax=C - 0.5,
        alpha=0.35,
        interpolation="nearest",
        aspect="auto",
    )
    ax.scatter(
        X[:, 0],
        X[:, 1],
        c=y_arr,
        cmap=cmap,
        vmin=-0.5,
        vmax=C - 0.5,
        s=14,
        edgecolors="k",
        linewidths=0.4,
    )
    ax.set(xlim=(gx[0], gx[-1]), ylim=(gy[0], gy[-1]), xlabel=xlabel, ylabel=ylabel)
    if class_names is not None and len(class_names) != C:
        raise ValueError(
            f"{where}: class_names must hold {C} names (one per class); got {len(class_names)}"
        )
    if legend:
        from matplotlib.patches import Patch

        names = list(class_names) if class_names is not None else [f"class {c}" for c in range(C)]
        handles = [Patch(facecolor=cmap(c), edgecolor="k", label=names[c]) for c in range(C)]
        ax.legend(handles=handles, fontsize=7, loc="best", framealpha=0.7)
    if title is not None:
        ax.set_title(title)
    return fig


def plot_preprocessing_clouds(
    stages: Mapping[str, npt.ArrayLike],
    *,
    axes: Axes | Iterable[Axes] | None = None,
    share_limits: bool = True,
    s: float = 6,
    xlabel: str = "first coordinate",
    ylabel: str = "second coordinate",
) -> Figure | SubFigure:
    """Scatter a 2-D point cloud after each preprocessing stage, side by side.

    E.g. ``{'raw': X, 'zero-centred': X - mu, 'normalized': (X - mu) / sd}``
    or raw -> PCA-rotated -> whitened. With ``share_limits`` every panel uses
    the same square limits around the origin, so shifts and scalings show.
    ``xlabel``/``ylabel`` name the two coordinates (after PCA they are the
    principal directions, so the default speaks of coordinates, not features).

    Shapes: stages {name: (N, 2)} -> one panel per stage.
    Taught in assignment 03 (preprocessing).
    """
    where = "plot_preprocessing_clouds"
    if not isinstance(stages, Mapping) or not stages:
        raise ValueError(f"{where}: stages must be a non-empty dict name -> (N, 2) array")
    clouds: dict[str, np.ndarray] = {}
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
    label_axes(axs, xlabel, ylabel)
    return fig
