"""Event source mappings: pollers on the invoker's task group that read a source, build
batches and invoke the function synchronously (Lambda's pull model)."""

from __future__ import annotations

import logging
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.lowlevel
import pydantic_core
from anyio import CancelScope

from ._clock import VirtualClock
from ._destinations import timestamp
from ._errors import FaaslibError, TooManyRequestsException
from ._function_errors import RUNTIME_EXITS
from ._patterns import filter_criteria
from ._shapes import (
    KinesisRecordEncoder,
    RecordsEventWriter,
    SqsRecordEncoder,
    dynamodb_record,
    from_attribute_value,
    records_event_json,
)
from ._table import ChangeStream
from ._triggers import SQS, Kinesis
from ._wakeup import sleep_until_woken

if TYPE_CHECKING:
    from ._clock import Clock
    from ._queue import Queue
    from ._result import InvocationResult
    from ._stream import Stream, StreamRecord

__all__ = ["EventSourceMapping", "MappingStatistics", "QueueMapping", "StreamMapping"]

logger = logging.getLogger("faaslib")

Invoke = Callable[[str, Any], Awaitable["InvocationResult"]]


@dataclass(frozen=True, slots=True)
class MappingStatistics:
    """Counters of one event source mapping.

    :ivar records_polled: records read from the source
    :ivar records_filtered: records dropped by the filter criteria (deleted unprocessed)
    :ivar records_succeeded: records the function processed (and that were deleted)
    :ivar records_failed: records of failed batches or reported as failed items (they stay
        in the source to be retried)
    :ivar invocations: batches the function was invoked with
    :ivar batches_in_flight: batches being processed now
    :ivar iterator_age: streams: milliseconds between the arrival of the last record of the
        latest batch and its processing [IteratorAge]; 0 for queues
    """

    records_polled: int
    records_filtered: int
    records_succeeded: int
    records_failed: int
    invocations: int
    batches_in_flight: int
    iterator_age: float = 0.0


class EventSourceMapping:
    """One running event source mapping: a function, a source, and the poller between them.

    Listed by :meth:`Invoker.event_source_mappings`; :meth:`disable` and :meth:`enable`
    stop and resume its polling at run time (Lambda's ``UpdateEventSourceMapping``).
    """

    trigger: SQS | Kinesis

    def __init__(
        self, function_name: str, trigger: SQS | Kinesis, clock: Clock, invoke: Invoke
    ) -> None:
        self.uuid = str(uuid.uuid4())
        self.function_name = function_name
        self.trigger = trigger
        self._clock = clock
        self._invoke = invoke
        self._enabled = trigger.enabled
        self._enabled_changed: anyio.Event | None = None
        self._matches = (
            None if trigger.filter_criteria is None else filter_criteria(trigger.filter_criteria)
        )
        self._polled = self._filtered = self._succeeded = self._failed = self._invocations = 0
        self._in_flight = 0
        self._iterator_age = 0.0
        self._idle: anyio.Event | None = None
        self.scope: CancelScope | None = None

    @property
    def source(self) -> Queue | Stream:
        return self.trigger.queue if isinstance(self.trigger, SQS) else self.trigger.stream

    @property
    def state(self) -> str:
        """``Enabled`` or ``Disabled``, as Lambda reports a mapping."""
        return "Enabled" if self._enabled else "Disabled"

    def enable(self) -> None:
        self._set_enabled(True)

    def disable(self) -> None:
        """Stop polling (batches in flight finish)."""
        self._set_enabled(False)

    def _set_enabled(self, enabled: bool) -> None:
        self._enabled = enabled
        if self._enabled_changed is not None:
            self._enabled_changed.set()
            self._enabled_changed = None

    async def _until_enabled(self) -> None:
        while not self._enabled:
            self._maybe_settled()
            if self._enabled_changed is None:  # (shared by all the mapping's pollers)
                self._enabled_changed = anyio.Event()
            await self._enabled_changed.wait()

    def statistics(self) -> MappingStatistics:
        return MappingStatistics(
            self._polled,
            self._filtered,
            self._succeeded,
            self._failed,
            self._invocations,
            self._in_flight,
            self._iterator_age,
        )

    # -- settling (for Invoker.drain) ----------------------------------------------------------

    def settled(self) -> bool:
        """No batch in flight and, if enabled, nothing left to read right now."""
        if self._in_flight:
            return False
        return not self._enabled or self._caught_up()

    def _caught_up(self) -> bool:
        raise NotImplementedError

    def _later(self, due: float) -> bool:
        """Whether waiting until ``due`` leaves the mapping settled: only on a
        :class:`~faaslib.VirtualClock` not yet there (real time passes on its own)."""
        return isinstance(self._clock, VirtualClock) and due > self._clock.time()

    async def run(self) -> None:
        raise NotImplementedError

    async def wait_settled(self) -> None:
        while not self.settled():
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    def _maybe_settled(self) -> None:
        if self._idle is not None and self.settled():
            self._idle.set()
            self._idle = None


class QueueMapping(EventSourceMapping):
    """An SQS mapping: batches of visible messages, deleted once processed."""

    trigger: SQS

    def _set_enabled(self, enabled: bool) -> None:
        super()._set_enabled(enabled)
        self.trigger.queue._wake()

    def __init__(self, function_name: str, trigger: SQS, clock: Clock, invoke: Invoke) -> None:
        super().__init__(function_name, trigger, clock, invoke)
        self._encode = SqsRecordEncoder(trigger.queue.arn, trigger.queue.region)
        self._gathering: list[float] = []  # the ends of the batching windows waited out
        self._pollers = 0

    def _caught_up(self) -> bool:
        if any(not self._later(deadline) for deadline in self._gathering):
            return False
        queue = self.trigger.queue
        return not queue._has_visible(queue.clock.time())

    async def run(self) -> None:
        """Poll the queue until cancelled, invoking the function with each batch.

        One poller runs always; while batches come full, more join it, up to
        ``maximum_concurrency``, each invoking with its own batches in turn (as Lambda scales
        its pollers with the queue's backlog). The extra ones leave when the queue runs dry.
        """
        async with anyio.create_task_group() as pollers:
            self._pollers = 1
            await self._poll(pollers, stay=True)

    async def _poll(self, pollers: anyio.abc.TaskGroup, stay: bool) -> None:
        trigger = self.trigger
        queue = trigger.queue
        while True:
            await self._until_enabled()
            batch = _QueueBatch()
            received = self._receive(queue, batch, trigger.batch_size)
            if not batch:
                if received:  # a batch its filter emptied: receive again at once
                    await anyio.lowlevel.checkpoint()
                    continue
                if not stay:
                    self._pollers -= 1
                    self._maybe_settled()
                    return
                self._maybe_settled()
                await self._wait_for_messages(queue)
                continue
            window = trigger.maximum_batching_window
            if window and len(batch) < trigger.batch_size:
                await self._gather(queue, batch, window)
            if len(batch) >= trigger.batch_size and self._pollers < trigger.maximum_concurrency:
                self._pollers += 1  # a full batch: there may be more to read at once
                pollers.start_soon(self._poll, pollers, False)
            await self._process(batch)
            await anyio.lowlevel.checkpoint()

    def _receive(self, queue: Queue, batch: _QueueBatch, limit: int) -> int:
        """Receive up to ``limit`` messages into ``batch``; return how many were received.

        Those the filter criteria drop are deleted, as Lambda deletes them.
        """
        encode = self._encode
        ids, receipts, add = batch.ids, batch.receipts, batch.add
        received = queue._receive(limit, queue.visibility_timeout)
        for message in received:
            receipt_handle = message.receipt_handle or ""
            record = encode(
                message.message_id,
                receipt_handle,
                message.body,
                queue._attributes_json(message),
                message.message_attributes,
                message.md5,
            )
            if self._matches is not None and not self._matches(
                _filterable(pydantic_core.from_json(record))
            ):
                self._filtered += 1
                queue._delete_current((receipt_handle,))
                continue
            ids.append(message.message_id)
            receipts.append(receipt_handle)
            add(record)
        self._polled += len(received)
        return len(received)

    async def _wait_for_messages(self, queue: Queue, until: float | None = None) -> None:
        """Sleep until a message may be visible (one is sent, or one's hiding ends on the
        queue's clock), or until the mapping's clock reaches ``until``."""
        deadlines: list[tuple[Clock, float]] = []
        wake = queue.next_visible()
        if wake is not None:
            deadlines.append((queue.clock, wake))
        if until is not None:
            if wake is not None and queue.clock is self._clock:
                deadlines[0] = (self._clock, min(wake, until))
            else:
                deadlines.append((self._clock, until))
        await sleep_until_woken(queue._waiters, *deadlines)

    async def _gather(self, queue: Queue, batch: _QueueBatch, window: float) -> None:
        """More messages for a batch, until it is full or the batching window ends."""
        deadline = self._clock.time() + window
        self._gathering.append(deadline)
        try:
            while len(batch) < self.trigger.batch_size and self._clock.time() < deadline:
                self._maybe_settled()
                await self._wait_for_messages(queue, deadline)
                self._receive(queue, batch, self.trigger.batch_size - len(batch))
        finally:
            self._gathering.remove(deadline)

    async def _process(self, batch: _QueueBatch) -> None:
        queue = self.trigger.queue
        self._in_flight += 1
        try:
            self._invocations += 1
            failed = await self._invoke_batch(batch)
            if failed is None:  # they come back after the visibility timeout
                self._failed += len(batch)
                return
            done = batch.receipts
            if failed:
                done = [r for i, r in zip(batch.ids, done, strict=True) if i not in failed]
            queue._delete_current(done)
            self._failed += len(batch) - len(done)
            self._succeeded += len(done)
        finally:
            self._in_flight -= 1
            self._maybe_settled()

    async def _invoke_batch(self, batch: _QueueBatch) -> set[str] | None:
        """Invoke the function; return the message ids that failed, ``None`` for all of them
        (an error, a throttle, or a malformed partial-batch response)."""
        try:
            result = await self._invoke(self.function_name, batch.event())
        except TooManyRequestsException:
            return None
        except FaaslibError as exc:
            logger.error(
                "Event source mapping %s could not invoke %s: %s",
                self.uuid,
                self.function_name,
                exc,
            )
            return None
        if result.function_error is not None:
            return None
        if not self.trigger.reports_item_failures:
            return set()
        every = set(batch.ids)
        failed = _item_failures(result.payload, every)
        return None if failed is every else failed


class _QueueBatch(RecordsEventWriter):
    """Messages received for one invocation: the event, and their ids and receipt handles."""

    __slots__ = ("ids", "receipts")

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.receipts: list[str] = []

    def __len__(self) -> int:
        return self.count


def _item_failures(payload: bytes, every: set[str]) -> set[str]:
    """The ids a ``ReportBatchItemFailures`` response names; any malformed response fails all.

    An empty, ``null`` or ``{}`` response, or an empty ``batchItemFailures``, is a success.
    """
    try:
        response = pydantic_core.from_json(payload) if payload else None
    except ValueError:
        return every
    if response is None or response == {}:
        return set()
    if not isinstance(response, dict):
        return every
    items = response.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return every
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in every:
            return every  # unknown, empty or missing: the whole batch failed
        failed.add(identifier)
    return failed


def _filterable(record: dict[str, Any]) -> dict[str, Any]:
    """An SQS record as Lambda's filter sees it: its body parsed when it is JSON."""
    try:
        body = pydantic_core.from_json(record["body"])
    except ValueError:
        return record
    return {**record, "body": body}


class StreamMapping(EventSourceMapping):
    """A Kinesis mapping: each shard read in order, by ``parallelization_factor`` lanes that
    each keep the order of their partition keys; a failed batch blocks its lane."""

    trigger: Kinesis

    def __init__(
        self,
        function_name: str,
        trigger: Kinesis,
        clock: Clock,
        invoke: Invoke,
        deliver: Callable[[Any, Any], Awaitable[None]],
        function_arn: str,
        role_arn: str,
    ) -> None:
        super().__init__(function_name, trigger, clock, invoke)
        self._deliver = deliver
        self._function_arn = function_arn
        self._encode = KinesisRecordEncoder(trigger.stream.arn, trigger.stream.region, role_arn)
        # (shard, lane) -> the position it reads next; lanes sleeping until a time -> it.
        self._positions: dict[tuple[int, int], int] = {}
        self._waiting: dict[tuple[int, int], float] = {}  # gathering a batch until a time
        self._retrying: dict[tuple[int, int], float] = {}  # a failed batch's next attempt
        stream = trigger.stream
        for shard in range(len(stream.shard_ids)):
            if trigger.starting_position == "LATEST":
                start = stream.end(shard)
            elif trigger.starting_position == "AT_TIMESTAMP":
                assert trigger.starting_position_timestamp is not None
                start = stream.position_at(shard, trigger.starting_position_timestamp)
            else:
                start = 0
            for lane in range(trigger.parallelization_factor):
                self._positions[shard, lane] = start

    def _set_enabled(self, enabled: bool) -> None:
        super()._set_enabled(enabled)
        for wake in list(self.trigger.stream._waiters):
            wake()

    def _caught_up(self) -> bool:
        """Each lane has read its shard to the end, or sleeps until a time not reached."""
        stream = self.trigger.stream
        now = self._clock.time()
        for lane, position in self._positions.items():
            retry = self._retrying.get(lane)
            due = self._waiting.get(lane)
            if retry is not None:  # like hidden queue messages, a retry is not waited for
                if retry <= now:
                    return False
            elif due is not None:
                if not self._later(due):
                    return False
            elif position < stream.end(lane[0]):
                return False
        return True

    async def run(self) -> None:
        async with anyio.create_task_group() as tg:
            for shard, lane in self._positions:
                tg.start_soon(self._read_lane, shard, lane)

    async def _read_lane(self, shard: int, lane: int) -> None:
        trigger = self.trigger
        key = (shard, lane)
        while True:
            await self._until_enabled()
            batch, after = self._collect(shard, lane, self._positions[key])
            if not batch:
                self._positions[key] = after
                self._maybe_settled()
                await self._wait_for_records()
                continue
            window = trigger.maximum_batching_window
            if window and len(batch) < trigger.batch_size:
                deadline = self._clock.time() + window
                while len(batch) < trigger.batch_size and self._clock.time() < deadline:
                    self._waiting[key] = deadline
                    self._maybe_settled()
                    try:
                        await self._wait_for_records(deadline)
                    finally:
                        del self._waiting[key]
                    more, after = self._collect(shard, lane, after, trigger.batch_size - len(batch))
                    batch += more
            await self._process(key, batch)
            self._positions[key] = after
            self._maybe_settled()

    def _collect(
        self, shard: int, lane: int, position: int, limit: int | None = None
    ) -> tuple[list[StreamRecord], int]:
        """This lane's next records (matching the filter) from ``position``, and the position
        after the last record looked at."""
        trigger = self.trigger
        want = trigger.batch_size if limit is None else limit
        lanes = trigger.parallelization_factor
        batch: list[StreamRecord] = []
        while len(batch) < want:
            records = trigger.stream.read(shard, position, want * lanes)
            if not records:
                break
            for record in records:
                position = record.index + 1
                if lanes > 1 and zlib.crc32(record.partition_key.encode()) % lanes != lane:
                    continue
                self._polled += 1
                if self._matches is not None and not self._matches(self._filterable(record)):
                    self._filtered += 1  # Lambda skips it: the iterator moves on
                    continue
                batch.append(record)
                if len(batch) >= want:
                    break
        return batch, position

    async def _wait_for_records(self, until: float | None = None) -> None:
        """Sleep until a record is put, or until the mapping's clock reaches ``until``."""
        deadlines = () if until is None else ((self._clock, until),)
        await sleep_until_woken(self.trigger.stream._waiters, *deadlines)

    async def _process(self, key: tuple[int, int], records: list[StreamRecord]) -> None:
        """Invoke with ``records`` until they are done: retried, bisected, or sent on."""
        trigger = self.trigger
        pending = [records]
        attempts = 0
        while pending:
            batch = pending[0]
            now = self._clock.time()
            age = trigger.maximum_record_age
            if age != -1 and now - batch[0].arrival > age:
                await self._give_up(batch, "RecordAgeExceeded", attempts)
                pending.pop(0)
                attempts = 0
                continue
            self._invocations += 1
            self._iterator_age = max(now - batch[-1].arrival, 0.0) * 1000
            self._in_flight += 1
            try:
                failed_from = await self._invoke_records(batch)
            finally:
                self._in_flight -= 1
            if failed_from is None:
                self._succeeded += len(batch)
                pending.pop(0)
                attempts = 0
                continue
            if failed_from:  # the records before the first failed one are done
                self._succeeded += failed_from
                batch = pending[0] = batch[failed_from:]
            elif trigger.bisect_batch_on_function_error and len(batch) > 1:
                half = len(batch) // 2
                pending[0:1] = [batch[:half], batch[half:]]
                continue
            attempts += 1
            if trigger.maximum_retry_attempts != -1 and attempts > trigger.maximum_retry_attempts:
                await self._give_up(batch, "RetryAttemptsExhausted", attempts)
                pending.pop(0)
                attempts = 0
                continue
            due = self._clock.time() + min(2.0 ** (attempts - 1), 60.0)
            self._retrying[key] = due
            self._maybe_settled()  # waiting for a later time: a drain need not wait for it
            try:
                await self._clock.sleep_until(due)
            finally:
                del self._retrying[key]

    def _event(self, batch: list[StreamRecord]) -> bytes:
        """The function's event for a batch: its records as Kinesis or DynamoDB Streams ones."""
        stream = self.trigger.stream
        if isinstance(stream, ChangeStream):
            return records_event_json(
                pydantic_core.to_json(self._change_record(r, stream)) for r in batch
            )
        encode = self._encode
        return records_event_json(
            encode(r.shard_id, r.partition_key, r.sequence_number, r.data, r.arrival) for r in batch
        )

    @staticmethod
    def _change_record(record: StreamRecord, stream: ChangeStream) -> dict[str, Any]:
        """A table's change as a DynamoDB Streams record."""
        change = pydantic_core.from_json(record.data)
        images = {
            part: {k: from_attribute_value(v) for k, v in change[part].items()}
            for part in ("Keys", "NewImage", "OldImage")
            if part in change
        }
        return dynamodb_record(
            event_name=change["eventName"],
            keys=images["Keys"],
            new_image=images.get("NewImage"),
            old_image=images.get("OldImage"),
            sequence_number=record.sequence_number,
            size_bytes=change["SizeBytes"],
            stream_view_type=stream.view_type,
            time=record.arrival,
            stream_arn=stream.arn,
            region=stream.region,
        )

    def _filterable(self, record: StreamRecord) -> dict[str, Any]:
        """A record as Lambda's filter sees it: a Kinesis ``data`` decoded when it is JSON;
        a DynamoDB record as it is delivered."""
        stream = self.trigger.stream
        if isinstance(stream, ChangeStream):
            return self._change_record(record, stream)
        try:
            data: Any = pydantic_core.from_json(record.data)
        except ValueError:
            data = record.data.decode(errors="replace")
        return {
            "partitionKey": record.partition_key,
            "sequenceNumber": record.sequence_number,
            "data": data,
        }

    async def _invoke_records(self, batch: list[StreamRecord]) -> int | None:
        """Invoke with a batch: ``None`` if it all succeeded, else the index of the first
        record to retry (0: the whole batch)."""
        try:
            result = await self._invoke(self.function_name, self._event(batch))
        except TooManyRequestsException:
            return 0
        except FaaslibError as exc:
            logger.error(
                "Event source mapping %s could not invoke %s: %s",
                self.uuid,
                self.function_name,
                exc,
            )
            return 0
        if result.function_error is not None:
            return 0
        if not self.trigger.reports_item_failures:
            return None
        sequence = {r.sequence_number: i for i, r in enumerate(batch)}
        failed = _item_failures(result.payload, set(sequence))
        if not failed:
            return None
        return min(sequence[s] for s in failed)  # resume from the lowest failed record

    async def _give_up(self, batch: list[StreamRecord], condition: str, attempts: int) -> None:
        """Skip a batch; tell ``on_failure`` about it (the records themselves are not sent)."""
        self._failed += len(batch)
        destination = self.trigger.on_failure
        stream = self.trigger.stream
        if destination is None:
            logger.warning(
                "Event source mapping %s skipped %d records of %s (%s)",
                self.uuid,
                len(batch),
                batch[0].shard_id,
                condition,
            )
            return
        record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self._function_arn,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": timestamp(self._clock.time()),
            ("DDBStreamBatchInfo" if isinstance(stream, ChangeStream) else "KinesisBatchInfo"): {
                "shardId": batch[0].shard_id,
                "startSequenceNumber": batch[0].sequence_number,
                "endSequenceNumber": batch[-1].sequence_number,
                "approximateArrivalOfFirstRecord": timestamp(batch[0].arrival),
                "approximateArrivalOfLastRecord": timestamp(batch[-1].arrival),
                "batchSize": len(batch),
                "streamArn": stream.arn,
            },
        }
        try:
            await self._deliver(destination, record)
        except (Exception, *RUNTIME_EXITS) as exc:  # noqa: BLE001 - logged, the shard goes on
            logger.error(
                "Event source mapping %s could not send its on_failure record: %s", self.uuid, exc
            )
