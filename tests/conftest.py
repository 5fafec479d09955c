"""Shared pytest fixtures: seeded generators, never the global numpy state."""

import numpy as np
import pytest
from hypothesis import settings

# Property tests run a bounded number of examples so `make test` stays fast and
# deterministic; `derandomize` makes a failure reproducible from a fresh clone.
settings.register_profile("gradkit", max_examples=40, deadline=None, derandomize=True)
settings.load_profile("gradkit")


@pytest.fixture
def rng():
    """A fresh seeded Generator per test."""
    return np.random.default_rng(20261122)
