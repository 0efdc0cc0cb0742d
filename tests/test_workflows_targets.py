"""State machines started by triggers and destinations, as functions are invoked by them: a
schedule, an EventBridge rule, a topic, a queue's batches, an Event invocation's destination."""

from __future__ import annotations

import json
from typing import Any

import pytest

import faaslib

ECHO = {
    "StartAt": "Keep",
    "States": {
        "Keep": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "keep", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        }
    },
}
MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:echo"


def registry_keeping(kept: list[Any], **machine: Any) -> faaslib.Registry:
    """A registry whose ``echo`` machine hands each input to the ``keep`` function."""
    registry = faaslib.Registry()

    @registry.function
    def keep(event: Any) -> Any:
        kept.append(event)
        return event

    registry.state_machine("echo", ECHO, **machine)
    return registry


async def test_a_schedule_starts_executions_on_the_clock() -> None:
    kept: list[Any] = []
    clock = faaslib.VirtualClock()
    registry = registry_keeping(kept, events=[faaslib.Schedule("rate(1 hour)")])
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        assert kept == []
        clock.advance(3600)
        await invoker.drain()
        (event,) = kept
        assert event["detail-type"] == "Scheduled Event"
        (execution,) = invoker.list_executions("echo")
        assert execution.status == "SUCCEEDED"
        assert json.loads(execution.input) == event


async def test_an_eventbridge_rule_starts_an_execution_per_matching_event() -> None:
    kept: list[Any] = []
    bus = faaslib.EventBus("orders")
    rule = faaslib.EventBridgeRule(bus, pattern={"source": ["shop"]})
    registry = registry_keeping(kept, events=[rule])
    async with faaslib.Invoker(registry) as invoker:
        bus.put_events(
            [
                {"Source": "shop", "DetailType": "Order", "Detail": '{"id": 1}'},
                {"Source": "other", "DetailType": "Order", "Detail": '{"id": 2}'},
            ]
        )
        await invoker.drain()
    assert [event["detail"] for event in kept] == [{"id": 1}]


async def test_a_topics_messages_start_executions() -> None:
    kept: list[Any] = []
    topic = faaslib.Topic("news")
    registry = registry_keeping(kept, events=[faaslib.SNS(topic)])
    async with faaslib.Invoker(registry) as invoker:
        topic.publish("hello")
        await invoker.drain()
    ((record,),) = [event["Records"] for event in kept]
    assert record["Sns"]["Message"] == "hello"


async def test_a_queues_batches_run_as_executions_to_their_end() -> None:
    kept: list[Any] = []
    queue = faaslib.Queue("jobs")
    registry = registry_keeping(kept, events=[faaslib.SQS(queue, batch_size=10)])
    queue.send('{"job": 1}')
    async with faaslib.Invoker(registry) as invoker:
        await invoker.drain()
    (batch,) = kept
    assert [json.loads(record["body"]) for record in batch["Records"]] == [{"job": 1}]
    assert len(queue) == 0  # the execution succeeded: the batch was deleted


async def test_a_failed_execution_leaves_the_batch_on_the_queue() -> None:
    queue = faaslib.Queue("jobs", visibility_timeout=30)
    registry = faaslib.Registry()
    failing = {"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "Bad", "Cause": "x"}}}
    registry.state_machine("strict", failing, events=[faaslib.SQS(queue)])
    queue.send("{}")
    clock = faaslib.VirtualClock()
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        (execution,) = invoker.list_executions("strict")
        assert (execution.status, execution.error, execution.cause) == ("FAILED", "Bad", "x")
    assert len(queue) == 1  # kept: visible again after its visibility timeout


async def test_a_state_machine_is_an_event_invocations_destination() -> None:
    kept: list[Any] = []
    registry = registry_keeping(kept)

    @registry.function(on_success=MACHINE_ARN)
    def order(event: dict[str, Any]) -> dict[str, Any]:
        return {"ordered": event["id"]}

    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("order", {"id": 7}, "Event")
        await invoker.drain()
    (record,) = kept
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"ordered": 7}


async def test_a_destination_naming_no_state_machine_refuses_to_open() -> None:
    registry = faaslib.Registry()

    @registry.function(on_failure=MACHINE_ARN)
    def order(event: dict[str, Any]) -> None: ...

    with pytest.raises(faaslib.InvalidParameterValueException, match="no such state machine"):
        async with faaslib.Invoker(registry):
            pass


def test_a_state_machine_is_no_dead_letter_target() -> None:
    registry = faaslib.Registry()
    with pytest.raises(faaslib.ValidationException, match="SQS queue or an Amazon SNS topic"):
        registry.function(lambda event: None, name="f", dead_letter=MACHINE_ARN)


def test_a_state_machines_events_must_be_triggers() -> None:
    registry = faaslib.Registry()
    with pytest.raises(faaslib.InvalidParameterValueException, match="not a trigger"):
        registry.state_machine("echo", ECHO, events=["rate(1 hour)"])  # type: ignore[list-item]
    assert "echo" not in registry.state_machines


def test_an_exported_registry_says_a_machine_is_no_lambda_destination() -> None:
    from faaslib.sam._export import export_sam

    registry = registry_keeping([])

    @registry.function(on_success=MACHINE_ARN)
    def order(event: dict[str, Any]) -> None: ...

    exported = export_sam(registry, "app:registry")
    assert exported.warnings == [
        (
            f"order: OnSuccess destination: '{MACHINE_ARN}' is a state machine; on AWS a "
            "function's destinations are SQS, SNS, Lambda or EventBridge, never Step Functions: "
            "not exported (an EventBridge bus as destination, with a rule starting the machine, "
            "does it there)"
        ),
    ]
    machine = exported.template["Resources"]["EchoStateMachine"]
    assert machine["Type"] == "AWS::Serverless::StateMachine"
