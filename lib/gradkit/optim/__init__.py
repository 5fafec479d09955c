"""Optimizers: first-order update rules (:mod:`~gradkit.optim.update_rules`) and L-BFGS
through SciPy for full-batch problems (:mod:`~gradkit.optim.lbfgs`).

Taught in assignment 05 (optimization and training); every update rule is graded.

Every rule has the same signature::

    next_w, config = rule(w, dw, config=None)

``w`` holds the current parameters and ``dw`` the gradient of the loss at
``w`` (same shape). ``config`` is a dict of hyper-parameters and of the state
a rule carries from one step to the next:

==================  ==========================================================
``learning_rate``   step size α (1e-2 for every rule but Adam, 1e-3 for Adam)
``momentum``        ρ of the momentum rules (0.9); ``velocity`` is their state
``decay_rate``      leak of RMSProp's squared-gradient average (0.99)
``epsilon``         keeps AdaGrad/RMSProp/Adam from dividing by zero (1e-8)
``cache``           AdaGrad's sum, or RMSProp's leaky average, of dw²
``beta1, beta2``    Adam's moment decay rates (0.9, 0.999); ``m``, ``v``, ``t``
==================  ==========================================================

Missing keys are filled with their defaults (state starts at zero). The rule
works on a shallow copy of ``config`` and returns it: the caller's dict, ``w``
and ``dw`` are never modified; ``next_w`` and every state array are new
arrays. Pass the returned config to the next call. A float32 ``w`` stays
float32 (state included); anything else is computed in float64.
"""

from . import lbfgs as _lbfgs_module
from . import update_rules
from .lbfgs import *  # noqa: F403
from .update_rules import *  # noqa: F403

# The package's API is the union of its parts' (each part's __all__ lists its names).
__all__: list[str] = []
__all__ += update_rules.__all__
__all__ += _lbfgs_module.__all__  # the function lbfgs, not its module
