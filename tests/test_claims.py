"""gradkit.claims: a prose sentence about an output, checked by code."""

import numpy as np
import pytest

from gradkit.claims import ClaimError, claim


def test_a_true_comparison_passes_and_a_false_one_names_the_sentence():
    claim("L2 beats dropout here", 0.91 > 0.88)
    claim("numpy booleans count", np.float64(2.0) > 1)
    with pytest.raises(ClaimError, match='says "L2 beats dropout here", but that is false'):
        claim("L2 beats dropout here", 0.85 > 0.88)


def test_a_value_in_range_passes_and_one_outside_is_shown_with_the_range():
    claim("about 3.5 kappa steps", 3.46, between=(3, 4))
    claim("bounds are inclusive", 4.0, between=(3, 4))
    with pytest.raises(ClaimError, match=r"the value is 7\.2, not in \[3, 4\]"):
        claim("about 3.5 kappa steps", 7.2, between=(3, 4))


def test_every_seed_must_agree_and_the_first_outlier_is_named():
    claim("dead fraction near 28 %", [0.27, 0.29, 0.28], between=(0.25, 0.31))
    with pytest.raises(ClaimError, match=r"1 of 3 values are outside, the first 0\.4 \(entry 1\)"):
        claim("dead fraction near 28 %", np.array([0.27, 0.4, 0.28]), between=(0.25, 0.31))


def test_nan_is_never_in_range():
    with pytest.raises(ClaimError, match="nan"):
        claim("a finite loss", float("nan"), between=(0, 10))


@pytest.mark.parametrize(
    "args, kwargs, error",
    [
        (("", True), {}, TypeError),
        (("a claim", 0.5), {}, TypeError),  # a number needs between=
        (("a claim", 0.5), {"between": (2, 1)}, ValueError),
    ],
)
def test_misuse_is_a_clear_error(args, kwargs, error):
    with pytest.raises(error):
        claim(*args, **kwargs)
