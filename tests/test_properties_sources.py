"""Stateful property-based tests of the in-memory sources: random interleavings of
operations on a ``faaslib.Queue`` (standard, standard with a dead-letter queue, FIFO) and on a
``faaslib.Stream``, on a ``VirtualClock`` the tests move, checked against a model.

Queue: no accepted message is lost (the queue, and its dead-letter queue, hold every message
sent and not deleted; a final drain receives each of them); no message is delivered while it
is invisible (in flight, delayed); a receive returns every visible message it has room for;
FIFO: each message group is delivered in send order, never past a message in flight; receipt
handles work while they are a message's latest. Stream: every record put stays readable (until
its retention), in put order per shard, with increasing sequence numbers."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)
from properties_helpers import BACKENDS, check_lambda_error, property_settings

import faaslib

T0 = 1_700_000_000.0
VISIBILITY = 30.0
MAX_RECEIVES = 3  # the dead-letter queue's max_receive_count

#: Message bodies: any text, lone surrogates included (refused with InvalidMessageContents).
bodies = st.text(st.characters(codec=None), max_size=12)


def _encodes(text: str) -> bool:
    """Whether UTF-8 can encode ``text`` (it holds no lone surrogate)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class _Model:
    """What the model knows of a message sent and accepted."""

    message_id: str
    body: str
    group: str | None
    serial: int  # send order
    visible_at: float
    receives: int = 0
    receipt: str | None = None  # the latest receipt handle
    may_have_moved: bool = False  # reached the redrive count: possibly in the dead-letter queue


@dataclass(frozen=True)
class Receipt:
    """A receipt handle the test was given, with the message it belongs to."""

    message_id: str
    handle: str


@dataclass
class _Deduplication:
    seen: dict[str, tuple[str, float]] = field(default_factory=dict)  # id -> message, time


class QueueMachine(RuleBasedStateMachine):
    """A queue under random sends, receives, deletes, visibility changes and clock moves."""

    receipts = Bundle("receipts")

    def __init__(self) -> None:
        super().__init__()
        self.clock = faaslib.VirtualClock(T0)
        self.queue: faaslib.Queue | None = None
        self.dead_letters: faaslib.Queue | None = None
        self.live: dict[str, _Model] = {}  # accepted and not deleted
        self.serials = itertools.count()
        self.deduplication = _Deduplication()

    @initialize(kind=st.sampled_from(["standard", "standard+dlq", "fifo", "fifo+dlq"]))
    def open_queue(self, kind: str) -> None:
        fifo = kind.startswith("fifo")
        name = "jobs.fifo" if fifo else "jobs"
        if kind.endswith("+dlq"):
            self.dead_letters = faaslib.Queue("dead.fifo" if fifo else "dead", clock=self.clock)
            self.queue = faaslib.Queue(
                name,
                visibility_timeout=VISIBILITY,
                clock=self.clock,
                max_receive_count=MAX_RECEIVES,
                dead_letter_queue=self.dead_letters,
            )
        else:
            self.queue = faaslib.Queue(name, visibility_timeout=VISIBILITY, clock=self.clock)

    @property
    def q(self) -> faaslib.Queue:
        assert self.queue is not None
        return self.queue

    # -- operations ----------------------------------------------------------------------------

    @rule(
        body=bodies,
        group=st.sampled_from(["a", "b", "c"]),
        deduplication=st.integers(0, 40),
        delay=st.sampled_from([None, 0, 5, 901]),  # 901: over SQS's 15 minutes
    )
    def send(self, body: str, group: str, deduplication: int, delay: int | None) -> None:
        now = self.clock.time()
        dedup_id = f"d{deduplication}"
        options: dict[str, object] = {}
        if self.q.fifo:
            options = {"group_id": group, "deduplication_id": dedup_id}
        if not _encodes(body):  # a lone surrogate: refused, nothing stored
            with pytest.raises(faaslib.FaaslibError) as refused:
                self.q.send(body, **options)  # type: ignore[arg-type]
            check_lambda_error(refused.value, (faaslib.InvalidMessageContents,))
            return
        if delay == 901:  # refused, nothing stored (a FIFO deduplication id not taken)
            with pytest.raises(faaslib.FaaslibError) as refused:
                self.q.send(body, **options, delay=delay)  # type: ignore[arg-type]
            check_lambda_error(refused.value, (faaslib.InvalidParameterValueException,))
            return
        if delay is not None and not self.q.fifo:
            options["delay"] = delay
        message_id = self.q.send(body, **options)  # type: ignore[arg-type]
        if self.q.fifo:
            seen = self.deduplication.seen.get(dedup_id)
            if seen is not None and now - seen[1] < 300:
                # A duplicate within SQS's five minutes: accepted, dropped, the first's id.
                if seen[0] in self.live:
                    assert message_id == seen[0]
                return
            self.deduplication.seen[dedup_id] = (message_id, now)
        assert message_id not in self.live
        self.live[message_id] = _Model(
            message_id,
            body,
            group if self.q.fifo else None,
            next(self.serials),
            now + (0 if self.q.fifo or delay is None else delay),
        )

    def _deliverable(self, now: float) -> list[_Model]:
        """The messages a receive may return now, in the order the model expects."""
        ordered = sorted(self.live.values(), key=lambda m: m.serial)
        if not self.q.fifo:
            return [m for m in ordered if m.visible_at <= now]
        out: list[_Model] = []
        for group in {m.group for m in ordered}:
            for message in (m for m in ordered if m.group == group):
                if message.visible_at > now:
                    break  # the group waits for it
                out.append(message)
        return out

    @rule(
        target=receipts,
        limit=st.integers(1, 10),
        hide_for=st.sampled_from([None, 0.0, 5.0, 45.0]),
    )
    def receive(self, limit: int, hide_for: float | None) -> object:
        now = self.clock.time()
        deliverable = self._deliverable(now)
        got = self.q.receive(limit, visibility_timeout=hide_for)
        ids = [m.message_id for m in got]
        assert len(set(ids)) == len(ids), ids
        allowed = {m.message_id for m in deliverable}
        for message in got:
            # Never one that is invisible, deleted or unknown.
            assert message.message_id in allowed, (message, now)
        if self.dead_letters is None:
            # Every visible message it has room for.
            assert len(got) == min(limit, len(deliverable)), (len(got), limit, len(deliverable))
        else:
            # Those received MAX_RECEIVES times move to the dead-letter queue on the way.
            movable = sum(m.receives >= MAX_RECEIVES for m in deliverable)
            assert min(limit, len(deliverable) - movable) <= len(got) <= limit
        if self.q.fifo:
            for group in {self.live[i].group for i in ids}:
                in_group = [i for i in ids if self.live[i].group == group]
                # In order, up to the first in flight (past those moved to the dead-letter
                # queue on the way).
                expected = [
                    m.message_id
                    for m in deliverable
                    if m.group == group and (self.dead_letters is None or m.receives < MAX_RECEIVES)
                ]
                assert in_group == expected[: len(in_group)], (group, in_group, expected)
        receipts = []
        for message in got:
            model = self.live[message.message_id]
            model.receives += 1
            assert message.attributes["ApproximateReceiveCount"] == str(model.receives)
            assert message.body == model.body
            model.receipt = message.receipt_handle
            model.visible_at = now + (VISIBILITY if hide_for is None else hide_for)
            receipts.append(Receipt(message.message_id, message.receipt_handle))
        if self.dead_letters is not None:
            for model in deliverable:
                if model.receives >= MAX_RECEIVES and model.message_id not in ids:
                    model.may_have_moved = True
        return multiple(*receipts)

    def _latest(self, receipt: Receipt) -> _Model | None:
        model = self.live.get(receipt.message_id)
        if model is None or model.receipt != receipt.handle or model.may_have_moved:
            return None
        return model

    def _maybe_moved(self, receipt: Receipt) -> bool:
        """Whether the message may be in the dead-letter queue by now."""
        model = self.live.get(receipt.message_id)
        return model is not None and model.may_have_moved

    @rule(receipt=consumes(receipts))
    def delete(self, receipt: Receipt) -> None:
        model = self._latest(receipt)
        if self._maybe_moved(receipt):
            return  # moved or not: the model cannot tell
        try:
            self.q.delete(receipt.handle)
        except faaslib.FaaslibError as exc:
            check_lambda_error(exc, (faaslib.ResourceNotFoundException,))
            assert model is None, f"the latest receipt {receipt} was refused"
            return
        assert model is not None, f"a stale receipt {receipt} deleted a message"
        del self.live[receipt.message_id]

    @rule(receipt=receipts, timeout=st.sampled_from([0.0, 10.0, 60.0]))
    def change_visibility(self, receipt: Receipt, timeout: float) -> None:
        model = self._latest(receipt)
        if self._maybe_moved(receipt):
            return
        try:
            self.q.change_visibility(receipt.handle, timeout)
        except faaslib.FaaslibError as exc:
            check_lambda_error(exc, (faaslib.ResourceNotFoundException,))
            assert model is None, f"the latest receipt {receipt} was refused"
            return
        assert model is not None, f"a stale receipt {receipt} changed a message"
        model.visible_at = self.clock.time() + timeout

    @rule(seconds=st.sampled_from([0.5, 5.0, 10.0, 29.5, 30.0, 31.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def nothing_is_lost(self) -> None:
        if self.queue is None:
            return
        held = len(self.q) + (len(self.dead_letters) if self.dead_letters is not None else 0)
        assert held == len(self.live), (held, len(self.live))

    @invariant()
    def next_visible_is_the_models(self) -> None:
        if self.queue is None or self.dead_letters is not None:
            return
        now = self.clock.time()
        later = [m.visible_at for m in self.live.values() if m.visible_at > now]
        if not self.q.fifo:
            assert self.q.next_visible() == (min(later) if later else None)

    def teardown(self) -> None:
        """At least once: once every hiding has ended, draining the queue (and its
        dead-letter queue) receives each message not deleted."""
        if self.queue is None:
            return
        self.clock.advance(3600)
        for queue in (self.q, self.dead_letters):
            if queue is None:
                continue
            for _ in range(len(self.live) + 2):
                got = queue.receive(10)
                if not got:
                    break
                for message in got:
                    model = self.live.pop(message.message_id)
                    assert message.body == model.body
                    queue.delete(message.receipt_handle)
        assert self.live == {}, f"never delivered: {list(self.live.values())}"


# -- regressions: what the queue's properties found -------------------------------------------


def test_a_refused_fifo_send_does_not_take_its_deduplication_id() -> None:
    # A send refused (its delay out of range) had recorded its deduplication id first: the
    # next send with that id was "accepted" (an id returned) and dropped, a message lost.
    queue = faaslib.Queue("jobs.fifo", clock=faaslib.VirtualClock(T0))
    with pytest.raises(faaslib.InvalidParameterValueException):
        queue.send("a", group_id="g", deduplication_id="x", delay=901)
    message_id = queue.send("a", group_id="g", deduplication_id="x")
    [message] = queue.receive(10)
    assert message.message_id == message_id


def test_a_duplicate_fifo_send_is_checked_too() -> None:
    # A duplicate was answered before its parameters were checked: an invalid delay passed.
    queue = faaslib.Queue("jobs.fifo", clock=faaslib.VirtualClock(T0))
    queue.send("a", group_id="g", deduplication_id="x")
    with pytest.raises(faaslib.InvalidParameterValueException):
        queue.send("a", group_id="g", deduplication_id="x", delay=901)
    assert len(queue) == 1


def test_a_duplicate_answers_the_id_of_the_message_it_duplicates() -> None:
    # The id of a duplicate was looked up among the messages stored, by deduplication id:
    # the first found (an older message sent with that id before the window) or, once the
    # message was deleted, a new random id. SQS answers the id of the message it duplicates.
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("jobs.fifo", clock=clock)
    queue.send("old", group_id="g", deduplication_id="x")
    clock.advance(301)  # past the five-minute window: a new message
    second = queue.send("new", group_id="g", deduplication_id="x")
    assert queue.send("new", group_id="g", deduplication_id="x") == second
    assert len(queue) == 2
    for message in queue.receive(10):
        queue.delete(message.receipt_handle)
    assert queue.send("new", group_id="g", deduplication_id="x") == second  # deleted: still it
    assert len(queue) == 0


QueueMachine.TestCase.settings = property_settings(max_examples=150, stateful_step_count=50)
TestQueueProperties = QueueMachine.TestCase


# -- Stream ------------------------------------------------------------------------------------

RETENTION = 86_400.0


@dataclass(frozen=True)
class _Put:
    sequence: int
    partition_key: str
    data: bytes
    arrival: float
    index: int


class StreamMachine(RuleBasedStateMachine):
    """A stream under random puts, reads and clock moves (past the retention too)."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = faaslib.VirtualClock(T0)
        self.stream: faaslib.Stream | None = None
        self.shards: list[list[_Put]] = []  # every record put, by shard
        self.last_sequence = 0

    @initialize(shard_count=st.integers(1, 4))
    def open_stream(self, shard_count: int) -> None:
        self.stream = faaslib.Stream("clicks", shard_count=shard_count, clock=self.clock)
        self.shards = [[] for _ in range(shard_count)]

    @property
    def s(self) -> faaslib.Stream:
        assert self.stream is not None
        return self.stream

    def _kept(self, shard: int) -> list[_Put]:
        horizon = self.clock.time() - RETENTION
        return [p for p in self.shards[shard] if p.arrival >= horizon]

    @rule(
        data=st.binary(max_size=16) | st.text(st.characters(codec=None), max_size=8),
        partition_key=st.sampled_from(["a", "b", "c", "d", "e"])
        | st.text(st.characters(codec=None), max_size=257),
    )
    def put(self, data: bytes | str, partition_key: str) -> None:
        valid_key = 1 <= len(partition_key) <= 256 and _encodes(partition_key)
        if not valid_key or (isinstance(data, str) and not _encodes(data)):
            with pytest.raises(faaslib.FaaslibError) as refused:
                self.s.put(data, partition_key)
            check_lambda_error(refused.value, (faaslib.InvalidParameterValueException,))
            return
        record = self.s.put(data, partition_key)
        shard = self.s.shard_for(partition_key)
        assert record.shard_id == self.s.shard_ids[shard]
        sequence = int(record.sequence_number)
        assert sequence > self.last_sequence, "sequence numbers increase"
        self.last_sequence = sequence
        assert record.index == len(self.shards[shard]), "its position in the shard"
        body = data.encode() if isinstance(data, str) else data
        assert (record.data, record.partition_key) == (body, partition_key)
        assert record.arrival == self.clock.time()
        self.shards[shard].append(_Put(sequence, partition_key, body, record.arrival, record.index))

    @rule(data=st.data(), limit=st.integers(1, 10))
    def read(self, data: st.DataObject, limit: int) -> None:
        shard = data.draw(st.integers(0, len(self.shards) - 1))
        index = data.draw(st.integers(0, len(self.shards[shard]) + 1))
        got = self.s.read(shard, index, limit)
        # What is kept from that position on, in put order (from the oldest kept, when the
        # position is past the retention).
        expected = [p for p in self._kept(shard) if p.index >= index][:limit]
        assert [(int(r.sequence_number), r.data, r.index) for r in got] == [
            (p.sequence, p.data, p.index) for p in expected
        ]

    @rule(data=st.data())
    def position_at(self, data: st.DataObject) -> None:
        shard = data.draw(st.integers(0, len(self.shards) - 1))
        time = self.clock.time() - data.draw(st.sampled_from([0.0, 1.0, 100.0, RETENTION]))
        kept = self._kept(shard)
        expected = next((p.index for p in kept if p.arrival >= time), self.s.end(shard))
        assert self.s.position_at(shard, time) == expected

    @rule(seconds=st.sampled_from([0.0, 1.0, 60.0, 40_000.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def every_record_kept_is_there(self) -> None:
        if self.stream is None:
            return
        for shard in range(len(self.shards)):
            assert self.s.end(shard) == len(self.shards[shard])
            kept = self._kept(shard)
            start = kept[0].index if kept else len(self.shards[shard])
            everything = self.s.read(shard, 0, 10_000)  # from the oldest kept
            assert self.s.read(shard, start, 10_000) == everything
            assert [
                (int(r.sequence_number), r.partition_key, r.data, r.index) for r in everything
            ] == [(p.sequence, p.partition_key, p.data, p.index) for p in kept]
        assert len(self.s) == sum(len(self._kept(shard)) for shard in range(len(self.shards)))


StreamMachine.TestCase.settings = property_settings(max_examples=80, stateful_step_count=40)
TestStreamProperties = StreamMachine.TestCase


# -- through an invoker: the event source mappings ---------------------------------------------

#: Seconds a whole mapping scenario may take before it fails as hung.
SCENARIO_BOUND = 60


async def _settle(
    invoker: faaslib.Invoker, clock: faaslib.VirtualClock, done: Callable[[], bool], step: float
) -> None:
    """Drain, moving the clock by ``step`` between drains (visibility timeouts and retry
    delays pass), until ``done`` or a bound on rounds."""
    for _ in range(200):
        await invoker.drain()
        if done():
            return
        clock.advance(step)


async def _queue_scenario(
    fifo: bool, sends: list[tuple[str, int]], batch_size: int, report: bool
) -> None:
    """Messages (a group, and how many times processing it fails) through an SQS mapping."""
    clock = faaslib.VirtualClock(T0)
    queue = faaslib.Queue("work.fifo" if fifo else "work", visibility_timeout=30, clock=clock)
    failures = {str(n): fails for n, (_, fails) in enumerate(sends)}
    processed: list[str] = []
    registry = faaslib.Registry()
    response_types = ["ReportBatchItemFailures"] if report else []

    @registry.function(
        events=[faaslib.SQS(queue, batch_size=batch_size, function_response_types=response_types)]
    )
    def work(event: dict[str, Any]) -> dict[str, Any]:
        records = event["Records"]
        if not report:  # the whole batch fails while one of its messages does
            failing = [r["body"] for r in records if failures[r["body"]] > 0]
            if failing:
                failures[failing[0]] -= 1
                raise ValueError(f"{failing[0]} failed")
            processed.extend(r["body"] for r in records)
            return {}
        failed: list[dict[str, str]] = []
        blocked: set[str] = set()  # FIFO: a group after its failed message waits for it
        for record in records:
            body, group = record["body"], record["attributes"].get("MessageGroupId", "")
            if group in blocked or failures[body] > 0:
                if group not in blocked:
                    failures[body] -= 1
                if fifo:
                    blocked.add(group)
                failed.append({"itemIdentifier": record["messageId"]})
            else:
                processed.append(body)
        return {"batchItemFailures": failed}

    def send(n: int, group: str) -> None:
        options = {"group_id": group, "deduplication_id": str(n)} if fifo else {}
        queue.send(str(n), **options)  # type: ignore[arg-type]

    half = len(sends) // 2
    for n, (group, _) in enumerate(sends[:half]):  # before the invoker opens ...
        send(n, group)
    with anyio.fail_after(SCENARIO_BOUND):
        async with faaslib.Invoker(registry, clock=clock) as invoker:
            await invoker.drain()
            for n, (group, _) in enumerate(sends[half:], start=half):  # ... and while it runs
                send(n, group)
            await _settle(invoker, clock, lambda: len(set(processed)) == len(sends), 31)
    # At least once: every message processed; FIFO: each group in send order.
    assert set(processed) == {str(n) for n in range(len(sends))}, (processed, failures)
    assert len(queue) == 0
    if fifo:
        firsts = list(dict.fromkeys(processed))
        for group in {g for g, _ in sends}:
            in_group = [str(n) for n, (g, _) in enumerate(sends) if g == group]
            assert [b for b in firsts if b in in_group] == in_group, (group, processed)


@BACKENDS
@property_settings(max_examples=60)
@given(
    fifo=st.booleans(),
    sends=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 2)), min_size=1, max_size=10),
    batch_size=st.integers(1, 4),
    report=st.booleans(),
)
def test_a_queue_mapping_delivers_every_message_in_group_order(
    backend: str, fifo: bool, sends: list[tuple[str, int]], batch_size: int, report: bool
) -> None:
    anyio.run(_queue_scenario, fifo, sends, batch_size, report, backend=backend)


async def _stream_scenario(
    shard_count: int, puts: list[tuple[str, int]], batch_size: int, mode: str, lanes: int
) -> None:
    """Records (a partition key, and how many times processing it fails) through a Kinesis
    mapping that reports item failures, bisects failed batches, or retries them whole."""
    clock = faaslib.VirtualClock(T0)
    stream = faaslib.Stream("events", shard_count=shard_count, clock=clock)
    failures = {str(n): fails for n, (_, fails) in enumerate(puts)}
    processed: list[str] = []
    registry = faaslib.Registry()

    @registry.function(
        events=[
            faaslib.Kinesis(
                stream,
                batch_size=batch_size,
                parallelization_factor=lanes,
                bisect_batch_on_function_error=mode == "bisect",
                function_response_types=["ReportBatchItemFailures"] if mode == "report" else [],
            )
        ]
    )
    def read(event: dict[str, Any]) -> dict[str, Any]:
        records = [
            (base64.b64decode(r["kinesis"]["data"]).decode(), r["kinesis"]["sequenceNumber"])
            for r in event["Records"]
        ]
        if mode == "report":  # done up to the first failure, retried from it
            for data, sequence in records:
                if failures[data] > 0:
                    failures[data] -= 1
                    return {"batchItemFailures": [{"itemIdentifier": sequence}]}
                processed.append(data)
            return {"batchItemFailures": []}
        failing = [data for data, _ in records if failures[data] > 0]
        if failing:
            failures[failing[0]] -= 1
            raise ValueError(f"{failing[0]} failed")
        processed.extend(data for data, _ in records)
        return {}

    half = len(puts) // 2
    for n, (key, _) in enumerate(puts[:half]):
        stream.put(str(n), key)
    with anyio.fail_after(SCENARIO_BOUND):
        async with faaslib.Invoker(registry, clock=clock) as invoker:
            await invoker.drain()
            for n, (key, _) in enumerate(puts[half:], start=half):
                stream.put(str(n), key)
            await _settle(invoker, clock, lambda: len(set(processed)) == len(puts), 61)
    # Every record processed, once (a failed batch processed nothing), in order per shard
    # (with parallel lanes, per partition key).
    assert sorted(processed, key=int) == [str(n) for n in range(len(puts))], processed
    for shard in range(shard_count):
        in_shard = [str(n) for n, (key, _) in enumerate(puts) if stream.shard_for(key) == shard]
        if lanes == 1:
            assert [data for data in processed if data in in_shard] == in_shard, processed
    for key in {key for key, _ in puts}:
        in_key = [str(n) for n, (k, _) in enumerate(puts) if k == key]
        assert [data for data in processed if data in in_key] == in_key, (key, processed)


@BACKENDS
@property_settings(max_examples=60)
@given(
    shard_count=st.integers(1, 3),
    puts=st.lists(
        st.tuples(st.sampled_from(["k1", "k2", "k3", "k4", "k5"]), st.integers(0, 2)),
        min_size=1,
        max_size=10,
    ),
    batch_size=st.integers(1, 4),
    mode=st.sampled_from(["report", "bisect", "retry"]),
    lanes=st.sampled_from([1, 1, 3]),
)
def test_a_stream_mapping_delivers_every_record_in_shard_order(
    backend: str,
    shard_count: int,
    puts: list[tuple[str, int]],
    batch_size: int,
    mode: str,
    lanes: int,
) -> None:
    anyio.run(_stream_scenario, shard_count, puts, batch_size, mode, lanes, backend=backend)
