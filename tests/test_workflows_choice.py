"""The Choice state: every comparison operator, And/Or/Not, Default, and its definition checks."""

from __future__ import annotations

from typing import Any

import pytest

from faaslib.workflows._choice import check_choice_state, choice_targets, choose
from faaslib.workflows._failure import NO_CHOICE_MATCHED, RUNTIME, Problem, StatesFailure

SCHEMA = "SCHEMA_VALIDATION_FAILED"
HERE = "/States/Check"
CONTEXT = {"Execution": {"Name": "run-1"}, "State": {"Name": "Check"}}


def state_of(rule: dict[str, Any], default: str | None = "No") -> dict[str, Any]:
    state: dict[str, Any] = {"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}]}
    if default is not None:
        state["Default"] = default
    return state


def holds(rule: dict[str, Any], data: Any) -> bool:
    """Whether ``rule`` (checked clean first) holds for ``data``."""
    state = state_of(rule)
    assert check_choice_state(state, HERE) == []
    return choose(state, data, CONTEXT) == "Yes"


def compare(operator: str, operand: Any, value: Any) -> bool:
    return holds({"Variable": "$.v", operator: operand}, {"v": value})


# -- literal comparisons ----------------------------------------------------------------------

STRING_CASES = [
    ("StringEquals", "MyString", "MyString", True),
    ("StringEquals", "MyString", "mystring", False),
    ("StringEquals", "", "", True),
    ("StringLessThan", "b", "a", True),
    ("StringLessThan", "b", "b", False),
    ("StringLessThan", "b", "c", False),
    ("StringLessThan", "a", "Z", True),  # case-sensitive: 'Z' (0x5A) sorts before 'a'
    ("StringLessThan", "abc", "ab", True),  # a prefix sorts first
    # Java's compareTo compares UTF-16 code units: a surrogate pair (0xD83D...) sorts before
    # U+FFFF, although its code point is greater.
    ("StringLessThan", "\uffff", "\U0001f600", True),
    ("StringGreaterThan", "MyStringABC", "MyStringABD", True),
    ("StringGreaterThan", "MyStringABC", "MyStringABC", False),
    ("StringGreaterThan", "\U0001f600", "\uffff", True),
    ("StringLessThanEquals", "b", "b", True),
    ("StringLessThanEquals", "b", "a", True),
    ("StringLessThanEquals", "b", "c", False),
    ("StringGreaterThanEquals", "b", "b", True),
    ("StringGreaterThanEquals", "b", "c", True),
    ("StringGreaterThanEquals", "b", "a", False),
]

NUMERIC_CASES = [
    ("NumericEquals", 1, 1, True),
    ("NumericEquals", 1, 1.0, True),  # by value, int or float
    ("NumericEquals", 1.0, 1, True),
    ("NumericEquals", 0, 0.0, True),
    ("NumericEquals", 1, 2, False),
    ("NumericEquals", 0.1, 0.1, True),
    ("NumericLessThan", 30, 29.99, True),
    ("NumericLessThan", 30, 30, False),
    ("NumericLessThan", 30, 31, False),
    ("NumericLessThan", 0, -1, True),
    ("NumericGreaterThan", 2, 3, True),
    ("NumericGreaterThan", 2, 2.0, False),
    ("NumericLessThanEquals", 3, 3.0, True),
    ("NumericLessThanEquals", 3, 3.5, False),
    ("NumericGreaterThanEquals", 20, 20, True),
    ("NumericGreaterThanEquals", 20, 19, False),
    ("NumericGreaterThanEquals", 20, 10**30, True),
]

BOOLEAN_CASES = [
    ("BooleanEquals", True, True, True),
    ("BooleanEquals", False, False, True),
    ("BooleanEquals", True, False, False),
    ("BooleanEquals", False, True, False),
]

T0 = "2012-10-09T19:00:55Z"
T1 = "2012-10-09T19:00:56Z"
TIMESTAMP_CASES = [
    ("TimestampEquals", "2001-01-01T12:00:00Z", "2001-01-01T12:00:00Z", True),
    ("TimestampEquals", T0, T1, False),
    # the same instant written with an offset, with fractional zeros
    ("TimestampEquals", "2001-01-01T12:00:00Z", "2001-01-01T13:00:00+01:00", True),
    ("TimestampEquals", "2001-01-01T12:00:00Z", "2001-01-01T07:30:00-04:30", True),
    ("TimestampEquals", "2001-01-01T12:00:00Z", "2001-01-01T12:00:00.000Z", True),
    ("TimestampEquals", "2001-01-01T12:00:00Z", "2001-01-01T12:00:00.5Z", False),
    ("TimestampLessThan", T1, T0, True),
    ("TimestampLessThan", T0, T0, False),
    ("TimestampLessThan", T0, T1, False),
    # an offset moves the instant: 20:00+01:00 is 19:00Z
    ("TimestampLessThan", T0, "2012-10-09T20:00:00+01:00", True),
    # a fraction below a microsecond still counts
    ("TimestampLessThan", "2012-10-09T19:00:55.0000001Z", T0, True),
    ("TimestampGreaterThan", T0, T1, True),
    ("TimestampGreaterThan", T0, T0, False),
    ("TimestampGreaterThan", T1, T0, False),
    ("TimestampGreaterThan", "2012-10-09T19:00:55.0000001Z", "2012-10-09T19:00:55.0000002Z", True),
    ("TimestampLessThanEquals", T0, T0, True),
    ("TimestampLessThanEquals", T1, T0, True),
    ("TimestampLessThanEquals", T0, T1, False),
    ("TimestampGreaterThanEquals", T0, T0, True),
    ("TimestampGreaterThanEquals", T0, T1, True),
    ("TimestampGreaterThanEquals", T1, T0, False),
]


@pytest.mark.parametrize(
    ("operator", "operand", "value", "expected"),
    [*STRING_CASES, *NUMERIC_CASES, *BOOLEAN_CASES, *TIMESTAMP_CASES],
)
def test_a_comparison_with_a_literal(
    operator: str, operand: Any, value: Any, expected: bool
) -> None:
    assert compare(operator, operand, value) is expected


@pytest.mark.parametrize(
    ("operator", "operand", "value", "expected"),
    [*STRING_CASES, *NUMERIC_CASES, *BOOLEAN_CASES, *TIMESTAMP_CASES],
)
def test_a_path_comparison_reads_its_operand_from_the_input(
    operator: str, operand: Any, value: Any, expected: bool
) -> None:
    rule = {"Variable": "$.v", f"{operator}Path": "$.limits.other"}
    assert holds(rule, {"v": value, "limits": {"other": operand}}) is expected


TYPE_MISMATCHES = [
    ("StringEquals", "1", 1),
    ("StringEquals", "true", True),
    ("StringEquals", "", None),
    ("StringLessThan", "b", 0),
    ("StringGreaterThan", "a", ["b"]),
    ("StringLessThanEquals", "b", {"a": 1}),
    ("StringGreaterThanEquals", "a", False),
    ("StringMatches", "*", 12),
    ("NumericEquals", 1, "1"),
    ("NumericEquals", 1, True),  # a boolean is never a number
    ("NumericEquals", 0, False),
    ("NumericLessThan", 5, None),
    ("NumericGreaterThan", 0, True),
    ("NumericLessThanEquals", 5, [1]),
    ("NumericGreaterThanEquals", 0, "10"),
    ("BooleanEquals", True, 1),
    ("BooleanEquals", False, 0),
    ("BooleanEquals", True, "true"),
    ("BooleanEquals", False, None),
    ("TimestampEquals", T0, 0),
    ("TimestampEquals", T0, None),
    ("TimestampEquals", T0, "2012-10-09T19:00:55"),  # no offset: not a timestamp
    ("TimestampEquals", T0, "2012-10-09t19:00:55z"),  # lowercase t and z
    ("TimestampEquals", T0, "2012-10-09 19:00:55Z"),  # a space for the T
    ("TimestampEquals", T0, "2012-10-09"),
    ("TimestampLessThan", T1, "2012-02-30T00:00:00Z"),  # no such day
    ("TimestampGreaterThan", T0, "2023-02-24 12:15:56.832957"),
    ("TimestampLessThanEquals", T0, ["2012-10-09T19:00:55Z"]),
    ("TimestampGreaterThanEquals", T0, True),
]


@pytest.mark.parametrize(("operator", "operand", "value"), TYPE_MISMATCHES)
def test_values_of_another_type_compare_false(operator: str, operand: Any, value: Any) -> None:
    assert compare(operator, operand, value) is False
    assert holds({"Not": {"Variable": "$.v", operator: operand}}, {"v": value}) is True


def test_a_path_operand_of_another_type_compares_false() -> None:
    data = {"v": 1, "s": "1", "b": True, "t": T0}
    assert holds({"Variable": "$.v", "NumericEqualsPath": "$.s"}, data) is False
    assert holds({"Variable": "$.v", "NumericEqualsPath": "$.b"}, data) is False
    assert holds({"Variable": "$.s", "StringEqualsPath": "$.v"}, data) is False
    assert holds({"Variable": "$.b", "BooleanEqualsPath": "$.v"}, data) is False
    assert holds({"Variable": "$.t", "TimestampEqualsPath": "$.s"}, data) is False
    assert holds({"Variable": "$.t", "StringEqualsPath": "$.t"}, data) is True


def test_a_timestamp_is_also_a_string() -> None:
    assert compare("StringEquals", T0, T0) is True
    # as strings these two differ; as instants they are equal
    other = "2012-10-09T20:00:55+01:00"
    assert compare("StringEquals", T0, other) is False
    assert compare("TimestampEquals", T0, other) is True


# -- StringMatches ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        # the specification's examples
        ("foo*.log", "foo23.log", True),
        ("*.log", "zebra.log", True),
        ("foo*.*", "foobar.zebra", True),
        # AWS's example
        ("log-*.txt", "log-2024-01-01.txt", True),
        ("log-*.txt", "log-.txt", True),  # * matches zero characters
        ("log-*.txt", "log-1.txt.gz", False),
        ("log-*.txt", "xlog-1.txt", False),
        ("*", "", True),
        ("**", "anything at all", True),
        ("a*b*c", "a-b-c", True),
        ("a*b*c", "a-c-b", False),
        ("a*", "a\nb", True),  # * spans newlines
        ("exact", "exact", True),
        ("exact", "exactly", False),
        ("Exact", "exact", False),
        # only * is special: no ?, [...], or regex syntax
        ("a?c", "abc", False),
        ("a?c", "a?c", True),
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
        ("a.c", "abc", False),
        ("(x|y)+", "(x|y)+", True),
        # \* is a literal star, \\ a literal backslash
        ("a\\*b", "a*b", True),
        ("a\\*b", "axb", False),
        ("\\**", "*star", True),
        ("\\**", "star", False),
        ("a\\\\b", "a\\b", True),
        ("a\\\\*", "a\\anything", True),
        ("a\\\\*", "a*", False),
    ],
)
def test_string_matches(pattern: str, value: str, expected: bool) -> None:
    assert compare("StringMatches", pattern, value) is expected


def test_string_matches_with_an_open_escape_fails_at_run_time() -> None:
    state = state_of({"Variable": "$.v", "StringMatches": "abc\\"})
    assert check_choice_state(state, HERE) == []  # the specification: a runtime error
    with pytest.raises(StatesFailure) as caught:
        choose(state, {"v": "abc"}, CONTEXT)
    assert caught.value.error == RUNTIME
    assert "open escape" in caught.value.cause


# -- the type tests ---------------------------------------------------------------------------

VALUES: dict[str, Any] = {
    "null": None,
    "zero": 0,
    "float": 1.5,
    "string": "HelloWorld",
    "empty": "",
    "timestamp": "2016-03-14T01:59:00Z",
    "offset_timestamp": "2016-03-14T01:59:00.123+05:30",
    "naive": "2016-03-14T01:59:00",
    "date": "2016-03-14",
    "true": True,
    "false": False,
    "list": [],
    "object": {},
}
TRUE_FOR = {
    "IsNull": {"null"},
    "IsNumeric": {"zero", "float"},
    "IsString": {"string", "empty", "timestamp", "offset_timestamp", "naive", "date"},
    "IsBoolean": {"true", "false"},
    "IsTimestamp": {"timestamp", "offset_timestamp"},
    "IsPresent": set(VALUES),
}


@pytest.mark.parametrize("operator", sorted(TRUE_FOR))
@pytest.mark.parametrize("name", sorted(VALUES))
def test_a_type_test_with_true_and_with_false(operator: str, name: str) -> None:
    expected = name in TRUE_FOR[operator]
    assert compare(operator, True, VALUES[name]) is expected
    assert compare(operator, False, VALUES[name]) is not expected


def test_is_present_on_a_missing_path() -> None:
    data = {"present": None, "list": [1]}
    assert holds({"Variable": "$.absent", "IsPresent": True}, data) is False
    assert holds({"Variable": "$.absent", "IsPresent": False}, data) is True
    assert holds({"Variable": "$.absent.deeper", "IsPresent": True}, data) is False
    assert holds({"Variable": "$.present", "IsPresent": True}, data) is True  # a null is present
    assert holds({"Variable": "$.list[0]", "IsPresent": True}, data) is True
    assert holds({"Variable": "$.list[3]", "IsPresent": True}, data) is False
    assert holds({"Not": {"Variable": "$.absent", "IsPresent": True}}, data) is True
    assert holds({"Variable": "$$.Execution.Name", "IsPresent": True}, {}) is True
    assert holds({"Variable": "$$.Map.Item.Value", "IsPresent": True}, {}) is False


def test_is_present_guards_a_comparison_in_an_and() -> None:
    rule = {
        "And": [
            {"Variable": "$.keyThatMightNotExist", "IsPresent": True},
            {"Variable": "$.keyThatMightNotExist", "StringEquals": "foo"},
        ]
    }
    assert holds(rule, {}) is False  # And stops at the first false: no error
    assert holds(rule, {"keyThatMightNotExist": "foo"}) is True
    either = {
        "Or": [
            {"Variable": "$.maybe", "IsPresent": False},
            {"Variable": "$.maybe", "NumericGreaterThan": 10},
        ]
    }
    assert holds(either, {}) is True  # Or stops at the first true
    assert holds(either, {"maybe": 11}) is True
    assert holds(either, {"maybe": 9}) is False


# -- paths that select nothing ----------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.type", "StringEquals": "Private"},
        {"Variable": "$.type", "IsNull": True},
        {"Variable": "$.type", "IsString": False},
        {"Not": {"Variable": "$.type", "NumericEquals": 0}},
        {
            "And": [
                {"Variable": "$.value", "IsPresent": True},
                {"Variable": "$.type", "IsNull": False},
            ]
        },
    ],
)
def test_a_variable_that_selects_nothing_is_a_runtime_error(rule: dict[str, Any]) -> None:
    state = state_of(rule)
    with pytest.raises(StatesFailure) as caught:
        choose(state, {"value": 22}, CONTEXT)
    assert caught.value.error == RUNTIME
    assert "'$.type'" in caught.value.cause
    assert "The choice state's condition path references an invalid value" in caught.value.cause


def test_a_path_operand_that_selects_nothing_is_a_runtime_error() -> None:
    state = state_of({"Variable": "$.rating", "NumericGreaterThanPath": "$.auditThreshold"})
    with pytest.raises(StatesFailure) as caught:
        choose(state, {"rating": 5}, CONTEXT)
    assert caught.value.error == RUNTIME
    assert "'$.auditThreshold'" in caught.value.cause


def test_variables_read_the_context_object_and_nested_fields() -> None:
    assert holds({"Variable": "$$.Execution.Name", "StringEquals": "run-1"}, {}) is True
    assert holds({"Variable": "$$.State.Name", "StringMatches": "Ch*"}, {}) is True
    rule = {"Variable": "$.order.items[1].qty", "NumericGreaterThanPath": "$$.Limits.Max"}
    state = state_of(rule)
    data = {"order": {"items": [{"qty": 1}, {"qty": 7}]}}
    assert choose(state, data, {"Limits": {"Max": 5}}) == "Yes"
    assert choose(state, data, {"Limits": {"Max": 7}}) == "No"
    assert holds({"Variable": "$", "IsString": True}, "whole input") is True


# -- And, Or, Not, rule order, Default --------------------------------------------------------

AWS_EXAMPLE = {
    "Type": "Choice",
    "Choices": [
        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
        {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
        {
            "And": [
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Variable": "$.value", "NumericLessThan": 30},
            ],
            "Next": "ValueInTwenties",
        },
    ],
    "Default": "DefaultState",
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"type": "Private", "value": 22}, "ValueInTwenties"),  # the developer guide's input
        ({"type": "Public", "value": 22}, "Public"),
        ({"type": "Private", "value": 0}, "ValueIsZero"),
        ({"type": "Private", "value": 0.0}, "ValueIsZero"),
        ({"type": "Private", "value": 30}, "DefaultState"),
        ({"type": "Private", "value": 19.5}, "DefaultState"),
        ({"type": "Private", "value": "22"}, "DefaultState"),
    ],
)
def test_the_developer_guides_choice_state(data: dict[str, Any], expected: str) -> None:
    assert check_choice_state(AWS_EXAMPLE, "/States/ChoiceStateX") == []
    assert choose(AWS_EXAMPLE, data, CONTEXT) == expected


SPEC_EXAMPLE = {
    "Type": "Choice",
    "Choices": [
        {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
        {
            "And": [
                {"Variable": "$.value", "IsPresent": True},
                {"Variable": "$.value", "IsNumeric": True},
                {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                {"Variable": "$.value", "NumericLessThan": 30},
            ],
            "Next": "ValueInTwenties",
        },
        {
            "Variable": "$.rating",
            "NumericGreaterThanPath": "$.auditThreshold",
            "Next": "StartAudit",
        },
    ],
    "Default": "RecordEvent",
}


def test_the_specifications_choice_state() -> None:
    assert check_choice_state(SPEC_EXAMPLE, "/States/DispatchEvent") == []
    assert choose(SPEC_EXAMPLE, {"type": "Private", "value": 22}, CONTEXT) == "ValueInTwenties"
    audit = {"type": "Private", "value": "n/a", "rating": 9, "auditThreshold": 8}
    assert choose(SPEC_EXAMPLE, audit, CONTEXT) == "StartAudit"
    calm = {"type": "Private", "rating": 7, "auditThreshold": 8}
    assert choose(SPEC_EXAMPLE, calm, CONTEXT) == "RecordEvent"


def test_nested_and_or_not() -> None:
    # (a > 10 and (b == "x" or not c)) or not (d is present)
    rule = {
        "Or": [
            {
                "And": [
                    {"Variable": "$.a", "NumericGreaterThan": 10},
                    {
                        "Or": [
                            {"Variable": "$.b", "StringEquals": "x"},
                            {"Not": {"Variable": "$.c", "BooleanEquals": True}},
                        ]
                    },
                ]
            },
            {"Not": {"Variable": "$.d", "IsPresent": True}},
        ]
    }
    base = {"a": 11, "b": "y", "c": True, "d": 1}
    assert holds(rule, base) is False
    assert holds(rule, {**base, "b": "x"}) is True
    assert holds(rule, {**base, "c": False}) is True
    assert holds(rule, {**base, "a": 10, "b": "x"}) is False
    assert holds(rule, {"a": 0, "b": "y", "c": True}) is True  # no d
    assert holds({"Not": {"Not": {"Variable": "$.a", "NumericEquals": 11}}}, base) is True
    single = {"And": [{"Variable": "$.a", "NumericEquals": 11}]}
    assert holds(single, base) is True
    assert holds({"Or": [{"Variable": "$.a", "NumericEquals": 12}]}, base) is False


def test_the_first_matching_rule_wins() -> None:
    state = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 100, "Next": "Huge"},
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Small"},
        ],
        "Default": "Tiny",
    }
    assert [choose(state, {"n": n}, CONTEXT) for n in (500, 50, 5, 0)] == [
        "Huge",
        "Big",
        "Small",
        "Tiny",
    ]


def test_no_match_and_no_default_is_states_no_choice_matched() -> None:
    state = state_of({"Variable": "$.v", "StringEquals": "a"}, default=None)
    assert choose(state, {"v": "a"}, CONTEXT) == "Yes"
    with pytest.raises(StatesFailure) as caught:
        choose(state, {"v": "b"}, CONTEXT)
    assert caught.value.error == NO_CHOICE_MATCHED == "States.NoChoiceMatched"
    assert "Default" in caught.value.cause


def test_choose_leaves_the_input_alone() -> None:
    data = {"v": [1, 2], "w": {"x": "y"}}
    snapshot = {"v": [1, 2], "w": {"x": "y"}}
    choose(state_of({"Variable": "$.w.x", "StringEquals": "y"}), data, CONTEXT)
    assert data == snapshot


# -- the targets ------------------------------------------------------------------------------


def test_choice_targets_are_each_rules_next_and_the_default() -> None:
    assert choice_targets(AWS_EXAMPLE, "/States/ChoiceStateX") == [
        ("Public", "/States/ChoiceStateX/Choices/0/Next"),
        ("ValueIsZero", "/States/ChoiceStateX/Choices/1/Next"),
        ("ValueInTwenties", "/States/ChoiceStateX/Choices/2/Next"),
        ("DefaultState", "/States/ChoiceStateX/Default"),
    ]
    no_default = state_of({"Variable": "$.v", "IsNull": True}, default=None)
    assert choice_targets(no_default, HERE) == [("Yes", f"{HERE}/Choices/0/Next")]


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Choice"},
        {"Type": "Choice", "Choices": "nope", "Default": 3},
        {"Type": "Choice", "Choices": [], "Default": None},
        {"Type": "Choice", "Choices": [1, "x", None, {"Next": 2}, {"Variable": "$.a"}]},
    ],
)
def test_choice_targets_of_a_broken_state_are_what_can_be_read(state: dict[str, Any]) -> None:
    assert choice_targets(state, HERE) == []


# -- the definition checks --------------------------------------------------------------------

COMPARISONS = {
    "StringEquals": "a",
    "StringLessThan": "a",
    "StringGreaterThan": "a",
    "StringLessThanEquals": "a",
    "StringGreaterThanEquals": "a",
    "StringMatches": "a*",
    "NumericEquals": 1,
    "NumericLessThan": 1.5,
    "NumericGreaterThan": -1,
    "NumericLessThanEquals": 0,
    "NumericGreaterThanEquals": 10**20,
    "BooleanEquals": False,
    "TimestampEquals": T0,
    "TimestampLessThan": "2016-03-14T01:59:00.5+01:00",
    "TimestampGreaterThan": T0,
    "TimestampLessThanEquals": T0,
    "TimestampGreaterThanEquals": T0,
}
PATH_COMPARISONS = [name + "Path" for name in COMPARISONS if name != "StringMatches"]
TYPE_TESTS = ["IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"]


@pytest.mark.parametrize(
    ("operator", "operand"),
    [
        *COMPARISONS.items(),
        *((name, "$.other") for name in PATH_COMPARISONS),
        *((name, "$$.Execution.Input.x") for name in PATH_COMPARISONS[:3]),
        *((name, False) for name in TYPE_TESTS),
    ],
)
def test_every_operator_checks_clean(operator: str, operand: Any) -> None:
    rule = {"Variable": "$.v", operator: operand, "Comment": "fine"}
    assert check_choice_state(state_of(rule), HERE) == []
    assert check_choice_state(state_of({"Not": rule}), HERE) == []


def problem(message: str, location: str) -> Problem:
    return Problem(SCHEMA, message, location)


RULE = f"{HERE}/Choices/0"


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            {"Type": "Choice", "Default": "No"},
            [problem("These fields are required: [Choices]", HERE)],
        ),
        (
            {"Type": "Choice", "Choices": {"Variable": "$.v"}},
            [problem("The value for the field 'Choices' must be an ARRAY", f"{HERE}/Choices")],
        ),
        (
            {"Type": "Choice", "Choices": [], "Default": "No"},
            [problem("The field 'Choices' should be non-empty", f"{HERE}/Choices")],
        ),
        (
            {"Type": "Choice", "Choices": ["$.v"]},
            [problem("A Choice Rule must be an OBJECT", RULE)],
        ),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.v", "IsNull": True}]},
            [problem("These fields are required: [Next]", RULE)],
        ),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.v", "IsNull": True, "Next": ["A"]}]},
            [problem("The value for the field 'Next' must be a STRING", f"{RULE}/Next")],
        ),
        (
            {**state_of({"Variable": "$.v", "IsNull": True}), "Default": 7},
            [problem("The value for the field 'Default' must be a STRING", f"{HERE}/Default")],
        ),
    ],
)
def test_problems_of_the_state(state: dict[str, Any], expected: list[Problem]) -> None:
    assert check_choice_state(state, HERE) == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # a nested rule has no Next
        (
            {"And": [{"Variable": "$.v", "IsNull": True, "Next": "X"}]},
            [problem("Field 'Next' is not supported", f"{RULE}/And/0")],
        ),
        (
            {"Not": {"Variable": "$.v", "IsNull": True, "Next": "X"}},
            [problem("Field 'Next' is not supported", f"{RULE}/Not")],
        ),
        (
            {"Or": [{"Not": {"Variable": "$.v", "IsNull": True}}, {"Next": "X", "Or": []}]},
            [
                problem("Field 'Next' is not supported", f"{RULE}/Or/1"),
                problem(
                    "The value for the field 'Or' must be a non-empty ARRAY of Choice Rules",
                    f"{RULE}/Or/1/Or",
                ),
            ],
        ),
        # exactly one operator
        (
            {"Variable": "$.v"},
            [
                problem(
                    "A Choice Rule must have exactly one comparison operator, And, Or or Not "
                    "(found: none)",
                    RULE,
                )
            ],
        ),
        (
            {"Variable": "$.v", "StringEqual": "typo"},
            [
                problem("Field 'StringEqual' is not supported", RULE),
                problem(
                    "A Choice Rule must have exactly one comparison operator, And, Or or Not "
                    "(found: none)",
                    RULE,
                ),
            ],
        ),
        (
            {"Variable": "$.v", "StringEquals": "a", "IsNull": False},
            [
                problem(
                    "A Choice Rule must have exactly one comparison operator, And, Or or Not "
                    "(found: StringEquals, IsNull)",
                    RULE,
                )
            ],
        ),
        (
            {
                "And": [{"Variable": "$.v", "IsNull": True}],
                "Not": {"Variable": "$.v", "IsNull": True},
            },
            [
                problem(
                    "A Choice Rule must have exactly one comparison operator, And, Or or Not "
                    "(found: And, Not)",
                    RULE,
                )
            ],
        ),
        # StringMatches has no Path form
        (
            {"Variable": "$.v", "StringMatchesPath": "$.p", "IsString": True},
            [problem("Field 'StringMatchesPath' is not supported", RULE)],
        ),
        # Variable: required by a comparison, refused by And/Or/Not, a Reference Path
        (
            {"StringEquals": "a"},
            [problem("These fields are required: [Variable]", RULE)],
        ),
        (
            {"Variable": "$.v", "Not": {"Variable": "$.v", "IsNull": True}},
            [problem("Field 'Variable' is not supported", RULE)],
        ),
        # And/Or take a non-empty array, Not one rule
        (
            {"And": []},
            [
                problem(
                    "The value for the field 'And' must be a non-empty ARRAY of Choice Rules",
                    f"{RULE}/And",
                )
            ],
        ),
        (
            {"Or": {"Variable": "$.v", "IsNull": True}},
            [
                problem(
                    "The value for the field 'Or' must be a non-empty ARRAY of Choice Rules",
                    f"{RULE}/Or",
                )
            ],
        ),
        (
            {"Not": [{"Variable": "$.v", "IsNull": True}]},
            [problem("A Choice Rule must be an OBJECT", f"{RULE}/Not")],
        ),
        (
            {"And": [{"Variable": "$.v", "IsNull": True}, 5]},
            [problem("A Choice Rule must be an OBJECT", f"{RULE}/And/1")],
        ),
    ],
)
def test_problems_of_a_rule(rule: dict[str, Any], expected: list[Problem]) -> None:
    assert check_choice_state(state_of(rule), HERE) == expected


@pytest.mark.parametrize(
    ("operator", "operand", "wanted"),
    [
        ("StringEquals", 1, "a STRING"),
        ("StringLessThan", None, "a STRING"),
        ("StringGreaterThan", ["a"], "a STRING"),
        ("StringLessThanEquals", True, "a STRING"),
        ("StringGreaterThanEquals", {"a": 1}, "a STRING"),
        ("StringMatches", 5, "a STRING"),
        ("NumericEquals", "1", "a NUMBER"),
        ("NumericLessThan", True, "a NUMBER"),  # a boolean is not a number
        ("NumericGreaterThan", None, "a NUMBER"),
        ("NumericLessThanEquals", [1], "a NUMBER"),
        ("NumericGreaterThanEquals", "20", "a NUMBER"),
        ("BooleanEquals", "true", "a BOOLEAN"),
        ("BooleanEquals", 1, "a BOOLEAN"),
        ("TimestampEquals", "2016-03-14", "a valid TIMESTAMP (RFC 3339)"),
        ("TimestampLessThan", "2016-03-14T01:59:00", "a valid TIMESTAMP (RFC 3339)"),
        ("TimestampGreaterThan", "2016-03-14t01:59:00z", "a valid TIMESTAMP (RFC 3339)"),
        ("TimestampLessThanEquals", 1457920740, "a valid TIMESTAMP (RFC 3339)"),
        ("TimestampGreaterThanEquals", "2016-13-14T01:59:00Z", "a valid TIMESTAMP (RFC 3339)"),
        ("IsNull", "true", "a BOOLEAN"),
        ("IsPresent", 1, "a BOOLEAN"),
        ("IsNumeric", None, "a BOOLEAN"),
        ("IsString", "yes", "a BOOLEAN"),
        ("IsBoolean", 0, "a BOOLEAN"),
        ("IsTimestamp", [], "a BOOLEAN"),
    ],
)
def test_an_operand_of_the_wrong_type(operator: str, operand: Any, wanted: str) -> None:
    rule = {"Variable": "$.v", operator: operand}
    assert check_choice_state(state_of(rule), HERE) == [
        problem(f"The value for the field '{operator}' must be {wanted}", f"{RULE}/{operator}")
    ]


@pytest.mark.parametrize("path", ["v", "", 5, None, "$.items[*]", "$..deep", "$.a[1:2]"])
@pytest.mark.parametrize("field", ["Variable", "StringEqualsPath", "TimestampLessThanPath"])
def test_a_path_that_is_not_a_reference_path(field: str, path: Any) -> None:
    rule: dict[str, Any] = {"Variable": "$.v", "NumericEqualsPath": "$.w"}
    if field != "Variable":
        rule = {"Variable": "$.v", field: "$.w"}
    rule[field] = path
    problems = check_choice_state(state_of(rule), HERE)
    assert len(problems) == 1
    (found,) = problems
    assert found.code == SCHEMA
    assert found.location == f"{RULE}/{field}"
    assert found.message.startswith(f"The value for the field '{field}' must be a valid Reference")


def test_every_problem_of_a_definition_is_listed() -> None:
    state = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.a", "NumericEquals": "1", "Next": "A"},
            {"Variable": "$.b", "IsNull": True},
            {"And": [{"Variable": "$.c", "StringEquals": "x", "Next": "C"}], "Next": "B"},
        ],
        "Default": False,
    }
    assert [(found.code, found.location) for found in check_choice_state(state, HERE)] == [
        (SCHEMA, f"{HERE}/Default"),
        (SCHEMA, f"{HERE}/Choices/0/NumericEquals"),
        (SCHEMA, f"{HERE}/Choices/1"),
        (SCHEMA, f"{HERE}/Choices/2/And/0"),
    ]
