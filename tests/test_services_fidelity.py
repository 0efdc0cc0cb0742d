"""The services behave as Lambda documents them (lambda-semantics.md sections 4.3 and 10)."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
from aws_lambda_powertools.utilities.parser.models import SnsModel

import faaslib

T0 = 1_700_000_000.0


def collector(registry: faaslib.Registry, name: str, **config: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def handler(event: dict[str, Any]) -> None:
        seen.append(event)

    registry.function(name=name, **config)(handler)
    return seen


# -- a Topic as a dead-letter target (section 4.3) ---------------------------------------------


def test_a_topic_types_as_a_dead_letter_target() -> None:
    topic = faaslib.Topic("dead-letters")
    target: faaslib.DeadLetterTarget = topic  # mypy checks the protocol
    destination: faaslib.DestinationTarget = topic  # and it stays an ordinary destination
    assert target is topic
    assert destination is topic


async def test_a_topic_dead_letter_carries_lambdas_message_attributes() -> None:
    clock = faaslib.VirtualClock(T0)
    topic = faaslib.Topic("dead-letters", clock=clock)
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=0, dead_letter=topic)
    async def fails(event: dict[str, Any]) -> None:
        raise ValueError("x" * 2000)

    @registry.function(max_event_age=60, dead_letter=topic)
    async def never_runs(event: dict[str, Any]) -> None:
        raise AssertionError("expired before it ran")

    every = collector(registry, "every", events=[faaslib.SNS(topic)])
    errors = collector(
        registry,
        "errors",
        events=[faaslib.SNS(topic, filter_policy={"ErrorCode": [{"numeric": ["=", 200]}]})],
    )
    server_errors = collector(
        registry,
        "server_errors",
        events=[faaslib.SNS(topic, filter_policy={"ErrorCode": [{"numeric": [">=", 500]}]})],
    )
    async with faaslib.Invoker(registry, clock=clock, concurrency_limit=1) as invoker:
        failed = await invoker.invoke("fails", {"job": 1}, "Event")
        await invoker.drain()
        # An event too old before any attempt has no response: only its request id.
        gate = anyio.Event()

        @registry.function
        async def hold(event: Any) -> None:
            await gate.wait()

        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "hold")
            await anyio.wait_all_tasks_blocked()
            expired = await invoker.invoke("never_runs", {"job": 2}, "Event")
            await anyio.wait_all_tasks_blocked()
            clock.advance(60)
            gate.set()
        await invoker.drain()
        stats = invoker.statistics()
    assert stats.dead_letter_errors == 0
    first, second = (event["Records"][0]["Sns"] for event in every)
    assert json.loads(first["Message"]) == {"job": 1}  # the original event, unchanged
    assert first["MessageAttributes"] == {
        "RequestID": {"Type": "String", "Value": failed.request_id},
        "ErrorCode": {"Type": "Number", "Value": "200"},
        "ErrorMessage": {"Type": "String", "Value": "x" * 1024},
    }
    assert json.loads(second["Message"]) == {"job": 2}
    assert second["MessageAttributes"] == {
        "RequestID": {"Type": "String", "Value": expired.request_id}
    }
    assert [e["Records"][0]["Sns"]["Message"] for e in errors] == [first["Message"]]
    assert server_errors == []
    for event in every:
        SnsModel.model_validate(event)


async def test_a_topic_destination_record_has_no_attributes() -> None:
    clock = faaslib.VirtualClock(T0)
    topic = faaslib.Topic("outcomes", clock=clock)
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=0, on_failure=topic)
    async def fails(event: dict[str, Any]) -> None:
        raise ValueError("no")

    every = collector(registry, "every", events=[faaslib.SNS(topic)])
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("fails", {"job": 1}, "Event")
        await invoker.drain()
    [event] = every
    sns = event["Records"][0]["Sns"]
    assert sns["MessageAttributes"] == {}
    assert json.loads(sns["Message"])["requestContext"]["condition"] == "RetriesExhausted"


async def test_topic_send_takes_send_message_shaped_attributes() -> None:
    clock = faaslib.VirtualClock(T0)
    topic = faaslib.Topic("t", clock=clock)
    registry = faaslib.Registry()
    every = collector(registry, "every", events=[faaslib.SNS(topic)])
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await topic.send(
            "plain text",
            attributes={
                "n": {"DataType": "Number", "StringValue": "1.5"},
                "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            },
        )
        await invoker.drain()
    [event] = every
    sns = event["Records"][0]["Sns"]
    assert sns["Message"] == "plain text"
    assert sns["MessageAttributes"] == {
        "n": {"Type": "Number", "Value": "1.5"},
        "b": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()},
    }
