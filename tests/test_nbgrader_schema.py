"""nbgrader's cell-metadata check with its schema checked once (gradkit.course.nbgrader_schema):
the same verdicts and the same errors as ``jsonschema.validate``, the schema's own check once."""

from __future__ import annotations

import copy

import jsonschema
import nbformat
import pytest
from nbformat.v4 import new_code_cell

from gradkit.course import nbgrader_schema
from gradkit.course.nbgrader_schema import check_schemas_once, validate

GOOD = {
    "grade": True,
    "grade_id": "test_affine",
    "locked": True,
    "points": 2,
    "schema_version": 3,
    "solution": False,
    "task": False,
}
BAD = [
    {**GOOD, "points": "two"},
    {k: v for k, v in GOOD.items() if k != "solution"},
    {**GOOD, "points": -1},
    {**GOOD, "locked": "yes", "grade": None},
    {**GOOD, "unexpected": 1},
    [],
]


@pytest.fixture
def schema():
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    return MetadataValidatorV3().schema


def _error(fn, *args):
    try:
        fn(*args)
    except jsonschema.exceptions.ValidationError as exc:
        return exc.message, list(exc.path), list(exc.schema_path)
    return None


def test_the_same_verdicts_and_errors_as_jsonschema(schema):
    assert _error(validate, GOOD, schema) is None
    for bad in BAD:
        expected = _error(jsonschema.validate, bad, schema)
        assert expected is not None, bad
        assert _error(validate, bad, schema) == expected


def test_a_schema_is_checked_once_and_a_bad_schema_every_time(schema, monkeypatch):
    checks = []
    kind = jsonschema.validators.validator_for(schema)
    original = kind.check_schema.__func__
    monkeypatch.setattr(nbgrader_schema, "_validators", {})
    counted = classmethod(lambda c, s: checks.append(1) or original(c, s))
    monkeypatch.setattr(kind, "check_schema", counted)
    for _ in range(5):
        validate(GOOD, copy.deepcopy(schema))  # a new dict of the same content: known
    assert len(checks) == 1
    broken = {**schema, "type": 12}
    for _ in range(2):
        with pytest.raises(jsonschema.exceptions.SchemaError):
            validate(GOOD, broken)
    assert len(checks) == 3


def test_nbgraders_check_uses_it_and_still_rejects_bad_metadata():
    from nbgrader.nbgraderformat import ValidationError as NbgraderValidationError
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    check_schemas_once()
    check_schemas_once()  # idempotent
    from nbgrader.nbgraderformat import common

    assert common.jsonschema.validate is validate
    nb = nbformat.v4.new_notebook()
    good = new_code_cell("x = 1", metadata={"nbgrader": dict(GOOD)})
    nb.cells = [good]
    MetadataValidatorV3().validate_nb(nb)
    nb.cells = [good, new_code_cell("y = 2", metadata={"nbgrader": {**GOOD, "points": "two"}})]
    with pytest.raises((NbgraderValidationError, jsonschema.exceptions.ValidationError)):
        MetadataValidatorV3().validate_nb(nb)
