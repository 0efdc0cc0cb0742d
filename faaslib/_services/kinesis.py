"""Kinesis and DynamoDB Streams as Lambda's triggers: the ``Kinesis`` and ``DynamoDB``
triggers and the mapping that reads their shards in order (Lambda's pull model)."""

from __future__ import annotations

import logging
import uuid
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import pydantic_core

from .._destinations import check_destination, timestamp
from .._errors import FaaslibError, TooManyRequestsException, ValidationException
from .._function_errors import RUNTIME_EXITS
from .._triggers import (
    REPORT_BATCH_ITEM_FAILURES,
    Invoke,
    Trigger,
    TriggerHost,
    check_whole,
    response_types,
)
from .mappings import EventSourceMapping, item_failures
from .patterns import filter_criteria
from .shapes import KinesisRecordEncoder, dynamodb_record, from_attribute_value, records_event_json
from .stream import Stream
from .table import ChangeStream, Table

if TYPE_CHECKING:
    from .._clock import Clock
    from .stream import StreamRecord

__all__ = ["DynamoDB", "Kinesis", "StreamMapping"]

logger = logging.getLogger("faaslib")


@dataclass(frozen=True, eq=False)
class Kinesis(Trigger):
    """An event source mapping that reads a :class:`~faaslib.Stream` shard by shard, in
    order, and invokes the function synchronously with batches of Kinesis records (SAM's
    ``Kinesis`` event).

    A failed batch blocks its shard (its partition-key lane, with ``parallelization_factor``)
    and is retried, 1 s later, then doubling to at most 60 s on the invoker's clock, until it
    succeeds, its records are older than ``maximum_record_age`` or ``maximum_retry_attempts``
    are spent; then ``on_failure`` gets a record describing the batch and the shard goes on.

    :param stream: the stream
    :param starting_position: ``TRIM_HORIZON`` (the oldest record kept; faaslib's default),
        ``LATEST`` (records put after the mapping starts) or ``AT_TIMESTAMP``
    :param starting_position_timestamp: epoch seconds, with ``AT_TIMESTAMP``
    :param batch_size: records per invocation, 1-10000 (default 100)
    :param maximum_batching_window: seconds to gather a fuller batch, 0-300
    :param parallelization_factor: batches of one shard in flight at once, 1-10; records of
        one partition key stay in order
    :param bisect_batch_on_function_error: split a failed batch in two and retry each half,
        down to the record that fails
    :param maximum_retry_attempts: -1 (until the records expire; the default) or 0-10000
    :param maximum_record_age: -1 (the stream's retention; the default) or 60-604800 seconds
    :param on_failure: where the record of a discarded batch goes (a function name or ARN,
        a :class:`~faaslib.Queue`, a :class:`~faaslib.Topic`, or a callable)
    :param function_response_types: ``["ReportBatchItemFailures"]``: the function returns
        the sequence numbers that failed, and the shard resumes from the lowest one
    :param filter_criteria: up to 5 event patterns on the record, its ``data`` decoded from
        base64 JSON; records matching none are skipped
    :param enabled: whether the mapping reads
    """

    stream: Stream
    starting_position: str = "TRIM_HORIZON"
    starting_position_timestamp: float | None = None
    batch_size: int = 100
    maximum_batching_window: float = 0
    parallelization_factor: int = 1
    bisect_batch_on_function_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    on_failure: Any = None
    function_response_types: Sequence[str] = ()
    filter_criteria: Sequence[Mapping[str, Any] | str] | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.stream, Stream):
            raise ValidationException("stream", self.stream, "Member must be a faaslib.Stream")
        if self.starting_position not in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"):
            raise ValidationException(
                "startingPosition",
                self.starting_position,
                "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]",
            )
        if (self.starting_position == "AT_TIMESTAMP") != (
            self.starting_position_timestamp is not None
        ):
            raise ValidationException(
                "startingPositionTimestamp",
                self.starting_position_timestamp,
                "Member is required with AT_TIMESTAMP, and only then",
            )
        check_whole("batchSize", self.batch_size, 1, 10_000)
        window = self.maximum_batching_window
        if (
            isinstance(window, bool)
            or not isinstance(window, (int, float))
            or not (0 <= window <= 300)
        ):
            raise ValidationException(
                "maximumBatchingWindowInSeconds", window, "Member must be from 0 to 300"
            )
        check_whole("parallelizationFactor", self.parallelization_factor, 1, 10)
        if not isinstance(self.bisect_batch_on_function_error, bool):
            raise ValidationException(
                "bisectBatchOnFunctionError",
                self.bisect_batch_on_function_error,
                "Member must be a boolean",
            )
        check_whole("maximumRetryAttempts", self.maximum_retry_attempts, -1, 10_000)
        age = self.maximum_record_age
        if age != -1:
            check_whole("maximumRecordAgeInSeconds", age, 60, 604_800)
        check_destination("destinationConfig.onFailure.destination", self.on_failure)
        object.__setattr__(
            self, "function_response_types", response_types(self.function_response_types)
        )
        if self.filter_criteria is not None:
            patterns = tuple(self.filter_criteria)
            filter_criteria(patterns)
            object.__setattr__(self, "filter_criteria", patterns)
        if not isinstance(self.enabled, bool):
            raise ValidationException("enabled", self.enabled, "Member must be a boolean")

    @property
    def reports_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types

    def runner(self, function_name: str, host: TriggerHost) -> StreamMapping:
        """A mapping reading the stream's shards for ``function_name``."""
        self.stream.follow(host.site)
        return StreamMapping(
            function_name,
            self,
            host.site.clock,
            host.invoke,
            host.deliver,
            host.function_arn(function_name),
            host.role_arn(function_name),
        )


@dataclass(frozen=True, eq=False)
class DynamoDB(Kinesis):
    """An event source mapping on a :class:`~faaslib.Table`'s change stream (SAM's
    ``DynamoDB`` event): batches of DynamoDB Streams records, in order per item key.

    It takes the options of :class:`Kinesis` (but ``starting_position`` is ``TRIM_HORIZON``
    or ``LATEST``); pass the table (or its ``stream``) first. Filter patterns see the record,
    e.g. ``{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}}``.
    """

    stream: ChangeStream

    if TYPE_CHECKING:
        # The generated ``__init__`` takes a Table too (``__post_init__`` swaps in its stream),
        # which the inherited field type cannot say: this is the signature type checkers see.
        # tests/test_table_stream.py checks that it matches the dataclass's fields and defaults.
        def __init__(
            self,
            stream: Table | ChangeStream,
            starting_position: str = "TRIM_HORIZON",
            starting_position_timestamp: float | None = None,
            batch_size: int = 100,
            maximum_batching_window: float = 0,
            parallelization_factor: int = 1,
            bisect_batch_on_function_error: bool = False,
            maximum_retry_attempts: int = -1,
            maximum_record_age: int = -1,
            on_failure: Any = None,
            function_response_types: Sequence[str] = (),
            filter_criteria: Sequence[Mapping[str, Any] | str] | None = None,
            enabled: bool = True,
        ) -> None: ...

    def __post_init__(self) -> None:
        source: object = self.stream
        if isinstance(source, Table):
            object.__setattr__(self, "stream", source.stream)
        elif not isinstance(source, ChangeStream):
            raise ValidationException("stream", source, "Member must be a faaslib.Table")
        if self.starting_position == "AT_TIMESTAMP":
            raise ValidationException(
                "startingPosition",
                self.starting_position,
                "Member must satisfy enum value set: [TRIM_HORIZON, LATEST]",
            )
        super().__post_init__()


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
        self.trigger.stream.wake_readers()

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
                if self._matches is not None and not self._matches(self.filterable(record)):
                    self._filtered += 1  # Lambda skips it: the iterator moves on
                    continue
                batch.append(record)
                if len(batch) >= want:
                    break
        return batch, position

    async def _wait_for_records(self, until: float | None = None) -> None:
        """Sleep until a record is put, or until the mapping's clock reaches ``until``."""
        deadlines = () if until is None else ((self._clock, until),)
        await self.trigger.stream.wait_for_records(*deadlines)

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

    def filterable(self, record: StreamRecord) -> dict[str, Any]:
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
        failed = item_failures(result.payload, set(sequence))
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
