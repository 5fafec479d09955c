"""The checks a spec is built from, one module per concept.

Every check is a small dataclass with ``run(ctx) -> list[CheckResult]``:

* :mod:`~.values` — :class:`Outputs`, :class:`HiddenCases` (and the shared
  tolerances and comparison helpers);
* :mod:`~.extras` — :class:`NoMutation`, :class:`Speed`, :class:`Avoids`,
  :class:`Custom`;
* :mod:`~.gradients` — :class:`OwnGradient`;
* :mod:`~.layers` — :class:`Backward`, :class:`OwnBackward`,
  :class:`HiddenPairCases`;
* :mod:`~.update_rules` — :class:`Steps`;
* :mod:`~.initializers` — :class:`Statistics`, :class:`Reproducible`.

Import every check from ``gradkit.grading.checks``.
"""

from . import extras, gradients, initializers, layers, update_rules, values
from .extras import *  # noqa: F403
from .gradients import *  # noqa: F403
from .initializers import *  # noqa: F403
from .layers import *  # noqa: F403
from .update_rules import *  # noqa: F403
from .values import *  # noqa: F403

__all__: list[str] = []
__all__ += values.__all__
__all__ += extras.__all__
__all__ += gradients.__all__
__all__ += layers.__all__
__all__ += update_rules.__all__
__all__ += initializers.__all__
