"""Kinesis-like streams and their event source mappings: order, retries, bisect, age."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from aws_lambda_powertools.utilities.parser.models import KinesisDataStreamModel

import faaslib

T0 = 1_700_000_000.0


def decode(event: dict[str, Any]) -> list[Any]:
    return [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in event["Records"]]


class Consumer:
    """Records each batch; fails while a record's ``n`` is in ``poison``."""

    def __init__(self, poison: set[int] | None = None, report: bool = False) -> None:
        self.batches: list[list[Any]] = []
        self.events: list[dict[str, Any]] = []
        self.poison = poison or set()
        self.report = report

    async def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        items = decode(event)
        self.batches.append(items)
        bad = [
            r["kinesis"]["sequenceNumber"]
            for r, item in zip(event["Records"], items, strict=True)
            if item["n"] in self.poison
        ]
        if bad and not self.report:
            raise ValueError("poison")
        return {"batchItemFailures": [{"itemIdentifier": s} for s in bad]}


def consuming(consumer: Consumer, stream: faaslib.Stream, **options: Any) -> faaslib.Registry:
    registry = faaslib.Registry()

    async def consume(event: dict[str, Any]) -> Any:
        return await consumer(event)

    registry.function(name="consume", events=[faaslib.Kinesis(stream, **options)])(consume)
    return registry


def flat(batches: list[list[Any]]) -> list[int]:
    return [item["n"] for batch in batches for item in batch]


async def test_records_put_before_the_invoker_arrive_in_order_per_shard() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("clicks", shard_count=3, clock=clock)
    for n in range(30):
        stream.put({"n": n, "user": f"u{n % 5}"}, partition_key=f"u{n % 5}")
    consumer = Consumer()
    async with faaslib.Invoker(consuming(consumer, stream, batch_size=4), clock=clock) as invoker:
        await invoker.drain()
        [mapping] = invoker.event_source_mappings()
        stats = mapping.statistics()
    assert sorted(flat(consumer.batches)) == list(range(30))
    by_user: dict[str, list[int]] = {}
    for batch in consumer.batches:
        for item in batch:
            by_user.setdefault(item["user"], []).append(item["n"])
    assert all(seq == sorted(seq) for seq in by_user.values())  # order kept per key
    assert all(len(batch) <= 4 for batch in consumer.batches)
    assert (stats.records_polled, stats.records_succeeded, stats.records_failed) == (30, 30, 0)
    for event in consumer.events:
        KinesisDataStreamModel.model_validate(event)
    record = consumer.events[0]["Records"][0]
    assert record["eventSource"] == "aws:kinesis"
    assert record["eventSourceARN"] == "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"


async def test_latest_starts_after_what_is_already_there() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", clock=clock)
    stream.put({"n": 0}, "k")
    consumer = Consumer()
    registry = consuming(consumer, stream, starting_position="LATEST")
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await anyio.sleep(0.01)
        stream.put({"n": 1}, "k")
        await invoker.drain()
    assert flat(consumer.batches) == [1]


async def test_at_timestamp() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", clock=clock)
    stream.put({"n": 0}, "k")
    clock.advance(10)
    stream.put({"n": 1}, "k")
    consumer = Consumer()
    registry = consuming(
        consumer, stream, starting_position="AT_TIMESTAMP", starting_position_timestamp=T0 + 5
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
    assert flat(consumer.batches) == [1]


async def test_a_failing_batch_blocks_its_shard_until_retries_run_out() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", clock=clock)
    failures: list[dict[str, Any]] = []
    for n in range(4):
        stream.put({"n": n}, "k")
    consumer = Consumer(poison={1})
    registry = consuming(
        consumer, stream, batch_size=2, maximum_retry_attempts=2, on_failure=failures.append
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        assert consumer.batches == [[{"n": 0}, {"n": 1}]]  # blocked: retry waits 1 s
        clock.advance(1)
        await invoker.drain()
        clock.advance(2)
        await invoker.drain()  # third attempt fails: the batch is skipped
        stats = invoker.event_source_mappings()[0].statistics()
    assert [flat([b]) for b in consumer.batches] == [[0, 1], [0, 1], [0, 1], [2, 3]]
    [record] = failures
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    info = record["KinesisBatchInfo"]
    assert (info["shardId"], info["batchSize"]) == ("shardId-000000000000", 2)
    assert info["streamArn"] == stream.arn
    assert (stats.records_failed, stats.records_succeeded) == (2, 2)


async def test_bisect_narrows_down_to_the_poison_record() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", clock=clock)
    failures: list[dict[str, Any]] = []
    for n in range(8):
        stream.put({"n": n}, "k")
    consumer = Consumer(poison={5})
    registry = consuming(
        consumer,
        stream,
        batch_size=8,
        bisect_batch_on_function_error=True,
        maximum_retry_attempts=0,
        on_failure=failures.append,
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
    sizes = [len(batch) for batch in consumer.batches]
    assert sizes == [8, 4, 4, 2, 1, 1, 2]  # halves, until the poison record stands alone
    [record] = failures
    info = record["KinesisBatchInfo"]
    assert info["batchSize"] == 1
    poison_batch = consumer.batches[5]
    assert flat([poison_batch]) == [5]
    assert (
        info["startSequenceNumber"] == consumer.events[5]["Records"][0]["kinesis"]["sequenceNumber"]
    )
    succeeded = {
        n for i, batch in enumerate(consumer.batches) if i in (1, 4, 6) for n in flat([batch])
    }
    assert succeeded == {0, 1, 2, 3, 4, 6, 7}


async def test_item_failures_resume_from_the_lowest_failed_record() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", clock=clock)
    for n in range(5):
        stream.put({"n": n}, "k")
    consumer = Consumer(poison={2}, report=True)
    registry = consuming(
        consumer, stream, batch_size=5, function_response_types=["ReportBatchItemFailures"]
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        consumer.poison.clear()
        clock.advance(1)
        await invoker.drain()
    assert [flat([b]) for b in consumer.batches] == [[0, 1, 2, 3, 4], [2, 3, 4]]


async def test_old_records_expire_with_record_age_exceeded() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", clock=clock)
    failures: list[dict[str, Any]] = []
    stream.put({"n": 0}, "k")
    consumer = Consumer(poison={0})
    registry = consuming(consumer, stream, maximum_record_age=60, on_failure=failures.append)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        for _ in range(8):  # retries at 1, 2, 4 ... seconds, until the record is too old
            clock.advance(16)
            await invoker.drain()
    assert failures[0]["requestContext"]["condition"] == "RecordAgeExceeded"


async def test_parallelization_keeps_order_per_partition_key() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", clock=clock)
    for n in range(60):
        stream.put({"n": n, "key": f"k{n % 6}"}, f"k{n % 6}")
    seen: list[tuple[str, int]] = []
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.Kinesis(stream, batch_size=3, parallelization_factor=3)])
    async def consume(event: dict[str, Any]) -> None:
        for item in decode(event):
            await anyio.lowlevel.checkpoint()
            seen.append((item["key"], item["n"]))

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
    assert sorted(n for _, n in seen) == list(range(60))
    for key in {k for k, _ in seen}:
        ns = [n for k, n in seen if k == key]
        assert ns == sorted(ns)


async def test_filter_criteria_skip_records() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", clock=clock)
    for n in range(6):
        stream.put({"n": n, "even": n % 2 == 0}, "k")
    stream.put(b"not json", "k")
    consumer = Consumer()
    registry = consuming(consumer, stream, filter_criteria=[{"data": {"even": [True]}}])
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        stats = invoker.event_source_mappings()[0].statistics()
    assert flat(consumer.batches) == [0, 2, 4]
    assert stats.records_filtered == 4


async def test_stream_retention_and_shards() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", shard_count=4, clock=clock)
    shards = {stream.put(b"x", f"key-{i}").shard_id for i in range(40)}
    assert shards == set(stream.shard_ids)
    first = stream.put(b"y", "same")
    second = stream.put(b"z", "same")
    assert first.shard_id == second.shard_id
    assert int(second.sequence_number) > int(first.sequence_number)
    clock.advance(86_401)
    assert stream.read(stream.shard_for("same"), 0, 10) == []
    assert len(stream) == 0


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"starting_position": "NOW"}, "startingPosition"),
        ({"starting_position": "AT_TIMESTAMP"}, "startingPositionTimestamp"),
        ({"batch_size": 10_001}, "batchSize"),
        ({"parallelization_factor": 11}, "parallelizationFactor"),
        ({"maximum_retry_attempts": -2}, "maximumRetryAttempts"),
        ({"maximum_record_age": 59}, "maximumRecordAgeInSeconds"),
        ({"on_failure": 42}, "onFailure"),
    ],
)
def test_invalid_stream_mapping_options(options: dict[str, Any], field: str) -> None:
    with pytest.raises(faaslib.ValidationException, match=field):
        faaslib.Kinesis(faaslib.Stream("s"), **options)


async def test_iterator_age_is_the_wait_of_the_latest_batch() -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("s", clock=clock)
    consumer = Consumer()
    registry = consuming(consumer, stream, starting_position="LATEST")
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        [mapping] = invoker.event_source_mappings()
        mapping.disable()
        stream.put({"n": 0}, "k")
        clock.advance(2.5)  # the record waits 2.5 s in the stream
        mapping.enable()
        await invoker.drain()
        stats = mapping.statistics()
    assert flat(consumer.batches) == [0]
    assert stats.iterator_age == 2500.0


async def test_a_mapping_names_its_source() -> None:
    # Lambda's mapping has an EventSourceArn; faaslib's gives the source itself.
    queue = faaslib.Queue("jobs")
    stream = faaslib.Stream("clicks")
    table = faaslib.Table("orders", partition_key="id")
    registry = faaslib.Registry()

    @registry.function(
        events=[faaslib.SQS(queue), faaslib.Kinesis(stream), faaslib.DynamoDB(table)]
    )
    def handler(event: Any) -> None:
        pass

    async with faaslib.Invoker(registry) as invoker:
        sources = {type(m.trigger).__name__: m.source for m in invoker.event_source_mappings()}
    assert sources == {"SQS": queue, "Kinesis": stream, "DynamoDB": table.stream}
