"""parse_definition: a whole ASL definition checked, every problem with its code and location."""

from __future__ import annotations

import json
from typing import Any

import pytest

from faaslib.workflows import InvalidDefinition, Problem
from faaslib.workflows._definition import parse_definition
from faaslib.workflows._model import Definition

SCHEMA = "SCHEMA_VALIDATION_FAILED"
TARGET = "MISSING_TRANSITION_TARGET"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:resize-image"


def problems_of(definition: str | dict[str, Any]) -> list[Problem]:
    with pytest.raises(InvalidDefinition) as caught:
        parse_definition(definition)
    return list(caught.value.problems)


def only(definition: str | dict[str, Any]) -> Problem:
    problems = problems_of(definition)
    assert len(problems) == 1, problems
    return problems[0]


def where(definition: str | dict[str, Any]) -> list[tuple[str, str]]:
    return [(problem.code, problem.location) for problem in problems_of(definition)]


def single(state: dict[str, Any], **others: dict[str, Any]) -> dict[str, Any]:
    """A machine starting at state S, then Done (a Succeed) if S goes on."""
    states = {"S": state, **others}
    if state.get("Next") == "Done" or any(o.get("Next") == "Done" for o in others.values()):
        states["Done"] = {"Type": "Succeed"}
    return {"StartAt": "S", "States": states}


def test_the_smallest_machine_parses() -> None:
    parsed = parse_definition({"StartAt": "S", "States": {"S": {"Type": "Succeed"}}})
    assert parsed.start_at == "S"
    assert parsed.states == {"S": {"Type": "Succeed"}}
    assert parsed.timeout_seconds is None
    assert parsed.comment is None
    assert parsed.branches == {}


# -- JSON text -----------------------------------------------------------------------------------


def test_json_text_parses_like_a_dict() -> None:
    source = {
        "Comment": "greets",
        "StartAt": "Hello",
        "TimeoutSeconds": 30,
        "Version": "1.0",
        "States": {
            "Hello": {"Type": "Pass", "Result": "Hi", "Next": "Bye"},
            "Bye": {"Type": "Succeed"},
        },
    }
    parsed = parse_definition(json.dumps(source))
    assert parsed == parse_definition(source)
    assert parsed.source == source
    assert parsed.timeout_seconds == 30
    assert parsed.comment == "greets"


def test_text_that_is_not_json() -> None:
    problem = only('{"StartAt": "S", "States": {')
    assert problem.code == "INVALID_JSON_DESCRIPTION"
    assert "line 1" in problem.message


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text(text: str) -> None:
    assert only(text).code == "MISSING_DESCRIPTION"


def test_none_is_an_empty_definition_and_bytes_are_not_text() -> None:
    assert only(None).code == "MISSING_DESCRIPTION"  # type: ignore[arg-type]
    problem = only(b'{"StartAt": "S"}')  # type: ignore[arg-type]
    assert (problem.code, problem.location) == (SCHEMA, "/")


@pytest.mark.parametrize("text", ["[]", '"StartAt"', "null", "3"])
def test_json_that_is_not_an_object(text: str) -> None:
    assert (only(text).code, only(text).location) == (SCHEMA, "/")


def test_a_state_name_twice_in_the_text() -> None:
    text = (
        '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "A": {"Type": "Succeed"}}}'
    )
    problem = only(text)
    assert (problem.code, problem.location) == ("DUPLICATE_STATE_NAME", "/States/A")
    assert "A" in problem.message


def test_a_state_name_twice_in_a_branch_of_the_text() -> None:
    branch = '{"StartAt": "B", "States": {"B": {"Type": "Succeed"}, "B": {"Type": "Succeed"}}}'
    text = (
        '{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,'
        f' "Branches": [{branch}, {branch.replace("B", "C")}]}}}}}}'
    )
    assert where(text) == [
        ("DUPLICATE_STATE_NAME", "/States/P/Branches/0/States/B"),
        ("DUPLICATE_STATE_NAME", "/States/P/Branches/1/States/C"),
    ]


# -- the top level -------------------------------------------------------------------------------


def test_start_at_and_states_are_required() -> None:
    problems = problems_of({"Comment": "nothing"})
    assert [(p.code, p.location, p.message) for p in problems] == [
        (SCHEMA, "/", "These fields are required: [StartAt]"),
        (SCHEMA, "/", "These fields are required: [States]"),
    ]


def test_start_at_must_name_a_state() -> None:
    problems = problems_of({"StartAt": "Begin", "States": {"First": {"Type": "Succeed"}}})
    assert [(p.code, p.location) for p in problems] == [
        (TARGET, "/StartAt"),
        (TARGET, "/States/First"),
    ]
    assert problems[0].message == "Missing 'Next' target: Begin"
    assert problems[1].message == 'State "First" is not reachable.'


def test_start_at_must_be_a_string() -> None:
    assert ("SCHEMA_VALIDATION_FAILED", "/StartAt") in where(
        {"StartAt": 1, "States": {"S": {"Type": "Succeed"}}}
    )


@pytest.mark.parametrize("states", [{}, [], "S"])
def test_states_must_be_a_non_empty_object(states: object) -> None:
    assert where({"StartAt": "S", "States": states}) == [(SCHEMA, "/States")]


@pytest.mark.parametrize("timeout", [0, -5, 1.5, "60", True, 100_000_000])
def test_timeout_seconds_is_a_positive_integer(timeout: object) -> None:
    definition = {"StartAt": "S", "TimeoutSeconds": timeout, "States": {"S": {"Type": "Succeed"}}}
    assert where(definition) == [(SCHEMA, "/TimeoutSeconds")]


@pytest.mark.parametrize("field", ["Version", "Comment"])
def test_version_and_comment_are_strings(field: str) -> None:
    definition = {"StartAt": "S", field: 1, "States": {"S": {"Type": "Succeed"}}}
    assert where(definition) == [(SCHEMA, f"/{field}")]


def test_unknown_top_level_fields() -> None:
    problem = only({"StartAt": "S", "Coment": "typo", "States": {"S": {"Type": "Succeed"}}})
    assert (problem.code, problem.location) == (SCHEMA, "/")
    assert problem.message == "Field 'Coment' is not supported"


def test_jsonata_is_refused_clearly() -> None:
    definition = {"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Succeed"}}}
    problem = only(definition)
    assert (problem.code, problem.location) == (SCHEMA, "/QueryLanguage")
    assert "'JSONata' is not supported" in problem.message
    state = {"Type": "Pass", "QueryLanguage": "JSONata", "End": True}
    assert where(single(state)) == [(SCHEMA, "/States/S/QueryLanguage")]


def test_jsonpath_query_language_is_accepted_and_others_refused() -> None:
    ok = {"QueryLanguage": "JSONPath", "StartAt": "S", "States": {"S": {"Type": "Succeed"}}}
    parse_definition(ok)
    assert where({**ok, "QueryLanguage": "XPath"}) == [(SCHEMA, "/QueryLanguage")]


# -- states in general ---------------------------------------------------------------------------


def test_a_state_must_be_an_object_with_a_known_type() -> None:
    assert where(single({"Type": "Sleep", "End": True})) == [(SCHEMA, "/States/S/Type")]
    problem = only(single({"End": True}))
    assert (problem.location, problem.message) == ("/States/S", "These fields are required: [Type]")
    assert where({"StartAt": "S", "States": {"S": ["Succeed"]}}) == [(SCHEMA, "/States/S")]


def test_a_state_of_unknown_type_does_not_make_its_targets_unreachable() -> None:
    definition = single({"Type": "Job", "Next": "Done"})
    assert where(definition) == [(SCHEMA, "/States/S/Type")]


@pytest.mark.parametrize("kind", ["Task", "Pass", "Wait", "Parallel", "Map"])
def test_transitioning_states_need_exactly_one_of_next_and_end(kind: str) -> None:
    state = valid_state(kind)
    del state["End"]
    assert ("SCHEMA_VALIDATION_FAILED", "/States/S") in where(single(state))
    both = {**valid_state(kind), "Next": "Done"}
    problems = problems_of(single(both))
    assert [(p.location, p.message) for p in problems] == [
        ("/States/S", "Only one of Next or End may be given")
    ]


def test_end_must_be_true() -> None:
    problem = only(single({"Type": "Pass", "End": False}))
    assert (problem.location, problem.message) == ("/States/S", "End must be true")


def test_next_must_be_a_string() -> None:
    assert ("SCHEMA_VALIDATION_FAILED", "/States/S/Next") in where(
        single({"Type": "Pass", "Next": ["Done"]})
    )


@pytest.mark.parametrize("kind", ["Choice", "Succeed", "Fail"])
@pytest.mark.parametrize("field", ["Next", "End"])
def test_terminal_and_choice_states_take_neither_next_nor_end(kind: str, field: str) -> None:
    state = {**valid_state(kind), field: "Done" if field == "Next" else True}
    definition = single(state, Done={"Type": "Succeed"})
    definition["States"]["Other"] = {"Type": "Pass", "Next": "Done"}  # Done stays reachable
    problems = [p for p in problems_of(definition) if p.location == "/States/S"]
    assert [p.message for p in problems] == [f"Field '{field}' is not supported"]


def test_next_must_name_a_state() -> None:
    problem = problems_of(single({"Type": "Pass", "Next": "Nowhere"}))[0]
    assert (problem.code, problem.location) == (TARGET, "/States/S/Next")
    assert problem.message == "Missing 'Next' target: Nowhere"


def test_a_dangling_next_alone_also_leaves_no_terminal_state() -> None:
    # As AWS answers: the missing target, then the missing end state.
    assert where(single({"Type": "Pass", "Next": "Nowhere"})) == [
        (TARGET, "/States/S/Next"),
        ("MISSING_END_STATE", "/"),
    ]


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("Pass", "Resource"),
        ("Pass", "Retry"),
        ("Pass", "Catch"),
        ("Pass", "ResultSelector"),
        ("Wait", "ResultPath"),
        ("Wait", "Parameters"),
        ("Choice", "ResultPath"),
        ("Succeed", "Parameters"),
        ("Fail", "InputPath"),
        ("Fail", "OutputPath"),
        ("Map", "TimeoutSeconds"),
        ("Parallel", "TimeoutSeconds"),
        ("Parallel", "HeartbeatSeconds"),
        ("Task", "Result"),
        ("Task", "Arguments"),
        ("Task", "Assign"),
        ("Task", "Branches"),
    ],
)
def test_each_type_refuses_fields_it_does_not_take(kind: str, field: str) -> None:
    state = {**valid_state(kind), field: 1}
    problems = [p for p in problems_of(single(state)) if p.location == "/States/S"]
    assert [(p.code, p.message) for p in problems] == [
        (SCHEMA, f"Field '{field}' is not supported")
    ]


def test_state_names_are_at_most_80_characters() -> None:
    parse_definition({"StartAt": "n" * 80, "States": {"n" * 80: {"Type": "Succeed"}}})
    long = "n" * 81
    problem = only({"StartAt": long, "States": {long: {"Type": "Succeed"}}})
    assert (problem.code, problem.location) == ("INVALID_STATE_NAME", f"/States/{long}")


def test_locations_escape_slashes_in_state_names() -> None:
    definition = {
        "StartAt": "a/b",
        "States": {"a/b": {"Type": "Pass", "Next": "x"}, "c~d": {"Type": "Succeed"}},
    }
    assert where(definition) == [(TARGET, "/States/a~1b/Next"), (TARGET, "/States/c~0d")]


# -- reachability --------------------------------------------------------------------------------


def test_a_state_nothing_reaches() -> None:
    definition = {
        "StartAt": "One",
        "States": {
            "One": {"Type": "Pass", "Next": "Two"},
            "Two": {"Type": "Succeed"},
            "Stray": {"Type": "Pass", "Next": "Two"},
        },
    }
    problem = only(definition)
    assert (problem.code, problem.location) == (TARGET, "/States/Stray")
    assert problem.message == 'State "Stray" is not reachable.'


def test_an_island_loop_is_unreachable() -> None:
    definition = {
        "StartAt": "Main",
        "States": {
            "Main": {"Type": "Succeed"},
            "Ping": {"Type": "Pass", "Next": "Pong"},
            "Pong": {"Type": "Pass", "Next": "Ping"},
        },
    }
    assert where(definition) == [(TARGET, "/States/Ping"), (TARGET, "/States/Pong")]


def test_no_terminal_state() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}},
    }
    problem = only(definition)
    assert (problem.code, problem.message) == (
        "MISSING_END_STATE",
        "Workflow has no terminal state",
    )


def test_catch_choice_rules_and_default_reach_states() -> None:
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
                "Next": "Route",
            },
            "Recover": {"Type": "Fail", "Error": "Broken"},
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.big", "BooleanEquals": True, "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Succeed"},
            "Small": {"Type": "Succeed"},
        },
    }
    parse_definition(definition)


def test_missing_catch_and_choice_targets() -> None:
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Gone"}],
                "Next": "Route",
            },
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Lost"}],
                "Default": "Absent",
            },
        },
    }
    problems = problems_of(definition)
    assert [(p.code, p.location, p.message) for p in problems if p.code == TARGET] == [
        (TARGET, "/States/Work/Catch/0/Next", "Missing 'Next' target: Gone"),
        (TARGET, "/States/Route/Choices/0/Next", "Missing 'Next' target: Lost"),
        (TARGET, "/States/Route/Default", "Missing 'Next' target: Absent"),
    ]


def test_choice_problems_are_reported_and_its_targets_still_count() -> None:
    definition = {
        "StartAt": "Route",
        "States": {
            "Route": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericEquals": "one", "Next": "One"}],
                "Default": "Other",
            },
            "One": {"Type": "Succeed"},
            "Other": {"Type": "Succeed"},
        },
    }
    problems = problems_of(definition)
    assert problems
    assert all(p.location.startswith("/States/Route/Choices/0") for p in problems)
    assert all(p.code == SCHEMA for p in problems)


def test_choices_must_not_be_empty() -> None:
    definition = {"StartAt": "R", "States": {"R": {"Type": "Choice", "Choices": []}}}
    assert any(p.location.startswith("/States/R") for p in problems_of(definition))


# -- each type -----------------------------------------------------------------------------------


def valid_state(kind: str) -> dict[str, Any]:
    """A valid state of each type (a transitioning one ends)."""
    branch = {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}
    states: dict[str, dict[str, Any]] = {
        "Task": {"Type": "Task", "Resource": LAMBDA, "End": True},
        "Pass": {"Type": "Pass", "End": True},
        "Wait": {"Type": "Wait", "Seconds": 1, "End": True},
        "Parallel": {"Type": "Parallel", "Branches": [branch], "End": True},
        "Map": {"Type": "Map", "ItemProcessor": branch, "End": True},
        "Choice": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Done"}],
            "Default": "Done",
        },
        "Succeed": {"Type": "Succeed"},
        "Fail": {"Type": "Fail", "Error": "E", "Cause": "C"},
    }
    return dict(states[kind])


@pytest.mark.parametrize(
    "kind", ["Task", "Pass", "Wait", "Parallel", "Map", "Choice", "Succeed", "Fail"]
)
def test_a_valid_state_of_each_type(kind: str) -> None:
    others = {"Done": {"Type": "Succeed"}} if kind == "Choice" else {}
    parsed = parse_definition(single(valid_state(kind), **others))
    assert parsed.states["S"]["Type"] == kind


def test_every_field_of_a_task() -> None:
    task = {
        "Type": "Task",
        "Comment": "calls a function",
        "Resource": "arn:aws:states:::lambda:invoke",
        "InputPath": "$.order",
        "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
        "ResultSelector": {"charged.$": "$.Payload"},
        "ResultPath": "$.result",
        "OutputPath": "$.result",
        "TimeoutSeconds": 30,
        "HeartbeatSeconds": 10,
        "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 2}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}],
        "Credentials": {"RoleArn": "arn:aws:iam::123456789012:role/x"},
        "Next": "Done",
    }
    parse_definition(single(task))


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        LAMBDA,
        f"{LAMBDA}:live",
        "arn:aws:states:::sqs:sendMessage",
        "arn:aws:states:us-east-1:123456789012:activity:review",
    ],
)
def test_task_resources_that_parse(resource: str) -> None:
    parse_definition(single({"Type": "Task", "Resource": resource, "End": True}))


@pytest.mark.parametrize(
    ("resource", "code", "location"),
    [
        (None, SCHEMA, "/States/S"),
        (42, SCHEMA, "/States/S/Resource"),
        ("resize-image", "INVALID_RESOURCE", "/States/S/Resource"),
        ("arn:aws:lambda", "INVALID_RESOURCE", "/States/S/Resource"),
    ],
)
def test_task_resource_problems(resource: object, code: str, location: str) -> None:
    state: dict[str, Any] = {"Type": "Task", "End": True}
    if resource is not None:
        state["Resource"] = resource
    assert where(single(state)) == [(code, location)]


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"TimeoutSeconds": 0}, "/States/S/TimeoutSeconds"),
        ({"TimeoutSeconds": "30"}, "/States/S/TimeoutSeconds"),
        ({"HeartbeatSeconds": -1}, "/States/S/HeartbeatSeconds"),
        ({"TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t"}, "/States/S"),
        ({"HeartbeatSeconds": 5, "HeartbeatSecondsPath": "$.h"}, "/States/S"),
        ({"TimeoutSecondsPath": "$.t[*]"}, "/States/S/TimeoutSecondsPath"),
        ({"HeartbeatSecondsPath": "h"}, "/States/S/HeartbeatSecondsPath"),
        ({"TimeoutSeconds": 10, "HeartbeatSeconds": 10}, "/States/S/HeartbeatSeconds"),
        ({"TimeoutSeconds": 10, "HeartbeatSeconds": 20}, "/States/S/HeartbeatSeconds"),
    ],
)
def test_task_timeout_problems(fields: dict[str, Any], location: str) -> None:
    state = {"Type": "Task", "Resource": LAMBDA, "End": True, **fields}
    assert where(single(state)) == [(SCHEMA, location)]


def test_task_timeouts_by_path() -> None:
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "TimeoutSecondsPath": "$.limits.timeout",
        "HeartbeatSecondsPath": "$.limits.heartbeat",
        "End": True,
    }
    parse_definition(single(state))


@pytest.mark.parametrize(
    "fields",
    [
        {"Seconds": 0},
        {"Seconds": 3600},
        {"Timestamp": "2026-12-24T18:00:00Z"},
        {"Timestamp": "2026-12-24T18:00:00.123+01:00"},
        {"SecondsPath": "$.delay"},
        {"TimestampPath": "$.when"},
    ],
)
def test_each_way_to_wait(fields: dict[str, Any]) -> None:
    parse_definition(single({"Type": "Wait", "End": True, **fields}))


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({}, "/States/S"),
        ({"Seconds": 5, "Timestamp": "2026-12-24T18:00:00Z"}, "/States/S"),
        ({"SecondsPath": "$.a", "TimestampPath": "$.b"}, "/States/S"),
        ({"Seconds": -1}, "/States/S/Seconds"),
        ({"Seconds": 1.5}, "/States/S/Seconds"),
        ({"Seconds": "10"}, "/States/S/Seconds"),
        ({"Timestamp": "2026-12-24 18:00:00Z"}, "/States/S/Timestamp"),
        ({"Timestamp": "2026-12-24T18:00:00"}, "/States/S/Timestamp"),
        ({"Timestamp": "2026-13-24T18:00:00Z"}, "/States/S/Timestamp"),
        ({"SecondsPath": "delay"}, "/States/S/SecondsPath"),
        ({"TimestampPath": "$..when"}, "/States/S/TimestampPath"),
    ],
)
def test_wait_problems(fields: dict[str, Any], location: str) -> None:
    assert where(single({"Type": "Wait", "End": True, **fields})) == [(SCHEMA, location)]


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"Error": "OrderRejected", "Cause": "out of stock"},
        {"ErrorPath": "$.error", "CausePath": "$.cause"},
        {"Error": "Bad", "CausePath": "States.Format('item {} failed', $.id)"},
    ],
)
def test_valid_fail_states(fields: dict[str, Any]) -> None:
    parse_definition(single({"Type": "Fail", **fields}))


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"Error": "E", "ErrorPath": "$.e"}, "/States/S"),
        ({"Cause": "C", "CausePath": "$.c"}, "/States/S"),
        ({"Error": 500}, "/States/S/Error"),
        ({"Cause": {"why": "x"}}, "/States/S/Cause"),
        ({"ErrorPath": "error"}, "/States/S/ErrorPath"),
        ({"CausePath": "States.Nope($.c)"}, "/States/S/CausePath"),
    ],
)
def test_fail_problems(fields: dict[str, Any], location: str) -> None:
    assert where(single({"Type": "Fail", **fields})) == [(SCHEMA, location)]


def test_pass_result_is_any_json() -> None:
    for result in ({"a": [1, 2]}, [1], "text", 3.5, None, True):
        parse_definition(single({"Type": "Pass", "Result": result, "End": True}))


# -- paths and templates -------------------------------------------------------------------------


def test_null_input_output_and_result_paths_are_valid() -> None:
    state = {"Type": "Pass", "InputPath": None, "OutputPath": None, "ResultPath": None, "End": True}
    parse_definition(single(state))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("InputPath", "input"),
        ("InputPath", 3),
        ("OutputPath", "$.a["),
        ("ResultPath", "$.items[*]"),
        ("ResultPath", "$..x"),
        ("ResultPath", "$.a[?(@.b == 1)]"),
    ],
)
def test_path_problems(field: str, value: object) -> None:
    problem = only(single({"Type": "Pass", field: value, "End": True}))
    assert (problem.code, problem.location) == (SCHEMA, f"/States/S/{field}")
    assert field in problem.message


def test_input_path_may_select_many() -> None:
    parse_definition(single({"Type": "Pass", "InputPath": "$.items[*].id", "End": True}))


@pytest.mark.parametrize("field", ["Parameters", "ResultSelector"])
def test_template_problems_are_located_at_their_key(field: str) -> None:
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        field: {"Nested": {"id.$": "id"}, "ok.$": "$.x", "count.$": 3},
        "End": True,
    }
    assert where(single(state)) == [
        (SCHEMA, f"/States/S/{field}/Nested/id.$"),
        (SCHEMA, f"/States/S/{field}/count.$"),
    ]


def test_templates_must_be_objects() -> None:
    state = {"Type": "Pass", "Parameters": "$.x", "End": True}
    assert where(single(state)) == [(SCHEMA, "/States/S/Parameters")]


def test_template_with_intrinsics_and_context_paths() -> None:
    state = {
        "Type": "Pass",
        "Parameters": {
            "greeting.$": "States.Format('Hello, {}!', $.name)",
            "execution.$": "$$.Execution.Id",
            "list": [{"first.$": "$.items[0]"}],
        },
        "End": True,
    }
    parse_definition(single(state))
    bad = {**state, "Parameters": {"x.$": "States.Format("}}
    assert where(single(bad)) == [(SCHEMA, "/States/S/Parameters/x.$")]


# -- Retry and Catch in a definition -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Task", "Parallel", "Map"])
def test_retry_and_catch_on_the_states_that_take_them(kind: str) -> None:
    state = {
        **valid_state(kind),
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 3}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
    }
    parse_definition(single(state, Done={"Type": "Succeed"}))


def test_retrier_problems_are_located_in_the_state() -> None:
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Retry": [
            {"ErrorEquals": ["States.ALL"], "BackoffRate": 0.5},
            {"ErrorEquals": ["ValueError"], "JitterStrategy": "SOME"},
        ],
        "End": True,
    }
    assert where(single(state)) == [
        (SCHEMA, "/States/S/Retry/0/ErrorEquals"),
        (SCHEMA, "/States/S/Retry/0/BackoffRate"),
        (SCHEMA, "/States/S/Retry/1/JitterStrategy"),
    ]


def test_catcher_problems_are_located_in_the_state() -> None:
    state = {
        "Type": "Task",
        "Resource": LAMBDA,
        "Catch": [{"ErrorEquals": ["X"], "ResultPath": "$.e[*]", "Next": "Done"}, {}],
        "Next": "Done",
    }
    assert where(single(state)) == [
        (SCHEMA, "/States/S/Catch/0/ResultPath"),
        (SCHEMA, "/States/S/Catch/1"),
        (SCHEMA, "/States/S/Catch/1"),
    ]


# -- Parallel ------------------------------------------------------------------------------------


def test_parallel_branches_are_parsed() -> None:
    left = {"StartAt": "L", "States": {"L": {"Type": "Pass", "End": True}}}
    right = {
        "Comment": "right",
        "StartAt": "R1",
        "States": {"R1": {"Type": "Pass", "Next": "R2"}, "R2": {"Type": "Succeed"}},
    }
    parsed = parse_definition(single({"Type": "Parallel", "Branches": [left, right], "End": True}))
    first, second = parsed.branches["S"]
    assert isinstance(first, Definition)
    assert (first.start_at, second.start_at, second.comment) == ("L", "R1", "right")
    assert set(second.states) == {"R1", "R2"}
    assert second.timeout_seconds is None


@pytest.mark.parametrize("branches", [None, [], {}, "B"])
def test_parallel_needs_branches(branches: object) -> None:
    state: dict[str, Any] = {"Type": "Parallel", "End": True}
    if branches is not None:
        state["Branches"] = branches
    location = "/States/S" if branches is None else "/States/S/Branches"
    assert where(single(state)) == [(SCHEMA, location)]


def test_branch_problems_are_located_in_the_branch() -> None:
    branch = {
        "StartAt": "Inner",
        "TimeoutSeconds": 5,
        "States": {
            "Inner": {"Type": "Pass", "Next": "S"},  # S is outside the branch
            "Orphan": {"Type": "Succeed"},
        },
    }
    state = {"Type": "Parallel", "Branches": ["x", branch], "End": True}
    assert where(single(state)) == [
        (SCHEMA, "/States/S/Branches/0"),
        (SCHEMA, "/States/S/Branches/1"),
        (TARGET, "/States/S/Branches/1/States/Inner/Next"),
        (TARGET, "/States/S/Branches/1/States/Orphan"),
    ]


def test_machine_only_fields_in_a_branch_are_reported_once() -> None:
    branch = {
        "StartAt": "B",
        "TimeoutSeconds": 0,
        "QueryLanguage": "JSONata",
        "Comment": 5,
        "States": {"B": {"Type": "Succeed"}},
    }
    state = {"Type": "Parallel", "Branches": [branch], "End": True}
    assert [(p.location, p.message) for p in problems_of(single(state))] == [
        ("/States/S/Branches/0", "Field 'TimeoutSeconds' is not supported"),
        ("/States/S/Branches/0", "Field 'QueryLanguage' is not supported"),
        ("/States/S/Branches/0/Comment", "The value of 'Comment' must be a string"),
    ]


def test_branch_without_start_at() -> None:
    state = {"Type": "Parallel", "Branches": [{"States": {"B": {"Type": "Succeed"}}}], "End": True}
    problems = problems_of(single(state))
    assert (SCHEMA, "/States/S/Branches/0", "These fields are required: [StartAt]") in [
        (p.code, p.location, p.message) for p in problems
    ]


def test_state_names_are_unique_across_branches() -> None:
    branch = {"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}
    state = {"Type": "Parallel", "Branches": [branch], "End": True}
    problem = only(single(state))
    assert (problem.code, problem.location) == (
        "DUPLICATE_STATE_NAME",
        "/States/S/Branches/0/States/S",
    )


def test_a_state_may_not_jump_into_a_branch() -> None:
    branch = {"StartAt": "In", "States": {"In": {"Type": "Succeed"}}}
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Branches": [branch], "Next": "In"},
            "End": {"Type": "Succeed"},
        },
    }
    assert where(definition) == [(TARGET, "/States/P/Next"), (TARGET, "/States/End")]


# -- Map -----------------------------------------------------------------------------------------


def test_every_field_of_an_inline_map() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "INLINE"},
        "StartAt": "Ship",
        "States": {"Ship": {"Type": "Task", "Resource": LAMBDA, "End": True}},
    }
    state = {
        "Type": "Map",
        "ItemsPath": "$.orders",
        "ItemSelector": {"order.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
        "ItemProcessor": processor,
        "MaxConcurrency": 0,
        "ToleratedFailurePercentage": 12.5,
        "ToleratedFailureCount": 3,
        "ResultSelector": {"shipped.$": "$"},
        "ResultPath": "$.shipments",
        "Retry": [{"ErrorEquals": ["States.ALL"]}],
        "End": True,
    }
    parsed = parse_definition(single(state))
    (inner,) = parsed.branches["S"]
    assert inner.start_at == "Ship"


def test_the_older_iterator_and_parameters() -> None:
    state = {
        "Type": "Map",
        "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
        "Parameters": {"item.$": "$$.Map.Item.Value"},
        "MaxConcurrencyPath": "$.parallelism",
        "ToleratedFailurePercentagePath": "$.tolerance",
        "ToleratedFailureCountPath": "$.failures",
        "End": True,
    }
    (inner,) = parse_definition(single(state)).branches["S"]
    assert inner.start_at == "I"


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"ItemProcessor": None}, "/States/S"),
        ({"Iterator": {"StartAt": "J", "States": {"J": {"Type": "Succeed"}}}}, "/States/S"),
        ({"ItemsPath": "items"}, "/States/S/ItemsPath"),
        ({"MaxConcurrency": -1}, "/States/S/MaxConcurrency"),
        ({"MaxConcurrency": 2, "MaxConcurrencyPath": "$.n"}, "/States/S"),
        ({"MaxConcurrencyPath": "$.n[*]"}, "/States/S/MaxConcurrencyPath"),
        ({"ToleratedFailurePercentage": 101}, "/States/S/ToleratedFailurePercentage"),
        ({"ToleratedFailurePercentage": -1}, "/States/S/ToleratedFailurePercentage"),
        ({"ToleratedFailurePercentage": "5"}, "/States/S/ToleratedFailurePercentage"),
        ({"ToleratedFailureCount": -2}, "/States/S/ToleratedFailureCount"),
        ({"ToleratedFailureCount": 1, "ToleratedFailureCountPath": "$.f"}, "/States/S"),
        ({"ToleratedFailurePercentagePath": "x"}, "/States/S/ToleratedFailurePercentagePath"),
        ({"ItemSelector": {}, "Parameters": {}}, "/States/S"),
        ({"ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}}, "/States/S/ItemReader"),
        ({"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"}}, "/States/S/ResultWriter"),
        ({"ItemBatcher": {"MaxItemsPerBatch": 10}}, "/States/S/ItemBatcher"),
    ],
)
def test_map_problems(fields: dict[str, Any], location: str) -> None:
    state = {**valid_state("Map"), **fields}
    if fields.get("ItemProcessor", 0) is None:
        del state["ItemProcessor"]
    assert where(single(state)) == [(SCHEMA, location)]


def test_distributed_map_is_refused_clearly() -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
        "StartAt": "P",
        "States": {"P": {"Type": "Succeed"}},
    }
    state = {"Type": "Map", "ItemProcessor": processor, "End": True}
    problem = only(single(state))
    assert (problem.code, problem.location) == (
        SCHEMA,
        "/States/S/ItemProcessor/ProcessorConfig/Mode",
    )
    assert "DISTRIBUTED" in problem.message
    assert "not supported" in problem.message
    reader = {**valid_state("Map"), "ItemReader": {}}
    assert "distributed Map" in only(single(reader)).message


def test_processor_config_problems() -> None:
    for config, location in [
        ("INLINE", "/States/S/ItemProcessor/ProcessorConfig"),
        ({"Mode": "SERIAL"}, "/States/S/ItemProcessor/ProcessorConfig/Mode"),
        ({"Mode": "INLINE", "Workers": 2}, "/States/S/ItemProcessor/ProcessorConfig"),
    ]:
        processor = {
            "ProcessorConfig": config,
            "StartAt": "P",
            "States": {"P": {"Type": "Succeed"}},
        }
        state = {"Type": "Map", "ItemProcessor": processor, "End": True}
        assert where(single(state)) == [(SCHEMA, location)]


def test_map_processor_problems_are_located_inside_it() -> None:
    processor = {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Next": "Done"}, "Q": {"Type": "Succeed"}},
    }
    state = {"Type": "Map", "ItemProcessor": processor, "Next": "Done"}
    assert where(single(state)) == [
        (TARGET, "/States/S/ItemProcessor/States/P/Next"),
        (TARGET, "/States/S/ItemProcessor/States/Q"),
    ]


def test_nested_parallel_in_map_in_parallel() -> None:
    innermost = {"StartAt": "Leaf", "States": {"Leaf": {"Type": "Pass", "End": True}}}
    processor = {
        "StartAt": "Fan",
        "States": {"Fan": {"Type": "Parallel", "Branches": [innermost], "End": True}},
    }
    branch = {
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "ItemProcessor": processor, "End": True}},
    }
    parsed = parse_definition(single({"Type": "Parallel", "Branches": [branch], "End": True}))
    (outer,) = parsed.branches["S"]
    (mapped,) = outer.branches["Each"]
    (leaf,) = mapped.branches["Fan"]
    assert leaf.states == {"Leaf": {"Type": "Pass", "End": True}}


def test_every_problem_is_listed_at_once() -> None:
    definition = {
        "StartAt": "A",
        "Extra": True,
        "States": {
            "A": {"Type": "Pass", "Next": "B", "Bogus": 1},
            "B": {"Type": "Wait", "End": True},
            "C": {"Type": "Task", "End": True},
        },
    }
    with pytest.raises(InvalidDefinition) as caught:
        parse_definition(definition)
    assert [(p.code, p.location) for p in caught.value.problems] == [
        (SCHEMA, "/"),
        (SCHEMA, "/States/A"),
        (SCHEMA, "/States/B"),
        (SCHEMA, "/States/C"),
        (TARGET, "/States/C"),
    ]
    text = str(caught.value)
    assert text.startswith("Invalid State Machine Definition: ")
    assert "'MISSING_TRANSITION_TARGET: State \"C\" is not reachable. at /States/C'" in text
    assert isinstance(caught.value, ValueError)


# -- AWS's developer-guide shapes, with our own data ---------------------------------------------


def test_hello_world_with_a_choice_wait_and_parallel() -> None:
    definition = {
        "Comment": "Greets, waits, then does two things at once",
        "StartAt": "Greet",
        "States": {
            "Greet": {"Type": "Pass", "Result": {"greet": True}, "Next": "ShouldGreet"},
            "ShouldGreet": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.greet", "BooleanEquals": True, "Next": "Pause"}],
                "Default": "Skipped",
            },
            "Skipped": {"Type": "Fail", "Error": "NotGreeted", "Cause": "greet was false"},
            "Pause": {"Type": "Wait", "Seconds": 3, "Next": "Together"},
            "Together": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Wave", "States": {"Wave": {"Type": "Pass", "End": True}}},
                    {"StartAt": "Smile", "States": {"Smile": {"Type": "Pass", "End": True}}},
                ],
                "Next": "Goodbye",
            },
            "Goodbye": {"Type": "Succeed"},
        },
    }
    parsed = parse_definition(json.dumps(definition))
    assert len(parsed.branches["Together"]) == 2


def test_the_choice_state_example_shape() -> None:
    definition = {
        "StartAt": "Classify",
        "States": {
            "Classify": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Not": {"Variable": "$.kind", "StringEquals": "internal"},
                        "Next": "External",
                    },
                    {
                        "And": [
                            {"Variable": "$.score", "NumericGreaterThanEquals": 50},
                            {"Variable": "$.score", "NumericLessThan": 80},
                        ],
                        "Next": "Middling",
                    },
                    {"Variable": "$.when", "TimestampLessThan": "2027-01-01T00:00:00Z",
                     "Next": "Early"},
                    {"Variable": "$.label", "StringMatches": "report-*.csv", "Next": "Report"},
                ],
                "Default": "Other",
            },
            "External": {"Type": "Pass", "Next": "Finish"},
            "Middling": {"Type": "Pass", "Next": "Finish"},
            "Early": {"Type": "Pass", "Next": "Finish"},
            "Report": {"Type": "Pass", "Next": "Finish"},
            "Other": {"Type": "Fail", "Error": "Unclassified"},
            "Finish": {"Type": "Succeed"},
        },
    }  # fmt: skip
    parse_definition(definition)


def test_the_error_handling_example_shape() -> None:
    definition = {
        "Comment": "A function that may fail, retried, with fallbacks",
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": f"{LAMBDA}:$LATEST", "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Retry": [
                    {
                        "ErrorEquals": [
                            "Lambda.ServiceException",
                            "Lambda.AWSLambdaException",
                            "Lambda.SdkClientException",
                            "Lambda.TooManyRequestsException",
                        ],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 3,
                        "BackoffRate": 2,
                        "JitterStrategy": "FULL",
                    },
                    {"ErrorEquals": ["States.Timeout"], "MaxAttempts": 0},
                ],
                "Catch": [
                    {"ErrorEquals": ["CardDeclined"], "Next": "Declined"},
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Fallback"},
                ],
                "TimeoutSeconds": 60,
                "End": True,
            },
            "Declined": {"Type": "Fail", "Error": "Declined", "CausePath": "$.Cause"},
            "Fallback": {"Type": "Pass", "Result": "fell back", "End": True},
        },
    }
    parse_definition(definition)


def test_the_map_example_shape() -> None:
    definition = {
        "StartAt": "ForEachParcel",
        "States": {
            "ForEachParcel": {
                "Type": "Map",
                "ItemsPath": "$.delivery.parcels",
                "ItemSelector": {
                    "parcel.$": "$$.Map.Item.Value",
                    "address.$": "$.delivery.address",
                },
                "MaxConcurrency": 2,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Label",
                    "States": {
                        "Label": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "label-parcel", "Payload.$": "$"},
                            "ResultSelector": {"label.$": "$.Payload"},
                            "End": True,
                        }
                    },
                },
                "ResultPath": "$.delivery.labels",
                "End": True,
            }
        },
    }
    parse_definition(definition)


def test_the_wait_for_callback_shape() -> None:
    definition = {
        "StartAt": "AskForApproval",
        "States": {
            "AskForApproval": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "notify-approver",
                    "Payload": {"token.$": "$$.Task.Token", "request.$": "$"},
                },
                "HeartbeatSeconds": 600,
                "TimeoutSeconds": 86400,
                "Next": "WaitUntilLaunch",
            },
            "WaitUntilLaunch": {"Type": "Wait", "TimestampPath": "$.launch", "Next": "Launch"},
            "Launch": {"Type": "Task", "Resource": LAMBDA, "End": True},
        },
    }
    parse_definition(definition)


def test_a_definition_nested_too_deep_is_invalid_never_a_recursion_error() -> None:
    deep_text = '{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Result": '
    deep_text += "[" * 100_000 + "]" * 100_000 + "}}}"
    with pytest.raises(InvalidDefinition, match="deeper than 200 levels") as raised:
        parse_definition(deep_text)
    assert raised.value.problems[0].code == "INVALID_JSON_DESCRIPTION"
    parameters: dict[str, Any] = {"a.$": "$"}
    for _ in range(5_000):  # a dict built in Python, deeper than the checker can recurse
        parameters = {"a": parameters}
    deep = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "End": True, "Parameters": parameters}},
    }
    with pytest.raises(InvalidDefinition, match="deeper than"):
        parse_definition(deep)
