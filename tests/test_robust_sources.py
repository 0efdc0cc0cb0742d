"""Event sources that must not stall, spin or crash: redriven receives, mismatched clocks,
text that cannot be encoded."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest

import faaslib

T0 = 1_700_000_000.0


class Consumer:
    """A handler failing the bodies that start with ``poison`` (raising, or reporting them as
    batch item failures); keeps the bodies it saw."""

    def __init__(self, report: bool) -> None:
        self.report = report
        self.seen: list[str] = []

    async def __call__(self, event: dict[str, Any]) -> Any:
        records = event["Records"]
        self.seen += [r["body"] for r in records]
        failed = [r["messageId"] for r in records if r["body"].startswith("poison")]
        if failed and not self.report:
            raise RuntimeError("poison")
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}


def registry_for(consumer: Consumer, queue: faaslib.Queue, **options: Any) -> faaslib.Registry:
    if consumer.report:
        options["function_response_types"] = ["ReportBatchItemFailures"]
    registry = faaslib.Registry()
    registry.function(name="consume", events=[faaslib.SQS(queue, **options)])(consumer)
    return registry


class CountingQueue(faaslib.Queue):
    """A queue counting the receives made of it (a poller's passes)."""

    receives = 0

    def _receive(self, limit: int, hide_for: float) -> Any:
        self.receives += 1
        return super()._receive(limit, hide_for)


# -- a receive whose messages all go to the dead-letter queue --------------------------------


@pytest.mark.parametrize("report", [False, True], ids=["raises", "reports"])
async def test_redriven_receive_does_not_stall_the_poller_real_clock(report: bool) -> None:
    """The issue's reproducer, on real time: every message one receive takes is redriven."""
    dlq = faaslib.Queue("jobs-dlq")
    queue = faaslib.Queue(
        "jobs", visibility_timeout=0.2, max_receive_count=1, dead_letter_queue=dlq
    )
    consumer = Consumer(report)
    with anyio.fail_after(5):
        async with faaslib.Invoker(registry_for(consumer, queue, batch_size=1)) as invoker:
            for i in range(3):
                queue.send(f"poison-{i}")
            await invoker.drain()
            await anyio.sleep(0.3)  # the three are visible again, over their receive count
            queue.send("good-late")
            await invoker.drain()
    assert "good-late" in consumer.seen
    assert len(queue) == 0
    assert sorted(m.body for m in dlq.receive(10)) == ["poison-0", "poison-1", "poison-2"]


@pytest.mark.parametrize("batch_size", [1, 10])
@pytest.mark.parametrize("report", [False, True], ids=["raises", "reports"])
async def test_redriven_receive_does_not_stall_the_poller_virtual_clock(
    report: bool, batch_size: int
) -> None:
    clock = faaslib.VirtualClock(T0)
    dlq = faaslib.Queue("jobs-dlq", clock=clock)
    queue = faaslib.Queue(
        "jobs", clock=clock, visibility_timeout=1, max_receive_count=1, dead_letter_queue=dlq
    )
    consumer = Consumer(report)
    registry = registry_for(consumer, queue, batch_size=batch_size)
    with anyio.fail_after(5):
        async with faaslib.Invoker(registry, clock=clock) as invoker:
            for i in range(200):
                queue.send(f"poison-{i}" if i % 3 else f"good-{i}")
            await invoker.drain()
            clock.advance(1.5)
            queue.send("good-late")
            await invoker.drain()
    assert "good-late" in consumer.seen
    assert len(queue) == 0
    # Raising fails a whole batch: its good messages go with the poison ones.
    assert len(dlq) == (133 if report or batch_size == 1 else 200)


async def test_redriven_receive_does_not_stall_a_fifo_poller() -> None:
    clock = faaslib.VirtualClock(T0)
    dlq = faaslib.Queue("jobs-dlq.fifo", clock=clock)
    queue = faaslib.Queue(
        "jobs.fifo",
        clock=clock,
        visibility_timeout=1,
        max_receive_count=1,
        dead_letter_queue=dlq,
        content_based_deduplication=True,
    )
    consumer = Consumer(report=False)
    poison = [f"poison-{i}" for i in range(4)]
    with anyio.fail_after(5):
        async with faaslib.Invoker(
            registry_for(consumer, queue, batch_size=2), clock=clock
        ) as invoker:
            for body in poison:
                queue.send(body, group_id="g")
            await invoker.drain()  # poison-0 and 1 fail; the group waits for them
            await anyio.wait_all_tasks_blocked()  # the poller a full batch added has left
            clock.advance(1.5)
            await invoker.drain()  # they move; poison-2 and 3 fail
            queue.send("good-late", group_id="g")
            for _ in range(2):
                clock.advance(1.5)
                await invoker.drain()
    assert consumer.seen == [*poison, "good-late"]
    assert len(queue) == 0
    assert [m.body for m in dlq.receive(10)] == poison


async def test_redriven_receive_does_not_stall_a_batching_window() -> None:
    """A receive gathering a batch over a window takes only messages over their receive
    count, while more such wait behind them: drain still returns."""
    clock = faaslib.VirtualClock(T0)
    dlq = faaslib.Queue("jobs-dlq", clock=clock)
    queue = faaslib.Queue(
        "jobs", clock=clock, visibility_timeout=2, max_receive_count=1, dead_letter_queue=dlq
    )
    consumer = Consumer(report=False)
    registry = registry_for(consumer, queue, batch_size=3, maximum_batching_window=1.5)
    with anyio.fail_after(5):
        async with faaslib.Invoker(registry, clock=clock) as invoker:
            for i in range(3):
                queue.send(f"poison-{i}")
            await invoker.drain()  # a full batch, failed: hidden until T0 + 2
            await anyio.wait_all_tasks_blocked()  # the poller a full batch added has left
            clock.advance(1)
            queue.send("good")
            await invoker.drain()  # gathering a batch until T0 + 2.5
            clock.advance(1)  # the three are visible, over their receive count
            await invoker.drain()
            clock.advance(0.5)  # the window ends
            await invoker.drain()
    assert consumer.seen == ["poison-0", "poison-1", "poison-2", "good"]
    assert len(queue) == 0
    assert len(dlq) == 3


def test_receive_skips_messages_it_redrives() -> None:
    """``Queue.receive`` fills its batch past the messages it moves to the dead-letter queue."""
    clock = faaslib.VirtualClock(T0)
    dlq = faaslib.Queue("jobs-dlq", clock=clock)
    queue = faaslib.Queue(
        "jobs", clock=clock, visibility_timeout=1, max_receive_count=1, dead_letter_queue=dlq
    )
    for body in ("a", "b", "c"):
        queue.send(body)
    assert [m.body for m in queue.receive(2)] == ["a", "b"]
    queue.send("d")
    clock.advance(1)
    assert [m.body for m in queue.receive(2)] == ["c", "d"]  # a and b moved on the way
    assert [m.body for m in dlq.receive(10)] == ["a", "b"]


@pytest.mark.parametrize("window", [0, 5])
async def test_stream_filter_dropping_every_record_read_does_not_stall(window: float) -> None:
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("events", clock=clock)
    for i in range(250):
        stream.put(json.dumps({"keep": False, "n": i}), "k")
    stream.put(json.dumps({"keep": True}), "k")
    seen: list[Any] = []
    registry = faaslib.Registry()

    @registry.function(
        events=[
            faaslib.Kinesis(
                stream,
                batch_size=2,
                maximum_batching_window=window,
                filter_criteria=[{"data": {"keep": [True]}}],
            )
        ]
    )
    async def consume(event: dict[str, Any]) -> None:
        seen.extend(event["Records"])

    with anyio.fail_after(5):
        async with faaslib.Invoker(registry, clock=clock) as invoker:
            await invoker.drain()
            clock.advance(window)
            await invoker.drain()
    assert len(seen) == 1


# -- an idle poller sleeps, whatever clock its queue follows ---------------------------------


async def test_idle_poller_of_a_queue_used_before_a_virtual_clock_invoker_sleeps() -> None:
    """The queue took real time (it was used first); the invoker's clock is far ahead."""
    queue = CountingQueue("jobs", visibility_timeout=30)
    queue.send("poison")  # the queue now reads real time
    consumer = Consumer(report=False)
    clock = faaslib.VirtualClock(time.time() + 86_400)
    with anyio.fail_after(5):
        async with faaslib.Invoker(registry_for(consumer, queue), clock=clock) as invoker:
            await invoker.drain()  # poison failed: hidden for 30 s of real time
            before = queue.receives
            await anyio.sleep(0.2)
            passes = queue.receives - before
    assert consumer.seen == ["poison"]
    assert passes <= 3


async def test_idle_poller_of_a_queue_on_its_own_virtual_clock_sleeps() -> None:
    """The queue reads a virtual clock in the past; the invoker real time."""
    queue = CountingQueue("jobs", visibility_timeout=30, clock=faaslib.VirtualClock(T0))
    queue.send("poison")
    consumer = Consumer(report=False)
    with anyio.fail_after(5):
        async with faaslib.Invoker(registry_for(consumer, queue)) as invoker:
            await invoker.drain()
            before = queue.receives
            await anyio.sleep(0.2)
            passes = queue.receives - before
    assert consumer.seen == ["poison"]
    assert passes <= 3


async def test_batching_window_on_another_clock_than_the_queue_does_not_spin() -> None:
    """A window (invoker's real time) while a message is in flight (queue's virtual time)."""
    queue_clock = faaslib.VirtualClock(T0)
    queue = CountingQueue("jobs", visibility_timeout=30, clock=queue_clock)
    queue.send("in-flight")
    assert len(queue.receive()) == 1  # hidden until T0 + 30 of the queue's clock
    consumer = Consumer(report=False)
    registry = registry_for(consumer, queue, batch_size=5, maximum_batching_window=0.3)
    with anyio.fail_after(5):
        async with faaslib.Invoker(registry) as invoker:
            queue.send("a")
            await invoker.drain()  # the window waits its 0.3 s of real time
            passes = queue.receives
            queue_clock.advance(30)  # the one in flight returns: the poller sees it
            await invoker.drain()
    assert consumer.seen == ["a", "in-flight"]
    assert passes <= 5


# -- text that UTF-8 cannot encode -----------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["\ud800", "ok \udfff", {"text": "\ud800"}], ids=["lone", "trailing", "json"]
)
def test_queue_send_with_a_lone_surrogate_is_invalid_message_contents(body: Any) -> None:
    queue = faaslib.Queue("jobs")
    with pytest.raises(faaslib.InvalidMessageContents):
        queue.send(body)
    fifo = faaslib.Queue("jobs.fifo", content_based_deduplication=True)
    with pytest.raises(faaslib.InvalidMessageContents):
        fifo.send(body, group_id="g")
    assert len(fifo) == 0
    assert len(queue) == 0


@pytest.mark.parametrize(
    "attributes",
    [
        {"kind": {"DataType": "String", "StringValue": "\ud800"}},
        {"\ud800": {"DataType": "String", "StringValue": "ok"}},
    ],
    ids=["value", "name"],
)
def test_queue_send_with_a_lone_surrogate_in_an_attribute_is_invalid_message_contents(
    attributes: dict[str, dict[str, str]],
) -> None:
    queue = faaslib.Queue("jobs")
    with pytest.raises(faaslib.InvalidMessageContents, match="#xD800"):
        queue.send("ok", attributes=attributes)
    assert len(queue) == 0


def test_queue_send_keeps_every_character_utf8_encodes() -> None:
    queue = faaslib.Queue("jobs")
    body = "tab\t nl\n cr\r é \ud7ff \ue000 \ufffd 😀 \U0010ffff"
    queue.send(body, attributes={"kind": {"DataType": "String", "StringValue": body}})
    [message] = queue.receive()
    assert message.body == body


@pytest.mark.parametrize(
    ("data", "key"),
    [("\ud800", "k"), ("ok", "\ud800"), ({"text": "\udfff"}, "k")],
    ids=["data", "partition-key", "json"],
)
def test_stream_put_with_a_lone_surrogate_is_invalid_parameter_value(data: Any, key: str) -> None:
    stream = faaslib.Stream("events")
    with pytest.raises(faaslib.InvalidParameterValueException):
        stream.put(data, key)
    assert len(stream) == 0


# -- message attributes a mapping could not deliver ------------------------------------------


@pytest.mark.parametrize(
    "attribute",
    [
        {"StringValue": "v"},
        {"DataType": "String"},
        {"DataType": "Text", "StringValue": "v"},
        {"DataType": "Binary", "BinaryValue": "not base64!"},
        {"DataType": "Binary", "StringValue": "v"},
        "v",
    ],
    ids=["no-type", "no-value", "bad-type", "bad-base64", "binary-without-bytes", "str"],
)
async def test_malformed_message_attributes_are_refused_at_send(attribute: Any) -> None:
    """SQS refuses them; accepted, they would break the poller that delivers the message."""
    queue = faaslib.Queue("jobs")
    with pytest.raises(faaslib.InvalidParameterValueException, match="'kind'"):
        queue.send("bad", attributes={"kind": attribute})
    good: dict[str, dict[str, Any]] = {
        "kind": {"DataType": "Binary", "BinaryValue": b"\x00"},
        "note": {"DataType": "String", "StringValue": ""},  # as Lambda's dead letters have
    }
    queue.send("good", attributes=good)
    consumer = Consumer(report=False)
    with anyio.fail_after(5):
        async with faaslib.Invoker(registry_for(consumer, queue)) as invoker:
            await invoker.drain()
    assert consumer.seen == ["good"]
