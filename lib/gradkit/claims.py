"""Claims: the sentences a notebook's prose says about its outputs, checked by code.

A notebook that writes "gradient descent needs about 3.5κ steps" puts, right under
the output it describes, a cell tagged ``claim`` with::

    claim("gradient descent needs about 3.5κ steps", steps / kappa, between=(3, 4))

When the solution notebooks run (nbval, in ``make test``), a sentence that a change
of seed, data or library has made false stops the run with the sentence and the
value that contradicts it. The release drops cells tagged ``claim``: a student's
notebook is about the student's own outputs, and the self-check grades those.

A claim that is about a random outcome is checked over several seeds: pass the
values of all of them (an array) and every one must lie in the range.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ClaimError", "claim"]


class ClaimError(AssertionError):
    """A sentence of the notebook's prose is false of the output it describes."""


def claim(says: str, value: Any, *, between: tuple[float, float] | None = None) -> None:
    """Check that the prose sentence ``says`` is true of ``value``.

    ``claim(says, condition)``: ``condition`` is a bool (a comparison, ``a > b``).
    ``claim(says, value, between=(lo, hi))``: ``value`` (a number or an array of
    numbers, e.g. one per seed) lies in the closed range ``[lo, hi]``; every entry
    of an array must, and a NaN never does.

    Raises ``ClaimError`` naming the sentence and the value that contradicts it;
    returns None otherwise.
    """
    if not isinstance(says, str) or not says.strip():
        raise TypeError(f"claim: says must be the sentence the prose states; got {says!r}")
    if between is None:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(
                "claim: without between=, value must be a bool (a comparison); "
                f"got {type(value).__name__}"
            )
        if not value:
            raise ClaimError(f'the text says "{says}", but that is false here')
        return
    lo, hi = (float(bound) for bound in between)
    if not lo <= hi:
        raise ValueError(f"claim: between must be (low, high) with low <= high; got {between!r}")
    values = np.asarray(value, dtype=np.float64)
    inside = (values >= lo) & (values <= hi)
    if inside.all():
        return
    if values.ndim == 0:
        shown = f"the value is {float(values):.4g}"
    else:
        flat = values.ravel()
        bad = int(np.flatnonzero(~inside.ravel())[0])
        shown = (
            f"{int((~inside).sum())} of {flat.size} values are outside, "
            f"the first {flat[bad]:.4g} (entry {bad}); all: {np.array2string(flat, precision=4)}"
        )
    raise ClaimError(f'the text says "{says}", but {shown}, not in [{lo:g}, {hi:g}]')
