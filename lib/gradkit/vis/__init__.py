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

from . import activations, data, images, training
from .activations import *  # noqa: F403
from .data import *  # noqa: F403
from .images import *  # noqa: F403
from .training import *  # noqa: F403

# The package's API is the union of its parts' (each part's __all__ lists its names).
__all__: list[str] = []
__all__ += activations.__all__
__all__ += images.__all__
__all__ += training.__all__
__all__ += data.__all__
