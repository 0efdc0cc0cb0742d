"""Amazon Data Firehose: ``DeliveryStream``, an in-memory Firehose stream that buffers records,
has a Lambda function transform each buffered batch and writes the result to a bucket; the
transformation event; and the ``FirehoseTransform`` trigger, which runs a stream's buffer for
its processor function.

Firehose is no event source of SAM's: the stream names its processor. In faaslib the processor
lists ``FirehoseTransform(stream)`` in ``events=[...]``, so that the invoker running it owns the
stream's buffer timer, invokes the function synchronously (RequestResponse) with each batch,
and is drained like any other source.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import itertools
import logging
import math
import os
import re
import uuid
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Protocol

import anyio
import pydantic_core

from .._clock import VirtualClock
from .._errors import (
    AccessDeniedException,
    FaaslibError,
    InvalidParameterValueException,
    ResourceNotFoundException,
    TooManyRequestsException,
    ValidationException,
)
from .._site import FollowsSite
from .._triggers import Trigger, TriggerHost
from .._wakeup import sleep_until_woken
from .mappings import MAX_BATCH_PAYLOAD
from .records import b64, utc, utf8

if TYPE_CHECKING:
    from anyio import CancelScope

    from .._clock import Clock
    from .._site import Site
    from .._triggers import Invoke
    from .._wakeup import Waker

__all__ = [
    "DeliveryStream",
    "DeliveryStreamStatistics",
    "Destination",
    "FirehoseTransform",
    "TransformRunner",
    "evaluate_prefix",
    "firehose_event",
    "firehose_record",
    "transformation_event",
]

logger = logging.getLogger("faaslib")

_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,64}")
#: PutRecord's and PutRecordBatch's limits: a record's data (before base64), the records of
#: a batch, and their data together.
MAX_RECORD_BYTES = 1_024_000
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
_MIB = 1024 * 1024
_EXPRESSION = re.compile(r"!\{([^}]*)\}")
_ERROR_TYPE = "!{firehose:error-output-type}"
_JAVA_TOKEN = re.compile(r"'([^']*)'|(([A-Za-z])\3*)|(.)", re.DOTALL)
_JAVA_FIELDS = {
    "yyyy": "%Y",
    "yy": "%y",
    "MM": "%m",
    "dd": "%d",
    "HH": "%H",
    "mm": "%M",
    "ss": "%S",
}
_RESULTS = frozenset(("Ok", "Dropped", "ProcessingFailed"))
#: The record ids the function sees: 56-digit decimal strings, increasing, as Firehose's.
_RECORD_ID_BASE = 49_546_986_683_135_544_286_507_457_936_321_625_675_700_192_471_156_785_154
#: What a record adds to the event beyond its base64 data and id (keys, quotes, time stamp).
_RECORD_OVERHEAD = 80
_EVENT_OVERHEAD = 512


class Destination(Protocol):
    """Where a stream writes: a :class:`~faaslib.Bucket` (anything with its ``put``)."""

    name: str

    def put(self, key: str, data: bytes) -> str: ...


@dataclass(frozen=True, slots=True)
class _Buffered:
    """A record waiting in a stream's buffer."""

    record_id: str  # as the function sees it
    data: bytes
    arrival: float  # epoch seconds on the stream's clock


class _Failure(NamedTuple):
    """Why records were not processed: an error output record's ``errorCode`` and
    ``errorMessage``, and whether Firehose invokes the function again for it."""

    code: str
    message: str
    retry: bool = True


_FUNCTION_ERROR = _Failure(
    "Lambda.FunctionError",
    "The Lambda function was successfully invoked but it returned an error result.",
)
_UNREADABLE = _Failure(
    "Lambda.JsonProcessingException",
    "There was an error parsing returned records from the Lambda function. Ensure that the "
    "returned records follow the status model required by Firehose.",
)
_DUPLICATED = _Failure(
    "Lambda.DuplicatedRecordId",
    "Multiple records were returned with the same record Id. Ensure that the Lambda function "
    "returns a unique record Id for each record.",
    retry=False,
)
_MISSING = _Failure(
    "Lambda.MissingRecordId",
    "One or more record Ids were not returned. Ensure that the Lambda function returns all "
    "received record Ids.",
    retry=False,
)
_PROCESSING_FAILED = _Failure(
    "Lambda.ProcessingFailedStatus", "ProcessingFailed status set for record", retry=False
)
_THROTTLED = _Failure(
    "Lambda.InvokeLimitExceeded",
    "The Lambda concurrent execution limit is exceeded. Increase the concurrent execution limit.",
)


@dataclass(frozen=True, slots=True)
class DeliveryStreamStatistics:
    """Counters of one delivery stream.

    :ivar incoming_records: records put (Firehose's IncomingRecords)
    :ivar incoming_bytes: their data's bytes (IncomingBytes)
    :ivar buffered_records: records waiting in the buffer now
    :ivar invocations: invocations of the processor, retries included
    :ivar failed_invocations: invocations that failed as a whole (an error, a timeout, a
        malformed answer, a refusal)
    :ivar records_delivered: ``Ok`` records written to the destination
    :ivar records_dropped: ``Dropped`` records
    :ivar records_failed: records written to the error output
    :ivar objects_written: objects written to the destination, error output included
    """

    incoming_records: int
    incoming_bytes: int
    buffered_records: int
    invocations: int
    failed_invocations: int
    records_delivered: int
    records_dropped: int
    records_failed: int
    objects_written: int


class DeliveryStream(FollowsSite):
    """An in-memory Firehose stream (Direct PUT) with a Lambda processor and an S3 destination.

    ``put_record`` and ``put_record_batch`` take and answer what boto3's Firehose client does.
    Records wait in the buffer until their data reaches ``buffer_size`` MiB or the oldest has
    waited ``buffer_interval`` seconds (on the stream's clock); then the function listing
    :class:`FirehoseTransform` for this stream is invoked synchronously with them. ``Ok``
    records' data is concatenated into one object under ``prefix`` + ``YYYY/MM/dd/HH/`` (UTC,
    from the oldest record's arrival; a prefix with expressions, ``!{timestamp:yyyy-MM-dd}``,
    ``!{firehose:random-string}``, ``!{firehose:error-output-type}``, is evaluated instead),
    named ``<stream>-1-YYYY-MM-DD-HH-MM-SS-<uuid>``; ``ProcessingFailed`` records, and every record of an invocation that failed after
    ``retries`` more attempts, are written as JSON lines under ``error_output_prefix`` +
    ``YYYY/MM/dd/HH/``; ``Dropped`` records are discarded.

    :param name: the stream's name (1-64 characters of ``a-zA-Z0-9_.-``)
    :param destination: the :class:`~faaslib.Bucket` it writes to
    :param processor: the name of the function transforming its records (Firehose's
        ``LambdaArn`` processor parameter); ``None``: the function listing
        :class:`FirehoseTransform` for it
    :param buffer_size: MiB of data that sends a batch at once (0.2-3, default 1)
    :param buffer_interval: seconds the oldest record waits at most (0-900, default 60)
    :param retries: invocations after a failed one (0-300, default 3)
    :param prefix: where delivered objects go (default: just the time path)
    :param error_output_prefix: where the error output goes
    :raises ~faaslib.ValidationException: a value out of its range
    :raises ~faaslib.InvalidParameterValueException: a prefix with an expression Firehose
        does not accept there
    """

    def __init__(
        self,
        name: str,
        *,
        destination: Destination,
        processor: str | None = None,
        buffer_size: float = 1,
        buffer_interval: float = 60,
        retries: int = 3,
        prefix: str = "",
        error_output_prefix: str = "processing-failed/",
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        _check_settings(name, destination, processor, buffer_size, buffer_interval, retries)
        _check_prefix("Prefix", prefix, errors=False)
        _check_prefix("ErrorOutputPrefix", error_output_prefix, errors=True)
        self._settle(region, account_id, clock)
        self.name = name
        self.destination = destination
        self.processor = processor
        self.buffer_size = buffer_size
        self.buffer_interval = buffer_interval
        self.retries = retries
        self.prefix = prefix
        self.error_output_prefix = error_output_prefix
        self._buffer: deque[_Buffered] = deque()
        self._buffered_bytes = 0
        self._record_ids = itertools.count(_RECORD_ID_BASE)
        self._waiters: set[Waker] = set()
        self._counts = dict.fromkeys(
            (
                "incoming_records",
                "incoming_bytes",
                "invocations",
                "failed_invocations",
                "records_delivered",
                "records_dropped",
                "records_failed",
                "objects_written",
            ),
            0,
        )

    @property
    def arn(self) -> str:
        return f"arn:aws:firehose:{self.region}:{self.account_id}:deliverystream/{self.name}"

    def follow(self, site: Site) -> None:
        """Take the invoker's site; records put before, on another clock, arrive now."""
        before = self.clock
        super().follow(site)
        if self.clock is not before and self._buffer:
            now = self.clock.time()
            self._buffer = deque(_Buffered(r.record_id, r.data, now) for r in self._buffer)

    # -- the API ----------------------------------------------------------------------------

    def put_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Firehose's ``PutRecord``: ``{"Data": b"..."}`` in, ``{"RecordId": ...}`` out.

        :raises ~faaslib.ValidationException: no ``Data``, or over 1,024,000 bytes
        """
        [record_id] = self._accept([_data(record, "record.data")])
        return {"RecordId": record_id, "Encrypted": False}

    def put_record_batch(self, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Firehose's ``PutRecordBatch``: up to 500 records of 4 MiB in all.

        :raises ~faaslib.ValidationException: no records or over 500, or a record without
            ``Data`` or over 1,024,000 bytes
        :raises ~faaslib.InvalidParameterValueException: over 4 MiB of data in all
            (Firehose's ``InvalidArgumentException``)
        """
        if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Sequence):
            raise ValidationException("records", records, "Member must be a list of records")
        if not records or len(records) > MAX_BATCH_RECORDS:
            bound = "greater than or equal to 1" if not records else "less than or equal to 500"
            raise ValidationException(
                "records", f"[{len(records)} records]", f"Member must have length {bound}"
            )
        datas = [_data(r, f"records.{i}.member.data") for i, r in enumerate(records, 1)]
        if sum(map(len, datas)) > MAX_BATCH_BYTES:
            raise InvalidParameterValueException("Records size exceeds 4 MB limit")
        ids = self._accept(datas)
        return {
            "FailedPutCount": 0,
            "Encrypted": False,
            "RequestResponses": [{"RecordId": i} for i in ids],
        }

    def statistics(self) -> DeliveryStreamStatistics:
        return DeliveryStreamStatistics(buffered_records=len(self._buffer), **self._counts)

    # -- the buffer -------------------------------------------------------------------------

    def _accept(self, datas: list[bytes]) -> list[str]:
        now = self.clock.time()
        ids = self._record_ids
        buffer = self._buffer
        for data in datas:
            buffer.append(_Buffered(str(next(ids)), data, now))
        size = sum(map(len, datas))
        self._buffered_bytes += size
        self._counts["incoming_records"] += len(datas)
        self._counts["incoming_bytes"] += size
        for wake in list(self._waiters):  # from any thread: a sync handler may put records
            wake()
        return _put_record_ids(len(datas))

    def _due_at(self) -> float | None:
        """When the buffer is sent: ``-inf`` once it is full, else the oldest record's arrival
        and the interval; ``None`` while it is empty."""
        if not self._buffer:
            return None
        if self._buffered_bytes >= self.buffer_size * _MIB:
            return -math.inf
        return self._buffer[0].arrival + self.buffer_interval

    def _take(self) -> list[_Buffered]:
        """The oldest records, up to the buffer size's worth (at least one)."""
        limit = self.buffer_size * _MIB
        taken: list[_Buffered] = []
        size = 0
        buffer = self._buffer
        while buffer and (not taken or size + len(buffer[0].data) <= limit):
            record = buffer.popleft()
            taken.append(record)
            size += len(record.data)
        self._buffered_bytes -= size
        return taken

    def _give_back(self, records: list[_Buffered]) -> None:
        """Put records taken for a batch that was not written back at the buffer's front."""
        self._buffer.extendleft(reversed(records))
        self._buffered_bytes += sum(len(r.data) for r in records)

    def _count(self, name: str, n: int = 1) -> None:
        self._counts[name] += n

    def __repr__(self) -> str:
        return f"<DeliveryStream {self.name} buffered={len(self._buffer)}>"


def _check_settings(
    name: object,
    destination: object,
    processor: object,
    buffer_size: object,
    buffer_interval: object,
    retries: object,
) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValidationException(
            "deliveryStreamName",
            name,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length "
            "from 1 to 64",
        )
    if not callable(getattr(destination, "put", None)) or not hasattr(destination, "name"):
        raise ValidationException("destination", destination, "Member must be a faaslib.Bucket")
    if processor is not None and not isinstance(processor, str):
        raise ValidationException("processor", processor, "Member must be a function name")
    _check_number("BufferSizeInMBs", buffer_size, 0.2, 3)
    _check_number("BufferIntervalInSeconds", buffer_interval, 0, 900)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 300:
        raise ValidationException(
            "NumberOfRetries", retries, "Member must be a whole number from 0 to 300"
        )


def _check_number(field: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValidationException(field, value, f"Member must be a number from {low} to {high}")


def _check_prefix(field: str, prefix: object, *, errors: bool) -> None:
    """A prefix Firehose accepts: 0-1024 characters, its ``!{...}`` expressions known ones.

    :raises ~faaslib.ValidationException: too long
    :raises ~faaslib.InvalidParameterValueException: an unknown expression, an error output
        type in ``Prefix``, or an ``ErrorOutputPrefix`` with expressions but none of it
        (Firehose's ``InvalidArgumentException``)
    """
    if not isinstance(prefix, str) or len(prefix) > 1024:
        raise ValidationException(
            field, prefix, "Member must have length less than or equal to 1024"
        )
    utf8(prefix, field)
    for match in _EXPRESSION.finditer(prefix):
        namespace, _, value = match[1].partition(":")
        if namespace == "timestamp":
            _strftime(value, field)
        elif namespace != "firehose" or value not in ("random-string", "error-output-type"):
            raise InvalidParameterValueException(
                f"{field} holds an expression Firehose does not know: {match[0]}"
            )
        elif value == "error-output-type" and not errors:
            raise InvalidParameterValueException(
                "Prefix cannot contain !{firehose:error-output-type}"
            )
    if errors and "!{" in prefix and _ERROR_TYPE not in prefix:
        raise InvalidParameterValueException(
            f"ErrorOutputPrefix with expressions must contain {_ERROR_TYPE}"
        )


def _strftime(pattern: str, field: str) -> str:
    """A Java ``DateTimeFormatter`` pattern (``yyyy``, ``yy``, ``MM``, ``dd``, ``HH``, ``mm``,
    ``ss`` and quoted text) as a ``strftime`` format."""
    parts = []
    for quoted, letters, _, other in _JAVA_TOKEN.findall(pattern):
        if letters:
            if letters not in _JAVA_FIELDS:
                raise InvalidParameterValueException(
                    f"{field}: the timestamp pattern {letters!r} is not supported"
                )
            parts.append(_JAVA_FIELDS[letters])
        else:
            parts.append((quoted or other).replace("%", "%%"))
    return "".join(parts)


def evaluate_prefix(prefix: str, moment: datetime.datetime) -> str:
    """The prefix of an object whose oldest record arrived at ``moment`` (UTC): a prefix
    without expressions followed by ``YYYY/MM/dd/HH/``, else its expressions evaluated."""
    if "!{" not in prefix:
        return f"{prefix}{moment:%Y/%m/%d/%H}/"

    def value(match: re.Match[str]) -> str:
        namespace, _, name = match[1].partition(":")
        if namespace == "timestamp":
            return moment.strftime(_strftime(name, "Prefix"))
        if name == "error-output-type":
            return "processing-failed"
        return base64.b32encode(os.urandom(10)).decode().lower()[:11]

    return _EXPRESSION.sub(value, prefix)


def _data(record: object, field: str) -> bytes:
    """A record's ``Data`` as bytes (a string as its UTF-8), within Firehose's limit."""
    data = record.get("Data") if isinstance(record, Mapping) else None
    if isinstance(data, str):
        data = data.encode()
    elif isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise ValidationException(field, "null", "Member must not be null")
    if len(data) > MAX_RECORD_BYTES:
        n = len(data)
        raise ValidationException(
            field,
            f"java.nio.HeapByteBuffer[pos=0 lim={n} cap={n}]",
            f"Member must have length less than or equal to {MAX_RECORD_BYTES}",
        )
    return data


def _put_record_ids(n: int) -> list[str]:
    """``n`` ids as ``PutRecord`` answers them: 224 characters of base64 each (168 random
    bytes, drawn for all at once)."""
    text = base64.b64encode(os.urandom(168 * n)).decode("ascii")
    return [text[i : i + 224] for i in range(0, 224 * n, 224)]


# -- the trigger and its runner ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FirehoseTransform(Trigger):
    """Make the function the data-transformation processor of a :class:`DeliveryStream`.

    Firehose invokes it synchronously (RequestResponse) with each buffered batch, as
    ``firehose.amazonaws.com`` with the stream's ARN. Not a SAM event type: on AWS the stream's
    ``ProcessingConfiguration`` names the function.

    :param stream: the delivery stream
    """

    faas_trigger: ClassVar[str] = "datasource"

    stream: DeliveryStream

    def __post_init__(self) -> None:
        if not isinstance(self.stream, DeliveryStream):
            raise ValidationException(
                "stream", self.stream, "Member must be a faaslib.DeliveryStream"
            )

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str]:
        return "firehose.amazonaws.com", self.stream.arn

    def runner(self, function_name: str, host: TriggerHost) -> TransformRunner:
        """A runner sending the stream's batches to ``function_name``."""
        self.stream.follow(host.site)
        return TransformRunner(
            function_name, self.stream, host.invoke, host.function_arn(function_name)
        )


class TransformRunner:
    """Sends a stream's buffered batches to its processor, on the invoker's task group.

    A batch is due when the buffer is full or its oldest record has waited the interval, on
    the stream's clock. :meth:`settled` is false while a batch is due or being processed,
    and, on a real clock, while records wait (``drain`` waits out the interval, as it waits
    out an SQS batching window); on a :class:`~faaslib.VirtualClock` records waiting for a
    later time leave it settled.
    """

    def __init__(self, function_name: str, stream: DeliveryStream, invoke: Invoke, arn: str):
        self.function_name = function_name
        self.stream = stream
        self.lambda_arn = arn
        self._invoke = invoke
        self._own = stream.processor in (None, function_name)
        if not self._own:
            logger.error(
                "Delivery stream %s transforms its records with %s, not with %s",
                stream.name,
                stream.processor,
                function_name,
            )
        self._busy = False
        self._idle: anyio.Event | None = None
        self.scope: CancelScope | None = None

    async def run(self) -> None:
        stream = self.stream
        if not self._own:
            await anyio.sleep_forever()
        while True:
            due = stream._due_at()
            if due is not None and due <= stream.clock.time():
                self._busy = True
                records = stream._take()
                try:
                    await self._flush(records)
                except anyio.get_cancelled_exc_class():  # before writing: the records wait again
                    stream._give_back(records)
                    raise
                finally:
                    self._busy = False
                continue
            if self._idle is not None and self.settled():
                self._idle.set()
                self._idle = None
            if due is None:
                await sleep_until_woken(stream._waiters)
            else:
                await sleep_until_woken(stream._waiters, (stream.clock, due))

    def settled(self) -> bool:
        if self._busy:
            return False
        due = self.stream._due_at() if self._own else None
        if due is None:
            return True
        clock = self.stream.clock
        return isinstance(clock, VirtualClock) and due > clock.time()

    async def wait_settled(self) -> None:
        while not self.settled():
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    # -- a batch ----------------------------------------------------------------------------

    async def _flush(self, records: list[_Buffered]) -> None:
        """Transform a batch (in invocations under Lambda's 6 MB), then write what came of it."""
        delivered: list[tuple[_Buffered, bytes]] = []
        failed: list[tuple[_Buffered, _Failure, int, float]] = []
        for chunk in _chunks(records):
            verdicts, attempts = await self._transform(chunk)
            ended = self.stream.clock.time()
            for record, verdict in zip(chunk, verdicts, strict=True):
                if isinstance(verdict, bytes):
                    delivered.append((record, verdict))
                elif verdict is not None:
                    failed.append((record, verdict, attempts, ended))
        stream = self.stream
        stream._count("records_delivered", len(delivered))
        stream._count("records_failed", len(failed))
        stream._count("records_dropped", len(records) - len(delivered) - len(failed))
        if delivered:
            oldest = min(r.arrival for r, _ in delivered)
            self._write(stream.prefix, oldest, b"".join(d for _, d in delivered))
        if failed:
            oldest = min(r.arrival for r, *_ in failed)
            lines = (self._error_line(*f) for f in failed)
            self._write(stream.error_output_prefix, oldest, b"".join(lines))

    async def _transform(self, chunk: list[_Buffered]) -> tuple[list[bytes | _Failure | None], int]:
        """Each record's verdict (its transformed data, a failure, or ``None``: dropped) and
        the attempts made; an invocation failing as a whole is retried."""
        attempts = 0
        while True:
            attempts += 1
            outcome = await self._attempt(chunk)
            if not isinstance(outcome, _Failure):
                return outcome, attempts
            self.stream._count("failed_invocations")
            if not outcome.retry or attempts > self.stream.retries:
                return [outcome] * len(chunk), attempts

    async def _attempt(self, chunk: list[_Buffered]) -> list[bytes | _Failure | None] | _Failure:
        stream = self.stream
        event = _event_json(str(uuid.uuid4()), stream.arn, stream.region, chunk)
        stream._count("invocations")
        try:
            result = await self._invoke(
                self.function_name,
                event,
                principal="firehose.amazonaws.com",
                source_arn=stream.arn,
            )
        except FaaslibError as exc:
            return _refusal(exc)
        if result.function_error is not None:
            return _FUNCTION_ERROR
        return _read_answer(result.payload, [r.record_id for r in chunk])

    def _error_line(
        self, record: _Buffered, failure: _Failure, attempts: int, ended: float
    ) -> bytes:
        line = {
            "attemptsMade": attempts,
            "arrivalTimestamp": _ms(record.arrival),
            "errorCode": failure.code,
            "errorMessage": failure.message,
            "attemptEndingTimestamp": _ms(ended),
            "rawData": b64(record.data),
            "lambdaArn": self.lambda_arn,
        }
        return pydantic_core.to_json(line) + b"\n"

    def _write(self, prefix: str, oldest: float, body: bytes) -> None:
        stream = self.stream
        moment = utc(oldest)
        key = (
            f"{evaluate_prefix(prefix, moment)}"
            f"{stream.name}-1-{moment:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
        )
        stream.destination.put(key, body)
        stream._count("objects_written")

    def __repr__(self) -> str:
        return f"<TransformRunner {self.stream.name} -> {self.function_name}>"


def _chunks(records: list[_Buffered]) -> Iterator[list[_Buffered]]:
    """The records in runs whose event stays under Lambda's 6 MB request limit."""
    chunk: list[_Buffered] = []
    size = _EVENT_OVERHEAD
    for record in records:
        grows = 4 * math.ceil(len(record.data) / 3) + len(record.record_id) + _RECORD_OVERHEAD
        if chunk and size + grows > MAX_BATCH_PAYLOAD:
            yield chunk
            chunk, size = [], _EVENT_OVERHEAD
        chunk.append(record)
        size += grows
    if chunk:
        yield chunk


def _refusal(exc: FaaslibError) -> _Failure:
    """The failure of an invocation Lambda refused (it is retried)."""
    if isinstance(exc, TooManyRequestsException):
        return _THROTTLED
    if isinstance(exc, AccessDeniedException):
        return _Failure(
            "Lambda.InvokeAccessDenied",
            "Access was denied. Ensure that the access policy allows access to the Lambda "
            "function.",
        )
    if isinstance(exc, ResourceNotFoundException):
        return _Failure(
            "Lambda.ResourceNotFound",
            "The specified Lambda function does not exist. Use a different function that does "
            "exist.",
        )
    return _Failure("Lambda.InvokeFailed", f"{type(exc).__name__}: {exc}")


def _read_answer(payload: bytes, ids: list[str]) -> list[bytes | _Failure | None] | _Failure:
    """Each record's verdict from the function's answer, or the failure of the whole batch
    (an answer that does not follow the status model, or returns an id twice).

    Records it does not return fail (``Lambda.MissingRecordId``); ids it returns that were
    not sent are ignored.
    """
    try:
        answer = pydantic_core.from_json(payload) if payload else None
    except ValueError:
        return _UNREADABLE
    items = answer.get("records") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        return _UNREADABLE
    results: dict[str, bytes | _Failure | None] = {}
    decode = base64.b64decode
    for item in items:
        try:  # the common answer, at speed: an Ok record with its data
            record_id = item["recordId"]
            if item["result"] != "Ok" or type(record_id) is not str or not record_id:
                raise KeyError
            outcome: bytes | _Failure | None = decode(item["data"], validate=True)
        except (KeyError, TypeError, ValueError):
            verdict = _verdict(item)
            if isinstance(verdict, _Failure):
                return verdict
            record_id, outcome = verdict
        if record_id in results:
            return _DUPLICATED
        results[record_id] = outcome
    return [results.get(i, _MISSING) for i in ids]


def _verdict(item: object) -> tuple[str, bytes | _Failure | None] | _Failure:
    """One returned record: its id and its data (``Ok``), ``None`` (``Dropped``) or the
    processing failure; or why the whole answer is malformed."""
    if not isinstance(item, dict):
        return _UNREADABLE
    record_id, result = item.get("recordId"), item.get("result")
    if not isinstance(record_id, str) or not record_id or result not in _RESULTS:
        return _UNREADABLE
    if result == "Dropped":
        return record_id, None
    if result == "ProcessingFailed":
        return record_id, _PROCESSING_FAILED
    data = item.get("data")
    if not isinstance(data, str):
        return _UNREADABLE
    try:
        return record_id, base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return _FUNCTION_ERROR


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _event_json(invocation_id: str, stream_arn: str, region: str, chunk: list[_Buffered]) -> bytes:
    """:func:`transformation_event`'s JSON for buffered records, written directly (their ids
    are digits and their data base64: nothing in them needs escaping)."""
    head = pydantic_core.to_json(
        {"invocationId": invocation_id, "deliveryStreamArn": stream_arn, "region": region}
    )
    records = b",".join(
        b'{"recordId":"%s","approximateArrivalTimestamp":%d,"data":"%s"}'
        % (r.record_id.encode(), int(r.arrival * 1000), base64.b64encode(r.data))
        for r in chunk
    )
    return b'%s,"records":[%s]}' % (head[:-1], records)


# -- the event ------------------------------------------------------------------------------------


def firehose_record(record_id: str, data: bytes, arrival: float) -> dict[str, Any]:
    """One record of a transformation event: ``data`` base64-encoded, ``arrival`` (epoch
    seconds) as milliseconds."""
    return {"recordId": record_id, "approximateArrivalTimestamp": _ms(arrival), "data": b64(data)}


def transformation_event(
    *,
    invocation_id: str,
    delivery_stream_arn: str,
    region: str,
    records: Iterable[dict[str, Any]],
) -> dict[str, Any]:
    """The event Firehose invokes a data-transformation function with."""
    return {
        "invocationId": invocation_id,
        "deliveryStreamArn": delivery_stream_arn,
        "region": region,
        "records": list(records),
    }


def firehose_event(
    *data: Any,
    delivery_stream: str = "delivery-stream",
    time: float | datetime.datetime | None = None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    invocation_id: str | None = None,
) -> dict[str, Any]:
    """A Firehose data-transformation event: one record per item of ``data`` (bytes as they
    are, text as its UTF-8, anything else as its JSON), all arrived at ``time`` (epoch
    seconds or an aware datetime; default now), with fresh record and invocation ids.
    Without ``data``, one record of ``Hello from Firehose``."""
    arrival = VirtualClock(time).time()
    items = data or (b"Hello from Firehose",)
    records = [
        firehose_record(str(_RECORD_ID_BASE + n), _bytes_of(item), arrival)
        for n, item in enumerate(items)
    ]
    stream_arn = f"arn:aws:firehose:{region}:{account_id}:deliverystream/{delivery_stream}"
    return transformation_event(
        invocation_id=invocation_id or str(uuid.uuid4()),
        delivery_stream_arn=stream_arn,
        region=region,
        records=records,
    )


def _bytes_of(item: Any) -> bytes:
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, str):
        return item.encode()
    return pydantic_core.to_json(item)
