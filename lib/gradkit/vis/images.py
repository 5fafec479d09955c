"""Images: sample grids and the learned weight templates.

Part of :mod:`gradkit.vis` (see there for the conventions).
Taught in assignments 01 and 03.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_ndim, check_shape
from ._panels import check_image_shape, draw_images, panels

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["show_image_grid", "show_weight_templates"]


def show_image_grid(
    images: npt.ArrayLike,
    labels: npt.ArrayLike | None = None,
    class_names: Sequence[str] | None = None,
    *,
    image_shape: Sequence[int] | None = None,
    ncols: int = 10,
    rescale: bool = True,
    axes: Axes | Iterable[Axes] | None = None,
) -> Figure | SubFigure:
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
        check_shape(
            "images",
            images,
            (None, int(np.prod(shape))),
            where,
            f"(flattened images of shape {shape})",
        )
        images = images.reshape((len(images),) + shape)
    elif not (images.ndim == 3 or (images.ndim == 4 and images.shape[3] == 3)):
        raise ValueError(
            f"{where}: images must have shape (N, H, W) or (N, H, W, 3), or pass "
            f"image_shape for flattened rows; got {images.shape}"
        )
    if len(images) == 0:
        raise ValueError(f"{where}: images must hold at least one image; got shape {images.shape}")
    titles: list[object] = [None] * len(images)
    if labels is not None:
        labels = np.asarray(labels)
        check_shape("labels", labels, (len(images),), where, "(one label per image)")
        titles = [class_names[int(k)] if class_names is not None else k for k in labels]
    fig, axs = panels(len(images), axes, where, ncols=ncols, size=1.4)
    draw_images(axs, images, titles, rescale)
    return fig


def show_weight_templates(
    W: npt.ArrayLike,
    image_shape: Sequence[int],
    class_names: Sequence[str] | None = None,
    *,
    axes: Axes | Iterable[Axes] | None = None,
    ncols: int = 10,
) -> Figure | SubFigure:
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
        raise ValueError(
            f"{where}: W must have shape ({D}, C) or ({D + 1}, C) (bias row last) "
            f"for images of shape {shape}; got {W.shape}"
        )
    if class_names is not None and len(class_names) != C:
        raise ValueError(
            f"{where}: class_names must hold {C} names (one per column of W); "
            f"got {len(class_names)}"
        )
    templates = W.T.reshape((C,) + shape)
    fig, axs = panels(C, axes, where, ncols=ncols, size=1.4)
    draw_images(axs, templates, class_names if class_names is not None else range(C), True)
    return fig
