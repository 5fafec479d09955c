"""Specs of assignment 03, part 3 (init_and_batchnorm.ipynb): weight and bias initialization.

Each weight initializer ``init(fan_in, fan_out, rng, ...) -> w (fan_in, fan_out)`` is judged
statistically (shape, dtype, mean, std and share of zeros of 10^4–10^5 draws against the
reference's own draws), for being reproducible from its ``rng`` and for ignoring numpy's
global random state (:func:`gradkit.grading.kinds.initializer_spec`). Fans are chosen unequal,
so using the wrong one always changes the spread by far more than the statistical tolerance.
"""

from __future__ import annotations

import numpy as np

from ... import init
from ..callee import Call
from ..checks import Custom, HiddenCases, Outputs, Statistics
from ..engine import STUDENT, Context
from ..kinds import Hidden, initializer_spec
from ..spec import Case, Mistake, Rng, Spec, inputs

ASSIGNMENT = "03_data_and_init"


def _fans(fan_in: int, fan_out: int, seed: int, **kwargs: float | str | int):
    label = ", ".join(
        [f"fan_in {fan_in}, fan_out {fan_out}", *(f"{k}={v}" for k, v in kwargs.items())]
    )
    return Case(label, lambda rng: inputs(fan_in, fan_out, Rng(seed), **kwargs))


def _hidden_fans(**kwargs: float | str | int):
    """Fans of 200–300 and 2–3 times that, in either order: 8·10^4 to 2.7·10^5 draws (the
    std of their std is < 0.3 %, far inside the 3 % tolerance; more draws would only cost
    time), and a wrong fan changes the spread by a factor of √2 or more (+41 % or −29 %)."""

    def make(rng):
        a = int(rng.integers(200, 300))
        b = int(rng.integers(2 * a, 3 * a))
        fan_in, fan_out = (a, b) if rng.random() < 0.5 else (b, a)
        return inputs(fan_in, fan_out, Rng(int(rng.integers(2**31))), **kwargs)

    return make


def _hidden_sparse(rng):
    """At least 4·10^4 nonzeros (their std is known to < 0.4 %) in 250–400 columns, since a
    student's initializer may draw column by column: num_nonzero 160–250, fan_in 3–4 times
    that. num_nonzero < fan_out, so nonzeros counted per row instead of per column leave at
    most 60 % zeros where there should be at least 2/3."""
    fan_out, k = int(rng.integers(250, 400)), int(rng.integers(160, 250))
    fan_in, scale = int(rng.integers(3 * k, 4 * k)), float(rng.uniform(0.1, 2))
    return inputs(fan_in, fan_out, Rng(int(rng.integers(2**31))), num_nonzero=k, scale=scale)


def _small(seed: int, **kwargs: float | str | int) -> Case:
    """The reproducibility check's case: it compares draws value by value, no statistics."""
    return _fans(40, 30, seed, **kwargs)


def _with_hidden(spec: Spec, make) -> Spec:
    spec.checks = [*spec.checks, Hidden(lambda case: Statistics(case), make)]
    return spec


def _gauss(fan_in, fan_out, rng, std):
    return std * np.random.default_rng(rng).standard_normal((fan_in, fan_out))


# --- mistakes ----------------------------------------------------------------------------


def _zeros_transposed(fan_in, fan_out, rng=None):
    return np.zeros((fan_out, fan_in))


def _small_scale_as_variance(fan_in, fan_out, rng, scale=0.01):
    return _gauss(fan_in, fan_out, rng, np.sqrt(scale))


def _calibrated_no_sqrt(fan_in, fan_out, rng):
    return _gauss(fan_in, fan_out, rng, 1.0 / fan_in)


def _calibrated_fan_out(fan_in, fan_out, rng):
    return _gauss(fan_in, fan_out, rng, 1.0 / np.sqrt(fan_out))


def _xavier_wrong_fan(fan_in, fan_out, rng, mode="avg"):
    var = 2.0 / (fan_in + fan_out) if mode == "avg" else 1.0 / fan_out
    return _gauss(fan_in, fan_out, rng, np.sqrt(var))


def _xavier_no_two(fan_in, fan_out, rng, mode="avg"):
    var = 1.0 / (fan_in + fan_out) if mode == "avg" else 1.0 / fan_in
    return _gauss(fan_in, fan_out, rng, np.sqrt(var))


def _he_no_two(fan_in, fan_out, rng):
    return _gauss(fan_in, fan_out, rng, np.sqrt(1.0 / fan_in))


def _he_fan_out(fan_in, fan_out, rng):
    return _gauss(fan_in, fan_out, rng, np.sqrt(2.0 / fan_out))


def _sparse_per_row(fan_in, fan_out, rng, num_nonzero=None, scale=0.01):
    k = min(10, fan_out) if num_nonzero is None else min(num_nonzero, fan_out)
    return init.sparse_init(fan_out, fan_in, rng, k, scale).T.copy()  # k per input, not per unit


def _sparse_dense(fan_in, fan_out, rng, num_nonzero=None, scale=0.01):
    return _gauss(fan_in, fan_out, rng, scale)


def _bias_ignores_value(n, value=0.0):
    return np.zeros(n)


# --- specs -------------------------------------------------------------------------------

zeros_init = _with_hidden(
    initializer_spec(
        "zeros_init",
        init.zeros_init,
        [_fans(300, 200, 1)],
        mistakes=[
            Mistake(
                "transposed",
                "your weights have shape (fan_out, fan_in), not (fan_in, fan_out)",
                _zeros_transposed,
            )
        ],
        random=False,
        title="all-zero weights",
        reproducible=_small(101),
    ),
    _hidden_fans(),
)

small_random_init = _with_hidden(
    initializer_spec(
        "small_random_init",
        init.small_random_init,
        [_fans(400, 250, 2), _fans(400, 150, 3, scale=0.1)],
        mistakes=[
            Mistake(
                "scale_as_variance",
                "your weights have standard deviation √scale: scale is the standard deviation",
                _small_scale_as_variance,
            )
        ],
        title="small random weights, scale·N(0, 1)",
        reproducible=_small(102),
    ),
    _hidden_fans(),
)

calibrated_init = _with_hidden(
    initializer_spec(
        "calibrated_init",
        init.calibrated_init,
        [_fans(500, 200, 4), _fans(200, 400, 5)],
        mistakes=[
            Mistake(
                "no_sqrt",
                "your weights have standard deviation 1/fan_in: the square root is missing",
                _calibrated_no_sqrt,
            ),
            Mistake(
                "fan_out",
                "your weights have Var(w) = 1/fan_out: the wrong fan",
                _calibrated_fan_out,
            ),
        ],
        title="calibrated weights, Var(w) = 1/fan_in",
        reproducible=_small(104),
    ),
    _hidden_fans(),
)

xavier_init = _with_hidden(
    initializer_spec(
        "xavier_init",
        init.xavier_init,
        [_fans(500, 200, 6), _fans(500, 200, 7, mode="in"), _fans(150, 600, 8, mode="in")],
        mistakes=[
            Mistake(
                "wrong_fan",
                "with mode='in' your weights have Var(w) = 1/fan_out: the wrong fan",
                _xavier_wrong_fan,
            ),
            Mistake(
                "no_two",
                "with mode='avg' your weights have Var(w) = 1/(fan_in + fan_out): the factor 2 is "
                "missing",
                _xavier_no_two,
            ),
        ],
        title="Xavier/Glorot weights, both forms",
        reproducible=_small(106),
    ),
    _hidden_fans(mode="in"),
)

he_init = _with_hidden(
    initializer_spec(
        "he_init",
        init.he_init,
        [_fans(500, 200, 9), _fans(200, 450, 10)],
        mistakes=[
            Mistake(
                "no_two",
                "your weights have Var(w) = 1/fan_in: the factor 2 that makes up for ReLU is "
                "missing",
                _he_no_two,
            ),
            Mistake("fan_out", "your weights have Var(w) = 2/fan_out: the wrong fan", _he_fan_out),
        ],
        title="He weights for ReLU, Var(w) = 2/fan_in",
        reproducible=_small(109),
    ),
    _hidden_fans(),
)


def _columns_have_k_nonzeros(ctx: Context) -> tuple[bool, str, str, str]:
    """Every column (one unit's incoming weights) holds exactly num_nonzero nonzeros."""
    case = inputs(50, 30, Rng(12), num_nonzero=5, scale=1.0)
    outcome = ctx.run(STUDENT, [("sparse|columns", Call("sparse_init", case, return_args=False))])[
        0
    ]
    if not outcome.ok:
        return False, f"your function {outcome.error}", "", ""
    w = outcome.value
    if not isinstance(w, np.ndarray) or w.shape != (50, 30):
        return False, "expected an array of shape (50, 30)", "", ""
    counts = np.count_nonzero(w, axis=0)
    if np.all(counts == 5):
        return True, "", "", ""
    return False, f"columns hold between {counts.min()} and {counts.max()} nonzeros", "", ""


sparse_init = _with_hidden(
    initializer_spec(
        "sparse_init",
        init.sparse_init,
        [_fans(100, 5000, 11), _fans(200, 2000, 12, num_nonzero=50, scale=1.0)],
        mistakes=[
            Mistake(
                "per_row",
                "your nonzeros are counted per row (per input) instead of per column (per unit)",
                _sparse_per_row,
            ),
            Mistake("dense", "your weights are dense: no entry is set to 0", _sparse_dense),
        ],
        title="sparse weights, num_nonzero inputs per unit",
        reproducible=_small(111),
    ),
    _hidden_sparse,
)
sparse_init.checks = [
    *sparse_init.checks,
    Custom(
        "each unit (column) has exactly num_nonzero nonzero weights (fan_in 50, num_nonzero=5)",
        _columns_have_k_nonzeros,
        hint="choose the rows of each column without replacement (rng.choice(..., replace=False))",
    ),
]


def _bias_case(n: int, value: float | None):
    return lambda rng: inputs(n) if value is None else inputs(n, value)


def _hidden_bias(rng):
    return inputs(int(rng.integers(1, 50)), float(rng.choice([-1, 1]) * rng.uniform(0.01, 1)))


bias_init = Spec(
    name="bias_init",
    functions={"bias_init": init.bias_init},
    checks=[
        Outputs(
            [Case("n=5, default value", _bias_case(5, None))], name="b matches (default value 0)"
        ),
        Outputs(
            [
                Case("n=4, value=0.01", _bias_case(4, 0.01)),
                Case("n=3, value=-0.5", _bias_case(3, -0.5)),
            ],
            weight=2.0,
            name="b matches the reference for a given value ({n} cases)",
        ),
        HiddenCases(_hidden_bias),
    ],
    mistakes=[
        Mistake("ignores_value", "your biases are 0 whatever value is passed", _bias_ignores_value)
    ],
    title="constant bias",
)

SPECS = [
    zeros_init,
    small_random_init,
    calibrated_init,
    xavier_init,
    he_init,
    sparse_init,
    bias_init,
]
