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


# One marker per assignment: `pytest -m a01` runs its notebooks, specs and library tests.


def _assignment_markers():
    """(test file name -> assignment numbers) from the library's "Taught in" docstrings."""
    from pathlib import Path

    from gradkit.course.coursemap import taught_in, test_file

    root = Path(__file__).resolve().parents[1]
    by_file: dict[str, set[str]] = {}
    for module, numbers in taught_in(root).items():
        name = test_file(root, module)
        if name:
            by_file.setdefault(Path(name).name, set()).update(numbers)
    return by_file


def pytest_collection_modifyitems(config, items):
    import re
    from pathlib import Path

    from gradkit.grading import all_specs
    from gradkit.grading.spec import Spec

    specs = all_specs()
    by_file = _assignment_markers()
    for item in items:
        path = Path(str(item.fspath))
        numbers: set[str] = set()
        if "solutions" in path.parts and re.match(r"\d\d_", path.parent.name):
            numbers.add(path.parent.name[:2])
        numbers |= by_file.get(path.name, set())
        for value in getattr(getattr(item, "callspec", None), "params", {}).values():
            if isinstance(value, Spec) and value.assignment:
                numbers.add(value.assignment[:2])
            elif isinstance(value, str) and value in specs:
                numbers.add(specs[value].assignment[:2])
            elif isinstance(value, str) and re.match(r"\d\d_", value):
                numbers.add(value[:2])
        for number in numbers:
            item.add_marker(f"a{number}")


@pytest.fixture(scope="session", autouse=True)
def _outcome_cache_of_the_session(tmp_path_factory):
    """Graders the tests start keep their outcome cache in a folder of this session, never
    the user's (a GRADKIT_CACHE the caller set wins)."""
    import os

    if "GRADKIT_CACHE" in os.environ:
        yield
        return
    os.environ["GRADKIT_CACHE"] = str(tmp_path_factory.mktemp("outcome-cache"))
    try:
        yield
    finally:
        os.environ.pop("GRADKIT_CACHE", None)
