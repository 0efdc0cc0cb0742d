"""Amazon CloudWatch Logs: ``LogGroup``, an in-memory log group whose streams take
PutLogEvents batches and answer GetLogEvents and FilterLogEvents; the ``CloudWatchLogs``
trigger, a subscription filter that invokes a function with the matching events (push
model); and the ``awslogs`` event those invocations carry.
"""

from __future__ import annotations

import base64
import bisect
import datetime
import gzip
import itertools
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from .. import _logs
from .._errors import FaaslibError, InvalidParameterException, ResourceNotFoundException
from .log_patterns import LogPattern
from .push import Pump, PushSource, PushTrigger
from .records import b64, utf8

if TYPE_CHECKING:
    from .._clock import Clock
    from .._site import Site
    from .._triggers import Trigger, TriggerHost

__all__ = [
    "CloudWatchLogs",
    "LimitExceededException",
    "LogGroup",
    "awslogs_data",
    "awslogs_event",
    "cloudwatch_logs_event",
    "data_message",
    "lambda_log_stream",
]

#: Names' patterns in CloudWatch Logs' API (as its messages write them), each 1-512 long.
_GROUP_NAME = "[\\.\\-_/#A-Za-z0-9]+"
_STREAM_NAME = "[^:*]*"
#: PutLogEvents' limits: events per batch, and bytes per batch and per event (each event's
#: message in UTF-8 plus 26 bytes).
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD = 26
_HOUR_MS = 3_600_000
#: How far from now PutLogEvents takes an event's time stamp (older or newer is rejected),
#: and how much time one batch may span.
MAX_AGE_MS = 14 * 24 * _HOUR_MS
MAX_AHEAD_MS = 2 * _HOUR_MS
MAX_SPAN_MS = 24 * _HOUR_MS


class StoredEvent(NamedTuple):
    """A log event as a stream holds it."""

    timestamp: int
    message: str
    ingestion_time: int
    event_id: str


#: An event a subscription's pattern matched, and the fields it extracted (``None`` unless
#: the pattern is space-delimited).
_Matched = tuple[StoredEvent, dict[str, str] | None]
#: Lambda's payload limit for Event invocations, less room for the filter's name (written at
#: delivery).
MAX_EVENT_PAYLOAD = 1_048_576
#: CloudWatch Logs' quota of subscription filters per log group.
MAX_SUBSCRIPTION_FILTERS = 2
_PAYLOAD_ROOM = MAX_EVENT_PAYLOAD - 1024
#: The prefix of the groups Lambda writes functions' logs to.
FUNCTION_GROUP_PREFIX = "/aws/lambda/"


class LogGroup(PushSource):
    """An in-memory CloudWatch Logs log group.

    ``put_log_events`` stores a batch in a stream (created on its first batch) and answers as
    PutLogEvents does; ``get_log_events`` and ``filter_log_events`` read the streams back in
    their APIs' shapes. Each :class:`CloudWatchLogs` subscription gets the events of a batch
    that its filter pattern matches, in one invocation per batch.
    """

    def __init__(
        self,
        name: str,
        *,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        _check_name("logGroupName", name, _GROUP_NAME)
        super().__init__(region, account_id, clock)
        self.name = name
        self._streams: dict[str, list[StoredEvent]] = {}
        self._sequence = itertools.count(1)

    @property
    def arn(self) -> str:
        """The ARN subscriptions invoke with: ``arn:aws:logs:<region>:<account>:log-group:<name>:*``."""
        return f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{self.name}:*"

    @classmethod
    def for_function(
        cls,
        function_name: str,
        *,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> LogGroup:
        """The group Lambda writes a function's logs to: ``/aws/lambda/<function_name>``."""
        return cls(
            f"/aws/lambda/{function_name}", region=region, account_id=account_id, clock=clock
        )

    def put_lines(self, log_stream: str, text: str, *, timestamp: int) -> None:
        """Store each line of ``text`` as an event at ``timestamp`` (ms), in batches within
        PutLogEvents' limits, as Lambda's runtime sends a function's output line by line:
        for instance an invocation's log (``START``, what it printed, ``END``, ``REPORT``), as
        ``log_type="Tail"`` returns it, in a stream named by :func:`lambda_log_stream`.
        Blank lines are skipped (an event's message is never empty).

        :raises InvalidParameterException: a line is over 1 MB, the stream name is invalid, or
            ``timestamp`` is too old or too new for the group's clock
        """
        self._put_lines(log_stream, text, timestamp, notify=True)

    def _put_lines(self, log_stream: str, text: str, timestamp: int, *, notify: bool) -> None:
        batch: list[dict[str, Any]] = []
        size = 0
        for line in text.splitlines():
            if not line:
                continue
            line_size = len(utf8(line, "A log line")) + EVENT_OVERHEAD
            if batch and (len(batch) == MAX_BATCH_EVENTS or size + line_size > MAX_BATCH_BYTES):
                self._put_all(log_stream, batch, notify)
                batch, size = [], 0
            batch.append({"timestamp": timestamp, "message": line})
            size += line_size
        if batch:
            self._put_all(log_stream, batch, notify)

    def put_function_log(self, log_stream: str, text: str, payload: bytes) -> None:
        """Store an invocation's log as Lambda writes it to the function's group (the lines of
        ``text`` at the group's clock's time, see :meth:`put_lines`); faaslib's runner calls
        this for each invocation of a function whose ``/aws/lambda/<name>`` group has a
        subscription.

        The log of an invocation that a subscription of this very group made (``payload`` is
        an ``awslogs`` event of this group) is stored but not sent to the subscriptions: on AWS
        a function subscribed to its own group invokes itself forever (Lambda's recursive
        loop detection covers SQS, SNS and S3, not CloudWatch Logs).
        """
        timestamp = round(self.clock.time() * 1000)
        text = _logs.replace_surrogates(text)  # as Lambda's runtime writes it, in UTF-8
        self._put_lines(log_stream, text, timestamp, notify=not self._made_by_self(payload))

    def _made_by_self(self, payload: bytes) -> bool:
        """Whether ``payload`` is an ``awslogs`` event of this group (a subscription's)."""
        if b'"awslogs"' not in payload[:16]:
            return False
        try:
            return awslogs_data(json.loads(payload)).get("logGroup") == self.name
        except Exception:  # noqa: BLE001 - not a subscription's event after all
            return False

    def _put_all(self, log_stream: str, batch: list[dict[str, Any]], notify: bool) -> None:
        rejected = self._put(log_stream, batch, notify).get("rejectedLogEventsInfo")
        if rejected:
            raise InvalidParameterException(
                f"Log events at {batch[0]['timestamp']} are outside what PutLogEvents takes "
                f"(14 days before to 2 hours after now): {rejected}"
            )

    def log_streams(self) -> list[str]:
        """The names of the group's streams, sorted."""
        return sorted(self._streams)

    def put_log_events(
        self, log_stream: str, events: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """Store a batch of events (``[{"timestamp": ms, "message": str}, ...]``, as boto3's
        ``put_log_events`` takes them) and answer as PutLogEvents does.

        Events more than 14 days old or 2 hours ahead of the group's clock are rejected, the
        rest stored: the answer's ``rejectedLogEventsInfo`` then gives
        ``tooOldLogEventEndIndex`` (one past the last old event) and
        ``tooNewLogEventStartIndex`` (the first new one).

        :raises InvalidParameterException: no events or over 10,000, an event or the batch
            over 1,048,576 bytes (messages in UTF-8 plus 26 bytes an event), events out of
            chronological order, stored events spanning over 24 hours, a bad stream name,
            timestamp or message (nothing is stored then)
        """
        return self._put(log_stream, events, notify=True)

    def _put(
        self, log_stream: str, events: Sequence[Mapping[str, Any]], notify: bool
    ) -> dict[str, Any]:
        _check_name("logStreamName", log_stream, _STREAM_NAME)
        batch = _checked_batch(events)
        now = round(self.clock.time() * 1000)
        old = sum(1 for ts, _ in batch if ts < now - MAX_AGE_MS)
        new = sum(1 for ts, _ in batch if ts > now + MAX_AHEAD_MS)
        kept = batch[old : len(batch) - new]
        if kept and kept[-1][0] - kept[0][0] > MAX_SPAN_MS:
            raise InvalidParameterException(
                "The batch of log events in a single PutLogEvents request cannot span more "
                "than 24 hours."
            )
        stored = [StoredEvent(ts, message, now, self._event_id(ts)) for ts, message in kept]
        stream = self._streams.setdefault(log_stream, [])
        for event in stored:
            bisect.insort(stream, event, key=lambda e: (e.timestamp, e.event_id))
        if notify:
            self._notify(log_stream, stored)
        answer: dict[str, Any] = {"nextSequenceToken": f"{next(self._sequence):056d}"}
        rejected = {}
        if old:
            rejected["tooOldLogEventEndIndex"] = old
        if new:
            rejected["tooNewLogEventStartIndex"] = len(batch) - new
        if rejected:
            answer["rejectedLogEventsInfo"] = rejected
        return answer

    def _event_id(self, timestamp: int) -> str:
        """A 56-digit event id, as CloudWatch Logs writes them, ordered by time."""
        return f"{timestamp:020d}{next(self._sequence):036d}"

    def get_log_events(
        self,
        log_stream: str,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = MAX_BATCH_EVENTS,
        start_from_head: bool = False,
    ) -> dict[str, Any]:
        """A stream's events in GetLogEvents' shape, oldest first: the first ``limit`` in
        ``[start_time, end_time)`` from the head, else (GetLogEvents' default) the last.

        :raises ~faaslib.ResourceNotFoundException: no such stream
        """
        if log_stream not in self._streams:
            raise ResourceNotFoundException("The specified log stream does not exist.")
        _check_limit(limit)
        chosen = [e for e in self._streams[log_stream] if _within(e, start_time, end_time)]
        chosen = chosen[:limit] if start_from_head else chosen[max(0, len(chosen) - limit) :]
        return {
            "events": [
                {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}
                for e in chosen
            ],
            "nextForwardToken": f"f/{chosen[-1].event_id if chosen else '0' * 56}",
            "nextBackwardToken": f"b/{chosen[0].event_id if chosen else '0' * 56}",
        }

    def filter_log_events(
        self,
        filter_pattern: str = "",
        *,
        log_stream_names: Iterable[str] | None = None,
        log_stream_name_prefix: str = "",
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = MAX_BATCH_EVENTS,
    ) -> dict[str, Any]:
        """The group's events a filter pattern matches, in FilterLogEvents' shape, oldest
        first across streams (the first ``limit`` of them).

        :raises InvalidParameterException: the pattern does not parse
        """
        pattern = LogPattern(filter_pattern)
        _check_limit(limit)
        names = set(log_stream_names) if log_stream_names is not None else None
        found = [
            (stream, event)
            for stream, events in self._streams.items()
            if stream.startswith(log_stream_name_prefix) and (names is None or stream in names)
            for event in events
            if _within(event, start_time, end_time) and pattern.matches(event.message)
        ]
        found.sort(key=lambda item: (item[1].timestamp, item[1].event_id))
        return {
            "events": [
                {
                    "logStreamName": stream,
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.ingestion_time,
                    "eventId": e.event_id,
                }
                for stream, e in found[:limit]
            ],
        }

    def _notify(self, log_stream: str, stored: Sequence[StoredEvent]) -> None:
        for trigger in self._subscribers:
            if not isinstance(trigger, CloudWatchLogs):
                continue
            matched = trigger.select(stored)
            if matched:
                for part in self._parts(trigger, log_stream, matched):
                    trigger.emit(partial(self._event, trigger, log_stream, part))

    def _parts(
        self, trigger: CloudWatchLogs, log_stream: str, matched: Sequence[_Matched]
    ) -> Iterable[Sequence[_Matched]]:
        """The batch in invocations whose events fit Lambda's Event payload limit: halves,
        and halves of those, where the whole does not (incompressible logs); an event too big
        alone goes alone (and the invocation is refused, as Lambda refuses it)."""
        # The JSON of the log events bounds the gzipped data, which base64 makes 4/3 as long
        estimate = sum(len(json.dumps(event.message)) + 200 for event, _ in matched) * 4 // 3
        if estimate <= _PAYLOAD_ROOM or len(matched) == 1:
            return [matched]
        if len(json.dumps(self._event(trigger, log_stream, matched))) <= _PAYLOAD_ROOM:
            return [matched]
        half = len(matched) // 2
        return [
            *self._parts(trigger, log_stream, matched[:half]),
            *self._parts(trigger, log_stream, matched[half:]),
        ]

    def _event(
        self,
        trigger: CloudWatchLogs,
        log_stream: str,
        matched: Sequence[_Matched],
    ) -> dict[str, Any]:
        """The event of one batch to one subscription, written at delivery (its owner is the
        account the group has by then)."""
        message = data_message(
            owner=self.account_id,
            log_group=self.name,
            log_stream=log_stream,
            subscription_filters=[trigger.name],
            log_events=[_log_event(event, fields) for event, fields in matched],
        )
        return awslogs_event(message)

    def __repr__(self) -> str:
        return f"<LogGroup {self.name} streams={len(self._streams)}>"


class LimitExceededException(FaaslibError):
    """A log group has its two subscription filters already (CloudWatch Logs' quota)."""

    error_type = "LimitExceededException"
    message_member = "message"
    status_code = 400
    fault = "User"


@dataclass(frozen=True, eq=False)
class CloudWatchLogs(PushTrigger):
    """Invoke the function (invocation type Event) with the events put to a
    :class:`LogGroup` that a filter pattern matches: a subscription filter (SAM's
    ``CloudWatchLogs`` event).

    Each PutLogEvents batch with matching events is one invocation, its event
    ``{"awslogs": {"data": ...}}`` (base64 of the gzipped ``DATA_MESSAGE``).

    :param log_group: the log group (SAM's ``LogGroupName``)
    :param filter_pattern: a filter pattern (SAM's ``FilterPattern``); ``""`` matches every
        event, a space-delimited pattern adds each event's ``extractedFields``
    :param filter_name: the subscription filter's name the events carry in
        ``subscriptionFilters`` (default ``LambdaStream_<function>``, as the console names it)
    :raises InvalidParameterException: the pattern does not parse
    :raises LimitExceededException: (when a function lists it) the group has two subscription
        filters already
    """

    faas_trigger: ClassVar[str] = "datasource"

    log_group: LogGroup
    filter_pattern: str = ""
    filter_name: str | None = None
    _pattern: LogPattern = field(init=False, repr=False)
    _default_name: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.log_group, LogGroup):
            raise InvalidParameterException("CloudWatchLogs trigger needs a faaslib.LogGroup")
        if self.filter_name is not None:
            _check_name("filterName", self.filter_name, _STREAM_NAME)
        object.__setattr__(self, "_pattern", LogPattern(self.filter_pattern))

    @property
    def source(self) -> LogGroup:
        return self.log_group

    @property
    def name(self) -> str:
        """The subscription filter's name."""
        if self.filter_name is not None:
            return self.filter_name
        return self._default_name[0] if self._default_name else "LambdaStream"

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str]:
        return "logs.amazonaws.com", self.log_group.arn

    def _check_attach(self, leaving: Sequence[Trigger] = ()) -> None:
        staying = [s for s in self.log_group._subscribers if all(s is not t for t in leaving)]
        if len(staying) >= MAX_SUBSCRIPTION_FILTERS and all(s is not self for s in staying):
            raise LimitExceededException(
                f"Resource limit exceeded: log group {self.log_group.name} has "
                f"{MAX_SUBSCRIPTION_FILTERS} subscription filters already."
            )

    def _attach(self) -> None:
        super()._attach()
        function = self._function_of_group()
        if function is not None:  # its invocations now write their logs to the group
            _logs.subscribe(function, self.log_group)

    def _detach(self) -> None:
        super()._detach()
        function = self._function_of_group()
        if function is not None and not self.log_group._subscribers:
            _logs.unsubscribe(function, self.log_group)

    def _function_of_group(self) -> str | None:
        """The function whose logs the group is Lambda's (``/aws/lambda/<name>``), or ``None``."""
        name = self.log_group.name
        return (
            name[len(FUNCTION_GROUP_PREFIX) :] if name.startswith(FUNCTION_GROUP_PREFIX) else None
        )

    def runner(self, function_name: str, host: TriggerHost) -> Pump:
        if not self._default_name:
            self._default_name.append(f"LambdaStream_{function_name}")
        return super().runner(function_name, host)

    def select(self, events: Iterable[StoredEvent]) -> list[_Matched]:
        """The events the pattern matches, each with its extracted fields (``None`` unless
        the pattern is space-delimited)."""
        delimited = self._pattern.kind == "delimited"
        selected = []
        for event in events:
            fields = self._pattern.match(event.message)
            if fields is not None:
                selected.append((event, fields if delimited else None))
        return selected


# -- Checks --------------------------------------------------------------------------------------


def _invalid(member: str, value: object, constraint: str) -> InvalidParameterException:
    return InvalidParameterException(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )


def _check_name(member: str, name: str, pattern: str) -> None:
    """A name of 1 to 512 characters matching ``pattern``, as CloudWatch Logs' API checks it.

    :raises InvalidParameterException: it is not
    """
    if not isinstance(name, str) or not re.fullmatch(pattern, name):
        raise _invalid(member, name, f"Member must satisfy regular expression pattern: {pattern}")
    if not name:
        raise _invalid(member, name, "Member must have length greater than or equal to 1")
    if len(name) > 512:
        raise _invalid(member, name, "Member must have length less than or equal to 512")


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_BATCH_EVENTS:
        raise _invalid("limit", limit, "Member must have value between 1 and 10000")


def _checked_batch(events: Sequence[Mapping[str, Any]]) -> list[tuple[int, str]]:
    """The batch as (timestamp, message) pairs, checked as PutLogEvents checks it."""
    if not events:
        raise _invalid("logEvents", "[]", "Member must have length greater than or equal to 1")
    if len(events) > MAX_BATCH_EVENTS:
        raise _invalid(
            "logEvents",
            f"[{len(events)} events]",
            "Member must have length less than or equal to 10000",
        )
    batch: list[tuple[int, str]] = []
    total = 0
    for index, event in enumerate(events, start=1):
        timestamp, message = event.get("timestamp"), event.get("message")
        if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
            raise _invalid(
                f"logEvents.{index}.member.timestamp",
                timestamp,
                "Member must have value greater than or equal to 0",
            )
        if not isinstance(message, str) or not message:
            raise _invalid(
                f"logEvents.{index}.member.message",
                message,
                "Member must have length greater than or equal to 1",
            )
        size = len(utf8(message, "A log event's message")) + EVENT_OVERHEAD
        if size > MAX_BATCH_BYTES:
            raise InvalidParameterException(
                f"Log event too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}"
            )
        total += size
        if batch and timestamp < batch[-1][0]:
            raise InvalidParameterException(
                "Log events in a single PutLogEvents request must be in chronological order."
            )
        batch.append((timestamp, message))
    if total > MAX_BATCH_BYTES:
        raise InvalidParameterException(
            f"Upload too large: {total} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )
    return batch


def _log_event(event: StoredEvent, fields: dict[str, str] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": event.event_id,
        "timestamp": event.timestamp,
        "message": event.message,
    }
    if fields is not None:
        entry["extractedFields"] = fields
    return entry


def _within(event: StoredEvent, start_time: int | None, end_time: int | None) -> bool:
    return (start_time is None or event.timestamp >= start_time) and (
        end_time is None or event.timestamp < end_time
    )


# -- The awslogs event ---------------------------------------------------------------------------


def awslogs_event(data: Mapping[str, Any]) -> dict[str, Any]:
    """The event a subscription invokes a function with: ``data`` as JSON, gzipped, in base64."""
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    return {"awslogs": {"data": b64(gzip.compress(payload, mtime=0))}}


def awslogs_data(event: Mapping[str, Any]) -> dict[str, Any]:
    """What an ``awslogs`` event carries, decoded (the inverse of :func:`awslogs_event`)."""
    decoded: dict[str, Any] = json.loads(
        gzip.decompress(base64.b64decode(event["awslogs"]["data"]))
    )
    return decoded


def lambda_log_stream(timestamp: int, *, version: str = "$LATEST", instance: str = "0" * 32) -> str:
    """A log stream's name as Lambda names an execution environment's stream:
    ``2026/12/05/[$LATEST]<32 hex digits>`` (the date in UTC of ``timestamp``, in ms)."""
    day = datetime.datetime.fromtimestamp(timestamp / 1000, datetime.timezone.utc)
    return f"{day:%Y/%m/%d}/[{version}]{instance}"


def data_message(
    *,
    owner: str,
    log_group: str,
    log_stream: str,
    subscription_filters: Sequence[str],
    log_events: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """What a subscription's ``awslogs`` event carries: a ``DATA_MESSAGE`` with the log
    events (``{"id", "timestamp", "message"}``, and ``"extractedFields"`` for space-delimited
    patterns)."""
    return {
        "messageType": "DATA_MESSAGE",
        "owner": owner,
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": list(subscription_filters),
        "logEvents": [dict(e) for e in log_events],
    }


def cloudwatch_logs_event(
    *messages: str,
    log_group: str = "/aws/lambda/example",
    log_stream: str | None = None,
    filter_pattern: str = "",
    filter_name: str = "LambdaStream_example",
    timestamp: int | None = None,
    account_id: str = "123456789012",
) -> dict[str, Any]:
    """A CloudWatch Logs subscription event (``{"awslogs": {"data": ...}}``), as a
    subscription with ``filter_pattern`` delivers ``messages`` put in one batch.

    Messages the pattern does not match are left out; a space-delimited pattern adds each
    event's ``extractedFields``. Every event is at ``timestamp`` (ms; now when ``None``), in
    ``log_stream`` (default: Lambda's stream name for that day).

    :raises InvalidParameterException: the pattern does not parse
    """
    at = round(time.time() * 1000) if timestamp is None else timestamp
    trigger = CloudWatchLogs(LogGroup(log_group), filter_pattern, filter_name)
    stored = [
        StoredEvent(at, message, at, f"{at:020d}{n:036d}")
        for n, message in enumerate(messages, start=1)
    ]
    return awslogs_event(
        data_message(
            owner=account_id,
            log_group=log_group,
            log_stream=lambda_log_stream(at) if log_stream is None else log_stream,
            subscription_filters=[filter_name],
            log_events=[_log_event(event, fields) for event, fields in trigger.select(stored)],
        )
    )
