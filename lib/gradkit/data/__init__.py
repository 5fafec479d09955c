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

from .cifar10 import CIFAR10_CLASSES, load_cifar10, write_cifar10_batch
from .digits import load_digits, train_val_split
from .download import (
    CIFAR10_MD5,
    CIFAR10_URL,
    DownloadError,
    default_data_dir,
    download_cifar10,
    find_cifar10,
)
from .toy import make_blobs, make_circles, make_spiral

__all__ = [
    "load_digits",
    "train_val_split",
    "load_cifar10",
    "write_cifar10_batch",
    "CIFAR10_CLASSES",
    "download_cifar10",
    "find_cifar10",
    "default_data_dir",
    "DownloadError",
    "CIFAR10_URL",
    "CIFAR10_MD5",
    "make_spiral",
    "make_blobs",
    "make_circles",
]
