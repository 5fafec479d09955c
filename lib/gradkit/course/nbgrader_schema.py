"""nbgrader's check of cell metadata, with nbgrader's own schema checked once per process.

nbgrader checks the ``nbgrader`` metadata of every cell it reads (when it sanitizes a
submission, several times per notebook) with ``jsonschema.validate(metadata, schema)``.
That function first checks the *schema* against JSON Schema's meta-schema, every time:
0.54 of its 0.58 ms per cell go to re-checking nbgrader's constant schema file, about
0.04 CPU s of every notebook the grader sanitizes (measured in the note of issue 20).

:func:`check_schemas_once` gives nbgrader's metadata module a ``validate`` that does what
``jsonschema.validate`` does (the same validator class, the same check of the schema,
the same best-matching error) but checks each schema once per process, keyed by its
content: a schema that fails its check fails it at every call, as before.
"""

from __future__ import annotations

import json
import threading
import types
from typing import Any

__all__ = ["check_schemas_once", "validate"]

_lock = threading.Lock()
_validators: dict[str, Any] = {}


def validate(instance: Any, schema: dict, cls: Any = None, *args: Any, **kwargs: Any) -> None:
    """``jsonschema.validate``, with the schema's own check done once per schema."""
    from jsonschema import exceptions, validators

    if args or kwargs:  # not how nbgrader calls it: left to jsonschema as it is
        validators.validate(instance, schema, cls, *args, **kwargs)
        return
    key = json.dumps(schema, sort_keys=True, default=repr)
    with _lock:
        known = _validators.get(key)
    if known is None or (cls is not None and type(known) is not cls):
        kind = cls if cls is not None else validators.validator_for(schema)
        kind.check_schema(schema)  # raises SchemaError; nothing is kept then
        known = kind(schema)
        with _lock:
            _validators[key] = known
    error = exceptions.best_match(known.iter_errors(instance))
    if error is not None:
        raise error


def check_schemas_once() -> None:
    """Make nbgrader's cell-metadata check use :func:`validate` (idempotent)."""
    from nbgrader.nbgraderformat import common

    if getattr(common.jsonschema, "validate", None) is not validate:
        common.jsonschema = types.SimpleNamespace(validate=validate)
