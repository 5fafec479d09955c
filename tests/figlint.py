"""Figure lint: a figure a reader can read has labelled axes, legends and colour bars.

``figure_problems(fig)`` lists, one line each, what a figure leaves the reader to
guess:

- an axis (x or y) of a panel with plotted data and no label. Panels that share an
  axis may share its label: a figure-level label (``fig.supxlabel``), or a label on
  one of the panels that share that axis (``sharex=``/``sharey=``) or sit in the
  same grid column (x) or row (y).
- two or more data series (lines, scatters, bar groups, filled areas) in one panel
  and no legend (on the panel or the figure) and no text label per series.
- a colour-mapped image or mesh (imshow, pcolormesh, contourf, a scatter coloured
  by value) without a colour bar, unless the panel has a legend (the colours are
  classes) or its axes are switched off (an image grid of digits).

``install(shell)`` makes an IPython kernel fail a cell that shows such a figure: the
solution notebooks run this way under nbval (see the repository's conftest.py).
With ``GRADKIT_FIGLINT_REPORT=FILE`` in the environment it fails nothing and appends
every problem to FILE instead (a survey of a notebook in one run).
"""

from __future__ import annotations

import ast
import os
from typing import Any

from matplotlib.axes import Axes
from matplotlib.collections import Collection, LineCollection, PathCollection, PolyCollection
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D

__all__ = ["figure_problems", "install"]


def _name(ax: Axes, index: int) -> str:
    title = ax.get_title() or ax.get_title("left")
    return f'panel {index + 1} ("{title}")' if title else f"panel {index + 1}"


def _colorbar_axes(fig: Figure) -> set[Axes]:
    found = set()
    for ax in fig.get_axes():
        for artist in [*ax.images, *ax.collections]:
            bar = getattr(artist, "colorbar", None)
            if bar is not None:
                found.add(bar.ax)
    return found


def _is_reference_line(line: Line2D) -> bool:
    """axhline/axvline/axline: drawn in axes coordinates along one direction."""
    xs, ys = line.get_xdata(), line.get_ydata()
    try:
        return len(xs) == 2 and (xs[0] == xs[1] or ys[0] == ys[1])
    except (TypeError, ValueError):
        return False


def _series(ax: Axes) -> int:
    in_containers = set()
    count = 0
    for container in ax.containers:
        if isinstance(container, (BarContainer, ErrorbarContainer)):
            count += 1
            for child in container.get_children():
                in_containers.add(child)
    for line in ax.lines:
        if line in in_containers or _is_reference_line(line) or len(line.get_xdata()) < 2:
            continue
        count += 1
    for coll in ax.collections:
        if coll in in_containers or isinstance(coll, ContourSet):
            continue
        if isinstance(coll, (PathCollection, PolyCollection, LineCollection)):
            count += 1
    return count


def _has_data(ax: Axes) -> bool:
    return bool(ax.lines or ax.collections or ax.images or ax.patches or ax.containers)


def _mapped(ax: Axes) -> list[Any]:
    """Colour-mapped artists whose colours stand for values."""
    found: list[Any] = []
    for image in ax.images:
        if isinstance(image, AxesImage) and image.get_array() is not None:
            if image.get_array().ndim == 2:  # RGB(A) images carry their own colours
                found.append(image)
    for coll in ax.collections:
        if isinstance(coll, ContourSet) or (
            isinstance(coll, Collection)
            and not isinstance(coll, (LineCollection,))
            and coll.get_array() is not None
            and len(coll.get_array()) > 1
        ):
            found.append(coll)
    return found


def _has_colorbar(artist: Any, fig: Figure) -> bool:
    if getattr(artist, "colorbar", None) is not None:
        return True
    # One colour bar may serve several panels drawn with the same norm and colormap.
    for ax in fig.get_axes():
        for other in [*ax.images, *ax.collections]:
            bar = getattr(other, "colorbar", None)
            if bar is not None and other.norm is artist.norm:
                return True
    return False


def _grid_position(ax: Axes) -> tuple[int, int, int, int] | None:
    spec = ax.get_subplotspec() if hasattr(ax, "get_subplotspec") else None
    if spec is None:
        return None
    rows, cols = spec.rowspan, spec.colspan
    return rows.start, rows.stop, cols.start, cols.stop


def _label_shared(ax: Axes, axis: str, axes: list[Axes], fig: Figure) -> bool:
    if axis == "x":
        if fig.get_supxlabel() if hasattr(fig, "get_supxlabel") else _sup(fig, "_supxlabel"):
            return True
        siblings = ax.get_shared_x_axes().get_siblings(ax)
    else:
        if fig.get_supylabel() if hasattr(fig, "get_supylabel") else _sup(fig, "_supylabel"):
            return True
        siblings = ax.get_shared_y_axes().get_siblings(ax)
    label = (lambda a: a.get_xlabel()) if axis == "x" else (lambda a: a.get_ylabel())
    if any(label(other) for other in siblings if other is not ax):
        return True
    mine = _grid_position(ax)
    if mine is None:
        return False
    for other in axes:
        if other is ax or not label(other):
            continue
        theirs = _grid_position(other)
        if theirs is None or other.get_subplotspec().get_gridspec() is not (
            ax.get_subplotspec().get_gridspec()
        ):
            continue
        same = mine[2:] == theirs[2:] if axis == "x" else mine[:2] == theirs[:2]
        if same:
            return True
    return False


def _sup(fig: Figure, attr: str) -> str:
    text = getattr(fig, attr, None)
    return text.get_text() if text is not None else ""


def _legend(ax: Axes, fig: Figure) -> bool:
    return ax.get_legend() is not None or bool(fig.legends)


def data_axes(fig: Figure) -> list[Axes]:
    """The panels with plotted data whose axes are on (what the lint reads)."""
    bars = _colorbar_axes(fig)
    return [
        ax
        for ax in fig.get_axes()
        if ax not in bars and ax.get_visible() and ax.axison and _has_data(ax)
    ]


def figure_problems(fig: Figure) -> list[str]:
    """What the figure leaves unlabelled, one line per problem (empty: readable)."""
    problems: list[str] = []
    bars = _colorbar_axes(fig)
    axes = [ax for ax in fig.get_axes() if ax not in bars and ax.get_visible()]
    for index, ax in enumerate(axes):
        if not ax.axison or not _has_data(ax):
            continue
        where = _name(ax, index)
        three_d = ax.name == "3d"
        for axis in ("x", "y"):
            label = ax.get_xlabel() if axis == "x" else ax.get_ylabel()
            if not label and not three_d and not _label_shared(ax, axis, axes, fig):
                problems.append(f"{where}: the {axis} axis has no label")
        series = _series(ax)
        if series >= 2 and not _legend(ax, fig) and len(ax.texts) < series:
            problems.append(f"{where}: {series} series and no legend")
        for artist in _mapped(ax):
            if not _has_colorbar(artist, fig) and not _legend(ax, fig):
                kind = type(artist).__name__
                problems.append(f"{where}: a colour-mapped {kind} without a colour bar")
                break
    return problems


# --- kernel side -------------------------------------------------------------------

_CHECK = "__gradkit_figlint__"
_LAST = "__gradkit_figlint_last__"


class FigureLintError(AssertionError):
    """A figure the notebook shows has an unlabelled axis, a missing legend or colour bar."""


def check_open_figures() -> None:
    """Raise FigureLintError for the open figures' problems (each figure once)."""
    from matplotlib._pylab_helpers import Gcf  # the open figures, without activating one

    lines: list[str] = []
    counts: list[tuple[int, int]] = []
    for manager in Gcf.get_all_fig_managers():
        number, fig = manager.num, manager.canvas.figure
        if getattr(fig, "_gradkit_linted", False):
            continue
        fig._gradkit_linted = True  # type: ignore[attr-defined]
        title = fig.get_suptitle() if hasattr(fig, "get_suptitle") else _sup(fig, "_suptitle")
        name = f"figure {number}" + (f' ("{title}")' if title else "")
        found = figure_problems(fig)
        lines += [f"{name}, {problem}" for problem in found]
        unlabelled = {p.split(":")[0] for p in found if p.endswith("has no label")}
        counts.append((len(data_axes(fig)), len(unlabelled)))
    report = os.environ.get("GRADKIT_FIGLINT_REPORT")
    if lines and report:  # survey mode: collect every problem, fail nothing
        with open(report, "a") as out:
            out.write("".join(line + "\n" for line in lines))
    if report:
        with open(report, "a") as out:
            out.write("".join(f"# data axes {n}, without a label {m}\n" for n, m in counts))
    elif lines:
        raise FigureLintError("a figure a reader cannot read:\n" + "\n".join(lines))


class _AppendCheck(ast.NodeTransformer):
    """End every cell with a check of its open figures, keeping its displayed value."""

    def visit_Module(self, node: ast.Module) -> ast.Module:
        body = list(node.body)
        tail: list[ast.stmt] = []
        if body and isinstance(body[-1], ast.Expr):
            last = body.pop()
            body.append(ast.Assign(targets=[ast.Name(_LAST, ast.Store())], value=last.value))
            tail = [ast.Expr(ast.Name(_LAST, ast.Load()))]
        body.append(ast.Expr(ast.Call(ast.Name(_CHECK, ast.Load()), [], [])))
        node.body = body + tail
        return ast.fix_missing_locations(node)


def install(shell: Any) -> None:
    """Make ``shell`` (an IPython InteractiveShell) fail cells that show unreadable figures."""
    import matplotlib.pyplot as plt

    shell.user_ns[_CHECK] = check_open_figures
    shell.ast_transformers.append(_AppendCheck())
    show, close = plt.show, plt.close

    def checked_show(*args: Any, **kwargs: Any) -> Any:
        check_open_figures()
        return show(*args, **kwargs)

    def checked_close(*args: Any, **kwargs: Any) -> Any:
        try:
            check_open_figures()
        finally:
            result = close(*args, **kwargs)
        return result

    plt.show = checked_show
    plt.close = checked_close
