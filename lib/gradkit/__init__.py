"""gradkit: reference implementations for a course on neural-network fundamentals in numpy.

Each concept lives in its own module (``gradkit.layers``, ``gradkit.losses``,
``gradkit.optim``, ...); import what a lesson needs from there. The package
itself imports nothing heavy so that ``import gradkit`` is instant.
"""

__version__ = "0.1.0"
