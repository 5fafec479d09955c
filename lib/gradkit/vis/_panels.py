"""Plot plumbing shared by :mod:`gradkit.vis` (private).

Panel layout on given or new axes, per-class colours, per-image rescaling and
grid evaluation. Nothing here changes matplotlib's global state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # matplotlib is imported where it draws: `import gradkit.vis` stays cheap
    from matplotlib.axes import Axes
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure, SubFigure


def panels(
    n: int, axes: Any, where: str, ncols: int | None = None, size: float = 3.0
) -> tuple[Figure | SubFigure, list[Axes]]:
    """Return ``(fig, [ax, ...])``: the ``n`` axes given, or a new grid of ``n`` axes."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if axes is not None:
        flat = [axes] if isinstance(axes, Axes) else list(np.ravel(axes))
        if len(flat) != n:
            raise ValueError(f"{where}: axes must hold {n} Axes (one per panel); got {len(flat)}")
        return flat[0].figure, flat
    ncols = max(1, min(n, ncols or n))
    nrows = -(-n // ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    flat = list(grid.ravel())
    for extra in flat[n:]:
        extra.remove()
    return fig, flat[:n]


def label_axes(axs: Sequence[Axes], xlabel: str | None, ylabel: str | None) -> None:
    """Label every panel's x axis and the y axis of each row's first panel.

    Panels not in a grid (or a grid the caller built) all get both labels.
    """
    for ax in axs:
        if xlabel:
            ax.set_xlabel(xlabel)
        spec = ax.get_subplotspec()
        if ylabel and (spec is None or spec.is_first_col()):
            ax.set_ylabel(ylabel)


def class_colors(num_classes: int) -> ListedColormap:
    """One distinct colour per class (tab10, tab20, then evenly spaced hues)."""
    import matplotlib
    from matplotlib.colors import ListedColormap

    for name, size in (("tab10", 10), ("tab20", 20)):
        if num_classes <= size:
            tab = cast(ListedColormap, matplotlib.colormaps[name])  # tab10, tab20 are listed
            colors = cast(Sequence[Any], tab.colors)  # a tuple of RGB triples
            return ListedColormap(colors[:num_classes])
    hues = np.linspace(0, 1, num_classes, endpoint=False)
    return ListedColormap(matplotlib.colormaps["hsv"](hues))


def rescale01(images: np.ndarray) -> np.ndarray:
    """Min-max rescale each image (first axis) to [0, 1]; a constant image becomes 0.5."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    lo, hi = flat.min(axis=1, keepdims=True), flat.max(axis=1, keepdims=True)
    span = hi - lo
    out = np.where(span > 0, (flat - lo) / np.where(span > 0, span, 1.0), 0.5)
    return out.reshape(images.shape)


def check_image_shape(image_shape: Iterable[int], where: str) -> tuple[int, ...]:
    shape = tuple(int(s) for s in image_shape)
    if not (len(shape) == 2 or (len(shape) == 3 and shape[2] == 3)) or min(shape) < 1:
        raise ValueError(f"{where}: image_shape must be (H, W) or (H, W, 3); got {shape}")
    return shape


def draw_images(
    axs: Sequence[Axes], images: np.ndarray, titles: Iterable[object], rescale: bool
) -> None:
    shown = rescale01(images) if rescale else images
    for ax, img, title in zip(axs, shown, titles):
        kw: dict[str, Any] = {"cmap": "gray"} if img.ndim == 2 else {}
        if rescale:
            kw.update(vmin=0.0, vmax=1.0)
        ax.imshow(img, interpolation="nearest", **kw)
        ax.set_axis_off()
        if title is not None:
            ax.set_title(str(title), fontsize=9)


def grid_values(f: Callable[[np.ndarray], Any], xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Evaluate ``f`` on grid points: all at once on (M, 2) if it can, else point by point."""
    pts = np.column_stack([xx.ravel(), yy.ravel()])
    try:
        z = np.asarray(f(pts), dtype=np.float64)
        if z.shape == (len(pts),):
            return z.reshape(xx.shape)
    except Exception:  # noqa: BLE001 - f written for a single (2,) point
        pass
    return np.array([float(f(p)) for p in pts]).reshape(xx.shape)


def check_limits(name: str, lim: npt.ArrayLike, where: str) -> tuple[float, float]:
    lim = tuple(float(v) for v in np.ravel(lim))
    if len(lim) != 2 or not lim[0] < lim[1]:
        raise ValueError(f"{where}: {name} must be (low, high) with low < high; got {lim}")
    return lim
