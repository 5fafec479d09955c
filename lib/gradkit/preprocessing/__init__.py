"""Data preprocessing: centring, standardizing, min-max scaling, PCA and whitening.

Taught in assignment 03 (setting up the data and the model).

Every step is split in two so that the lesson "statistics come from the
training split only" is part of the API:

* ``fit_<step>(X_train, ...) -> stats`` computes the statistics, and
* ``<step>(X, stats)`` applies them to *any* split (train, val or test),
* ``inverse_<step>(Z, stats)`` undoes the step.

==========================  =======================  ==========================
fit (training split only)   apply (any split)        undo
==========================  =======================  ==========================
``fit_center``              ``center``               ``inverse_center``
``fit_standardize``         ``standardize``          ``inverse_standardize``
``fit_minmax``              ``minmax_scale``         ``inverse_minmax_scale``
``fit_pca``                 ``pca_transform``        ``inverse_pca``
(the same ``fit_pca``)      ``whiten``               ``inverse_whiten``
==========================  =======================  ==========================

The package has two parts, :mod:`~gradkit.preprocessing.scaling` and
:mod:`~gradkit.preprocessing.pca`; import every name from ``gradkit.preprocessing``.

``stats`` is a plain ``dict`` of float64 arrays. For centring, standardizing
and min-max scaling each array has the shape of *one example*
(``X.shape[1:]``), whatever the ``mode``, so applying a step is plain
broadcasting: ``center(X, stats)`` is ``X - stats['mean']``.

Modes of ``fit_center``, ``fit_standardize`` and ``fit_minmax``:

* ``'feature'`` -- one statistic per feature (column);
* ``'global'``  -- one number for all features;
* ``'channel'`` -- one statistic per colour channel. Images are either
  ``(N, H, W, C)`` (channel last, as :func:`gradkit.data.load_cifar10`
  returns them) or flattened ``(N, H·W·C)`` rows of such images, in which
  case pass ``channels=C``: feature ``j`` belongs to channel ``j % C``
  (``X_images.reshape(N, -1)`` gives exactly this layout).

Applying stats fitted on examples of one shape to X with another shape raises
``ValueError`` naming both. No function modifies its input. float32 in gives
float32 out; everything else is computed and returned in float64.
"""

from . import pca, scaling
from .pca import *  # noqa: F403
from .scaling import *  # noqa: F403

# The package's API is the union of its parts' (each part's __all__ lists its names).
__all__: list[str] = []
__all__ += scaling.__all__
__all__ += pca.__all__
