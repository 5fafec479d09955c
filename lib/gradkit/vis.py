"""The plots the notebooks share.

Every function draws on the axes it is given (``ax=`` for one panel, ``axes=``
for several) or on a new figure, and returns the
:class:`matplotlib.figure.Figure`. Nothing here calls ``plt.show()`` or
changes matplotlib's global style, so the functions run headless (Agg) as
well as in a notebook. In a notebook, assign the result or end the line with
``;`` so the figure is not displayed twice.

The plots are grouped by what they show: :mod:`gradkit.vis_images`,
:mod:`gradkit.vis_activations`, :mod:`gradkit.vis_data` and
:mod:`gradkit.vis_training`; import them from here.
"""

from .vis_activations import plot_activation_functions, plot_activation_histograms
from .vis_data import plot_decision_regions, plot_preprocessing_clouds
from .vis_images import show_image_grid, show_weight_templates
from .vis_training import plot_optimizer_trajectories, plot_training_curves

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
