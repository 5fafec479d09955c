"""The plots the notebooks share.

Every function draws on the axes it is given (``ax=`` for one panel, ``axes=``
for several) or on a new figure, and returns the
:class:`matplotlib.figure.Figure`. Nothing here calls ``plt.show()`` or
changes matplotlib's global style, so the functions run headless (Agg) as
well as in a notebook. In a notebook, assign the result or end the line with
``;`` so the figure is not displayed twice.

The plots are grouped by what they show: :mod:`~gradkit.vis.images`,
:mod:`~gradkit.vis.activations`, :mod:`~gradkit.vis.data` and
:mod:`~gradkit.vis.training`; import them from ``gradkit.vis``.
"""

from .activations import plot_activation_functions, plot_activation_histograms
from .data import plot_decision_regions, plot_preprocessing_clouds
from .images import show_image_grid, show_weight_templates
from .training import plot_optimizer_trajectories, plot_training_curves

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
