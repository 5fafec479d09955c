"""Timing a function fairly: fresh inputs every call, measured from outside, against the reference.

A speed check asks whether the student's function runs within some factor of the
reference's time. What the student's kernel says about time cannot be trusted, and
neither can anything that a function could have seen before: so

* every timed call gets inputs no call had before: the small arguments (a weight
  matrix) are drawn anew for each call from a seed of the grader's, while the large
  ones (a data set) are sent once and kept in the kernel, so the call's time is not
  the transfer's. A function that remembers answers gains nothing, and one that
  remembers only the data set gains nothing the reference does not have;
* a batch of calls travels as one request, timed by the grader's clock from the request
  to the reply (nothing the kernel reports, nothing subtracted), and the time per call is
  that round trip over the number of calls;
* every timed call's result is checked against the reference's result on the same
  inputs: a function that is fast because it returns something else does not pass;
* the reference is timed the same way, on the same inputs: by the grader in a kernel of
  its own, in the same sandbox (see ``gradkit.course.execute``), or, when a test runs
  inside Jupyter, in the same process as the student's function.

:class:`~gradkit.grading.callee.DirectCallee` and
:class:`~gradkit.grading.bridge.BridgeCallee` both provide ``time_calls``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .spec import Inputs

__all__ = ["fresh_inputs", "large_positions", "SMALL_SHARE"]

#: An argument at most this share of the largest array's size is redrawn for every call.
SMALL_SHARE = 0.25


def _arrays(inputs: Inputs) -> list[tuple[int | str, np.ndarray]]:
    where: list[tuple[int | str, Any]] = [*enumerate(inputs.args), *inputs.kwargs.items()]
    return [(k, v) for k, v in where if isinstance(v, np.ndarray)]


def large_positions(inputs: Inputs) -> list[int | str]:
    """The arguments sent once and kept: arrays larger than :data:`SMALL_SHARE` of the
    largest, and every array that is not of floats (labels, indices)."""
    arrays = _arrays(inputs)
    if not arrays:
        return []
    biggest = max(a.size for _, a in arrays)
    return [k for k, a in arrays if a.dtype.kind != "f" or a.size > SMALL_SHARE * biggest]


def fresh_inputs(inputs: Inputs, count: int, seed: int) -> list[Inputs]:
    """``count`` inputs like ``inputs`` whose small float arrays are drawn anew (same shape,
    dtype, mean and spread), each unlike any other; the large ones are left as they are."""
    rng = np.random.default_rng(seed)
    keep = set(large_positions(inputs))
    small = [(k, a) for k, a in _arrays(inputs) if k not in keep]
    out = []
    for _ in range(count):
        args, kwargs = list(inputs.args), dict(inputs.kwargs)
        for k, a in small:
            spread = float(a.std()) or 1.0
            new = (rng.standard_normal(a.shape) * spread + float(a.mean())).astype(a.dtype)
            if isinstance(k, int):
                args[k] = new
            else:
                kwargs[k] = new
        out.append(Inputs(tuple(args), kwargs))
    return out
