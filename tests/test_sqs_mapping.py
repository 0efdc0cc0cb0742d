"""SQS event source mappings: a Queue polled by the invoker, batches invoked synchronously."""

from __future__ import annotations

import json
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import faaslib

T0 = 1_700_000_000.0


class Recorder:
    """A handler keeping each batch's bodies; fails the bodies listed in ``fail``."""

    def __init__(self, fail: set[str] | None = None, report: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.events: list[dict[str, Any]] = []
        self.fail = fail or set()
        self.report = report

    async def __call__(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        bodies = [r["body"] for r in event["Records"]]
        self.batches.append(bodies)
        failed = [r["messageId"] for r in event["Records"] if r["body"] in self.fail]
        if failed and not self.report:
            raise RuntimeError(f"failed {len(failed)}")
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}


def setup(recorder: Recorder, queue: faaslib.Queue, **options: Any) -> faaslib.Registry:
    registry = faaslib.Registry()

    async def consume(event: dict[str, Any]) -> Any:
        return await recorder(event)

    registry.function(name="consume", events=[faaslib.SQS(queue, **options)])(consume)
    return registry


async def test_messages_sent_before_the_invoker_are_delivered() -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock)
    for i in range(25):
        queue.send(f"m{i}")
    recorder = Recorder()
    async with faaslib.Invoker(setup(recorder, queue), clock=clock) as invoker:
        await invoker.drain()
        [mapping] = invoker.event_source_mappings()
        stats = mapping.statistics()
    assert sorted(b for batch in recorder.batches for b in batch) == sorted(
        f"m{i}" for i in range(25)
    )
    assert all(len(batch) <= 10 for batch in recorder.batches)
    assert len(queue) == 0
    assert (stats.records_polled, stats.records_succeeded, stats.records_failed) == (25, 25, 0)
    assert mapping.state == "Enabled"
    assert mapping.function_name == "consume"


async def test_records_have_lambdas_sqs_shape() -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock, region="eu-west-1")
    queue.send('{"order": 1}', attributes={"kind": {"DataType": "String", "StringValue": "a"}})
    recorder = Recorder()
    async with faaslib.Invoker(setup(recorder, queue), clock=clock) as invoker:
        await invoker.drain()
    [event] = recorder.events
    [record] = event["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:123456789012:orders"
    assert record["awsRegion"] == "eu-west-1"
    assert record["body"] == '{"order": 1}'
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"]["stringValue"] == "a"


async def test_a_failed_batch_comes_back_after_the_visibility_timeout() -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock, visibility_timeout=30)
    queue.send("flaky")
    recorder = Recorder(fail={"flaky"})
    async with faaslib.Invoker(setup(recorder, queue), clock=clock) as invoker:
        await invoker.drain()
        assert recorder.batches == [["flaky"]]
        assert len(queue) == 1  # not deleted: hidden for 30 s
        clock.advance(29)
        await invoker.drain()
        assert len(recorder.batches) == 1
        recorder.fail.clear()
        clock.advance(1)
        await invoker.drain()
        stats = invoker.event_source_mappings()[0].statistics()
    assert recorder.batches == [["flaky"], ["flaky"]]
    assert recorder.events[1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert len(queue) == 0
    assert (stats.records_failed, stats.records_succeeded, stats.invocations) == (1, 1, 2)


async def test_poison_messages_redrive_to_the_dead_letter_queue() -> None:
    clock = faaslib.VirtualClock(T0)
    dlq = faaslib.Queue("orders-dlq", clock=clock)
    queue = faaslib.Queue(
        "orders", clock=clock, visibility_timeout=10, max_receive_count=3, dead_letter_queue=dlq
    )
    queue.send("poison")
    queue.send("fine")
    recorder = Recorder(fail={"poison"}, report=True)
    async with faaslib.Invoker(
        setup(recorder, queue, function_response_types=["ReportBatchItemFailures"]), clock=clock
    ) as invoker:
        for _ in range(4):
            await invoker.drain()
            clock.advance(10)
        await invoker.drain()
    assert recorder.batches[0] == ["poison", "fine"]  # one batch; only poison kept
    assert recorder.batches[1:] == [["poison"], ["poison"]]  # received 3 times in all
    assert [m.body for m in dlq.receive(10)] == ["poison"]
    assert len(queue) == 0


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-a-message-id"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{}]},
        {"batchItemFailures": "nope"},
        ["not", "an", "object"],
    ],
)
async def test_malformed_partial_batch_response_fails_the_whole_batch(response: Any) -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock)
    for body in ("a", "b"):
        queue.send(body)
    registry = faaslib.Registry()
    calls = 0

    @registry.function(
        events=[faaslib.SQS(queue, function_response_types=["ReportBatchItemFailures"])]
    )
    async def consume(event: dict[str, Any]) -> Any:
        nonlocal calls
        calls += 1
        return response

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        stats = invoker.event_source_mappings()[0].statistics()
    assert calls == 1
    assert len(queue) == 2  # nothing deleted
    assert (stats.records_failed, stats.records_succeeded) == (2, 0)


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}])
async def test_empty_partial_batch_responses_are_success(response: Any) -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock)
    queue.send("a")
    registry = faaslib.Registry()

    @registry.function(
        events=[faaslib.SQS(queue, function_response_types=["ReportBatchItemFailures"])]
    )
    async def consume(event: dict[str, Any]) -> Any:
        return response

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
    assert len(queue) == 0


async def test_filter_criteria_drop_and_delete_the_records_they_do_not_match() -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock)
    for kind in ("order", "refund", "order"):
        queue.send(json.dumps({"kind": kind}))
    queue.send("not json")
    recorder = Recorder()
    registry = setup(recorder, queue, filter_criteria=[{"body": {"kind": ["order"]}}])
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        stats = invoker.event_source_mappings()[0].statistics()
    bodies = [b for batch in recorder.batches for b in batch]
    assert [json.loads(b)["kind"] for b in bodies] == ["order", "order"]
    assert len(queue) == 0  # the filtered ones are deleted, as Lambda does
    assert (stats.records_filtered, stats.records_succeeded) == (2, 2)


@pytest.mark.parametrize("window", [0, 5])
async def test_filtered_out_batches_do_not_stall_the_poller(window: float) -> None:
    """Whole receives the filter drops leave the poller reading on, and filtered records do
    not take room in a batch gathered over a window."""
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock)
    for i in range(45):
        queue.send(json.dumps({"n": i, "keep": i >= 40}))
    recorder = Recorder()
    registry = setup(
        recorder,
        queue,
        batch_size=5,
        maximum_batching_window=window,
        filter_criteria=[{"body": {"keep": [True]}}],
    )
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        stats = invoker.event_source_mappings()[0].statistics()
    assert [[json.loads(b)["n"] for b in batch] for batch in recorder.batches] == [
        [40, 41, 42, 43, 44]
    ]
    assert len(queue) == 0
    assert (stats.records_polled, stats.records_filtered, stats.invocations) == (45, 40, 1)


async def test_disable_and_enable_at_run_time() -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock)
    recorder = Recorder()
    async with faaslib.Invoker(setup(recorder, queue), clock=clock) as invoker:
        [mapping] = invoker.event_source_mappings()
        mapping.disable()
        assert mapping.state == "Disabled"
        queue.send("waits")
        await invoker.drain()
        await anyio.sleep(0.01)
        assert recorder.batches == []
        mapping.enable()
        await invoker.drain()
    assert recorder.batches == [["waits"]]


async def test_a_disabled_trigger_starts_disabled() -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock)
    queue.send("m")
    recorder = Recorder()
    async with faaslib.Invoker(setup(recorder, queue, enabled=False), clock=clock) as invoker:
        await invoker.drain()
        assert recorder.batches == []
        invoker.event_source_mappings()[0].enable()
        await invoker.drain()
    assert recorder.batches == [["m"]]


async def test_triggers_added_and_removed_at_run_time() -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock)
    recorder = Recorder()
    registry = faaslib.Registry()

    @registry.function
    async def consume(event: dict[str, Any]) -> Any:
        return await recorder(event)

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        queue.send("before")
        await invoker.drain()
        assert recorder.batches == []
        registry.update("consume", events=[faaslib.SQS(queue)])
        await invoker.invoke("consume", {"Records": []}, "DryRun")  # any call picks it up
        await invoker.drain()
        assert recorder.batches == [["before"]]
        registry.update("consume", events=[])
        await invoker.invoke("consume", {"Records": []}, "DryRun")
        assert invoker.event_source_mappings() == []
        queue.send("after")
        await invoker.drain()
    assert recorder.batches == [["before"]]
    assert len(queue) == 1


async def test_batching_window_gathers_a_fuller_batch() -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock)
    recorder = Recorder()
    registry = setup(recorder, queue, batch_size=100, maximum_batching_window=5)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        queue.send("first")
        await anyio.sleep(0.01)
        for i in range(3):
            queue.send(f"more{i}")
        await anyio.sleep(0.01)
        assert recorder.batches == []  # still gathering within the window
        clock.advance(5)
        await invoker.drain()
    assert recorder.batches == [["first", "more0", "more1", "more2"]]


async def test_fifo_groups_keep_their_order_across_concurrent_batches() -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders.fifo", clock=clock)
    for i in range(20):
        for group in "abc":
            queue.send(f"{group}{i}", group_id=group, deduplication_id=f"{group}{i}")
    seen: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.SQS(queue, batch_size=3, maximum_concurrency=3)])
    async def consume(event: dict[str, Any]) -> None:
        for record in event["Records"]:
            await anyio.lowlevel.checkpoint()
            seen[record["body"][0]].append(int(record["body"][1:]))

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
    assert seen == {group: list(range(20)) for group in "abc"}


@pytest.mark.parametrize("limit", [2, 5])
async def test_batches_run_concurrently_up_to_maximum_concurrency(limit: int) -> None:
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("orders", clock=clock)
    for i in range(40):
        queue.send(f"m{i}")
    running = peak = 0
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.SQS(queue, batch_size=2, maximum_concurrency=limit)])
    async def consume(event: dict[str, Any]) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.005)  # (real time: handlers run on it)
        running -= 1

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
        stats = invoker.event_source_mappings()[0].statistics()
        queue.send("late")  # the extra pollers have left; the first still polls
        await invoker.drain()
        late = invoker.event_source_mappings()[0].statistics()
    assert peak == limit
    assert (stats.records_succeeded, stats.invocations, stats.batches_in_flight) == (40, 20, 0)
    assert late.records_succeeded == 41
    assert len(queue) == 0


async def test_a_queue_is_an_on_failure_destination() -> None:
    clock = faaslib.VirtualClock(T0)
    failures = faaslib.Queue("failures", clock=clock)
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=0, on_failure=failures)
    async def breaks(event: Any) -> None:
        raise ValueError("broken")

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("breaks", {"x": 1}, "Event")
        await invoker.drain()
    [message] = failures.receive()
    record = json.loads(message.body)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"x": 1}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"batch_size": 0}, "batchSize"),
        ({"batch_size": 10_001}, "batchSize"),
        ({"batch_size": 11}, "maximumBatchingWindowInSeconds"),
        ({"maximum_batching_window": 301}, "maximumBatchingWindowInSeconds"),
        ({"function_response_types": ["Nope"]}, "functionResponseTypes"),
        ({"maximum_concurrency": 1}, "maximumConcurrency"),
    ],
)
def test_invalid_mapping_options(options: dict[str, Any], field: str) -> None:
    with pytest.raises(faaslib.ValidationException, match=field):
        faaslib.SQS(faaslib.Queue("q"), **options)


def test_fifo_batches_are_ten_at_most() -> None:
    with pytest.raises(faaslib.ValidationException, match="batchSize"):
        faaslib.SQS(faaslib.Queue("q.fifo"), batch_size=11, maximum_batching_window=1)


async def test_a_sync_handler_sending_from_its_thread_wakes_the_poller() -> None:
    # Sync handlers run in worker threads: a send there must still wake the mapping's poller
    # on the event loop (on both backends), or the message would wait for the next poll.
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("handoff", clock=clock)
    topic = faaslib.Topic("fanout", clock=clock)
    recorder = Recorder()
    registry = setup(recorder, queue)

    @registry.function
    def producer(event: dict[str, Any]) -> None:  # runs in a worker thread
        queue.send(event["body"])
        topic.publish(event["body"])

    published: list[str] = []

    @registry.function(events=[faaslib.SNS(topic)])
    async def listener(event: dict[str, Any]) -> None:
        published.append(event["Records"][0]["Sns"]["Message"])

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        with anyio.fail_after(5):
            await invoker.invoke("producer", {"body": "from a thread"})
            await invoker.drain()
    assert recorder.batches == [["from a thread"]]
    assert published == ["from a thread"]
