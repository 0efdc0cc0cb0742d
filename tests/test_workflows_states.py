"""Every state type and its fields, run as executions through a real invoker.

Each test registers a state machine (and, where a task is needed, real functions) in a
:class:`faaslib.Registry`, starts an execution on an :class:`faaslib.Invoker` with a
:class:`faaslib.VirtualClock`, and checks what the execution ended with: its status, output,
error and cause, as ``DescribeExecution`` reports them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

import faaslib

if TYPE_CHECKING:
    from faaslib.workflows import ExecutionResult

#: Where each test's virtual clock starts: 2026-01-01T00:00:00Z.
EPOCH = 1_767_225_600.0
START = "2026-01-01T00:00:00.000Z"


def machine(states: dict[str, Any], start: str | None = None) -> dict[str, Any]:
    """A definition of ``states`` starting at the first one."""
    return {"StartAt": start or next(iter(states)), "States": states}


def pass_state(**fields: Any) -> dict[str, Any]:
    return {"Type": "Pass", "End": True, **fields}


class Run:
    """An execution of one definition, on a registry whose functions a test may add."""

    def __init__(self) -> None:
        self.registry = faaslib.Registry()
        self.clock = faaslib.VirtualClock(EPOCH)

    async def __call__(
        self,
        definition: dict[str, Any],
        data: Any = None,
        *,
        name: str | None = None,
        then: Sequence[float] = (),
    ) -> ExecutionResult:
        """Run ``definition`` on ``data`` until the execution settles; then, for each of
        ``then``, move the clock that many seconds and let it settle again."""
        self.registry.state_machine("m", definition)
        async with faaslib.Invoker(self.registry, clock=self.clock) as invoker:
            text = None if data is None else json.dumps(data)
            arn = await invoker.start_execution("m", text, execution_name=name)
            await invoker.drain()
            for seconds in then:
                self.clock.advance(seconds)
                await invoker.drain()
            self.history = invoker.get_execution_history(arn)
            return invoker.describe_execution(arn)

    def entered(self) -> list[str]:
        """The names of the states entered, in the order of the history."""
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history
            if event["type"].endswith("StateEntered")
        ]


@pytest.fixture
def run() -> Run:
    return Run()


def output(result: ExecutionResult) -> Any:
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output is not None
    return json.loads(result.output)


def failed(result: ExecutionResult, error: str) -> str:
    assert result.status == "FAILED"
    assert result.error == error, result.cause
    return result.cause or ""


# -- Pass ------------------------------------------------------------------------------------------


async def test_pass_without_fields_passes_its_input(run: Run) -> None:
    result = await run(machine({"P": pass_state()}), {"a": 1})
    assert output(result) == {"a": 1}


async def test_pass_result_replaces_the_input(run: Run) -> None:
    result = await run(machine({"P": pass_state(Result={"x": [1, 2]})}), {"a": 1})
    assert output(result) == {"x": [1, 2]}


async def test_pass_parameters_take_paths_and_keep_constants(run: Run) -> None:
    parameters = {"k": "v", "copy.$": "$.a.b", "nested": {"list.$": "$.l"}}
    result = await run(machine({"P": pass_state(Parameters=parameters)}), {"a": {"b": 3}, "l": [4]})
    assert output(result) == {"k": "v", "copy": 3, "nested": {"list": [4]}}


async def test_pass_result_path_places_the_result_in_the_input(run: Run) -> None:
    state = pass_state(Result="r", ResultPath="$.out")
    assert output(await run(machine({"P": state}), {"a": 1})) == {"a": 1, "out": "r"}


async def test_pass_nested_result_path_makes_the_objects_on_the_way(run: Run) -> None:
    state = pass_state(Result=7, ResultPath="$.a.b.c")
    result = await run(machine({"P": state}), {"a": {"keep": True}})
    assert output(result) == {"a": {"keep": True, "b": {"c": 7}}}


async def test_pass_result_path_replaces_an_existing_value(run: Run) -> None:
    state = pass_state(Result=[1], ResultPath="$.a")
    assert output(await run(machine({"P": state}), {"a": {"old": 1}, "b": 2})) == {"a": [1], "b": 2}


async def test_pass_null_result_path_keeps_the_raw_input(run: Run) -> None:
    """``ResultPath: null`` discards the result: the output is the state's raw input, not its
    effective input after ``InputPath``."""
    state = pass_state(InputPath="$.inner", Result="ignored", ResultPath=None)
    result = await run(machine({"P": state}), {"inner": {"x": 1}, "other": 2})
    assert output(result) == {"inner": {"x": 1}, "other": 2}


async def test_pass_input_path_selects_the_effective_input(run: Run) -> None:
    state = pass_state(InputPath="$.inner")
    assert output(await run(machine({"P": state}), {"inner": {"x": 1}, "y": 2})) == {"x": 1}


async def test_pass_null_input_path_gives_an_empty_object(run: Run) -> None:
    state = pass_state(InputPath=None)
    assert output(await run(machine({"P": state}), {"a": 1})) == {}


async def test_pass_null_input_path_then_result_path_places_on_the_raw_input(run: Run) -> None:
    state = pass_state(InputPath=None, ResultPath="$.seen")
    assert output(await run(machine({"P": state}), {"a": 1})) == {"a": 1, "seen": {}}


async def test_pass_output_path_selects_the_output(run: Run) -> None:
    state = pass_state(
        Result={"keep": {"k": 1}, "drop": 2}, ResultPath="$.r", OutputPath="$.r.keep"
    )
    assert output(await run(machine({"P": state}), {"a": 1})) == {"k": 1}


async def test_pass_null_output_path_gives_an_empty_object(run: Run) -> None:
    state = pass_state(Result={"x": 1}, OutputPath=None)
    assert output(await run(machine({"P": state}), {"a": 1})) == {}


async def test_a_missing_input_path_fails_the_execution_with_states_runtime(run: Run) -> None:
    state = pass_state(InputPath="$.nowhere")
    cause = failed(await run(machine({"P": state}), {"a": 1}), "States.Runtime")
    assert "$.nowhere" in cause


async def test_a_result_path_through_a_non_object_is_result_path_match_failure(run: Run) -> None:
    state = pass_state(Result=1, ResultPath="$.a.b")
    failed(await run(machine({"P": state}), {"a": "text"}), "States.ResultPathMatchFailure")


async def test_pass_states_chain_their_outputs(run: Run) -> None:
    states = {
        "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.one", "Next": "Two"},
        "Two": {"Type": "Pass", "Parameters": {"sum.$": "States.MathAdd($.one, 41)"}, "End": True},
    }
    assert output(await run(machine(states), {})) == {"sum": 42}


# -- Choice ----------------------------------------------------------------------------------------

CHOICE = {
    "Pick": {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {
                "And": [
                    {"Variable": "$.s", "IsPresent": True},
                    {"Variable": "$.s", "StringMatches": "ab*"},
                ],
                "Next": "Matched",
            },
            {"Not": {"Variable": "$.flag", "BooleanEquals": False}, "Next": "Flagged"},
        ],
        "Default": "Other",
    },
    "Big": pass_state(Result="big"),
    "Matched": pass_state(Result="matched"),
    "Flagged": pass_state(Result="flagged"),
    "Other": pass_state(Result="other"),
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"n": 11, "flag": False}, "big"),
        ({"n": 10, "s": "abc", "flag": False}, "matched"),
        ({"n": 1, "s": "xbc", "flag": True}, "flagged"),
        ({"n": 1, "flag": False}, "other"),
    ],
)
async def test_choice_takes_the_first_matching_rule_or_the_default(
    run: Run, data: Any, expected: str
) -> None:
    assert output(await run(machine(CHOICE), data)) == expected
    assert run.entered() == ["Pick", expected.capitalize()]


async def test_choice_path_operand_compares_two_fields(run: Run) -> None:
    states = {
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.a", "NumericLessThanPath": "$.b", "Next": "Less"}],
            "Default": "NotLess",
        },
        "Less": pass_state(Result="less"),
        "NotLess": pass_state(Result="not less"),
    }
    assert output(await run(machine(states), {"a": 1, "b": 2})) == "less"


async def test_choice_without_match_or_default_fails_with_no_choice_matched(run: Run) -> None:
    states = {
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}],
        },
        "One": pass_state(),
    }
    failed(await run(machine(states), {"n": 2}), "States.NoChoiceMatched")
    assert [event["type"] for event in run.history][-2:] == [
        "ChoiceStateEntered",
        "ExecutionFailed",
    ]


async def test_choice_input_and_output_paths_shape_what_it_passes_on(run: Run) -> None:
    states = {
        "Pick": {
            "Type": "Choice",
            "InputPath": "$.inner",
            "OutputPath": "$.v",
            "Choices": [{"Variable": "$.v", "StringEquals": "go", "Next": "Go"}],
        },
        "Go": pass_state(),
    }
    assert output(await run(machine(states), {"inner": {"v": "go", "w": 1}})) == "go"


# -- Wait ------------------------------------------------------------------------------------------


def wait_machine(**fields: Any) -> dict[str, Any]:
    return machine({"W": {"Type": "Wait", "Next": "Done", **fields}, "Done": pass_state()})


async def test_an_hour_wait_ends_when_the_clock_reaches_it(run: Run) -> None:
    still = await run(wait_machine(Seconds=3600), {"a": 1}, then=[3599])
    assert still.status == "RUNNING"
    assert run.entered() == ["W"]


async def test_an_hour_wait_finishes_at_once_on_a_virtual_clock(run: Run) -> None:
    with anyio.fail_after(5):
        result = await run(wait_machine(Seconds=3600), {"a": 1}, then=[3600])
    assert output(result) == {"a": 1}
    assert run.entered() == ["W", "Done"]
    exited = next(event for event in run.history if event["type"] == "WaitStateExited")
    assert exited["timestamp"].timestamp() == EPOCH + 3600


async def test_wait_until_a_timestamp(run: Run) -> None:
    definition = wait_machine(Timestamp="2026-01-01T02:00:00Z")
    assert (await run(definition, {}, then=[7199])).status == "RUNNING"


async def test_wait_until_a_timestamp_ends_then(run: Run) -> None:
    definition = wait_machine(Timestamp="2026-01-01T02:00:00Z")
    assert output(await run(definition, {"k": 1}, then=[7200])) == {"k": 1}


async def test_wait_until_a_past_timestamp_does_not_wait(run: Run) -> None:
    definition = wait_machine(Timestamp="2025-12-31T23:00:00Z")
    assert output(await run(definition, {"k": 1})) == {"k": 1}


async def test_wait_seconds_path(run: Run) -> None:
    definition = wait_machine(SecondsPath="$.delay")
    assert (await run(definition, {"delay": 90}, then=[89])).status == "RUNNING"


async def test_wait_seconds_path_ends_after_those_seconds(run: Run) -> None:
    definition = wait_machine(SecondsPath="$.delay")
    assert output(await run(definition, {"delay": 90}, then=[90])) == {"delay": 90}


async def test_wait_timestamp_path(run: Run) -> None:
    definition = wait_machine(TimestampPath="$.until")
    data = {"until": "2026-01-01T00:30:00.5+00:00"}
    assert (await run(definition, data, then=[1800])).status == "RUNNING"


async def test_wait_timestamp_path_ends_then(run: Run) -> None:
    definition = wait_machine(TimestampPath="$.until")
    data = {"until": "2026-01-01T00:30:00.5+00:00"}
    assert output(await run(definition, data, then=[1801])) == data


#: How a States.Runtime cause begins for the Wait state, entered at event 2.
IN_W = "An error occurred while executing the state 'W' (entered at the event id #2). "


@pytest.mark.parametrize(
    ("delay", "shown"),
    [("ten", "ten"), (1.5, "1.5"), (True, "true"), (None, "null"), ({"s": 1}, '{"s":1}')],
)
async def test_a_seconds_path_value_that_is_not_an_integer_is_states_runtime(
    run: Run, delay: Any, shown: str
) -> None:
    result = await run(wait_machine(SecondsPath="$.delay"), {"delay": delay})
    assert failed(result, "States.Runtime") == (
        f"{IN_W}The SecondsPath parameter cannot be parsed as a long value: $.delay == {shown}"
    )
    assert [event["type"] for event in run.history][-2:] == ["WaitStateEntered", "ExecutionFailed"]


async def test_a_negative_seconds_path_value_is_states_runtime(run: Run) -> None:
    result = await run(wait_machine(SecondsPath="$.delay"), {"delay": -1})
    assert failed(result, "States.Runtime") == (
        f"{IN_W}The SecondsPath parameter references a negative value: $.delay == -1"
    )


async def test_a_missing_seconds_path_is_states_runtime(run: Run) -> None:
    result = await run(wait_machine(SecondsPath="$.delay"), {})
    assert failed(result, "States.Runtime") == (
        f"{IN_W}The SecondsPath parameter does not reference an input value: $.delay"
    )


@pytest.mark.parametrize(
    ("stamp", "shown"),
    [
        ("tomorrow", "tomorrow"),
        ("2026-01-01", "2026-01-01"),
        ("2026-01-01T00:00:00", "2026-01-01T00:00:00"),
        ("2026-01-01T00:00:00.000", "2026-01-01T00:00:00.000"),
        (5, "5"),
        (None, "null"),
    ],
)
async def test_a_bad_timestamp_path_value_is_states_runtime(
    run: Run, stamp: Any, shown: str
) -> None:
    result = await run(wait_machine(TimestampPath="$.t"), {"t": stamp})
    assert failed(result, "States.Runtime") == (
        f"{IN_W}The TimestampPath parameter does not reference a valid ISO-8601 extended "
        f"offset date-time format string: $.t == {shown}"
    )


async def test_a_missing_timestamp_path_is_states_runtime(run: Run) -> None:
    result = await run(wait_machine(TimestampPath="$.t"), {})
    assert failed(result, "States.Runtime") == (
        f"{IN_W}The TimestampPath parameter does not reference an input value: $.t"
    )


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-01-01T00:00:10Z",
        "2026-01-01T00:00:10.00Z",
        "2026-01-01T00:00:10.000Z",
        "2026-01-01T00:00:10.000000Z",
        "2026-01-01T00:00:10.0000000Z",
        "2026-01-01T01:00:10+01:00",
    ],
)
async def test_timestamp_path_forms_aws_takes(run: Run, stamp: str) -> None:
    definition = wait_machine(TimestampPath="$.t")
    assert output(await run(definition, {"t": stamp}, then=[10])) == {"t": stamp}


async def test_a_runtime_error_names_the_state_and_its_entered_event(run: Run) -> None:
    states = {
        "First": {"Type": "Pass", "Next": "Check Address"},
        "Check Address": pass_state(Parameters={"address.$": "$.application.address"}),
    }
    result = await run(machine(states), {"flagged": False})
    assert failed(result, "States.Runtime") == (
        "An error occurred while executing the state 'Check Address' (entered at the event "
        "id #4). The JSONPath '$.application.address' specified for the field 'address.$' "
        """could not be found in the input '{"flagged":false}'"""
    )


async def test_a_runtime_error_in_a_branch_names_the_inner_state(run: Run) -> None:
    inner = branch({"Inner": pass_state(InputPath="$.nope")})
    states = {"Par": {"Type": "Parallel", "Branches": [inner], "End": True}}
    cause = failed(await run(machine(states), {}), "States.Runtime")
    assert cause.startswith(
        "An error occurred while executing the state 'Inner' (entered at the event id #4). "
    )
    assert "'Par'" not in cause


async def test_wait_applies_input_and_output_paths(run: Run) -> None:
    definition = wait_machine(Seconds=1, InputPath="$.in", OutputPath="$.keep")
    assert output(await run(definition, {"in": {"keep": 3}}, then=[1])) == 3


# -- Succeed ---------------------------------------------------------------------------------------


async def test_succeed_ends_the_execution_with_its_output(run: Run) -> None:
    states = {
        "Stop": {"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"},
    }
    assert output(await run(machine(states), {"a": {"b": [1]}})) == [1]
    assert [event["type"] for event in run.history] == [
        "ExecutionStarted",
        "SucceedStateEntered",
        "SucceedStateExited",
        "ExecutionSucceeded",
    ]


async def test_succeed_after_choice_ends_early(run: Run) -> None:
    states = {
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.stop", "BooleanEquals": True, "Next": "Stop"}],
            "Default": "More",
        },
        "Stop": {"Type": "Succeed"},
        "More": pass_state(Result="more"),
    }
    assert output(await run(machine(states), {"stop": True})) == {"stop": True}
    assert run.entered() == ["Pick", "Stop"]


# -- Fail ------------------------------------------------------------------------------------------


async def test_fail_gives_its_error_and_cause(run: Run) -> None:
    states = {"F": {"Type": "Fail", "Error": "Custom.Error", "Cause": "it broke"}}
    result = await run(machine(states), {})
    assert failed(result, "Custom.Error") == "it broke"
    assert result.output is None
    assert [event["type"] for event in run.history] == [
        "ExecutionStarted",
        "FailStateEntered",
        "ExecutionFailed",
    ]
    assert run.history[-1]["executionFailedEventDetails"] == {
        "error": "Custom.Error",
        "cause": "it broke",
    }


async def test_fail_error_path_and_cause_path_read_the_input(run: Run) -> None:
    states = {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.detail.c"}}
    result = await run(machine(states), {"e": "Bad.Input", "detail": {"c": "no"}})
    assert failed(result, "Bad.Input") == "no"


async def test_fail_cause_path_may_be_an_intrinsic(run: Run) -> None:
    states = {
        "F": {
            "Type": "Fail",
            "Error": "Order.Rejected",
            "CausePath": "States.Format('order {} rejected: {}', $.id, $.why)",
        }
    }
    result = await run(machine(states), {"id": 7, "why": "empty"})
    assert failed(result, "Order.Rejected") == "order 7 rejected: empty"


async def test_fail_error_path_may_be_an_intrinsic(run: Run) -> None:
    states = {"F": {"Type": "Fail", "ErrorPath": "States.Format('E.{}', $.code)", "Cause": "c"}}
    failed(await run(machine(states), {"code": "x"}), "E.x")


async def test_fail_error_path_to_a_non_string_is_states_runtime(run: Run) -> None:
    states = {"F": {"Type": "Fail", "ErrorPath": "$.e"}}
    failed(await run(machine(states), {"e": 5}), "States.Runtime")


# -- Parallel --------------------------------------------------------------------------------------


def branch(states: dict[str, Any]) -> dict[str, Any]:
    return machine(states)


async def test_parallel_outputs_are_in_branch_order(run: Run) -> None:
    """The first branch waits an hour, so it ends last; its output still comes first."""
    slow = branch(
        {
            "Slow": {"Type": "Wait", "Seconds": 3600, "Next": "SlowDone"},
            "SlowDone": pass_state(Result="slow"),
        }
    )
    fast = branch({"Fast": pass_state(Parameters={"got.$": "$.v"})})
    states = {"Par": {"Type": "Parallel", "Branches": [slow, fast], "End": True}}
    result = await run(machine(states), {"v": 1}, then=[3600])
    assert output(result) == ["slow", {"got": 1}]
    assert run.entered().index("Fast") < run.entered().index("SlowDone")


async def test_parallel_branches_run_concurrently(run: Run) -> None:
    """Two branches that each wait an hour end after one hour, not two."""
    waits = [branch({f"W{i}": {"Type": "Wait", "Seconds": 3600, "End": True}}) for i in range(2)]
    states = {"Par": {"Type": "Parallel", "Branches": waits, "End": True}}
    assert output(await run(machine(states), {"x": 1}, then=[3600])) == [{"x": 1}] * 2


async def test_a_failing_branch_stops_the_others(run: Run) -> None:
    reached: list[Any] = []

    @run.registry.function
    def record(event: Any) -> Any:
        reached.append(event)
        return event

    arn = "arn:aws:lambda:us-east-1:123456789012:function:record"
    waiting = branch(
        {
            "LongWait": {"Type": "Wait", "Seconds": 3600, "Next": "AfterWait"},
            "AfterWait": {"Type": "Task", "Resource": arn, "End": True},
        }
    )
    failing = branch(
        {
            "Breathe": {"Type": "Wait", "Seconds": 10, "Next": "Boom"},
            "Boom": {"Type": "Fail", "Error": "Branch.Broke", "Cause": "second branch"},
        }
    )
    states = {"Par": {"Type": "Parallel", "Branches": [waiting, failing], "End": True}}
    result = await run(machine(states), {}, then=[10, 7200])
    assert failed(result, "Branch.Broke") == "second branch"
    assert reached == []
    assert "AfterWait" not in run.entered()
    assert "LongWait" in run.entered()
    assert result.stop_date is not None
    assert result.stop_date.timestamp() == EPOCH + 10  # it failed then, not after the hour


async def test_parallel_catch_routes_a_branch_error(run: Run) -> None:
    failing = branch({"Boom": {"Type": "Fail", "Error": "Branch.Broke", "Cause": "why"}})
    fine = branch({"Fine": pass_state()})
    states = {
        "Par": {
            "Type": "Parallel",
            "Branches": [fine, failing],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}],
            "Next": "Unreached",
        },
        "Unreached": pass_state(),
        "Handled": pass_state(),
    }
    result = await run(machine(states), {"a": 1})
    assert output(result) == {"a": 1, "error": {"Error": "Branch.Broke", "Cause": "why"}}
    assert "Unreached" not in run.entered()


async def test_parallel_result_selector_and_result_path(run: Run) -> None:
    one = branch({"One": pass_state(Result={"v": 1})})
    two = branch({"Two": pass_state(Result={"v": 2})})
    states = {
        "Par": {
            "Type": "Parallel",
            "Branches": [one, two],
            "ResultSelector": {
                "first.$": "$[0].v",
                "all.$": "$[*].v",
                "n.$": "States.ArrayLength($)",
            },
            "ResultPath": "$.par",
            "End": True,
        }
    }
    assert output(await run(machine(states), {"keep": True})) == {
        "keep": True,
        "par": {"first": 1, "all": [1, 2], "n": 2},
    }


async def test_parallel_parameters_give_each_branch_its_input(run: Run) -> None:
    echoes = [branch({name: pass_state()}) for name in ("Echo1", "Echo2")]
    states = {
        "Par": {
            "Type": "Parallel",
            "InputPath": "$.in",
            "Parameters": {"x.$": "$.x", "state.$": "$$.State.Name"},
            "Branches": echoes,
            "End": True,
        }
    }
    assert output(await run(machine(states), {"in": {"x": 5}})) == [{"x": 5, "state": "Par"}] * 2


# -- Map -------------------------------------------------------------------------------------------


def processor(states: dict[str, Any]) -> dict[str, Any]:
    return machine(states)


async def test_map_items_path_and_item_selector(run: Run) -> None:
    states = {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {
                "index.$": "$$.Map.Item.Index",
                "value.$": "$$.Map.Item.Value",
                "tag.$": "$.tag",
            },
            "ItemProcessor": processor({"Echo": pass_state()}),
            "ResultPath": "$.results",
            "End": True,
        }
    }
    result = await run(machine(states), {"items": ["a", {"b": 1}], "tag": "t"})
    assert output(result) == {
        "items": ["a", {"b": 1}],
        "tag": "t",
        "results": [
            {"index": 0, "value": "a", "tag": "t"},
            {"index": 1, "value": {"b": 1}, "tag": "t"},
        ],
    }


async def test_map_without_items_path_iterates_its_input(run: Run) -> None:
    states = {
        "Each": {
            "Type": "Map",
            "ItemProcessor": processor(
                {"Double": pass_state(Parameters={"d.$": "States.MathAdd($, $)"})}
            ),
            "End": True,
        }
    }
    assert output(await run(machine(states), [1, 2, 3])) == [{"d": 2}, {"d": 4}, {"d": 6}]


async def test_map_over_an_empty_array_gives_an_empty_array(run: Run) -> None:
    states = {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": processor({"Echo": pass_state()}),
            "End": True,
        }
    }
    assert output(await run(machine(states), {"items": []})) == []


async def test_map_iterator_and_parameters_the_older_forms(run: Run) -> None:
    states = {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "Parameters": {"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"},
            "Iterator": processor({"Echo": pass_state(OutputPath="$.v")}),
            "End": True,
        }
    }
    assert output(await run(machine(states), {"items": [10, 20]})) == [10, 20]


@pytest.mark.parametrize("items", [{"a": 1}, "text", 5, None])
async def test_map_items_path_to_a_non_array_is_states_runtime(run: Run, items: Any) -> None:
    states = {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": processor({"Echo": pass_state()}),
            "End": True,
        }
    }
    failed(await run(machine(states), {"items": items}), "States.Runtime")


class Gauge:
    """How many invocations of a function run at once, at most."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0

    async def __call__(self, event: Any) -> Any:
        self.now += 1
        self.peak = max(self.peak, self.now)
        for _ in range(5):  # let every other iteration that can start, start
            await anyio.lowlevel.checkpoint()
        self.now -= 1
        return event


def gauged_map(run: Run, limit: int | None, count: int) -> tuple[Gauge, dict[str, Any]]:
    gauge = Gauge()

    async def measured(event: Any) -> Any:
        return await gauge(event)

    run.registry.function(measured, name="measured", timeout=60)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "measured", "Payload.$": "$"},
        "OutputPath": "$.Payload",
        "End": True,
    }
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": processor({"Call": task}),
        "End": True,
    }
    if limit is not None:
        state["MaxConcurrency"] = limit
    return gauge, machine({"Each": state})


@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_map_max_concurrency_bounds_the_running_iterations(run: Run, limit: int) -> None:
    gauge, definition = gauged_map(run, limit, 7)
    result = await run(definition, {"items": list(range(7))})
    assert output(result) == list(range(7))
    assert gauge.peak == limit


@pytest.mark.parametrize("limit", [None, 0])
async def test_map_without_max_concurrency_runs_every_iteration_at_once(
    run: Run, limit: int | None
) -> None:
    gauge, definition = gauged_map(run, limit, 5)
    assert output(await run(definition, {"items": list(range(5))})) == list(range(5))
    assert gauge.peak == 5


async def test_max_concurrency_one_runs_the_items_in_order(run: Run) -> None:
    order: list[int] = []

    @run.registry.function
    async def note(event: Any) -> Any:
        order.append(event)
        await anyio.lowlevel.checkpoint()
        return event

    task = {
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:note",
        "End": True,
    }
    states = {
        "Each": {
            "Type": "Map",
            "MaxConcurrency": 1,
            "ItemProcessor": processor({"Note": task}),
            "End": True,
        }
    }
    assert output(await run(machine(states), list(range(6)))) == list(range(6))
    assert order == list(range(6))


async def test_max_concurrency_path(run: Run) -> None:
    gauge, definition = gauged_map(run, None, 6)
    definition["States"]["Each"]["MaxConcurrencyPath"] = "$.limit"
    result = await run(definition, {"items": list(range(6)), "limit": 2})
    assert output(result) == list(range(6))
    assert gauge.peak == 2


async def test_a_failing_iteration_stops_the_others(run: Run) -> None:
    reached: list[Any] = []

    @run.registry.function
    def record(event: Any) -> Any:
        reached.append(event)
        return event

    item_states = {
        "Which": {
            "Type": "Choice",
            "Choices": [{"Variable": "$", "StringEquals": "bad", "Next": "Shortly"}],
            "Default": "Long",
        },
        "Shortly": {"Type": "Wait", "Seconds": 10, "Next": "Broken"},
        "Broken": {"Type": "Fail", "Error": "Item.Bad"},
        "Long": {"Type": "Wait", "Seconds": 3600, "Next": "Record"},
        "Record": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:record",
            "End": True,
        },
    }
    states = {"Each": {"Type": "Map", "ItemProcessor": processor(item_states), "End": True}}
    result = await run(machine(states), ["good", "bad", "good"], then=[10, 7200])
    failed(result, "Item.Bad")
    assert reached == []
    assert "Record" not in run.entered()
    assert run.entered().count("Long") == 2
    assert result.stop_date is not None
    assert result.stop_date.timestamp() == EPOCH + 10


def failing_map(**tolerance: Any) -> dict[str, Any]:
    """A Map whose iteration fails for every item that is ``"bad"``."""
    check = {
        "Type": "Choice",
        "Choices": [{"Variable": "$", "StringEquals": "bad", "Next": "Broken"}],
        "Default": "Fine",
    }
    states = {
        "Check": check,
        "Broken": {"Type": "Fail", "Error": "Item.Bad", "Cause": "a bad item"},
        "Fine": pass_state(),
    }
    return machine(
        {
            "Each": {
                "Type": "Map",
                "ItemProcessor": processor(states),
                "End": True,
                **tolerance,
            }
        }
    )


async def test_a_failing_iteration_fails_the_map(run: Run) -> None:
    result = await run(failing_map(), ["ok", "bad", "ok"])
    assert failed(result, "Item.Bad") == "a bad item"


async def test_tolerated_failure_count_lets_the_map_succeed(run: Run) -> None:
    result = await run(failing_map(ToleratedFailureCount=1), ["ok", "bad", "ok"])
    assert result.status == "SUCCEEDED"
    assert json.loads(result.output or "null")[0::2] == ["ok", "ok"]


async def test_failures_past_the_tolerated_count_fail_the_map(run: Run) -> None:
    result = await run(failing_map(ToleratedFailureCount=1), ["bad", "ok", "bad"])
    failed(result, "States.ExceedToleratedFailureThreshold")


async def test_tolerated_failure_percentage(run: Run) -> None:
    items = ["bad", "ok", "bad", "ok"]
    assert (await run(failing_map(ToleratedFailurePercentage=50), items)).status == "SUCCEEDED"


async def test_failures_past_the_tolerated_percentage_fail_the_map(run: Run) -> None:
    items = ["bad", "ok", "bad", "bad"]
    result = await run(failing_map(ToleratedFailurePercentage=50), items)
    failed(result, "States.ExceedToleratedFailureThreshold")


async def test_tolerated_failure_count_path(run: Run) -> None:
    definition = failing_map(ToleratedFailureCountPath="$.allowed")
    definition["States"]["Each"]["ItemsPath"] = "$.items"
    result = await run(definition, {"allowed": 2, "items": ["bad", "bad", "ok"]})
    assert result.status == "SUCCEEDED"


async def test_map_catch_takes_an_iteration_error(run: Run) -> None:
    definition = failing_map()
    each = definition["States"]["Each"]
    each["Catch"] = [{"ErrorEquals": ["Item.Bad"], "Next": "Caught"}]
    del each["End"]
    each["Next"] = "Done"
    definition["States"].update({"Done": pass_state(), "Caught": pass_state()})
    result = await run(definition, ["bad"])
    assert output(result) == {"Error": "Item.Bad", "Cause": "a bad item"}
    assert run.entered()[-1] == "Caught"


async def test_map_result_selector(run: Run) -> None:
    states = {
        "Each": {
            "Type": "Map",
            "ItemProcessor": processor({"Echo": pass_state()}),
            "ResultSelector": {"count.$": "States.ArrayLength($)", "first.$": "$[0]"},
            "End": True,
        }
    }
    assert output(await run(machine(states), ["a", "b"])) == {"count": 2, "first": "a"}


async def test_nested_maps(run: Run) -> None:
    inner = processor({"Echo": pass_state()})
    selector = {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"}
    inner_map = {"Type": "Map", "ItemSelector": selector, "ItemProcessor": inner, "End": True}
    outer = {"Type": "Map", "ItemProcessor": processor({"Inner": inner_map}), "End": True}
    result = await run(machine({"Outer": outer}), [[1, 2], [3]])
    assert output(result) == [[{"v": 1, "i": 0}, {"v": 2, "i": 1}], [{"v": 3, "i": 0}]]


# -- the context object ----------------------------------------------------------------------------


async def test_context_object_execution_and_state_machine(run: Run) -> None:
    parameters = {
        "id.$": "$$.Execution.Id",
        "name.$": "$$.Execution.Name",
        "input.$": "$$.Execution.Input",
        "start.$": "$$.Execution.StartTime",
        "machine.$": "$$.StateMachine.Id",
        "state.$": "$$.State.Name",
        "entered.$": "$$.State.EnteredTime",
        "retries.$": "$$.State.RetryCount",
        "role.$": "$$.Execution.RoleArn",
        "machine_name.$": "$$.StateMachine.Name",
    }
    states = {
        "Later": {"Type": "Wait", "Seconds": 60, "Next": "Look"},
        "Look": pass_state(Parameters=parameters),
    }
    result = await run(machine(states), {"a": 1}, name="run-1", then=[60])
    seen = output(result)
    assert seen == {
        "id": result.execution_arn,
        "name": "run-1",
        "input": {"a": 1},
        "start": START,
        "machine": result.state_machine_arn,
        "state": "Look",
        "entered": "2026-01-01T00:01:00.000Z",
        "retries": 0,
        "role": seen["role"],
        "machine_name": "m",
    }
    assert seen["role"].startswith("arn:aws:iam::")
    assert result.execution_arn.endswith(":execution:m:run-1")
    assert result.state_machine_arn.endswith(":stateMachine:m")


async def test_context_object_input_is_the_execution_input_not_the_state_input(run: Run) -> None:
    states = {
        "Change": {"Type": "Pass", "Result": {"b": 2}, "Next": "Look"},
        "Look": pass_state(Parameters={"original.$": "$$.Execution.Input", "now.$": "$"}),
    }
    assert output(await run(machine(states), {"a": 1})) == {"original": {"a": 1}, "now": {"b": 2}}


async def test_context_object_retry_count_counts_the_retries(run: Run) -> None:
    seen: list[int] = []

    @run.registry.function
    def flaky(event: Any) -> Any:
        seen.append(event["retry"])
        if len(seen) < 3:
            raise ValueError("not yet")
        return event

    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "flaky", "Payload": {"retry.$": "$$.State.RetryCount"}},
        "Retry": [{"ErrorEquals": ["ValueError"], "IntervalSeconds": 1, "MaxAttempts": 3}],
        "OutputPath": "$.Payload",
        "End": True,
    }
    result = await run(machine({"Call": task}), {}, then=[1, 2])
    assert output(result) == {"retry": 2}
    assert seen == [0, 1, 2]


async def test_context_object_state_name_in_branches_and_iterations(run: Run) -> None:
    def look(name: str) -> dict[str, Any]:
        return processor({name: pass_state(Parameters={"s.$": "$$.State.Name"})})

    states = {
        "Each": {"Type": "Map", "ItemProcessor": look("InMap"), "Next": "Par"},
        "Par": {"Type": "Parallel", "Branches": [look("InBranch")], "End": True},
    }
    assert output(await run(machine(states), [1])) == [{"s": "InBranch"}]
    assert run.entered() == ["Each", "InMap", "Par", "InBranch"]


# -- intrinsic functions in Parameters -------------------------------------------------------------


async def test_intrinsics_in_parameters(run: Run) -> None:
    parameters = {
        "greeting.$": "States.Format('Hello, {}! You are {}.', $.name, $.age)",
        "parsed.$": "States.StringToJson($.json)",
        "text.$": "States.JsonToString($.obj)",
        "array.$": "States.Array($.name, 1, true)",
        "length.$": "States.ArrayLength($.list)",
        "contains.$": "States.ArrayContains($.list, 2)",
        "range.$": "States.ArrayRange(1, 9, 4)",
        "item.$": "States.ArrayGetItem($.list, 1)",
        "unique.$": "States.ArrayUnique($.dups)",
        "parts.$": "States.ArrayPartition($.list, 2)",
        "encoded.$": "States.Base64Encode($.name)",
        "decoded.$": "States.Base64Decode('YWJj')",
        "merged.$": "States.JsonMerge($.obj, $.more, false)",
        "sum.$": "States.MathAdd($.age, -2)",
        "split.$": "States.StringSplit('a,b,c', ',')",
        "uuid.$": "States.UUID()",
        "random.$": "States.MathRandom(1, 3)",
    }
    data = {
        "name": "Ada",
        "age": 36,
        "json": '{"k":[1]}',
        "obj": {"a": 1},
        "more": {"b": 2},
        "list": [1, 2, 3],
        "dups": [1, 1, 2],
    }
    result = output(await run(machine({"P": pass_state(Parameters=parameters)}), data))
    uuid, random = result.pop("uuid"), result.pop("random")
    assert result == {
        "greeting": "Hello, Ada! You are 36.",
        "parsed": {"k": [1]},
        "text": '{"a":1}',
        "array": ["Ada", 1, True],
        "length": 3,
        "contains": True,
        "range": [1, 5, 9],
        "item": 2,
        "unique": [1, 2],
        "parts": [[1, 2], [3]],
        "encoded": "QWRh",
        "decoded": "abc",
        "merged": {"a": 1, "b": 2},
        "sum": 34,
        "split": ["a", "b", "c"],
    }
    assert len(uuid) == 36
    assert uuid.count("-") == 4
    assert random in (1, 2)


async def test_intrinsic_hash_is_the_hex_digest(run: Run) -> None:
    import hashlib

    state = pass_state(Parameters={"h.$": "States.Hash($.s, 'SHA-256')"})
    result = output(await run(machine({"P": state}), {"s": "Ada"}))
    assert result == {"h": hashlib.sha256(b"Ada").hexdigest()}


async def test_an_intrinsic_on_bad_arguments_fails_with_intrinsic_failure(run: Run) -> None:
    state = pass_state(Parameters={"v.$": "States.StringToJson($.s)"})
    failed(await run(machine({"P": state}), {"s": "{not json"}), "States.IntrinsicFailure")


# -- data limits -----------------------------------------------------------------------------------

LIMIT = 262_144


async def test_a_state_output_over_the_limit_is_data_limit_exceeded(run: Run) -> None:
    """A Pass state that triples a 100 KB string gives 300 KB: the execution fails there, even
    though the next state would shrink it again."""
    states = {
        "Grow": {
            "Type": "Pass",
            "Parameters": {"a.$": "$.s", "b.$": "$.s", "c.$": "$.s"},
            "Next": "Shrink",
        },
        "Shrink": pass_state(Result="small"),
    }
    result = await run(machine(states), {"s": "x" * 100_000})
    failed(result, "States.DataLimitExceeded")
    assert "Shrink" not in run.entered()


async def test_a_state_output_at_the_limit_is_fine(run: Run) -> None:
    text = "x" * (LIMIT - len('{"s":""}'))
    states = {"Same": {"Type": "Pass", "Next": "Then"}, "Then": pass_state(Result="ok")}
    assert output(await run(machine(states), {"s": text})) == "ok"


async def test_a_state_input_over_the_limit_after_parameters_is_data_limit_exceeded(
    run: Run,
) -> None:
    """A Parallel state whose Parameters make a too-large input fails before its branches."""
    states = {
        "Par": {
            "Type": "Parallel",
            "Parameters": {"a.$": "$.s", "b.$": "$.s", "c.$": "$.s"},
            "Branches": [branch({"Small": pass_state(Result="small")})],
            "End": True,
        }
    }
    failed(await run(machine(states), {"s": "x" * 100_000}), "States.DataLimitExceeded")
    assert "Small" not in run.entered()


async def test_data_limit_exceeded_is_not_caught_by_states_all(run: Run) -> None:
    def big(name: str) -> dict[str, Any]:
        return branch({name: pass_state(Parameters={"a.$": "$.s", "b.$": "$.s"}, OutputPath="$.a")})

    states = {
        "Par": {
            "Type": "Parallel",
            "Branches": [big("Grow1"), big("Grow2"), big("Grow3")],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            "End": True,
        },
        "Caught": pass_state(),
    }
    failed(await run(machine(states), {"s": "x" * 100_000}), "States.DataLimitExceeded")
    assert "Caught" not in run.entered()


async def test_an_express_machine_runs_synchronously(run: Run) -> None:
    run.registry.state_machine(
        "quick",
        machine({"P": pass_state(Parameters={"n.$": "States.MathAdd($.n, 1)"})}),
        type="EXPRESS",
    )
    async with faaslib.Invoker(run.registry, clock=run.clock) as invoker:
        result = await invoker.start_sync_execution("quick", '{"n": 1}')
    assert output(result) == {"n": 2}


async def test_an_express_machine_runs_parallel_and_map_synchronously(run: Run) -> None:
    each = {
        "Type": "Map",
        "ItemSelector": {"i.$": "$$.Map.Item.Index"},
        "ItemProcessor": processor({"Item": pass_state()}),
        "End": True,
    }
    states = {
        "Par": {
            "Type": "Parallel",
            "Branches": [branch({"Each": each}), branch({"Wait": wait_state(60)})],
            "End": True,
        }
    }
    run.registry.state_machine("quick", machine(states), type="EXPRESS")
    results: list[ExecutionResult] = []
    invoker = faaslib.Invoker(run.registry, clock=run.clock)
    async with invoker, anyio.create_task_group() as group:

        async def call(*, task_status: anyio.abc.TaskStatus[None]) -> None:
            task_status.started()  # the execution starts before this task next yields
            results.append(await invoker.start_sync_execution("quick", "[7, 8]"))

        await group.start(call)
        await invoker.drain()
        assert results == []
        run.clock.advance(60)
    assert output(results[0]) == [[{"i": 0}, {"i": 1}], [7, 8]]


def wait_state(seconds: int) -> dict[str, Any]:
    return {"Type": "Wait", "Seconds": seconds, "End": True}


@pytest.mark.parametrize("limit", [0, 1])
async def test_stopping_an_execution_inside_parallel_and_map_leaves_nothing_running(
    run: Run, limit: int
) -> None:
    """Stopped while branches and iterations wait (some not yet admitted by MaxConcurrency),
    the execution ends ABORTED and drain has nothing left to wait for."""
    each = {
        "Type": "Map",
        "MaxConcurrency": limit,
        "ItemProcessor": processor({"Long": wait_state(3600)}),
        "End": True,
    }
    states = {
        "Par": {
            "Type": "Parallel",
            "Branches": [branch({"Each": each}), branch({"Hold": wait_state(7200)})],
            "End": True,
        }
    }
    run.registry.state_machine("m", machine(states))
    async with faaslib.Invoker(run.registry, clock=run.clock) as invoker:
        arn = await invoker.start_execution("m", "[1, 2, 3]")
        await invoker.drain()
        await invoker.stop_execution(arn, error="Stop", cause="enough")
        with anyio.fail_after(5):
            await invoker.drain()
            run.clock.advance(10_000)
            await invoker.drain()
        result = invoker.describe_execution(arn)
        entered = invoker.get_execution_history(arn)
    assert result.status == "ABORTED"
    assert (result.error, result.cause) == ("Stop", "enough")
    assert not any(event["type"] == "WaitStateExited" for event in entered)


async def test_map_with_max_concurrency_waits_on_the_clock(run: Run) -> None:
    """Iterations waiting for their turn do not keep drain from returning while the
    admitted ones sleep; each hour lets the next two in."""
    each = {
        "Type": "Map",
        "MaxConcurrency": 2,
        "ItemProcessor": processor({"Nap": wait_state(3600)}),
        "End": True,
    }
    result = await run(machine({"Each": each}), [1, 2, 3, 4, 5], then=[3600, 3599])
    assert result.status == "RUNNING"
    assert run.entered().count("Nap") == 4
    done = await Run()(machine({"Each": each}), [1, 2, 3, 4, 5], then=[3600, 3600, 3600])
    assert output(done) == [1, 2, 3, 4, 5]
    assert done.stop_date is not None
    assert done.stop_date.timestamp() == EPOCH + 3 * 3600
