"""Amazon Kinesis Data Streams: ``Stream``, an in-memory stream (shards, partition keys,
sequence numbers, retention); the records Lambda delivers from it; and the ``Kinesis``
trigger with the mapping that reads the shards in order (Lambda's pull model). DynamoDB
Streams are read by the same mapping (see ``dynamodb``)."""

from __future__ import annotations

import base64
import bisect
import hashlib
import itertools
import logging
import math
import re
import uuid
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import pydantic_core

from .._destinations import check_destination, timestamp
from .._errors import (
    FaaslibError,
    InvalidParameterValueException,
    TooManyRequestsException,
    ValidationException,
)
from .._function_errors import RUNTIME_EXITS
from .._site import FollowsSite
from .._stats import counted
from .._triggers import (
    REPORT_BATCH_ITEM_FAILURES,
    Invoke,
    Trigger,
    TriggerHost,
    check_whole,
    response_types,
)
from .._wakeup import sleep_until_woken
from .mappings import MAX_BATCH_PAYLOAD, EventSourceMapping, item_failures
from .patterns import filter_criteria
from .records import b64, json_literal, records_event_json, utf8

if TYPE_CHECKING:
    from .._clock import Clock
    from .._result import InvocationResult
    from .._wakeup import Waker

__all__ = [
    "Kinesis",
    "KinesisRecordEncoder",
    "Stream",
    "StreamMapping",
    "StreamRecord",
    "kinesis_record",
    "sequence_number",
]

logger = logging.getLogger("faaslib")
_json = pydantic_core.to_json

_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_HASH_SPACE = 2**128
#: Kinesis sequence numbers are 56-digit decimal strings, increasing within a shard.
_SEQUENCE_BASE = 49_590_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000
#: How an invocation of a batch failed as a whole (else it names the first failed record's
#: index): the function erred, timed out or answered what cannot be read as item failures;
#: or it was not invoked (throttled), which spends no retry attempt.
_FUNCTION_ERROR = -1
_NOT_INVOKED = -2
_TOO_LARGE = -3  # the batch's event is over MAX_BATCH_PAYLOAD: it is not invoked so


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """A record of a shard: what a Kinesis event record carries.

    :ivar shard_id: ``shardId-000000000000``
    :ivar sequence_number: its sequence number (a decimal string, increasing in the shard)
    :ivar partition_key: the key that chose its shard
    :ivar data: the bytes put
    :ivar arrival: when it arrived (the stream's clock, epoch seconds)
    :ivar index: its position in the shard, from 0
    """

    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: float
    index: int


class Stream(FollowsSite):
    """An in-memory data stream with Kinesis's semantics, usable with or without an invoker.

    A record goes to the shard whose range of the 128-bit MD5 hash key space holds its
    partition key's hash; each shard keeps its records in order, for ``retention`` seconds.
    Records put before an invoker opens are read by it (from ``TRIM_HORIZON``). The
    ``region``, ``account_id`` and ``clock`` not given are those of the first invoker that
    runs the stream; until then ``us-east-1``, ``123456789012`` and real time.

    :param shard_count: shards, 1-500
    :param retention: seconds a record is kept, 24 hours (the default) to 365 days
    """

    def __init__(
        self,
        name: str,
        *,
        shard_count: int = 1,
        retention: float = 86_400,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidParameterValueException(
                f"Stream name {name!r}: 1-128 characters of [a-zA-Z0-9_.-]"
            )
        if (
            isinstance(shard_count, bool)
            or not isinstance(shard_count, int)
            or not (1 <= shard_count <= 500)
        ):
            raise InvalidParameterValueException(f"shard_count must be 1-500, got {shard_count!r}")
        if not 86_400 <= retention <= 31_536_000:
            raise InvalidParameterValueException(
                f"retention must be 86400-31536000 seconds (24 hours to 365 days), got {retention!r}"
            )
        self.name = name
        self.retention = float(retention)
        self._settle(region, account_id, clock)
        self.shard_ids = [f"shardId-{i:012d}" for i in range(shard_count)]
        self._shards: list[list[StreamRecord]] = [[] for _ in range(shard_count)]
        self._trimmed = [0] * shard_count  # records dropped from each shard's start
        self._sequence = itertools.count(1)
        self._waiters: set[Waker] = set()

    @property
    def arn(self) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account_id}:stream/{self.name}"

    def shard_for(self, partition_key: str) -> int:
        """The index of the shard a partition key goes to.

        :raises ~faaslib.InvalidParameterValueException: the key holds a lone surrogate
        """
        return self._shard(utf8(partition_key, "The partition key"))

    def _shard(self, partition_key: bytes) -> int:
        digest = int.from_bytes(hashlib.md5(partition_key, usedforsecurity=False).digest(), "big")
        return digest * len(self._shards) // _HASH_SPACE

    def put(self, data: Any, partition_key: str) -> StreamRecord:
        """Put a record (bytes; a string as UTF-8; anything else as its JSON).

        :raises ~faaslib.InvalidParameterValueException: an empty or over-256-character
            partition key, data over 1 MiB, or text UTF-8 cannot encode (a lone surrogate) in
            either, or data that cannot be made JSON
        """
        if not isinstance(partition_key, str) or not 1 <= len(partition_key) <= 256:
            raise InvalidParameterValueException("The partition key must be 1-256 characters")
        key = utf8(partition_key, "The partition key")
        if isinstance(data, (bytes, bytearray, memoryview)):
            body = bytes(data)
        elif isinstance(data, str):
            body = utf8(data, "A record's data")
        else:
            try:
                body = pydantic_core.to_json(data)
            except pydantic_core.PydanticSerializationError as exc:
                raise InvalidParameterValueException(
                    f"A record's data is not JSON text: {exc}"
                ) from None
        if len(body) > 1_048_576:
            raise InvalidParameterValueException("A record's data must be 1 MiB at most")
        shard = self._shard(key)
        records = self._shards[shard]
        record = StreamRecord(
            self.shard_ids[shard],
            sequence_number(next(self._sequence)),
            partition_key,
            body,
            self.clock.time(),
            self._trimmed[shard] + len(records),
        )
        records.append(record)
        self.wake_readers()
        return record

    def wake_readers(self) -> None:
        """Wake every mapping waiting for a record (to look again); from any thread."""
        for wake in list(self._waiters):
            wake()

    async def wait_for_records(self, *deadlines: tuple[Clock, float]) -> None:
        """Sleep until a record may have been put, or the first ``(clock, time)`` deadline."""
        await sleep_until_woken(self._waiters, *deadlines)

    def read(self, shard: int, index: int, limit: int) -> list[StreamRecord]:
        """Up to ``limit`` records of a shard from position ``index`` on (past retention:
        from the oldest kept)."""
        self._trim(shard)
        records = self._shards[shard]
        start = max(index - self._trimmed[shard], 0)
        return records[start : start + limit]

    def end(self, shard: int) -> int:
        """The position after a shard's last record (where ``LATEST`` starts)."""
        return self._trimmed[shard] + len(self._shards[shard])

    def position_at(self, shard: int, time: float) -> int:
        """The position of a shard's first record that arrived at ``time`` or later."""
        self._trim(shard)
        records = self._shards[shard]
        offset = bisect.bisect_left([r.arrival for r in records], time)
        return self._trimmed[shard] + offset

    def _trim(self, shard: int) -> None:
        records = self._shards[shard]
        horizon = self.clock.time() - self.retention
        gone = 0
        while gone < len(records) and records[gone].arrival < horizon:
            gone += 1
        if gone:
            del records[:gone]
            self._trimmed[shard] += gone

    #: The key of a discarded batch's description in a mapping's ``on_failure`` record.
    batch_info = "KinesisBatchInfo"

    def event_writer(self, role_arn: str) -> Callable[[list[StreamRecord]], bytes]:
        """What writes the event of a batch of this stream's records, as Lambda delivers it
        to a function whose execution role is ``role_arn``."""
        encode = KinesisRecordEncoder(self.arn, self.region, role_arn)

        def event(batch: list[StreamRecord]) -> bytes:
            return records_event_json(
                encode(r.shard_id, r.partition_key, r.sequence_number, r.data, r.arrival)
                for r in batch
            )

        return event

    def filterable(self, record: StreamRecord) -> dict[str, Any]:
        """A record as Lambda's filter criteria see it: its ``data`` decoded when JSON."""
        try:
            data: Any = pydantic_core.from_json(record.data)
        except ValueError:
            data = record.data.decode(errors="replace")
        return {
            "partitionKey": record.partition_key,
            "sequenceNumber": record.sequence_number,
            "data": data,
        }

    def __len__(self) -> int:
        """Records kept, over all shards."""
        for shard in range(len(self._shards)):
            self._trim(shard)
        return sum(len(records) for records in self._shards)

    def __repr__(self) -> str:
        return f"<Stream {self.name} shards={len(self._shards)} records={len(self)}>"


# -- Records -----------------------------------------------------------------------------------


def sequence_number(serial: int) -> str:
    """The ``serial``-th sequence number of a stream (56 decimal digits, increasing)."""
    return str(_SEQUENCE_BASE + serial)


def kinesis_record(
    *,
    stream_arn: str,
    shard_id: str,
    partition_key: str,
    sequence_number: str,
    data: bytes,
    arrival_time: float,
    region: str,
    role_arn: str,
) -> dict[str, Any]:
    """One record of a Kinesis Data Streams event source mapping's event.

    ``shard_id`` is like ``"shardId-000000000006"``; ``data`` is delivered base64-encoded;
    ``arrival_time`` becomes ``approximateArrivalTimestamp`` (epoch seconds, to the
    millisecond); ``role_arn`` is the function's execution role (``invokeIdentityArn``).
    """
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence_number,
            "data": b64(data),
            "approximateArrivalTimestamp": round(arrival_time, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": role_arn,
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


class KinesisRecordEncoder:
    """:func:`kinesis_record`'s compact JSON, byte for byte, for the records of one stream
    read by one function (see :class:`~faaslib._services.sqs.SqsRecordEncoder`)."""

    __slots__ = ("_arrival", "_template")

    def __init__(self, stream_arn: str, region: str, role_arn: str) -> None:
        # The last arrival time and its JSON: records put in the same millisecond share it,
        # and formatting a float is the dearest part of a record.
        self._arrival: tuple[float, bytes] = (math.nan, b"")
        self._template = (
            b'{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":%b,"sequenceNumber":%b,'
            b'"data":"%b","approximateArrivalTimestamp":%b},"eventSource":"aws:kinesis",'
            b'"eventVersion":"1.0","eventID":%b,"eventName":"aws:kinesis:record",'
            b'"invokeIdentityArn":'
            + json_literal(role_arn)
            + b',"awsRegion":'
            + json_literal(region)
            + b',"eventSourceARN":'
            + json_literal(stream_arn)
            + b"}"
        )

    def __call__(
        self,
        shard_id: str,
        partition_key: str,
        sequence_number: str,
        data: bytes,
        arrival_time: float,
    ) -> bytes:
        arrival = round(arrival_time, 3)
        last, arrival_json = self._arrival
        if arrival != last:
            arrival_json = _json(arrival)
            self._arrival = (arrival, arrival_json)
        return self._template % (
            _json(partition_key),
            _json(sequence_number),
            base64.b64encode(data),
            arrival_json,
            _json(f"{shard_id}:{sequence_number}"),
        )


# -- Trigger and mapping -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Kinesis(Trigger):
    """An event source mapping that reads a :class:`~faaslib.Stream` shard by shard, in
    order, and invokes the function synchronously with batches of Kinesis records (SAM's
    ``Kinesis`` event).

    A failed batch blocks its shard (its partition-key lane, with ``parallelization_factor``)
    and is retried, 1 s later, then doubling to at most 60 s on the invoker's clock, until it
    succeeds, its records are older than ``maximum_record_age`` or ``maximum_retry_attempts``
    are spent (by the function's errors: a throttled batch spends none); then ``on_failure``
    gets a record describing the batch and the shard goes on.

    :param stream: the stream
    :param starting_position: ``TRIM_HORIZON`` (the oldest record kept; faaslib's default),
        ``LATEST`` (records put after the mapping starts) or ``AT_TIMESTAMP``
    :param starting_position_timestamp: epoch seconds, with ``AT_TIMESTAMP``
    :param batch_size: records per invocation, 1-10000 (default 100), as many as fit in an
        event of 6 MB
    :param maximum_batching_window: seconds to gather a fuller batch, 0-300
    :param parallelization_factor: batches of one shard in flight at once, 1-10; records of
        one partition key stay in order
    :param bisect_batch_on_function_error: when the function fails (an error, a timeout, or
        a response not readable as item failures), split the batch in two and retry each
        half, down to the record that fails; a split spends no retry attempt
    :param maximum_retry_attempts: -1 (until the records expire; the default) or 0-10000
    :param maximum_record_age: -1 (the stream's retention; the default) or 60-604800 seconds
    :param on_failure: where the record of a discarded batch goes (a function name or ARN,
        a :class:`~faaslib.Queue`, a :class:`~faaslib.Topic`, or a callable)
    :param function_response_types: ``["ReportBatchItemFailures"]``: the function returns
        the sequence numbers that failed; the records before the lowest one are done and the
        batch is retried from it (not split, even with ``bisect_batch_on_function_error``)
    :param filter_criteria: up to 5 event patterns on the record, its ``data`` decoded from
        base64 JSON; records matching none are skipped
    :param enabled: whether the mapping reads
    """

    faas_trigger: ClassVar[str] = "pubsub"

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
    def source(self) -> Stream:
        """The stream it reads."""
        return self.stream

    @property
    def reports_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types

    def runner(self, function_name: str, host: TriggerHost) -> StreamMapping:
        """A mapping reading the stream's shards for ``function_name``."""
        self.stream.follow(host.site)
        mapping = StreamMapping(
            function_name,
            self,
            host.site.clock,
            host.invoke,
            host.deliver,
            host.function_arn(function_name),
            host.role_arn(function_name),
        )
        mapping.history = host.history
        return mapping


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
        self._event = trigger.stream.event_writer(role_arn)
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

    @property
    def _maximum_age(self) -> float:
        """Seconds a record may wait: ``maximum_record_age``, or with -1 the stream's
        retention (the record expires from the stream)."""
        age = self.trigger.maximum_record_age
        return self.trigger.stream.retention if age == -1 else age

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
        stream = trigger.stream
        batch: list[StreamRecord] = []
        while len(batch) < want:
            records = stream.read(shard, position, want * lanes)
            if not records:  # read to the end (past records that expired unread, too)
                position = max(position, stream.end(shard))
                break
            for record in records:
                position = record.index + 1
                if lanes > 1 and zlib.crc32(record.partition_key.encode()) % lanes != lane:
                    continue
                self._polled += 1
                if self._matches is not None and not self._matches(stream.filterable(record)):
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
        """Invoke with ``records`` until they are done: retried, bisected, or sent on.

        As Lambda does: a function error (or a response not readable as item failures)
        splits the batch in two with ``bisect_batch_on_function_error``, which spends no
        retry attempt; a reported failed record is a checkpoint: the records before it are
        done and the batch is retried from it, not split; a batch that could not be invoked
        (throttled) is retried until its records grow too old, spending no attempt.
        """
        trigger = self.trigger
        pending = [records]
        attempts = tries = 0  # failed invocations of the batch; failed tries (the backoff)
        while pending:
            batch = pending[0]
            if self._clock.time() - batch[0].arrival > self._maximum_age:
                await self._give_up(batch, "RecordAgeExceeded", attempts)
                pending.pop(0)
                attempts = tries = 0
                continue
            outcome = await self._attempt(batch)
            if outcome == _TOO_LARGE:  # Lambda sends what fits in 6 MB, the rest next
                fit = self._fitting(batch)
                pending[0:1] = [batch[:fit], batch[fit:]]
                continue
            if outcome is None:
                self._succeeded += len(batch)
                pending.pop(0)
                attempts = tries = 0
                continue
            bisect = trigger.bisect_batch_on_function_error and len(batch) > 1
            if outcome == _FUNCTION_ERROR and bisect:
                half = len(batch) // 2
                pending[0:1] = [batch[:half], batch[half:]]
                continue
            if outcome != _NOT_INVOKED:
                attempts += 1
            if outcome > 0:  # the records before the first failed one are done
                self._succeeded += outcome
                batch = pending[0] = batch[outcome:]
            if trigger.maximum_retry_attempts != -1 and attempts > trigger.maximum_retry_attempts:
                await self._give_up(batch, "RetryAttemptsExhausted", attempts)
                pending.pop(0)
                attempts = tries = 0
                continue
            tries += 1
            await self._back_off(key, tries)

    async def _attempt(self, batch: list[StreamRecord]) -> int | None:
        """One invocation with ``batch``, counted (see :meth:`_invoke_records`), or
        :data:`_TOO_LARGE` for a batch whose event is over 6 MB."""
        event = self._event(batch)
        if len(event) > MAX_BATCH_PAYLOAD and len(batch) > 1:
            return _TOO_LARGE
        self._invocations += 1
        self._iterator_age = max(self._clock.time() - batch[-1].arrival, 0.0) * 1000
        self._in_flight += 1
        try:
            return await self._invoke_records(batch, event)
        finally:
            self._in_flight -= 1

    def _fitting(self, batch: list[StreamRecord]) -> int:
        """How many of ``batch``'s first records make an event of 6 MB at most (at least 1)."""
        low, high = 1, len(batch) - 1  # batch[:low] fits (or is one record); batch does not
        while low < high:
            middle = (low + high + 1) // 2
            if len(self._event(batch[:middle])) <= MAX_BATCH_PAYLOAD:
                low = middle
            else:
                high = middle - 1
        return low

    async def _back_off(self, key: tuple[int, int], tries: int) -> None:
        """Block the lane until a failed batch's next try: 1 s, doubling to 60 s."""
        due = self._clock.time() + min(2.0 ** min(tries - 1, 6), 60.0)  # (no overflow)
        self._retrying[key] = due
        self._maybe_settled()  # waiting for a later time: a drain need not wait for it
        try:
            await self._clock.sleep_until(due)
        finally:
            del self._retrying[key]

    async def _invoke_records(self, batch: list[StreamRecord], event: bytes) -> int | None:
        """Invoke with a batch's event: ``None`` if it all succeeded, the index of the first
        record reported failed, :data:`_FUNCTION_ERROR` or :data:`_NOT_INVOKED`."""
        try:
            result = await self._invoke(self.function_name, event)
        except TooManyRequestsException:
            return _NOT_INVOKED
        except FaaslibError as exc:
            logger.error(
                "Event source mapping %s could not invoke %s: %s",
                self.uuid,
                self.function_name,
                exc,
            )
            return _NOT_INVOKED
        outcome = self._outcome(batch, result)
        if self.history is not None:  # the records before the first failed one are done
            done = len(batch) if outcome is None else max(outcome, 0)
            self.history.records_ended(
                result.request_id,
                {r.sequence_number: "done" if i < done else "retry" for i, r in enumerate(batch)},
            )
        return outcome

    def _outcome(self, batch: list[StreamRecord], result: InvocationResult) -> int | None:
        """What an invocation's result says of its batch (see :meth:`_invoke_records`)."""
        if result.function_error is not None:
            return _FUNCTION_ERROR
        if not self.trigger.reports_item_failures:
            return None
        sequence = {r.sequence_number: i for i, r in enumerate(batch)}
        failed = item_failures(result.payload, set(sequence))
        if failed is None:
            return _FUNCTION_ERROR  # Lambda fails the whole batch
        if not failed:
            return None
        return min(sequence[s] for s in failed)  # resume from the lowest failed record

    async def _give_up(self, batch: list[StreamRecord], condition: str, attempts: int) -> None:
        """Skip a batch; tell ``on_failure`` about it (the records themselves are not sent)."""
        self._failed += len(batch)
        destination = self.trigger.on_failure
        if self.history is not None:
            ending = "skipped" if destination is None else "on_failure"
            self.history.records_given_up([r.sequence_number for r in batch], ending)
        stream = self.trigger.stream
        if destination is None:
            logger.warning(
                "Event source mapping %s skipped %s of %s (%s)",
                self.uuid,
                counted(len(batch), "record"),
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
            stream.batch_info: {
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
