"""What a check says of a graded function that is not defined (course/undefined_names.py)."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell

from gradkit.course.undefined_names import explain_undefined
from gradkit.grading.result import CheckResult, TestResult

MISSING = "is not defined; run the cell that defines {}"


def _result(*details: str) -> TestResult:
    checks = [CheckResult(f"check {k}", False, 1.0, detail=d) for k, d in enumerate(details)]
    return TestResult(test="t", points=1.0, checks=checks)


def test_a_name_only_a_demo_cell_defines_is_said_to_be_skipped():
    cells = [
        new_markdown_cell("# demo"),
        new_code_cell("def helper(x):\n    return x", metadata={"tags": ["demo"]}),
    ]
    result = _result("your function raised NameError: name 'helper' is not defined")
    explain_undefined(result, cells, "demo", {})
    assert result.checks[0].detail == (
        "your function raised NameError: name 'helper' is not defined (helper is defined "
        "only in a demo cell, which grading skips: define what your function needs in its "
        "own cell)"
    )


def test_the_failure_of_the_defining_cell_is_given_and_the_last_definition_counts():
    cells = [
        new_code_cell("def f(x):\n    return x"),
        new_code_cell("def g(x)\n    return x"),
        new_code_cell("import nothing_here\ndef f(x):\n    return 2 * x"),
    ]
    errors = {1: ("SyntaxError", "expected ':'"), 2: ("ModuleNotFoundError", "No module")}
    result = _result(MISSING.format("f"), MISSING.format("g"), "a value differs")
    explain_undefined(result, cells, "demo", errors)
    details = [c.detail for c in result.checks]
    assert details == [
        "f is not defined: the cell that defines it raised ModuleNotFoundError (No module)",
        "g is not defined: the cell that defines it has a SyntaxError at line 1 (expected "
        "':'), so none of it ran",
        "a value differs",
    ]


def test_a_defining_cell_that_ran_without_error_adds_nothing():
    cells = [new_code_cell("def f(x):\n    return x")]
    result = _result(MISSING.format("f"))
    explain_undefined(result, cells, "demo", {})
    assert result.checks[0].detail == MISSING.format("f")
