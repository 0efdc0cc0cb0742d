"""Amazon SQS: ``Queue``, an in-memory queue (standard or FIFO); the records Lambda delivers
from it; and the ``SQS`` trigger with the mapping that polls the queue in batches (Lambda's
pull model)."""

from __future__ import annotations

import base64
import hashlib
import heapq
import itertools
import logging
import math
import re
import struct
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import anyio.abc
import pydantic_core

from .._errors import (
    FaaslibError,
    InvalidMessageContents,
    InvalidParameterValueException,
    ResourceNotFoundException,
    TooManyRequestsException,
    ValidationException,
)
from .._ids import new_request_id
from .._site import FollowsSite
from .._triggers import (
    REPORT_BATCH_ITEM_FAILURES,
    Invoke,
    Trigger,
    TriggerHost,
    check_whole,
    response_types,
)
from .._wakeup import sleep_until_woken
from .._xray import trace_header
from .mappings import MAX_BATCH_PAYLOAD, EventSourceMapping, item_failures
from .patterns import filter_criteria
from .records import MessageAttributes, RecordsEventWriter, b64, binary_value, json_literal

if TYPE_CHECKING:
    from .._clock import Clock
    from .._site import Site
    from .._wakeup import Waker

__all__ = [
    "SQS",
    "Message",
    "Queue",
    "QueueMapping",
    "QueuePoller",
    "SqsRecordEncoder",
    "md5_of_message_attributes",
    "receipt_handle",
    "sqs_record",
    "system_attributes",
]

logger = logging.getLogger("faaslib")
_json = pydantic_core.to_json

_NAME = re.compile(r"[a-zA-Z0-9_-]{1,80}")
#: SQS's limit on a message (1 MiB since 2025, as Lambda's async payload).
MAX_MESSAGE = 1_048_576
_SENDER = "AIDAFAASLIBLOCALSENDER"
#: SQS drops a FIFO message whose deduplication id it saw in the last five minutes.
_DEDUPLICATION_WINDOW = 300.0
_ALLOWED = "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
_STANDARD_ATTRIBUTES = (
    b'{"ApproximateReceiveCount":"%d","SentTimestamp":"%d","SenderId":"'
    + _SENDER.encode()
    + b'","ApproximateFirstReceiveTimestamp":"%d"}'
)


@dataclass(frozen=True, slots=True)
class Message:
    """A message as ``receive`` returns it (what an SQS record of Lambda carries).

    :ivar message_id: the id ``send`` returned
    :ivar receipt_handle: the handle of this receipt, for ``delete``
    :ivar body: the body, a string
    :ivar attributes: SQS's system attributes, as strings (``ApproximateReceiveCount``,
        ``SentTimestamp``, ...)
    :ivar message_attributes: the sender's attributes, in SendMessage's shape
    :ivar md5_of_body: MD5 of the body, hex
    """

    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, str]
    message_attributes: Mapping[str, Mapping[str, str]]
    md5_of_body: str


@dataclass(slots=True)
class _Stored:
    message_id: str
    body: str
    message_attributes: dict[str, dict[str, str]]
    sent_at: float
    visible_at: float
    sequence: int
    group_id: str | None = None
    deduplication_id: str | None = None
    receive_count: int = 0
    first_receive_at: float | None = None
    receipt_handle: str | None = None
    md5: str = field(default="")
    #: The sender's span, as X-Ray's header (``AWSTraceHeader``), when it was traced.
    trace_header: str | None = None


class Queue(FollowsSite):
    """An in-memory queue with SQS's semantics, usable with or without an invoker.

    Messages sent before an invoker opens wait for it. A received message is invisible for
    the visibility timeout, then visible again unless deleted; after ``max_receive_count``
    receives it moves to ``dead_letter_queue``. A FIFO queue (its name ends in ``.fifo``)
    delivers each message group in order, one batch of a group in flight at a time. Times
    (visibility, delays, retention) read ``clock``. The ``region``, ``account_id`` and
    ``clock`` not given are those of the first invoker that runs the queue (and its
    dead-letter queue); until then ``us-east-1``, ``123456789012`` and real time.

    It can be a destination or dead-letter target of asynchronous invocations: ``send``
    takes the record (JSON-encoded as the body).

    :raises ~faaslib.InvalidParameterValueException: a setting is out of SQS's range
    """

    def __init__(
        self,
        name: str,
        *,
        visibility_timeout: float = 30,
        message_retention: float = 345_600,
        delay: float = 0,
        max_receive_count: int | None = None,
        dead_letter_queue: Queue | None = None,
        content_based_deduplication: bool = False,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.fifo = name.endswith(".fifo")
        if not _NAME.fullmatch(name.removesuffix(".fifo")):
            raise InvalidParameterValueException(
                f"Queue name {name!r}: 1-80 characters of [a-zA-Z0-9_-], plus .fifo for FIFO"
            )
        _check("visibility_timeout", visibility_timeout, 0, 43_200)
        _check("message_retention", message_retention, 60, 1_209_600)
        _check("delay", delay, 0, 900)
        if (max_receive_count is None) != (dead_letter_queue is None):
            raise InvalidParameterValueException(
                "A redrive policy needs both max_receive_count and dead_letter_queue"
            )
        if max_receive_count is not None:
            _check("max_receive_count", max_receive_count, 1, 1000)
        if dead_letter_queue is not None and dead_letter_queue.fifo != self.fifo:
            raise InvalidParameterValueException(
                "The dead-letter queue of a FIFO queue must be FIFO, of a standard one standard"
            )
        self.name = name
        self.visibility_timeout = float(visibility_timeout)
        self.message_retention = float(message_retention)
        self.delay = float(delay)
        self.max_receive_count = max_receive_count
        self.dead_letter_queue = dead_letter_queue
        self.content_based_deduplication = content_based_deduplication
        self._settle(region, account_id, clock)
        self._messages: dict[str, _Stored] = {}
        self._sequence = itertools.count(1)
        # Standard queue: visible messages never received, in send order; those visible again
        # (a hiding ended), by send order; and hidden ones: one entry a receive (or a delayed
        # send, or a visibility change), by the time they show again.
        self._ready: deque[str] = deque()
        self._returned: list[tuple[int, str]] = []
        self._hidden: list[tuple[float, int, tuple[str, ...]]] = []
        self._hidings = itertools.count()
        # FIFO queue: each group's messages in order; a group whose first message is in
        # flight waits for it.
        self._groups: OrderedDict[str, deque[str]] = OrderedDict()
        # FIFO: each deduplication id's latest accepted send (its time and message id).
        self._deduplication: dict[str, tuple[float, str]] = {}
        #: The deduplication ids in the order they were recorded, to forget them after the
        #: five minutes (a long-lived FIFO queue keeps no id for ever).
        self._deduplication_order: deque[tuple[float, str]] = deque()
        self._waiters: set[Waker] = set()  # pollers waiting for a message

    # -- identity ------------------------------------------------------------------------------

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account_id}:{self.name}"

    @property
    def url(self) -> str:
        return f"https://sqs.{self.region}.amazonaws.com/{self.account_id}/{self.name}"

    def follow(self, site: Site) -> None:
        """Take the site of the invoker that runs the queue; the dead-letter queue too."""
        if not self._followed:
            super().follow(site)
            if self.dead_letter_queue is not None:
                self.dead_letter_queue.follow(site)

    # -- sending -------------------------------------------------------------------------------

    def send(
        self,
        body: Any,
        *,
        attributes: MessageAttributes | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        delay: float | None = None,
    ) -> str:
        """Send a message and return its id.

        :param body: a string, or anything else, sent as its JSON (a destination record)
        :param attributes: message attributes in SendMessage's shape, e.g.
            ``{"kind": {"DataType": "String", "StringValue": "order"}}``
        :param group_id: the message group (required on a FIFO queue)
        :param deduplication_id: FIFO: a message with an id seen in the last 5 minutes is
            accepted and dropped (SQS's deduplication window)
        :param delay: seconds before it becomes visible (standard queues; default the queue's)
        :raises ~faaslib.InvalidParameterValueException: too large, FIFO fields missing or
            given to a standard queue, or an attribute without a type (``String``, ``Number``,
            ``Binary``, with an optional ``.custom`` suffix) or a value of it
        :raises ~faaslib.InvalidMessageContents: the body, or an attribute, holds text UTF-8
            cannot encode (a lone surrogate), or the body cannot be made JSON
        """
        if isinstance(body, str):
            text = body
        else:
            try:
                text = pydantic_core.to_json(body).decode()
            except pydantic_core.PydanticSerializationError as exc:
                raise InvalidMessageContents(f"The message body is not JSON text: {exc}") from None
        data = _encoded(text, "the message body")
        message_attributes = _message_attributes(attributes) if attributes else {}
        if len(data) > MAX_MESSAGE:
            raise InvalidParameterValueException(
                f"One or more parameters are invalid. Reason: Message must be shorter than "
                f"{MAX_MESSAGE} bytes."
            )
        now = self.clock.time()
        wait = self.delay if delay is None else delay
        _check("delay", wait, 0, 900)  # before deduplication: a refused send takes no id
        if self.fifo:
            if group_id is None:
                raise InvalidParameterValueException(
                    "The request must contain the parameter MessageGroupId."
                )
            if deduplication_id is None:
                if not self.content_based_deduplication:
                    raise InvalidParameterValueException(
                        "The queue should either have ContentBasedDeduplication enabled or "
                        "MessageDeduplicationId provided explicitly"
                    )
                deduplication_id = hashlib.sha256(data).hexdigest()
            seen = self._deduplication.get(deduplication_id)
            if seen is not None and now - seen[0] < _DEDUPLICATION_WINDOW:
                return seen[1]  # accepted and dropped: the id of the message it duplicates
        elif group_id is not None or deduplication_id is not None:
            raise InvalidParameterValueException(
                "MessageGroupId and MessageDeduplicationId are for FIFO queues only"
            )
        message = _Stored(
            message_id=new_request_id(),
            body=text,
            message_attributes=message_attributes,
            sent_at=now,
            visible_at=now + (0 if self.fifo else wait),
            sequence=next(self._sequence),
            group_id=group_id,
            deduplication_id=deduplication_id,
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            trace_header=trace_header(),
        )
        self._messages[message.message_id] = message
        if self.fifo:
            self._remember(deduplication_id or "", now, message.message_id)
            self._groups.setdefault(group_id or "", deque()).append(message.message_id)
        elif wait > 0:
            self._hide(message.visible_at, (message.message_id,))
        else:
            self._ready.append(message.message_id)
        self._wake()
        return message.message_id

    # -- receiving -----------------------------------------------------------------------------

    def _remember(self, deduplication_id: str, now: float, message_id: str) -> None:
        """Record a FIFO message's deduplication id, forgetting those past the window."""
        order, window = self._deduplication_order, self._deduplication
        while order and now - order[0][0] >= _DEDUPLICATION_WINDOW:
            at, old = order.popleft()
            if window.get(old, (None,))[0] == at:
                del window[old]
        window[deduplication_id] = (now, message_id)
        order.append((now, deduplication_id))

    def receive(
        self, max_messages: int = 1, *, visibility_timeout: float | None = None
    ) -> list[Message]:
        """Receive up to ``max_messages`` visible messages, hiding them for the visibility
        timeout (FIFO: from groups with nothing in flight, in order)."""
        hide_for = self.visibility_timeout if visibility_timeout is None else visibility_timeout
        return [
            Message(
                m.message_id,
                m.receipt_handle or "",
                m.body,
                self._attributes(m),
                m.message_attributes,
                m.md5,
            )
            for m in self._receive(max_messages, hide_for)
        ]

    def _receive(self, limit: int, hide_for: float) -> list[_Stored]:
        """Take up to ``limit`` visible messages and hide them for ``hide_for`` seconds (those
        received too often move to the dead-letter queue on the way, taking no room)."""
        now = self.clock.time()
        taken = self._take(limit, now)
        for message in taken:
            self._mark_received(message, now, hide_for)
        if taken and not self.fifo:
            self._hide(now + hide_for, tuple(m.message_id for m in taken))
        return taken

    def _give_back(self, messages: Iterable[_Stored]) -> None:
        """Undo the receipt of taken messages: visible now, as if not received this time."""
        now = self.clock.time()
        for message in messages:
            message.receive_count -= 1
            if not message.receive_count:
                message.first_receive_at = None
            message.receipt_handle = None
            message.visible_at = now
            if not self.fifo:
                heapq.heappush(self._returned, (message.sequence, message.message_id))
        self._wake()

    def _hide(self, until: float, message_ids: tuple[str, ...]) -> None:
        heapq.heappush(self._hidden, (until, next(self._hidings), message_ids))

    def _release(self, now: float) -> None:
        """Standard queue: messages whose hiding has ended are visible again."""
        hidden, messages = self._hidden, self._messages
        while hidden and hidden[0][0] <= now:
            until, _, message_ids = heapq.heappop(hidden)
            for message_id in message_ids:
                message = messages.get(message_id)
                if message is not None and message.visible_at == until:  # not hidden anew
                    heapq.heappush(self._returned, (message.sequence, message_id))

    def _redrive_after(self) -> int | None:
        """The receive count past which a message moves to the dead-letter queue, if any."""
        return None if self.dead_letter_queue is None else self.max_receive_count

    def _take(self, limit: int, now: float) -> list[_Stored]:
        """Up to ``limit`` visible messages, no longer counted as visible; those past their
        retention are dropped, those received too often redriven, on the way."""
        if self.fifo:
            return self._take_fifo(limit, now)
        self._release(now)
        redrive_after = self._redrive_after()
        messages, ready, returned = self._messages, self._ready, self._returned
        out: list[_Stored] = []
        while len(out) < limit:
            if returned and (not ready or returned[0][0] < messages[ready[0]].sequence):
                message = messages.get(heapq.heappop(returned)[1])
                if message is None or message.visible_at > now:
                    continue  # deleted, or received since
            elif ready:
                message = messages[ready.popleft()]
            else:
                break
            if now - message.sent_at > self.message_retention:
                self._forget(message)
                continue
            if redrive_after is not None and message.receive_count >= redrive_after:
                self._redrive(message)
                continue
            message.visible_at = math.inf  # taken: a second entry of it is stale (until hidden)
            out.append(message)
        return out

    def _take_fifo(self, limit: int, now: float) -> list[_Stored]:
        out: list[_Stored] = []
        messages = self._messages
        redrive_after = self._redrive_after()
        empty: list[str] = []
        for group, ids in self._groups.items():
            while ids and (
                ids[0] not in messages or now - messages[ids[0]].sent_at > self.message_retention
            ):
                messages.pop(ids.popleft(), None)  # deleted, or past retention
            if not ids:
                empty.append(group)
                continue
            if len(out) >= limit:
                break
            for message_id in ids:  # in order, up to the first still in flight
                message = messages.get(message_id)
                if message is None:
                    continue
                if message.visible_at > now:
                    break
                if redrive_after is not None and message.receive_count >= redrive_after:
                    self._redrive(message)  # its group goes on with the next one
                    continue
                out.append(message)
                if len(out) >= limit:
                    break
        for group in empty:
            del self._groups[group]
        return out

    def _mark_received(self, message: _Stored, now: float, hide_for: float) -> None:
        message.receive_count += 1
        if message.first_receive_at is None:
            message.first_receive_at = now
        message.receipt_handle = receipt_handle(message.message_id, message.receive_count)
        message.visible_at = now + hide_for

    def _attributes(self, message: _Stored) -> dict[str, str]:
        """A received message's system attributes, as SQS gives them (strings)."""
        return system_attributes(
            receive_count=message.receive_count,
            sent_at=message.sent_at,
            first_receive_at=message.first_receive_at or 0,
            fifo=(message.sequence, message.group_id or "", message.deduplication_id or "")
            if self.fifo
            else None,
            trace_header=message.trace_header,
        )

    def _attributes_json(self, message: _Stored) -> bytes:
        """:meth:`_attributes` as compact JSON (a mapping's records carry thousands)."""
        if self.fifo or message.trace_header is not None:
            return pydantic_core.to_json(self._attributes(message))
        return _STANDARD_ATTRIBUTES % (
            message.receive_count,
            round(message.sent_at * 1000),
            round((message.first_receive_at or 0) * 1000),
        )

    def _redrive(self, message: _Stored) -> None:
        """Move a message received too often to the dead-letter queue."""
        assert self.dead_letter_queue is not None
        self._forget(message)
        dlq = self.dead_letter_queue
        copy = _Stored(
            message_id=message.message_id,
            body=message.body,
            message_attributes=message.message_attributes,
            sent_at=message.sent_at,
            visible_at=dlq.clock.time(),
            sequence=next(dlq._sequence),
            group_id=message.group_id,
            deduplication_id=message.deduplication_id,
            md5=message.md5,
            trace_header=message.trace_header,
        )
        dlq._messages[copy.message_id] = copy
        if dlq.fifo:
            dlq._groups.setdefault(copy.group_id or "", deque()).append(copy.message_id)
        else:
            dlq._ready.append(copy.message_id)
        dlq._wake()

    # -- finishing -----------------------------------------------------------------------------

    def delete(self, receipt_handle: str) -> None:
        """Delete a received message (its latest receipt only, as SQS).

        :raises ~faaslib.ResourceNotFoundException: not a current receipt handle
        """
        self._forget(self._received(receipt_handle))

    def _delete_current(self, receipt_handles: Iterable[str]) -> None:
        """Delete the messages these are the current receipts of; skip the others (a
        mapping's processed batch, some of which may have been received again meanwhile)."""
        for receipt_handle in receipt_handles:
            message = self._current(receipt_handle)
            if message is not None:
                del self._messages[message.message_id]
        if self.fifo:
            self._wake()  # their groups may go on

    def change_visibility(self, receipt_handle: str, timeout: float) -> None:
        """Make a received message visible again after ``timeout`` seconds from now (0: now).

        :raises ~faaslib.ResourceNotFoundException: not a current receipt handle
        """
        _check("visibility_timeout", timeout, 0, 43_200)
        message = self._received(receipt_handle)
        message.visible_at = self.clock.time() + timeout
        if not self.fifo:
            self._hide(message.visible_at, (message.message_id,))
        self._wake()

    def _received(self, receipt_handle: str) -> _Stored:
        """The message a receipt handle is the latest receipt of.

        :raises ~faaslib.ResourceNotFoundException: not a current receipt handle
        """
        message = self._current(receipt_handle)
        if message is None:
            raise ResourceNotFoundException(f"The receipt handle {receipt_handle!r} is not valid")
        return message

    def _current(self, receipt_handle: str) -> _Stored | None:
        """The message a receipt handle (``<message id>#<receive count>``) is the latest
        receipt of, if any."""
        if not isinstance(receipt_handle, str):
            return None
        message = self._messages.get(receipt_handle.partition("#")[0])
        if message is None or message.receipt_handle != receipt_handle:
            return None
        return message

    def _forget(self, message: _Stored) -> None:
        """Drop a message (its place in a FIFO group's order is cleared when next taken)."""
        self._messages.pop(message.message_id, None)
        if self.fifo:
            self._wake()  # its group may go on

    def purge(self) -> None:
        """Delete every message."""
        self._messages.clear()
        self._ready.clear()
        self._returned.clear()
        self._hidden.clear()
        self._groups.clear()
        self._wake()

    # -- waiting (for pollers) -----------------------------------------------------------------

    def next_visible(self) -> float | None:
        """When a hidden (in flight or delayed) message next becomes visible, or ``None``."""
        now = self.clock.time()
        if self.fifo:
            later = [m.visible_at for m in self._messages.values() if m.visible_at > now]
            return min(later) if later else None
        self._release(now)
        hidden, messages = self._hidden, self._messages
        while hidden:  # drop entries whose messages are all gone or hidden anew
            until, _, message_ids = hidden[0]
            for message_id in message_ids:
                message = messages.get(message_id)
                if message is not None and message.visible_at == until:
                    return until
            heapq.heappop(hidden)
        return None

    def _has_visible(self, now: float) -> bool:
        """Whether a receive now would return something (for a poller settling)."""
        if self.fifo:
            for ids in self._groups.values():
                for message_id in ids:
                    message = self._messages.get(message_id)
                    if message is not None:
                        if message.visible_at <= now:
                            return True
                        break
            return False
        self._release(now)
        returned, messages = self._returned, self._messages
        while returned:  # drop entries of messages deleted or received since
            message = messages.get(returned[0][1])
            if message is not None and message.visible_at <= now:
                return True
            heapq.heappop(returned)
        return bool(self._ready)

    def _wake(self) -> None:
        for wake in list(self._waiters):  # from any thread: a sync handler may send
            wake()

    def poller(self) -> QueuePoller:
        """The interface an event source mapping polls this queue through."""
        return QueuePoller(self)

    def __len__(self) -> int:
        """Messages stored (visible, in flight or delayed)."""
        return len(self._messages)

    def __repr__(self) -> str:
        return f"<Queue {self.name} messages={len(self._messages)}>"


def receipt_handle(message_id: str, receive_count: int) -> str:
    """The receipt handle of a message's ``receive_count``-th receive."""
    return f"{message_id}#{receive_count}"


def system_attributes(
    *,
    receive_count: int,
    sent_at: float,
    first_receive_at: float,
    fifo: tuple[int, str, str] | None = None,
    trace_header: str | None = None,
) -> dict[str, str]:
    """A received message's system attributes, as SQS gives them (strings; times in epoch
    milliseconds). ``fifo`` is a FIFO queue's ``(sequence, group id, deduplication id)``;
    ``trace_header`` the sender's X-Ray trace header (``AWSTraceHeader``)."""
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(round(sent_at * 1000)),
        "SenderId": _SENDER,
        "ApproximateFirstReceiveTimestamp": str(round(first_receive_at * 1000)),
    }
    if fifo is not None:
        sequence, group_id, deduplication_id = fifo
        attributes["SequenceNumber"] = f"{sequence:020d}"
        attributes["MessageGroupId"] = group_id
        attributes["MessageDeduplicationId"] = deduplication_id
    if trace_header is not None:
        attributes["AWSTraceHeader"] = trace_header
    return attributes


def _encoded(text: str, where: str) -> bytes:
    """``text`` in UTF-8.

    :raises ~faaslib.InvalidMessageContents: it holds a lone surrogate
    """
    try:
        return text.encode()
    except UnicodeEncodeError as exc:
        raise InvalidMessageContents(
            f"Invalid binary character '#x{ord(text[exc.start]):X}' was found in {where}, the "
            f"set of allowed characters is {_ALLOWED}"
        ) from None


def _message_attributes(attributes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A copy of SendMessage's message attributes, each checked for what delivering it needs:
    a type, and a value of it (a string, or bytes or base64 text). (An empty string passes:
    Lambda's own dead letters carry one.)

    :raises ~faaslib.InvalidParameterValueException: an attribute lacks either
    :raises ~faaslib.InvalidMessageContents: text UTF-8 cannot encode
    """
    checked: dict[str, dict[str, Any]] = {}
    for name, attribute in attributes.items():
        _encoded(name, "a message attribute name")
        kind = attribute.get("DataType") if isinstance(attribute, Mapping) else None
        if not isinstance(kind, str) or not kind:
            raise InvalidParameterValueException(
                f"The message attribute {name!r} must contain non-empty message attribute type."
            )
        if kind.partition(".")[0] not in ("String", "Number", "Binary"):
            raise InvalidParameterValueException(
                f"The type of message attribute {name!r} is invalid. You must use only the "
                f"following supported type prefixes: Binary, Number, String."
            )
        if kind.startswith("Binary"):
            value = attribute.get("BinaryValue")
            valid = isinstance(value, (bytes, bytearray, memoryview)) or (
                isinstance(value, str) and _is_base64(value)
            )
        else:
            value = attribute.get("StringValue")
            valid = isinstance(value, str)
            if valid:
                _encoded(value, f"message attribute {name!r}")
        if not valid:
            raise InvalidParameterValueException(
                f"The message attribute {name!r} must contain a message attribute value for "
                f"message attribute type {kind!r}."
            )
        checked[name] = dict(attribute)
    return checked


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error
        return False
    return True


def _check(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidParameterValueException(
            f"{name} must be a number from {low} to {high}, got {value!r}"
        )


class QueuePoller:
    """What an event source mapping uses of a :class:`Queue`, beyond its public API: taking
    messages for a batch as stored (no :class:`Message` copies), their system attributes as
    JSON, deleting a processed batch in one pass, and waiting for messages."""

    __slots__ = ("_queue",)

    def __init__(self, queue: Queue) -> None:
        self._queue = queue

    def take(self, limit: int, hide_for: float) -> list[_Stored]:
        """Receive up to ``limit`` visible messages, hidden for ``hide_for`` seconds."""
        return self._queue._receive(limit, hide_for)

    def give_back(self, messages: Iterable[_Stored]) -> None:
        """Undo the receipt of taken messages (a batch had no room for them): visible at once,
        this receive not counted."""
        self._queue._give_back(messages)

    def attributes_json(self, message: _Stored) -> bytes:
        """The record's ``attributes`` of a taken message, as JSON."""
        return self._queue._attributes_json(message)

    def delete(self, receipt_handles: Iterable[str]) -> None:
        """Delete the taken messages of these receipt handles (stale ones are skipped)."""
        self._queue._delete_current(receipt_handles)

    def has_visible(self, now: float) -> bool:
        """Whether a receive at ``now`` would return something."""
        return self._queue._has_visible(now)

    def wake(self) -> None:
        """Wake every poller waiting for a message (to look again)."""
        self._queue._wake()

    async def wait(self, *deadlines: tuple[Clock, float]) -> None:
        """Sleep until a message may be there, or the first ``(clock, time)`` deadline."""
        await sleep_until_woken(self._queue._waiters, *deadlines)


# -- Records -----------------------------------------------------------------------------------


def sqs_record(
    *,
    message_id: str,
    receipt_handle: str,
    body: str,
    attributes: Mapping[str, str],
    queue_arn: str,
    region: str,
    message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
    md5_of_body: str | None = None,
) -> dict[str, Any]:
    """One record of an SQS event source mapping's event.

    ``attributes`` are the message's system attributes as ``ReceiveMessage`` returns them,
    all strings (``ApproximateReceiveCount``, ``SentTimestamp`` and
    ``ApproximateFirstReceiveTimestamp`` in epoch milliseconds, ``SenderId``; a FIFO queue's
    ``SequenceNumber``, ``MessageGroupId``, ``MessageDeduplicationId``; ``AWSTraceHeader``,
    ``DeadLetterQueueSourceArn`` when they apply). ``message_attributes`` are given as
    ``SendMessage`` takes them (``{"DataType": "String", "StringValue": "..."}``, or
    ``"BinaryValue"``: bytes, or a string already base64-encoded) and delivered as Lambda
    does (``stringValue`` or ``binaryValue``, ``stringListValues``, ``binaryListValues``,
    ``dataType``), with ``md5OfMessageAttributes`` when there are any. ``md5_of_body``
    defaults to the body's MD5.
    """
    record: dict[str, Any] = {
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": dict(attributes),
        "messageAttributes": {
            name: _sqs_attribute(value) for name, value in (message_attributes or {}).items()
        },
        "md5OfBody": md5_of_body or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
    }
    if message_attributes:
        record["md5OfMessageAttributes"] = md5_of_message_attributes(message_attributes)
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = region
    return record


class SqsRecordEncoder:
    """:func:`sqs_record`'s compact JSON, byte for byte, for the records of one queue.

    A mapping delivers thousands of records a batch: dicts for each would only feed the
    garbage collector before being encoded, so records are written straight to JSON, the
    queue's own parts encoded once. ``attributes`` may come already encoded.
    """

    __slots__ = ("_queue_arn", "_region", "_template")

    def __init__(self, queue_arn: str, region: str) -> None:
        self._queue_arn = queue_arn
        self._region = region
        self._template = (
            b'{"messageId":%b,"receiptHandle":%b,"body":%b,"attributes":%b,'
            b'"messageAttributes":{},"md5OfBody":%b,"eventSource":"aws:sqs","eventSourceARN":'
            + json_literal(queue_arn)
            + b',"awsRegion":'
            + json_literal(region)
            + b"}"
        )

    def __call__(
        self,
        message_id: str,
        receipt_handle: str,
        body: str,
        attributes: Mapping[str, str] | bytes,
        message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
        md5_of_body: str | None = None,
    ) -> bytes:
        if message_attributes:  # rare: not worth a second spelling of their shape
            return _json(
                sqs_record(
                    message_id=message_id,
                    receipt_handle=receipt_handle,
                    body=body,
                    attributes=pydantic_core.from_json(attributes)
                    if isinstance(attributes, bytes)
                    else attributes,
                    queue_arn=self._queue_arn,
                    region=self._region,
                    message_attributes=message_attributes,
                    md5_of_body=md5_of_body,
                )
            )
        return self._template % (
            _json(message_id),
            _json(receipt_handle),
            _json(body),
            attributes if isinstance(attributes, bytes) else _json(attributes),
            _json(md5_of_body or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()),
        )


def _sqs_attribute(attribute: Mapping[str, Any]) -> dict[str, Any]:
    delivered: dict[str, Any] = {}
    if "StringValue" in attribute:
        delivered["stringValue"] = attribute["StringValue"]
    if "BinaryValue" in attribute:
        delivered["binaryValue"] = b64(binary_value(attribute["BinaryValue"]))
    delivered["stringListValues"] = list(attribute.get("StringListValues", ()))
    delivered["binaryListValues"] = [
        b64(binary_value(v)) for v in attribute.get("BinaryListValues", ())
    ]
    delivered["dataType"] = attribute["DataType"]
    return delivered


def md5_of_message_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """SQS's MD5 of message attributes (in ``SendMessage``'s shape).

    By attribute name, in order: name, data type (each a 4-byte big-endian length and UTF-8
    bytes), a transport byte (1 string, 2 binary), then the value (length and bytes).
    """
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        attribute = attributes[name]
        for text in (name, attribute["DataType"]):
            encoded = text.encode()
            digest.update(struct.pack(">I", len(encoded)) + encoded)
        if "StringValue" in attribute:
            value = str(attribute["StringValue"]).encode()
            digest.update(b"\x01")
        else:
            value = binary_value(attribute["BinaryValue"])
            digest.update(b"\x02")
        digest.update(struct.pack(">I", len(value)) + value)
    return digest.hexdigest()


# -- Trigger and mapping -----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SQS(Trigger):
    """An event source mapping that polls a :class:`~faaslib.Queue` and invokes the function
    synchronously with batches of SQS records (SAM's ``SQS`` event).

    Messages of a batch the function returns without error are deleted; after an error (or a
    throttle) they become visible again after the queue's visibility timeout, and after
    ``max_receive_count`` receives go to the queue's dead-letter queue. With
    ``function_response_types=["ReportBatchItemFailures"]`` the function may return
    ``{"batchItemFailures": [{"itemIdentifier": message_id}, ...]}`` to keep only those; a
    response of any other shape, or naming an unknown or empty id, fails the whole batch.

    :param queue: the queue
    :param batch_size: records per invocation, 1-10000 (10 at most on a FIFO queue)
    :param maximum_batching_window: seconds to gather a fuller batch, 0-300 (at least 1 when
        ``batch_size`` is over 10)
    :param function_response_types: ``["ReportBatchItemFailures"]`` or empty
    :param filter_criteria: up to 5 event patterns (EventBridge syntax) on the record, its
        JSON ``body`` parsed; records matching none are deleted without an invocation
    :param enabled: whether the mapping polls (changeable on the invoker's mapping)
    :param maximum_concurrency: batches in flight at once, 2-1000 (default 5)
    """

    faas_trigger: ClassVar[str] = "pubsub"

    queue: Queue
    batch_size: int = 10
    maximum_batching_window: float = 0
    function_response_types: Sequence[str] = ()
    filter_criteria: Sequence[Mapping[str, Any] | str] | None = None
    enabled: bool = True
    maximum_concurrency: int = 5

    def __post_init__(self) -> None:
        if not isinstance(self.queue, Queue):
            raise ValidationException("queue", self.queue, "Member must be a faaslib.Queue")
        check_whole("batchSize", self.batch_size, 1, 10 if self.queue.fifo else 10_000)
        window = self.maximum_batching_window
        if (
            isinstance(window, bool)
            or not isinstance(window, (int, float))
            or not (0 <= window <= 300)
        ):
            raise ValidationException(
                "maximumBatchingWindowInSeconds", window, "Member must be from 0 to 300"
            )
        if self.batch_size > 10 and window < 1:
            raise ValidationException(
                "maximumBatchingWindowInSeconds",
                window,
                "Maximum batch window in seconds must be greater than 0 if maximum batch size "
                "is greater than 10",
            )
        object.__setattr__(
            self, "function_response_types", response_types(self.function_response_types)
        )
        if not isinstance(self.enabled, bool):
            raise ValidationException("enabled", self.enabled, "Member must be a boolean")
        check_whole("scalingConfig.maximumConcurrency", self.maximum_concurrency, 2, 1000)
        if self.filter_criteria is not None:
            patterns = tuple(self.filter_criteria)
            filter_criteria(patterns)  # checks them: a bad pattern fails at registration
            object.__setattr__(self, "filter_criteria", patterns)

    @property
    def source(self) -> Queue:
        """The queue it reads."""
        return self.queue

    @property
    def reports_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types

    def runner(self, function_name: str, host: TriggerHost) -> QueueMapping:
        """A mapping polling the queue for ``function_name``."""
        self.queue.follow(host.site)
        mapping = QueueMapping(function_name, self, host.site.clock, host.invoke)
        mapping.history = host.history
        return mapping


class QueueMapping(EventSourceMapping):
    """An SQS mapping: batches of visible messages, deleted once processed."""

    trigger: SQS

    def _set_enabled(self, enabled: bool) -> None:
        super()._set_enabled(enabled)
        self._poller.wake()

    def __init__(self, function_name: str, trigger: SQS, clock: Clock, invoke: Invoke) -> None:
        super().__init__(function_name, trigger, clock, invoke)
        self._encode = SqsRecordEncoder(trigger.queue.arn, trigger.queue.region)
        self._poller = trigger.queue.poller()
        self._gathering: list[float] = []  # the ends of the batching windows waited out
        self._pollers = 0

    def _caught_up(self) -> bool:
        if any(not self._later(deadline) for deadline in self._gathering):
            return False
        queue = self.trigger.queue
        return not self._poller.has_visible(queue.clock.time())

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
            if window and not self._full(batch):
                await self._gather(queue, batch, window)
            if self._full(batch) and self._pollers < trigger.maximum_concurrency:
                self._pollers += 1  # a full batch: there may be more to read at once
                pollers.start_soon(self._poll, pollers, False)
            await self._process(batch)
            await anyio.lowlevel.checkpoint()

    def _full(self, batch: _QueueBatch) -> bool:
        return batch.full or len(batch) >= self.trigger.batch_size

    def _receive(self, queue: Queue, batch: _QueueBatch, limit: int) -> int:
        """Receive up to ``limit`` messages into ``batch``; return how many were received.

        Those the filter criteria drop are deleted, as Lambda deletes them. Those with no room
        left in the batch's 6 MB are given back, their receipt undone.
        """
        encode = self._encode
        ids, receipts, add = batch.ids, batch.receipts, batch.add
        received = self._poller.take(limit, queue.visibility_timeout)
        for index, message in enumerate(received):
            receipt_handle = message.receipt_handle or ""
            record = encode(
                message.message_id,
                receipt_handle,
                message.body,
                self._poller.attributes_json(message),
                message.message_attributes,
                message.md5,
            )
            if self._matches is not None and not self._matches(
                _filterable(pydantic_core.from_json(record))
            ):
                self._filtered += 1
                self._poller.delete((receipt_handle,))
                continue
            if batch.count and batch.size_with(record) > MAX_BATCH_PAYLOAD:
                batch.full = True
                self._poller.give_back(received[index:])
                del received[index:]
                break
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
        await self._poller.wait(*deadlines)

    async def _gather(self, queue: Queue, batch: _QueueBatch, window: float) -> None:
        """More messages for a batch, until it is full or the batching window ends."""
        deadline = self._clock.time() + window
        self._gathering.append(deadline)
        try:
            while not self._full(batch) and self._clock.time() < deadline:
                self._maybe_settled()
                await self._wait_for_messages(queue, deadline)
                self._receive(queue, batch, self.trigger.batch_size - len(batch))
        finally:
            self._gathering.remove(deadline)

    async def _process(self, batch: _QueueBatch) -> None:
        self._in_flight += 1
        try:
            self._invocations += 1
            failed, request_id = await self._invoke_batch(batch)
            if self.history is not None and request_id is not None:
                self.history.records_ended(
                    request_id,
                    {
                        i: "back_on_queue" if failed is None or i in failed else "done"
                        for i in batch.ids
                    },
                )
            if failed is None:  # they come back after the visibility timeout
                self._failed += len(batch)
                return
            done = batch.receipts
            if failed:
                done = [r for i, r in zip(batch.ids, done, strict=True) if i not in failed]
            self._poller.delete(done)
            self._failed += len(batch) - len(done)
            self._succeeded += len(done)
        finally:
            self._in_flight -= 1
            self._maybe_settled()

    async def _invoke_batch(self, batch: _QueueBatch) -> tuple[set[str] | None, str | None]:
        """Invoke the function; return the message ids that failed (``None`` for all of them:
        an error, a throttle, or a malformed partial-batch response) and the invocation's
        request id (``None`` when it did not run)."""
        try:
            result = await self._invoke(self.function_name, batch.event())
        except TooManyRequestsException:
            return None, None
        except FaaslibError as exc:
            logger.error(
                "Event source mapping %s could not invoke %s: %s",
                self.uuid,
                self.function_name,
                exc,
            )
            return None, None
        if result.function_error is not None:
            return None, result.request_id
        if not self.trigger.reports_item_failures:
            return set(), result.request_id
        return item_failures(result.payload, set(batch.ids)), result.request_id


class _QueueBatch(RecordsEventWriter):
    """Messages received for one invocation: the event, and their ids and receipt handles."""

    __slots__ = ("full", "ids", "receipts")

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.receipts: list[str] = []
        self.full = False  # no room for another record in 6 MB

    def __len__(self) -> int:
        return self.count


def _filterable(record: dict[str, Any]) -> dict[str, Any]:
    """An SQS record as Lambda's filter sees it: its body parsed when it is JSON."""
    try:
        body = pydantic_core.from_json(record["body"])
    except ValueError:
        return record
    return {**record, "body": body}
