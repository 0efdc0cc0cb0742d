"""Execution history: the events of real executions, their order, ids and previousEventId chains.

The expected sequences follow histories recorded from AWS Step Functions: ``ExecutionStarted``
is event 1 and the first state's entry follows event 0; a Parallel state's branches and a Map
state's iterations each chain from the state's ``...StateStarted`` event (an iteration run one
at a time from where the one before ended); ``MapIterationSucceeded``/``Failed`` and
``Parallel``/``MapStateSucceeded`` are followed by no event (the next one names the event
before them); a Parallel or Map state that fails records ``...StateFailed`` (without details)
once, after its retries.
"""

from __future__ import annotations

import json
from typing import Any

import faaslib

EPOCH = 1_767_225_600.0


async def history(
    definition: dict[str, Any], data: Any = None, *, advance: float = 0
) -> list[dict[str, Any]]:
    registry = faaslib.Registry()
    registry.state_machine("m", definition)
    clock = faaslib.VirtualClock(EPOCH)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        arn = await invoker.start_execution("m", json.dumps(data if data is not None else {}))
        await invoker.drain()
        if advance:
            clock.advance(advance)
            await invoker.drain()
        return invoker.get_execution_history(arn)


def chain(events: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    return [(event["id"], event["previousEventId"], event["type"]) for event in events]


def passes(*names: str) -> dict[str, Any]:
    """A definition that runs Pass states ``names`` in order."""
    states: dict[str, Any] = {}
    for name, following in zip(names, [*names[1:], None], strict=True):
        states[name] = {"Type": "Pass", **({"Next": following} if following else {"End": True})}
    return {"StartAt": names[0], "States": states}


async def test_a_pass_chain() -> None:
    events = await history(passes("A", "B"), {"x": 1})
    assert chain(events) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "PassStateEntered"),
        (3, 2, "PassStateExited"),
        (4, 3, "PassStateEntered"),
        (5, 4, "PassStateExited"),
        (6, 5, "ExecutionSucceeded"),
    ]
    started = events[0]["executionStartedEventDetails"]
    assert started["input"] == '{"x":1}'
    assert started["inputDetails"] == {"truncated": False}
    assert events[1]["stateEnteredEventDetails"] == {
        "name": "A",
        "input": '{"x":1}',
        "inputDetails": {"truncated": False},
    }
    assert events[2]["stateExitedEventDetails"] == {
        "name": "A",
        "output": '{"x":1}',
        "outputDetails": {"truncated": False},
    }
    assert events[-1]["executionSucceededEventDetails"] == {
        "output": '{"x":1}',
        "outputDetails": {"truncated": False},
    }


async def test_event_timestamps_follow_the_clock() -> None:
    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}},
    }
    events = await history(definition, advance=3600)
    assert [event["type"] for event in events] == [
        "ExecutionStarted",
        "WaitStateEntered",
        "WaitStateExited",
        "ExecutionSucceeded",
    ]
    stamps = [event["timestamp"].timestamp() for event in events]
    assert stamps == [EPOCH, EPOCH, EPOCH + 3600, EPOCH + 3600]
    assert all(event["timestamp"].tzinfo is not None for event in events)


async def test_choice_and_fail() -> None:
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.bad", "BooleanEquals": True, "Next": "Stop"}],
                "Default": "Fine",
            },
            "Stop": {"Type": "Fail", "Error": "E", "Cause": "C"},
            "Fine": {"Type": "Succeed"},
        },
    }
    events = await history(definition, {"bad": True})
    assert chain(events) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "ChoiceStateEntered"),
        (3, 2, "ChoiceStateExited"),
        (4, 3, "FailStateEntered"),
        (5, 4, "ExecutionFailed"),
    ]
    assert events[-1]["executionFailedEventDetails"] == {"error": "E", "cause": "C"}


def map_machine(item_states: dict[str, Any], **fields: Any) -> dict[str, Any]:
    start = next(iter(item_states))
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": start, "States": item_states},
                "End": True,
                **fields,
            }
        },
    }


async def test_map_iterations_one_at_a_time() -> None:
    """As AWS records a Map with ``MaxConcurrency: 1``: each iteration starts from the last
    state event of the one before, and ``MapStateSucceeded`` follows the last
    ``MapIterationSucceeded``, which no other event follows."""
    definition = map_machine({"Item": {"Type": "Pass", "End": True}}, MaxConcurrency=1)
    events = await history(definition, [1, "two"])
    assert chain(events) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "MapStateEntered"),
        (3, 2, "MapStateStarted"),
        (4, 3, "MapIterationStarted"),
        (5, 4, "PassStateEntered"),
        (6, 5, "PassStateExited"),
        (7, 6, "MapIterationSucceeded"),
        (8, 6, "MapIterationStarted"),
        (9, 8, "PassStateEntered"),
        (10, 9, "PassStateExited"),
        (11, 10, "MapIterationSucceeded"),
        (12, 11, "MapStateSucceeded"),
        (13, 11, "MapStateExited"),
        (14, 13, "ExecutionSucceeded"),
    ]
    assert events[2]["mapStateStartedEventDetails"] == {"length": 2}
    assert events[3]["mapIterationStartedEventDetails"] == {"name": "Each", "index": 0}
    assert events[6]["mapIterationSucceededEventDetails"] == {"name": "Each", "index": 0}
    assert events[7]["mapIterationStartedEventDetails"] == {"name": "Each", "index": 1}
    assert events[8]["stateEnteredEventDetails"]["input"] == '"two"'
    assert "mapStateSucceededEventDetails" not in events[11]


async def test_map_iterations_at_once_each_chain_from_map_state_started() -> None:
    definition = map_machine({"Item": {"Type": "Pass", "End": True}})
    events = await history(definition, [1, 2, 3])
    started = next(event["id"] for event in events if event["type"] == "MapStateStarted")
    iterations = [event for event in events if event["type"] == "MapIterationStarted"]
    assert len(iterations) == 3
    assert all(event["previousEventId"] == started for event in iterations)
    by_id = {event["id"]: event for event in events}
    for event in events:
        if event["type"] == "PassStateExited":  # each iteration's exit follows its entry
            entered = by_id[event["previousEventId"]]
            assert entered["type"] == "PassStateEntered"
            assert by_id[entered["previousEventId"]]["type"] == "MapIterationStarted"
    assert [event["type"] for event in events][-3:] == [
        "MapStateSucceeded",
        "MapStateExited",
        "ExecutionSucceeded",
    ]


FAILING_ITEM = {
    "Check": {
        "Type": "Choice",
        "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Broken"}],
        "Default": "Fine",
    },
    "Broken": {"Type": "Fail", "Error": "Item.Bad", "Cause": "two"},
    "Fine": {"Type": "Pass", "End": True},
}


async def test_map_iteration_failure() -> None:
    """As AWS records it: ``MapStateFailed`` follows the failing iteration's last state event
    and has no details; the execution's failure follows it."""
    definition = map_machine(FAILING_ITEM, MaxConcurrency=1)
    events = await history(definition, [2])
    assert chain(events) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "MapStateEntered"),
        (3, 2, "MapStateStarted"),
        (4, 3, "MapIterationStarted"),
        (5, 4, "ChoiceStateEntered"),
        (6, 5, "ChoiceStateExited"),
        (7, 6, "FailStateEntered"),
        (8, 7, "MapIterationFailed"),
        (9, 7, "MapStateFailed"),
        (10, 9, "ExecutionFailed"),
    ]
    assert set(events[8]) == {"timestamp", "type", "id", "previousEventId"}
    assert events[7]["mapIterationFailedEventDetails"] == {"name": "Each", "index": 0}
    assert events[-1]["executionFailedEventDetails"] == {"error": "Item.Bad", "cause": "two"}


async def test_map_failure_caught() -> None:
    definition = map_machine(
        FAILING_ITEM, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
    )
    del definition["States"]["Each"]["End"]
    definition["States"]["Each"]["Next"] = "Caught"
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    events = await history(definition, [2])
    assert chain(events)[-7:] == [
        (7, 6, "FailStateEntered"),
        (8, 7, "MapIterationFailed"),
        (9, 7, "MapStateFailed"),
        (10, 9, "MapStateExited"),
        (11, 10, "PassStateEntered"),
        (12, 11, "PassStateExited"),
        (13, 12, "ExecutionSucceeded"),
    ]
    assert json.loads(events[9]["stateExitedEventDetails"]["output"]) == {
        "Error": "Item.Bad",
        "Cause": "two",
    }


async def test_map_retried_records_map_state_failed_once() -> None:
    """As AWS records a retried Map: each attempt starts with ``MapStateStarted`` after the
    failed iteration; ``MapStateFailed`` comes only when the retries are spent."""
    retry = [{"ErrorEquals": ["Item.Bad"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    definition = map_machine(FAILING_ITEM, Retry=retry)
    events = await history(definition, [2], advance=1)
    assert chain(events) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "MapStateEntered"),
        (3, 2, "MapStateStarted"),
        (4, 3, "MapIterationStarted"),
        (5, 4, "ChoiceStateEntered"),
        (6, 5, "ChoiceStateExited"),
        (7, 6, "FailStateEntered"),
        (8, 7, "MapIterationFailed"),
        (9, 7, "MapStateStarted"),
        (10, 9, "MapIterationStarted"),
        (11, 10, "ChoiceStateEntered"),
        (12, 11, "ChoiceStateExited"),
        (13, 12, "FailStateEntered"),
        (14, 13, "MapIterationFailed"),
        (15, 13, "MapStateFailed"),
        (16, 15, "ExecutionFailed"),
    ]


def parallel_machine(*branches: list[str], **fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [passes(*names) for names in branches],
                "End": True,
                **fields,
            }
        },
    }


async def test_parallel_branches_chain_from_parallel_state_started() -> None:
    events = await history(parallel_machine(["A1"], ["B1", "B2"]))
    by_id = {event["id"]: event for event in events}
    assert chain(events)[:4] == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "ParallelStateEntered"),
        (3, 2, "ParallelStateStarted"),
        (4, 3, "PassStateEntered"),
    ]

    def path(event: dict[str, Any]) -> list[str]:
        """The states on the previousEventId chain back to ParallelStateStarted."""
        names = []
        while event["type"] != "ParallelStateStarted":
            details = event.get("stateEnteredEventDetails") or event["stateExitedEventDetails"]
            names.append(details["name"])
            event = by_id[event["previousEventId"]]
        return names[::-1]

    exits = {
        event["stateExitedEventDetails"]["name"]: event
        for event in events
        if event["type"] == "PassStateExited"
    }
    assert path(exits["A1"]) == ["A1", "A1"]
    assert path(exits["B2"]) == ["B1", "B1", "B2", "B2"]
    last_branch_event = max(exits["A1"]["id"], exits["B2"]["id"])
    assert chain(events)[-3:] == [
        (len(events) - 2, last_branch_event, "ParallelStateSucceeded"),
        (len(events) - 1, last_branch_event, "ParallelStateExited"),
        (len(events), len(events) - 1, "ExecutionSucceeded"),
    ]
    assert json.loads(events[-2]["stateExitedEventDetails"]["output"]) == [{}, {}]


async def test_parallel_failure_records_parallel_state_failed_without_details() -> None:
    definition = {
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "E"}}}
                ],
                "End": True,
            }
        },
    }
    events = await history(definition)
    assert chain(events) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "ParallelStateEntered"),
        (3, 2, "ParallelStateStarted"),
        (4, 3, "FailStateEntered"),
        (5, 4, "ParallelStateFailed"),
        (6, 5, "ExecutionFailed"),
    ]
    assert set(events[4]) == {"timestamp", "type", "id", "previousEventId"}


async def test_parallel_failure_caught_then_exits() -> None:
    definition = {
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "E"}}}
                ],
                "Catch": [{"ErrorEquals": ["E"], "ResultPath": "$.err", "Next": "After"}],
                "Next": "After",
            },
            "After": {"Type": "Pass", "End": True},
        },
    }
    events = await history(definition, {"k": 1})
    assert chain(events)[3:] == [
        (4, 3, "FailStateEntered"),
        (5, 4, "ParallelStateFailed"),
        (6, 5, "ParallelStateExited"),
        (7, 6, "PassStateEntered"),
        (8, 7, "PassStateExited"),
        (9, 8, "ExecutionSucceeded"),
    ]
    assert json.loads(events[5]["stateExitedEventDetails"]["output"]) == {
        "k": 1,
        "err": {"Error": "E", "Cause": ""},
    }


async def test_ids_are_unique_and_increasing_and_every_previous_event_exists() -> None:
    definition = parallel_machine(["A1", "A2"], ["B1"])
    definition["States"]["Par"]["Next"] = "Each"
    del definition["States"]["Par"]["End"]
    definition["States"]["Each"] = map_machine({"Item": {"Type": "Pass", "End": True}})["States"][
        "Each"
    ]
    events = await history(definition)
    ids = [event["id"] for event in events]
    assert ids == list(range(1, len(events) + 1))
    assert all(0 <= event["previousEventId"] < event["id"] for event in events)


async def test_reverse_order() -> None:
    registry = faaslib.Registry()
    registry.state_machine("m", passes("A"))
    async with faaslib.Invoker(registry, clock=faaslib.VirtualClock(EPOCH)) as invoker:
        arn = await invoker.start_execution("m", "{}")
        await invoker.drain()
        forward = invoker.get_execution_history(arn)
        backward = invoker.get_execution_history(arn, reverse_order=True)
    assert backward == forward[::-1]


async def test_an_item_selector_failure_fails_its_iteration() -> None:
    definition = map_machine(
        {"Item": {"Type": "Pass", "End": True}}, ItemSelector={"x.$": "$.missing"}
    )
    events = await history(definition, [1])
    assert chain(events) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "MapStateEntered"),
        (3, 2, "MapStateStarted"),
        (4, 3, "MapIterationStarted"),
        (5, 4, "MapIterationFailed"),
        (6, 4, "MapStateFailed"),
        (7, 6, "ExecutionFailed"),
    ]
    assert events[-1]["executionFailedEventDetails"]["error"] == "States.Runtime"


async def test_parallel_retried_records_parallel_state_failed_once() -> None:
    definition = {
        "StartAt": "Par",
        "States": {
            "Par": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "E"}}}
                ],
                "Retry": [{"ErrorEquals": ["E"], "IntervalSeconds": 5, "MaxAttempts": 1}],
                "End": True,
            }
        },
    }
    events = await history(definition, advance=5)
    assert chain(events) == [
        (1, 0, "ExecutionStarted"),
        (2, 0, "ParallelStateEntered"),
        (3, 2, "ParallelStateStarted"),
        (4, 3, "FailStateEntered"),
        (5, 4, "ParallelStateStarted"),
        (6, 5, "FailStateEntered"),
        (7, 6, "ParallelStateFailed"),
        (8, 7, "ExecutionFailed"),
    ]
    assert events[4]["timestamp"].timestamp() == EPOCH + 5
