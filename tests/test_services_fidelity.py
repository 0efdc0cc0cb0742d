"""The services behave as Lambda documents them (lambda-semantics.md sections 4.3 and 10)."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
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
    queue: faaslib.DeadLetterTarget = faaslib.Queue("dead-letters")  # as a queue does
    assert isinstance(queue, faaslib.Queue)


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


# -- streams: bisection and partial batch responses (sections 10.4 and 10.5) --------------------


class StreamConsumer:
    """Records each batch of ``n`` values; reports the records in ``report`` as item
    failures, raises while a record in ``poison`` is in the batch, and answers ``answer``
    (when given) instead of a batchItemFailures response."""

    def __init__(
        self,
        *,
        report: set[int] | None = None,
        poison: set[int] | None = None,
        answer: Any = None,
    ) -> None:
        self.batches: list[list[int]] = []
        self.report = report or set()
        self.poison = poison or set()
        self.answer = answer

    def __call__(self, event: dict[str, Any]) -> Any:
        numbers = [self.number(r) for r in event["Records"]]
        self.batches.append(numbers)
        if self.poison & set(numbers):
            raise ValueError("poison")
        if self.answer is not None:
            return self.answer
        failed = [
            self.identifier(r)
            for r, n in zip(event["Records"], numbers, strict=True)
            if n in self.report
        ]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    @staticmethod
    def number(record: dict[str, Any]) -> int:
        if "kinesis" in record:
            value: int = json.loads(base64.b64decode(record["kinesis"]["data"]))["n"]
            return value
        return int(record["dynamodb"]["Keys"]["n"]["N"])

    @staticmethod
    def identifier(record: dict[str, Any]) -> str:
        if "kinesis" in record:
            return str(record["kinesis"]["sequenceNumber"])
        return str(record["dynamodb"]["SequenceNumber"])


def stream_consuming(
    consumer: StreamConsumer, source: str, count: int, clock: faaslib.VirtualClock, **options: Any
) -> faaslib.Registry:
    """A registry whose function reads ``count`` records (``n`` = 0, 1, ...) of a Kinesis
    stream or a DynamoDB table's stream."""
    trigger: faaslib.Trigger
    if source == "kinesis":
        stream = faaslib.Stream("s", clock=clock)
        for n in range(count):
            stream.put({"n": n}, "k")
        trigger = faaslib.Kinesis(stream, **options)
    else:
        table = faaslib.Table("items", partition_key="n", clock=clock)
        for n in range(count):
            table.put({"n": n})
        trigger = faaslib.DynamoDB(table, starting_position="TRIM_HORIZON", **options)
    registry = faaslib.Registry()

    async def consume(event: dict[str, Any]) -> Any:
        return consumer(event)

    registry.function(name="consume", events=[trigger])(consume)
    return registry


SOURCES = pytest.mark.parametrize("source", ["kinesis", "dynamodb"])
BISECT_AND_REPORT: dict[str, Any] = {
    "bisect_batch_on_function_error": True,
    "function_response_types": ["ReportBatchItemFailures"],
}


async def drain_with_retries(invoker: faaslib.Invoker, clock: faaslib.VirtualClock) -> None:
    """Drain, moving the clock over the retries' backoff (1 s doubling to 60 s)."""
    await invoker.drain()
    for _ in range(12):
        clock.advance(60)
        await invoker.drain()


@SOURCES
async def test_a_reported_first_record_is_retried_with_the_batch_not_bisected(
    source: str,
) -> None:
    clock = faaslib.VirtualClock(T0)
    consumer = StreamConsumer(report={0})
    failures: list[dict[str, Any]] = []
    registry = stream_consuming(
        consumer,
        source,
        4,
        clock,
        batch_size=4,
        maximum_retry_attempts=2,
        on_failure=failures.append,
        **BISECT_AND_REPORT,
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await drain_with_retries(invoker, clock)
        stats = invoker.event_source_mappings()[0].statistics()
    assert consumer.batches == [[0, 1, 2, 3]] * 3  # retried from record 0, never halved
    [record] = failures
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    info = record["KinesisBatchInfo" if source == "kinesis" else "DDBStreamBatchInfo"]
    assert info["batchSize"] == 4
    assert (stats.records_succeeded, stats.records_failed) == (0, 4)


@SOURCES
async def test_a_reported_record_splits_the_batch_there(source: str) -> None:
    clock = faaslib.VirtualClock(T0)
    consumer = StreamConsumer(report={5})
    failures: list[dict[str, Any]] = []
    registry = stream_consuming(
        consumer,
        source,
        8,
        clock,
        batch_size=8,
        maximum_retry_attempts=1,
        on_failure=failures.append,
        **BISECT_AND_REPORT,
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        assert consumer.batches == [list(range(8))]  # the retry waits its 1 s
        await drain_with_retries(invoker, clock)
        stats = invoker.event_source_mappings()[0].statistics()
    # Records 0-4 are done; the retry starts at record 5; the second report exhausts it.
    assert consumer.batches == [list(range(8)), [5, 6, 7]]
    [record] = failures
    info = record["KinesisBatchInfo" if source == "kinesis" else "DDBStreamBatchInfo"]
    assert info["batchSize"] == 3
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert (stats.records_succeeded, stats.records_failed) == (5, 3)


@SOURCES
async def test_a_function_error_still_bisects_with_report_batch_item_failures(
    source: str,
) -> None:
    clock = faaslib.VirtualClock(T0)
    consumer = StreamConsumer(poison={5})
    failures: list[dict[str, Any]] = []
    registry = stream_consuming(
        consumer,
        source,
        8,
        clock,
        batch_size=8,
        maximum_retry_attempts=0,
        on_failure=failures.append,
        **BISECT_AND_REPORT,
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await drain_with_retries(invoker, clock)
    assert [len(b) for b in consumer.batches] == [8, 4, 4, 2, 1, 1, 2]
    [record] = failures
    info = record["KinesisBatchInfo" if source == "kinesis" else "DDBStreamBatchInfo"]
    assert info["batchSize"] == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"id": "1"}]},
        {"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]},
        {"batchItemFailures": "all"},
        "not a response",
    ],
)
async def test_a_malformed_response_fails_the_whole_batch_and_bisects(answer: Any) -> None:
    clock = faaslib.VirtualClock(T0)
    consumer = StreamConsumer(answer=answer)
    failures: list[dict[str, Any]] = []
    registry = stream_consuming(
        consumer,
        "kinesis",
        4,
        clock,
        batch_size=4,
        maximum_retry_attempts=0,
        on_failure=failures.append,
        **BISECT_AND_REPORT,
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await drain_with_retries(invoker, clock)
    assert consumer.batches == [[0, 1, 2, 3], [0, 1], [0], [1], [2, 3], [2], [3]]
    assert [r["KinesisBatchInfo"]["batchSize"] for r in failures] == [1, 1, 1, 1]


@pytest.mark.parametrize("answer", [{"batchItemFailures": []}, {"batchItemFailures": None}, {}])
async def test_an_empty_failure_list_is_a_success(answer: Any) -> None:
    clock = faaslib.VirtualClock(T0)
    consumer = StreamConsumer(answer=answer)
    registry = stream_consuming(consumer, "kinesis", 4, clock, batch_size=4, **BISECT_AND_REPORT)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await drain_with_retries(invoker, clock)
        stats = invoker.event_source_mappings()[0].statistics()
    assert consumer.batches == [[0, 1, 2, 3]]
    assert stats.records_succeeded == 4


@SOURCES
async def test_a_throttled_batch_is_retried_until_it_expires_not_bisected_nor_counted(
    source: str,
) -> None:
    """Lambda retries a batch it could not invoke (throttled) until its records expire or
    pass the maximum age; that spends no retry attempt and splits nothing."""
    clock = faaslib.VirtualClock(T0)
    consumer = StreamConsumer()
    failures: list[dict[str, Any]] = []
    registry = stream_consuming(
        consumer,
        source,
        4,
        clock,
        batch_size=4,
        bisect_batch_on_function_error=True,
        maximum_retry_attempts=0,
        maximum_record_age=300,
        on_failure=failures.append,
    )
    registry.update("consume", reserved_concurrency=0)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        clock.advance(1)
        await invoker.drain()
        assert failures == []  # not given up after "0 retries": a throttle is no attempt
        await drain_with_retries(invoker, clock)
        stats = invoker.event_source_mappings()[0].statistics()
    assert consumer.batches == []
    [record] = failures
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    info = record["KinesisBatchInfo" if source == "kinesis" else "DDBStreamBatchInfo"]
    assert info["batchSize"] == 4
    assert stats.records_failed == 4


# -- batches stop at Lambda's 6 MB payload (section 10.2) --------------------------------------

MEGABYTE_TEXT = "x" * 1_000_000  # about 1.33 MB in a Kinesis record (base64)


async def test_a_stream_batch_stops_at_six_megabytes() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("big", clock=clock)
    for n in range(10):
        stream.put({"n": n, "text": MEGABYTE_TEXT}, "k")
    sizes: list[tuple[int, int]] = []
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.Kinesis(stream, batch_size=10, maximum_retry_attempts=0)])
    async def consume(event: dict[str, Any]) -> None:
        sizes.append((len(event["Records"]), len(json.dumps(event, separators=(",", ":")))))

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        stats = invoker.event_source_mappings()[0].statistics()
    assert [count for count, _ in sizes] == [4, 4, 2]  # each as full as 6 MB allows
    assert all(size <= 6_291_456 for _, size in sizes)
    assert (stats.records_succeeded, stats.records_failed) == (10, 0)


async def test_a_queue_batch_stops_at_six_megabytes() -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue(
        "big",
        clock=clock,
        max_receive_count=1,
        dead_letter_queue=faaslib.Queue("big-dlq", clock=clock),
    )
    for n in range(10):
        queue.send(json.dumps({"n": n, "text": MEGABYTE_TEXT}))
    batches: list[list[dict[str, Any]]] = []
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.SQS(queue, batch_size=10)])
    async def consume(event: dict[str, Any]) -> None:
        assert len(json.dumps(event, separators=(",", ":"))) <= 6_291_456
        batches.append(event["Records"])

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        stats = invoker.event_source_mappings()[0].statistics()
    assert [len(b) for b in batches] == [6, 4]  # each as full as 6 MB allows
    assert [json.loads(r["body"])["n"] for b in batches for r in b] == list(range(10))
    # The messages left out of the first batch were not received: none was redriven.
    assert {r["attributes"]["ApproximateReceiveCount"] for b in batches for r in b} == {"1"}
    assert len(queue) == 0
    assert len(queue.dead_letter_queue or ()) == 0
    assert (stats.records_polled, stats.records_succeeded) == (10, 10)


async def test_a_fifo_queue_batch_stops_at_six_megabytes_in_order() -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("big.fifo", clock=clock, content_based_deduplication=True)
    for n in range(8):
        queue.send(json.dumps({"n": n, "text": MEGABYTE_TEXT}), group_id="g")
    batches: list[list[int]] = []
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.SQS(queue, batch_size=10)])
    async def consume(event: dict[str, Any]) -> None:
        batches.append([json.loads(r["body"])["n"] for r in event["Records"]])

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
    assert batches == [[0, 1, 2, 3, 4, 5], [6, 7]]


# -- filter criteria (section 10.1, 10.6) --------------------------------------------------------


def test_a_filter_pattern_is_at_most_4096_characters() -> None:
    stream = faaslib.Stream("s")
    queue = faaslib.Queue("q")
    fits = '{"data":{"k":["' + "x" * (4096 - 19) + '"]}}'
    assert len(fits) == 4096
    faaslib.Kinesis(stream, filter_criteria=[fits])
    long = {"body": {"k": ["x" * 4096]}}
    with pytest.raises(faaslib.ValidationException) as raised:
        faaslib.SQS(queue, filter_criteria=[{"body": {"k": ["y"]}}, long])
    assert raised.value.field == "filterCriteria.filters.2.member.pattern"
    assert "Member must have length less than or equal to 4096" in str(raised.value)
    with pytest.raises(faaslib.ValidationException):
        faaslib.Kinesis(stream, filter_criteria=[fits.replace('"]', 'x"]')])


# -- stream specifics (section 10.4) -------------------------------------------------------------


async def test_a_failing_batch_blocks_its_shard_only_until_its_records_expire() -> None:
    """With the defaults (retry forever, no maximum age) a bad record blocks its shard until
    it leaves the stream's retention; then the shard goes on."""
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", clock=clock)  # 24 hours' retention
    stream.put({"n": 0}, "k")
    seen: list[int] = []
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.Kinesis(stream, on_failure=failures.append)])
    async def consume(event: dict[str, Any]) -> None:
        for record in event["Records"]:
            n = json.loads(base64.b64decode(record["kinesis"]["data"]))["n"]
            seen.append(n)
            if n == 0:
                raise ValueError("poison")

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        clock.advance(3600)
        stream.put({"n": 1}, "k")  # waits behind the bad record
        stream.put({"n": 2}, "other key, same shard")
        for _ in range(23 * 60 + 2):  # the rest of a day of retries, once a minute
            clock.advance(60)
            await invoker.drain()
    assert set(seen) == {0, 1, 2}
    assert seen[-2:] == [1, 2]
    [record] = failures
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["KinesisBatchInfo"]["batchSize"] == 1


async def test_a_lane_whose_records_all_expired_settles() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", clock=clock)
    for n in range(3):
        stream.put({"n": n}, "k")
    seen: list[int] = []
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.Kinesis(stream, batch_size=1)])
    async def consume(event: dict[str, Any]) -> None:
        n = json.loads(base64.b64decode(event["Records"][0]["kinesis"]["data"]))["n"]
        seen.append(n)
        if n == 0:
            raise ValueError("poison")

    with anyio.fail_after(10):
        async with faaslib.Invoker(registry, clock=clock) as invoker:
            await invoker.drain()
            for _ in range(25):  # the first record retried until it expires, with the rest
                clock.advance(3600)
                await invoker.drain()
            stream.put({"n": 3}, "k")
            await invoker.drain()  # the new record is read: nothing was left behind
            stats = invoker.event_source_mappings()[0].statistics()
    assert set(seen) == {0, 3}  # 1 and 2 expired behind the bad record
    assert (stats.records_failed, stats.records_succeeded) == (1, 1)


# -- SNS message attributes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "fragment"),
    [
        ({"DataType": "Number", "StringValue": "abc"}, "Could not cast message attribute 'a'"),
        ({"DataType": "Number", "StringValue": "1_000"}, "Could not cast message attribute 'a'"),
        ({"DataType": "Number", "StringValue": "NaN"}, "Could not cast message attribute 'a'"),
        ({"StringValue": "1"}, "must contain non-empty message attribute type"),
        ({"DataType": "Strin", "StringValue": "1"}, "supported type prefixes"),
        ({"DataType": "String"}, "must contain a message attribute value"),
        ({"DataType": "Binary", "BinaryValue": "not base64!"}, "must contain a message attribute"),
        ({"DataType": "String.Array", "StringValue": "not json"}, "String.Array"),
        ({"DataType": "String.Array", "StringValue": '{"a": 1}'}, "String.Array"),
        ("order", "must contain non-empty message attribute type"),
    ],
)
def test_publish_checks_message_attributes(attribute: Any, fragment: str) -> None:
    topic = faaslib.Topic("t")
    with pytest.raises(faaslib.InvalidParameterValueException) as raised:
        topic.publish("x", attributes={"a": attribute})
    assert fragment in str(raised.value)


async def test_publish_takes_well_formed_attributes_of_every_type() -> None:
    clock = faaslib.VirtualClock(T0)
    topic = faaslib.Topic("t", clock=clock)
    registry = faaslib.Registry()
    matched = collector(
        registry,
        "matched",
        events=[
            faaslib.SNS(
                topic,
                filter_policy={
                    "price": [{"numeric": [">", 100]}],
                    "tags": ["red"],
                    "blob": [{"exists": False}],  # SNS ignores Binary attributes
                },
            )
        ],
    )
    attributes: dict[str, dict[str, str | bytes]] = {
        "price": {"DataType": "Number", "StringValue": "1.5e3"},
        "tags": {"DataType": "String.Array", "StringValue": '["red", "blue"]'},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00"},
        "label": {"DataType": "String.custom", "StringValue": ""},
    }
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        topic.publish("x", attributes=attributes)
        await invoker.drain()
    [event] = matched
    assert event["Records"][0]["Sns"]["MessageAttributes"]["price"] == {
        "Type": "Number",
        "Value": "1.5e3",
    }
