"""Helpers the library tests share: gradient checks and the no-mutation check.

Every gradient check runs in float64 with a *random* upstream gradient (an
all-ones ``dout`` hides errors that cancel in a sum).
"""

from __future__ import annotations

import copy

import numpy as np

from gradkit.gradcheck import GRAD_REL_TOL, numeric_backward, rel_error

__all__ = ["GRAD_REL_TOL", "check_backward", "assert_inputs_unchanged", "rel_error"]


def check_backward(forward, backward, inputs: dict, rng, wrt=None, extra=None, tol=GRAD_REL_TOL):
    """Assert that ``backward`` matches the numeric gradient of ``forward``.

    ``forward(**inputs, **extra) -> (out, cache)``; ``backward(dout, cache)``
    returns one gradient or a tuple in the order of ``wrt`` (default: every
    key of ``inputs``). Returns the dict of relative errors.
    """
    extra = extra or {}
    wrt = list(wrt or inputs)
    inputs = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}
    out, cache = forward(**inputs, **extra)
    dout = rng.standard_normal(np.shape(out))
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    assert len(grads) == len(wrt), f"backward returned {len(grads)} gradients, expected {len(wrt)}"
    for name, analytic in zip(wrt, grads):
        assert np.shape(analytic) == inputs[name].shape, (
            f"d{name} has shape {np.shape(analytic)}, expected {inputs[name].shape}"
        )
    numeric = numeric_backward(lambda **a: forward(**a, **extra)[0], inputs, dout, wrt)
    errors = {name: rel_error(numeric[name], g) for name, g in zip(wrt, grads)}
    for name, err in errors.items():
        assert err < tol, f"d{name}: relative error {err:.2e} >= {tol:.0e}"
    return errors


def assert_inputs_unchanged(func, *args, **kwargs):
    """Call ``func`` and assert that no array (or dict of arrays) argument changed."""
    before = copy.deepcopy((args, kwargs))
    result = func(*args, **kwargs)

    def same(a, b):
        if isinstance(a, np.ndarray):
            return (
                isinstance(b, np.ndarray)
                and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=True)
            )
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, (list, tuple)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return True

    assert same(before, (args, kwargs)), f"{getattr(func, '__name__', func)} modified its inputs"
    return result
