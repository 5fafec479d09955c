"""Datasets for the course: embedded digits, CIFAR-10, toy 2-D sets and splits.

Taught in assignment 03 (setting up the data); every assignment loads its data
from here.

* :func:`load_digits` -- scikit-learn's bundled handwritten digits (1797
  images of 8×8 pixels, no download): the default dataset of every notebook.
* :func:`load_cifar10` / :func:`write_cifar10_batch` -- the CIFAR-10 python
  pickle batches from a directory the instructor provides .
* :func:`make_spiral`, :func:`make_blobs`, :func:`make_circles` -- toy 2-D
  sets for decision-region pictures; each returns ``X (N, 2)`` float64 and
  ``y (N,)`` int64, ordered class by class.
* :func:`train_val_split` -- a seeded (optionally stratified) split.
* :func:`download_cifar10` / :func:`find_cifar10` -- fetch the official CIFAR-10
  archive (resumable, MD5-verified, unpacked atomically) and find it again;
  the command ``gradkit data cifar10`` calls the first.

Everything random takes a ``seed`` or an ``rng`` (``np.random.Generator``);
nothing touches numpy's global random state.
"""

from . import cifar10, digits, download, toy
from .cifar10 import *  # noqa: F403
from .digits import *  # noqa: F403
from .download import *  # noqa: F403
from .toy import *  # noqa: F403

# The package's API is the union of its parts' (each part's __all__ lists its names).
__all__: list[str] = []
__all__ += digits.__all__
__all__ += cifar10.__all__
__all__ += download.__all__
__all__ += toy.__all__
