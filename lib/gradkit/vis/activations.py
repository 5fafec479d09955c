"""Activation functions and the statistics of activations in deep nets.

Part of :mod:`gradkit.vis` (see there for the conventions).
Taught in assignments 02 and 03.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._validation import as_array, check_ndim
from ._panels import label_axes, panels

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

__all__ = ["plot_activation_functions", "plot_activation_histograms"]


def _default_activations() -> dict[str, tuple[Callable[..., Any], Callable[..., Any]]]:
    sig = lambda s: 1.0 / (1.0 + np.exp(-s))  # noqa: E731
    return {
        "step": (lambda s: (s >= 0).astype(float), np.zeros_like),
        "bipolar step": (lambda s: np.where(s >= 0, 1.0, -1.0), np.zeros_like),
        "linear": (lambda s: s, np.ones_like),
        "sigmoid": (sig, lambda s: sig(s) * (1 - sig(s))),
        "tanh": (np.tanh, lambda s: 1 - np.tanh(s) ** 2),
        "ReLU": (lambda s: np.maximum(s, 0.0), lambda s: (s > 0).astype(float)),
    }


def plot_activation_functions(
    functions: Mapping[str, tuple[Callable[..., Any], Callable[..., Any]]] | None = None,
    x: npt.ArrayLike | None = None,
    *,
    axes: Axes | Iterable[Axes] | None = None,
    ncols: int = 3,
) -> Figure | SubFigure:
    """Plot each activation function (solid) with its derivative (dashed).

    ``functions`` maps a name to ``(f, df)`` (vectorized callables); the
    default shows step, bipolar step, linear, sigmoid, tanh and ReLU. Every
    panel has its legend; x is the pre-activation ``s``.

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
        ax.legend(loc="upper left", fontsize=8)
    label_axes(axs, "pre-activation s", "value")
    return fig


def plot_activation_histograms(
    activations: Mapping[str, npt.ArrayLike] | Iterable[npt.ArrayLike],
    title: str | None = None,
    *,
    axes: Axes | Iterable[Axes] | None = None,
    bins: int = 30,
    value_range: tuple[float, float] | None = None,
    xlabel: str = "activation value",
) -> Figure | SubFigure:
    """Histogram each layer's values, one panel per layer, on a common range.

    ``activations`` is a list of arrays (panels "layer 1", "layer 2", ...) or
    a dict name -> array; each panel's title gives the mean and std. Every
    panel's x axis is labelled ``xlabel``; the first panel's y axis "count"
    (the others share its scale only in shape: their counts are not shown).

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
    from matplotlib.figure import Figure

    if axes is None and title is not None and isinstance(fig, Figure):
        fig.set_layout_engine("constrained")  # our own figure: the title stays off the panels
    for i, (ax, (name, v)) in enumerate(zip(axs, values)):
        ax.hist(v, bins=bins, range=value_range)
        ax.set_title(f"{name}\nmean {v.mean():.2g}, std {v.std():.2g}", fontsize=9)
        if i:
            ax.set_yticks([])
    label_axes(axs, xlabel, "count")
    if title is not None:
        fig.suptitle(title)
    return fig
