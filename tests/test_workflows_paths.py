"""JSONPath and payload templates of the States Language (faaslib.workflows._paths).

Examples follow the Step Functions developer guide's pages on paths, InputPath/Parameters,
ResultPath and the context object; causes follow what Step Functions reports.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from faaslib.workflows._failure import (
    RESULT_PATH_MATCH_FAILURE,
    RUNTIME,
    Problem,
    StatesFailure,
)
from faaslib.workflows._paths import check_path, path_exists, put_result, read_path
from faaslib.workflows._templates import check_template, resolve_template

STORE: dict[str, Any] = {
    "store": {
        "book": [
            {"category": "reference", "author": "Nigel Rees", "price": 8.95},
            {"category": "fiction", "author": "Evelyn Waugh", "price": 12.99},
            {"category": "fiction", "author": "Herman Melville", "price": 8.99},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "empty": [],
    "nothing": None,
    "my key": "spaced",
}
CONTEXT: dict[str, Any] = {
    "Execution": {
        "Id": "arn:aws:states:us-east-1:123456789012:execution:Orders:run-1",
        "Input": {"order": 7},
        "Name": "run-1",
        "StartTime": "2026-12-05T10:00:00.000Z",
    },
    "State": {"Name": "Charge", "EnteredTime": "2026-12-05T10:00:01.000Z", "RetryCount": 0},
    "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"},
    "Map": {"Item": {"Index": 2, "Value": {"sku": "a-1"}}},
}


# check_path ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "$",
        "$.store",
        "$.store.book[0].author",
        "$['my key']",
        '$["store"]["bicycle"]',
        "$.store.book[-1]",
        "$.store.book[*].author",
        "$.store.*",
        "$..author",
        "$.store.book[0:2]",
        "$.store.book[::2]",
        "$.store.book[0,1]",
        "$.store.book[?(@.price < 10)]",
        "$.store.book[?(@.category == 'fiction')].author",
        "$$",
        "$$.Execution.Id",
        "$$.Map.Item.Value",
    ],
)
def test_valid_paths(text: str) -> None:
    assert check_path(text) is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (7, "must be a string"),
        (None, "must be a string"),
        (["$.a"], "must be a string"),
        ("", "a path starts with '$'"),
        ("store.book", "a path starts with '$'"),
        ("$$$.a", "a path starts with '$' or '$$'"),
        ("$.", "not a valid JSONPath"),
        ("$..", "not a valid JSONPath"),
        ("$.a[", "not a valid JSONPath"),
        ("$.a b", "not a valid JSONPath"),
        ("$.a[1.5]", "not a valid JSONPath"),
        ("$.a[?(@.x ==)]", "not a valid JSONPath"),
        ("$.a.$", "not supported"),
        ("$.a[::0]", "not supported"),
        # jsonpath-ng's own operators are not JSONPath
        ("$.a | $.b", "operator JSONPath does not have"),
        ("$.a & $.b", "operator JSONPath does not have"),
        ("$.a where b", "not supported"),
        ("$.a.`parent`", "not supported"),
        ("$.a.`this`", "not supported"),
    ],
)
def test_invalid_paths_say_what_is_wrong(text: object, words: str) -> None:
    message = check_path(text)
    assert message is not None
    assert words in message
    assert check_path(text, reference=True) is not None


@pytest.mark.parametrize(
    "text", ["$", "$.a", "$.a.b", "$.a[0]", "$.a[12].b", "$['a b'].c", "$$.Execution.Input.x"]
)
def test_reference_paths(text: str) -> None:
    assert check_path(text, reference=True) is None


@pytest.mark.parametrize(
    "text",
    # AWS rejects each of these as a ResultPath or a Choice Variable: a Reference Path names
    # one node only.
    ["$.a[*]", "$.*", "$..a", "$.a[0:2]", "$.a[0,1]", "$['a','b']", "$.a[?(@.x)]", "$.a[-1]"],
)
def test_paths_that_are_not_reference_paths(text: str) -> None:
    assert check_path(text) is None
    message = check_path(text, reference=True)
    assert message is not None
    assert "Reference Path" in message
    assert text in message


# read_path ----------------------------------------------------------------------------------


def test_dollar_is_the_whole_input_and_double_dollar_the_context_object() -> None:
    assert read_path("$", STORE, CONTEXT, field="InputPath") is STORE
    assert read_path("$$", STORE, CONTEXT, field="Parameters") is CONTEXT


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$.store.bicycle.color", "red"),
        ("$.store.book[0].author", "Nigel Rees"),
        ("$.store.book[-1].author", "Herman Melville"),
        ("$['my key']", "spaced"),
        ('$["store"]["bicycle"]["price"]', 19.95),
        ("$.nothing", None),  # a null is a value, not a miss
        ("$.empty", []),
    ],
)
def test_a_definite_path_gives_one_value(path: str, value: Any) -> None:
    assert read_path(path, STORE, CONTEXT, field="InputPath") == value


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$$.Execution.Id", "arn:aws:states:us-east-1:123456789012:execution:Orders:run-1"),
        ("$$.Execution.Input.order", 7),
        ("$$.State.Name", "Charge"),
        ("$$.State.RetryCount", 0),
        ("$$.Map.Item.Index", 2),
        ("$$.Map.Item.Value", {"sku": "a-1"}),
        ("$$.Map.Item.Value.sku", "a-1"),
    ],
)
def test_context_paths_read_the_context_object(path: str, value: Any) -> None:
    assert read_path(path, {"Execution": "not this"}, CONTEXT, field="Parameters") == value


@pytest.mark.parametrize(
    ("path", "values"),
    [
        ("$.store.book[*].author", ["Nigel Rees", "Evelyn Waugh", "Herman Melville"]),
        ("$.store.bicycle.*", ["red", 19.95]),
        ("$.store.bicycle[*]", ["red", 19.95]),  # a wildcard on an object gives its values
        ("$..price", [8.95, 12.99, 8.99, 19.95]),
        ("$.store.book[0:2].price", [8.95, 12.99]),
        ("$.store.book[1:].price", [12.99, 8.99]),
        ("$.store.book[::2].price", [8.95, 8.99]),
        ("$.store.book[0,2].price", [8.95, 8.99]),
        ("$.store.book[?(@.price < 10)].author", ["Nigel Rees", "Herman Melville"]),
        ("$.store.book[?(@.category == 'fiction')].price", [12.99, 8.99]),
        ("$.store.book[?(@.price > 100)]", []),  # nothing matched: an empty list, no failure
        ("$.empty[*]", []),
        ("$.missing[*]", []),
        ("$.store.book[?(@.price > 12)]", [STORE["store"]["book"][1]]),  # one match, a list
    ],
)
def test_an_indefinite_path_gives_the_list_of_matches(path: str, values: list[Any]) -> None:
    assert read_path(path, STORE, CONTEXT, field="InputPath") == values


def test_the_developer_guides_slice_example() -> None:
    # "A path can yield a selection of values": { "a": [1, 2, 3, 4] } with $.a[0:2] -> [1, 2]
    assert read_path("$.a[0:2]", {"a": [1, 2, 3, 4]}, {}, field="InputPath") == [1, 2]


def test_the_developer_guides_paths_examples() -> None:
    # The developer guide's page on paths: its input and what each path returns.
    state_input = {
        "foo": 123,
        "bar": ["a", "b", "c"],
        "car": {"cdr": True},
        "jar": [{"a": 1}, {"a": 5}, {"a": 2}, {"a": 7}, {"a": 3}],
        "abc": {"def ghi": "spaced"},
    }
    assert read_path("$.foo", state_input, {}, field="InputPath") == 123
    assert read_path("$.bar", state_input, {}, field="InputPath") == ["a", "b", "c"]
    assert read_path("$.car.cdr", state_input, {}, field="InputPath") is True
    jar = read_path("$.jar[?(@.a >= 5)]", state_input, {}, field="InputPath")
    assert jar == [{"a": 5}, {"a": 7}]
    # "You must use square bracket notation if your field name contains any character that
    # is not included in the member-name-shorthand": $.abc.['def ghi']
    assert read_path("$.abc.['def ghi']", state_input, {}, field="InputPath") == "spaced"
    assert check_path("$.abc.['def ghi']", reference=True) is None
    assert check_path("$.jar[?(@.a >= 5)]", reference=True) is not None


def test_the_developer_guides_inputpath_example() -> None:
    state_input = {
        "comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"},
    }
    selected = read_path("$.dataset2", state_input, {}, field="InputPath")
    assert selected == {"val1": "a", "val2": "b", "val3": "c"}


def test_a_template_path_that_selects_nothing_is_a_runtime_failure_naming_the_field() -> None:
    # As Step Functions words it for a Parameters field:
    # The JSONPath '$.JobName' specified for the field 'JobName.$' could not be found in the
    # input '{}'
    with pytest.raises(StatesFailure) as caught:
        read_path("$.application.address", {"flagged": False}, CONTEXT, field="address.$")
    assert caught.value.error == RUNTIME
    assert caught.value.cause == (
        "The JSONPath '$.application.address' specified for the field 'address.$' "
        "could not be found in the input '{\"flagged\":false}'"
    )


@pytest.mark.parametrize("field", ["ItemsPath", "SecondsPath", "TimestampPath", "CausePath"])
def test_other_fields_are_named_in_the_cause(field: str) -> None:
    with pytest.raises(StatesFailure) as caught:
        read_path("$.when", {"a": 1}, {}, field=field)
    assert caught.value.error == RUNTIME
    assert f"'$.when' specified for the field '{field}'" in caught.value.cause
    assert "input '{\"a\":1}'" in caught.value.cause


@pytest.mark.parametrize("field", ["InputPath", "OutputPath"])
def test_an_input_or_output_path_that_selects_nothing_is_an_invalid_path(field: str) -> None:
    # As Step Functions words it: Invalid path '$.Payload' : No results for path: $['Payload']
    with pytest.raises(StatesFailure) as caught:
        read_path("$.Payload", {"StatusCode": 200}, {}, field=field)
    assert caught.value.error == RUNTIME
    assert caught.value.cause == "Invalid path '$.Payload' : No results for path: $['Payload']"
    with pytest.raises(StatesFailure) as caught:
        read_path("$.a.b[3]", {"a": {"b": [1]}}, {}, field=field)
    assert caught.value.cause == "Invalid path '$.a.b[3]' : No results for path: $['a']['b'][3]"


@pytest.mark.parametrize(
    "field", ["Variable", "NumericEqualsPath", "TimestampLessThanPath", "BooleanEqualsPath"]
)
def test_a_choice_path_that_selects_nothing_is_an_invalid_condition_path(field: str) -> None:
    with pytest.raises(StatesFailure) as caught:
        read_path("$.processing_type", {"other": 1}, {}, field=field)
    assert caught.value.error == RUNTIME
    assert caught.value.cause == (
        "Invalid path '$.processing_type': The choice state's condition path references "
        "an invalid value."
    )


@pytest.mark.parametrize(
    "path",
    [
        "$.missing",
        "$.store.missing",
        "$.store.bicycle.color.shade",  # through a string
        "$.store.book[3]",  # past the end
        "$.store.book.author",  # a name in an array
        "$.store.bicycle[0]",  # an index in an object
        "$.nothing.deeper",  # through a null
    ],
)
def test_each_kind_of_miss_is_a_runtime_failure(path: str) -> None:
    with pytest.raises(StatesFailure) as caught:
        read_path(path, STORE, CONTEXT, field="Payload.$")
    assert caught.value.error == RUNTIME
    assert f"The JSONPath '{path}' specified for the field 'Payload.$'" in caught.value.cause


def test_a_context_path_that_selects_nothing_quotes_the_context_object() -> None:
    with pytest.raises(StatesFailure) as caught:
        read_path("$$.Task.Token", {"a": 1}, {"State": {"Name": "S"}}, field="token.$")
    assert caught.value.cause == (
        "The JSONPath '$$.Task.Token' specified for the field 'token.$' could not be found in "
        'the input \'{"State":{"Name":"S"}}\''
    )


def test_a_malformed_path_at_run_time_is_a_runtime_failure() -> None:
    with pytest.raises(StatesFailure) as caught:
        read_path("$.a[", {}, {}, field="InputPath")
    assert caught.value.error == RUNTIME
    assert "Invalid path '$.a['" in caught.value.cause


def test_reading_never_changes_the_input() -> None:
    before = copy.deepcopy(STORE)
    for path in ("$.store.book[*]", "$..price", "$.store.book[?(@.price < 10)]", "$.store"):
        read_path(path, STORE, CONTEXT, field="InputPath")
    assert STORE == before


@pytest.mark.parametrize(
    "path",
    [
        "$.store.book[1].author",
        "$.store.book[-3].price",
        "$.store.book[-4]",
        "$.store.book[3]",
        "$.store.bicycle[0]",
        "$.store.book.author",
        "$.store.bicycle.color[0]",
        "$['my key']",
        "$.nothing",
        "$.nothing.x",
        "$.empty[0]",
        "$.missing",
    ],
)
def test_definite_paths_select_what_jsonpath_ng_selects(path: str) -> None:
    from faaslib.workflows import _paths

    compiled = _paths._compile(path)
    assert isinstance(compiled, _paths._Path)
    assert compiled.steps is not None
    expected = [match.value for match in compiled.expr.find(STORE)]
    try:
        got = [read_path(path, STORE, CONTEXT, field="InputPath")]
    except StatesFailure:
        got = []
    assert got == expected
    assert path_exists(path, STORE, CONTEXT) is bool(expected)


# path_exists --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "present"),
    [
        ("$", True),
        ("$$", True),
        ("$.store.bicycle.color", True),
        ("$.nothing", True),  # present, and null
        ("$.empty", True),
        ("$.missing", False),
        ("$.store.book[3]", False),
        ("$.store.bicycle.color.shade", False),
        ("$$.Map.Item.Value.sku", True),
        ("$$.Task.Token", False),
        ("$.store.book[?(@.price < 10)]", True),
        ("$.store.book[?(@.price > 100)]", False),
        ("$.empty[*]", False),
    ],
)
def test_path_exists(path: str, present: bool) -> None:
    assert path_exists(path, STORE, CONTEXT) is present


# put_result ---------------------------------------------------------------------------------

GUIDE_INPUT = {"comment": "This is a test", "details": "Default example", "who": "Step Functions"}


def test_result_path_dollar_gives_the_result() -> None:
    # The developer guide: "ResultPath": "$" replaces the whole input with the task's result.
    assert put_result(GUIDE_INPUT, "Hello, Step Functions!", "$") == "Hello, Step Functions!"


def test_result_path_null_keeps_the_input() -> None:
    # The developer guide: "ResultPath": null passes the original input to the output.
    assert put_result(GUIDE_INPUT, "Hello, Step Functions!", None) == GUIDE_INPUT


def test_result_path_includes_the_result_with_the_input() -> None:
    # The developer guide: "ResultPath": "$.taskresult"
    output = put_result(GUIDE_INPUT, "Hello, Step Functions!", "$.taskresult")
    assert output == {**GUIDE_INPUT, "taskresult": "Hello, Step Functions!"}


def test_result_path_updates_a_node_in_the_input() -> None:
    # The developer guide: "ResultPath": "$.strings.lambdaresult" with the result "Hello, AWS
    # Step Functions!" updates the strings node.
    state_input = {"master": {"detail": [1, 2, 3]}, "strings": {"lambdaresult": "old"}}
    output = put_result(state_input, "Hello, AWS Step Functions!", "$.strings.lambdaresult")
    assert output == {
        "master": {"detail": [1, 2, 3]},
        "strings": {"lambdaresult": "Hello, AWS Step Functions!"},
    }
    assert state_input["strings"] == {"lambdaresult": "old"}


def test_result_path_creates_the_objects_on_the_way() -> None:
    output = put_result({"keep": 1}, {"ok": True}, "$.a.b.c")
    assert output == {"keep": 1, "a": {"b": {"c": {"ok": True}}}}


def test_result_path_into_an_array_element() -> None:
    state_input = {"items": [{"n": 1}, {"n": 2}]}
    output = put_result(state_input, {"n": 20}, "$.items[1]")
    assert output == {"items": [{"n": 1}, {"n": 20}]}
    output = put_result(state_input, 10, "$.items[0].n")
    assert output == {"items": [{"n": 10}, {"n": 2}]}
    assert state_input == {"items": [{"n": 1}, {"n": 2}]}


def test_result_path_with_bracketed_names() -> None:
    assert put_result({}, 1, "$['a b']['c']") == {"a b": {"c": 1}}


def test_put_result_never_changes_the_input_and_copies_only_the_way() -> None:
    state_input = {"a": {"b": {"old": 1}}, "other": {"big": [1, 2, 3]}}
    before = copy.deepcopy(state_input)
    output = put_result(state_input, "x", "$.a.b.new")
    assert state_input == before
    assert output == {"a": {"b": {"old": 1, "new": "x"}}, "other": {"big": [1, 2, 3]}}
    assert output["other"] is state_input["other"]  # untouched parts are shared, not copied


def test_put_result_of_none_or_dollar_changes_nothing() -> None:
    state_input = {"a": 1}
    assert put_result(state_input, {"b": 2}, None) is state_input
    assert state_input == {"a": 1}


@pytest.mark.parametrize(
    ("state_input", "result_path"),
    [
        ("just text", "$.a"),  # the input is a string
        (42, "$.a"),
        ([1, 2], "$.a"),  # an array where an object is needed
        (None, "$.a"),
        ({"a": "text"}, "$.a.b"),  # a string in the way
        ({"a": 3}, "$.a.b"),
        ({"a": [1]}, "$.a.b"),
        ({"a": None}, "$.a.b"),  # a null in the way
        ({"a": [1]}, "$.a[1]"),  # past the end of an array
        ({"a": {"0": 1}}, "$.a[0]"),  # an index into an object
    ],
)
def test_a_result_path_through_a_non_object_is_a_match_failure(
    state_input: Any, result_path: str
) -> None:
    with pytest.raises(StatesFailure) as caught:
        put_result(state_input, {"r": 1}, result_path)
    assert caught.value.error == RESULT_PATH_MATCH_FAILURE
    quoted = json.dumps(state_input, separators=(",", ":"))
    assert caught.value.cause == (
        f"Unable to apply ReplacementPath '{result_path}' to input '{quoted}'"
    )


@pytest.mark.parametrize("result_path", ["$.a[*]", "$..a", "$$.Execution.Id", "$.a[-1]"])
def test_put_result_needs_a_reference_path_into_the_data(result_path: str) -> None:
    with pytest.raises(ValueError, match="Reference Path"):
        put_result({"a": [1]}, 1, result_path)


# resolve_template ---------------------------------------------------------------------------


def test_the_developer_guides_parameters_example() -> None:
    state_input = {
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23",
        },
    }
    template = {
        "comment": "Selecting what I care about.",
        "MyDetails": {
            "size.$": "$.product.details.size",
            "exists.$": "$.product.availability",
            "StaticValue": "foo",
        },
    }
    assert resolve_template(template, state_input, CONTEXT, field="Parameters") == {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"},
    }


def test_the_specs_parameters_example_with_an_index_and_a_slice() -> None:
    template = {"flagged": True, "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[3:]"}}
    state_input = {"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]}
    assert resolve_template(template, state_input, {}, field="Parameters") == {
        "flagged": True,
        "parts": {"first": 0, "last3": [30, 40, 50]},
    }


def test_context_object_paths_in_a_template() -> None:
    template = {
        "execution.$": "$$.Execution.Id",
        "state.$": "$$.State.Name",
        "item.$": "$$.Map.Item.Value",
        "index.$": "$$.Map.Item.Index",
        "whole.$": "$",
    }
    assert resolve_template(template, {"x": 1}, CONTEXT, field="ItemSelector") == {
        "execution": "arn:aws:states:us-east-1:123456789012:execution:Orders:run-1",
        "state": "Charge",
        "item": {"sku": "a-1"},
        "index": 2,
        "whole": {"x": 1},
    }


def test_templates_recurse_through_objects_and_arrays() -> None:
    template = {
        "list": [
            {"name.$": "$.people[0].name"},
            ["static", {"deep.$": "$.people[1].name", "n": 1}],
            3,
            None,
        ],
        "nested": {"more": {"ages.$": "$.people[*].age", "flag": False}},
    }
    data = {"people": [{"name": "Ann", "age": 31}, {"name": "Bo", "age": 29}]}
    assert resolve_template(template, data, {}, field="Parameters") == {
        "list": [{"name": "Ann"}, ["static", {"deep": "Bo", "n": 1}], 3, None],
        "nested": {"more": {"ages": [31, 29], "flag": False}},
    }


def test_a_template_without_dynamic_keys_is_a_new_equal_value() -> None:
    template = {"a": {"b": [1, {"c": "$.not.a.path"}]}, "s": "$.x"}
    resolved = resolve_template(template, {"x": 1}, {}, field="Parameters")
    assert resolved == template
    assert resolved is not template
    assert resolved["a"] is not template["a"]


def test_a_template_never_changes_the_template_or_the_input() -> None:
    template = {"a.$": "$.obj", "b": {"c.$": "$.obj.k"}}
    data = {"obj": {"k": [1]}}
    before = (copy.deepcopy(template), copy.deepcopy(data))
    resolve_template(template, data, {}, field="Parameters")
    assert (template, data) == before


def test_scalar_and_array_templates() -> None:
    assert resolve_template("plain", {}, {}, field="Parameters") == "plain"
    assert resolve_template([{"a.$": "$.v"}], {"v": 1}, {}, field="Parameters") == [{"a": 1}]


def test_a_template_path_that_selects_nothing_names_the_key() -> None:
    # Step Functions names the field that failed: 'JobName.$', not 'Parameters'.
    with pytest.raises(StatesFailure) as caught:
        resolve_template({"Outer": {"JobName.$": "$.JobName"}}, {}, {}, field="Parameters")
    assert caught.value.error == RUNTIME
    assert caught.value.cause == (
        "The JSONPath '$.JobName' specified for the field 'JobName.$' could not be found in "
        "the input '{}'"
    )


def test_a_dynamic_key_with_a_non_string_value_fails_at_run_time() -> None:
    with pytest.raises(StatesFailure) as caught:
        resolve_template({"a.$": 3}, {}, {}, field="ResultSelector")
    assert caught.value.error == RUNTIME
    assert "'a.$'" in caught.value.cause
    assert "ResultSelector" in caught.value.cause


def test_intrinsic_calls_in_templates() -> None:
    data = {"name": "Ann", "items": [1, 2, 3], "doc": '{"k": [1]}'}
    template = {
        "greeting.$": "States.Format('Hello, {}!', $.name)",
        "count.$": "States.ArrayLength($.items)",
        "pair.$": "States.Array($.name, $$.Execution.Name)",
        "parsed.$": "States.StringToJson($.doc)",
        "nested": [{"sum.$": "States.MathAdd(States.ArrayLength($.items), 10)"}],
    }
    assert resolve_template(template, data, CONTEXT, field="Parameters") == {
        "greeting": "Hello, Ann!",
        "count": 3,
        "pair": ["Ann", "run-1"],
        "parsed": {"k": [1]},
        "nested": [{"sum": 13}],
    }


def test_a_failing_intrinsic_call_fails_the_template() -> None:
    with pytest.raises(StatesFailure) as caught:
        resolve_template({"n.$": "States.ArrayLength($.name)"}, {"name": "x"}, {}, field="P")
    assert caught.value.error == "States.IntrinsicFailure"


# check_template -----------------------------------------------------------------------------


def test_a_good_template_has_no_problems() -> None:
    template = {
        "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "Payload.$": "$",
        "Token.$": "$$.Task.Token",
        "Items": [{"id.$": "$.items[*].id"}, "$.static text", 1, None],
        "Nested": {"who.$": "States.Format('{}', $.who)", "uuid.$": "States.UUID()"},
    }
    assert check_template(template, "/States/Call/Parameters") == []


def test_check_template_of_non_objects() -> None:
    assert check_template("text", "/States/A/Parameters") == []
    assert check_template(None, "/States/A/Parameters") == []


def test_template_problems_are_located() -> None:
    template = {
        "count.$": 3,
        "list": [{"a": {"bad.$": "$..", "ok.$": "$.a"}}, {"rel.$": "a.b"}],
        "odd/key~": {"x.$": "$.a | $.b"},
        "none.$": None,
        "fine": {"nested.$": "$.a[*]"},
    }
    problems = check_template(template, "/States/Call/Parameters")
    assert all(isinstance(problem, Problem) for problem in problems)
    assert all(problem.code == "SCHEMA_VALIDATION_FAILED" for problem in problems)
    where = {problem.location: problem.message for problem in problems}
    assert list(where) == [
        "/States/Call/Parameters/count.$",
        "/States/Call/Parameters/list/0/a/bad.$",
        "/States/Call/Parameters/list/1/rel.$",
        "/States/Call/Parameters/odd~1key~0/x.$",
        "/States/Call/Parameters/none.$",
    ]
    assert "'count.$'" in where["/States/Call/Parameters/count.$"]
    assert "not a number" in where["/States/Call/Parameters/count.$"]
    assert "'$..'" in where["/States/Call/Parameters/list/0/a/bad.$"]
    assert "starts with '$'" in where["/States/Call/Parameters/list/1/rel.$"]
    assert "operator" in where["/States/Call/Parameters/odd~1key~0/x.$"]
    assert "not null" in where["/States/Call/Parameters/none.$"]


def test_malformed_intrinsic_calls_are_template_problems() -> None:
    template = {
        "call.$": "States.NoSuchFunction($.a)",
        "args": [{"count.$": "States.ArrayLength($.a, $.b)"}],
        "open.$": "States.Format('{}', $.a",
        "path.$": "States.ArrayLength($..)",
        "fine.$": "States.Format('{} {}', $.a, $$.Execution.Id)",
    }
    problems = check_template(template, "/States/P/ItemSelector")
    where = {problem.location: problem.message for problem in problems}
    assert list(where) == [
        "/States/P/ItemSelector/call.$",
        "/States/P/ItemSelector/args/0/count.$",
        "/States/P/ItemSelector/open.$",
        "/States/P/ItemSelector/path.$",
    ]
    assert "NoSuchFunction" in where["/States/P/ItemSelector/call.$"]
    assert all("intrinsic function call" in message for message in where.values())


# the library, compiled once -----------------------------------------------------------------


def test_each_distinct_path_is_parsed_once() -> None:
    from faaslib.workflows import _paths

    path = "$.once.only[0]"
    _paths._compile.cache_clear()
    for _ in range(3):
        read_path(path, {"once": {"only": [1]}}, {}, field="InputPath")
        check_path(path)
    info = _paths._compile.cache_info()
    assert (info.misses, info.hits) == (1, 5)


def test_jsonpath_ng_is_only_imported_by_the_paths_module() -> None:
    package = Path(__file__).parent.parent / "faaslib"
    importers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "jsonpath_ng" in path.read_text(encoding="utf-8")
    )
    assert importers == ["workflows/_paths.py"]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )


def test_without_jsonpath_ng_the_import_error_says_what_to_install() -> None:
    done = _run(
        "import sys\n"
        "sys.modules['jsonpath_ng'] = None  # as if the workflows extra were not installed\n"
        "try:\n"
        "    import faaslib.workflows._paths\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert done.stdout.strip() == (
        "Step Functions state machines need jsonpath-ng: pip install 'faaslib[workflows]'"
    )


def test_importing_faaslib_or_its_workflows_package_does_not_import_jsonpath_ng() -> None:
    done = _run("import sys, faaslib, faaslib.workflows\nprint('jsonpath_ng' in sys.modules)")
    assert done.stdout.strip() == "False"
