"""Push sources: an in-memory object store (``Bucket``) and topic (``Topic``) that invoke the
functions subscribed to them asynchronously, as S3 and SNS do."""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import pydantic_core
from anyio import CancelScope

from .._errors import FaaslibError, InvalidParameterValueException, ResourceNotFoundException
from .._ids import new_request_id
from .._site import FollowsSite
from .._triggers import Trigger, TriggerHost
from .._wakeup import Waker, sleep_until_woken
from .patterns import EventPattern
from .shapes import records_event, s3_record, sns_record
from .stream import utf8

if TYPE_CHECKING:
    from .._clock import Clock

__all__ = ["S3", "SNS", "Bucket", "Pump", "PushTrigger", "Topic"]

logger = logging.getLogger("faaslib")

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_TOPIC = re.compile(r"[a-zA-Z0-9_-]{1,256}")
_S3_EVENTS = (
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
)


class _Source(FollowsSite):
    """What buckets and topics share: a site (region, account id, clock: those not given
    are the first invoker's that runs the source), and the triggers subscribed to them."""

    def __init__(self, region: str | None, account_id: str | None, clock: Clock | None) -> None:
        self._settle(region, account_id, clock)
        self._subscribers: list[PushTrigger] = []


@dataclass(frozen=True, eq=False)
class PushTrigger(Trigger):
    """A subscription of a function to a push source.

    The source notifies it from the moment a registered function lists it (as S3 and SNS
    notify what their configuration names) until no function does. What it emits waits in
    its outbox, invoker or not, until an invoker running the function takes it as an Event
    invocation.
    """

    _outbox: deque[dict[str, Any]] = field(default_factory=deque, init=False, repr=False)
    _waiters: set[Waker] = field(default_factory=set, init=False, repr=False)
    _listed: list[int] = field(default_factory=lambda: [0], init=False, repr=False)

    @property
    def source(self) -> _Source:
        raise NotImplementedError

    def _attach(self) -> None:
        self._listed[0] += 1
        if self._listed[0] == 1:
            self.source._subscribers.append(self)

    def _detach(self) -> None:
        self._listed[0] -= 1
        if self._listed[0] == 0:
            self.source._subscribers.remove(self)

    def runner(self, function_name: str, host: TriggerHost) -> Pump:
        """A pump invoking ``function_name`` with what the source emits."""
        self.source.follow(host.site)
        return Pump(function_name, self, host.invoke)

    def _emit(self, event: dict[str, Any]) -> None:
        self._outbox.append(event)
        for wake in list(self._waiters):  # from any thread: a sync handler may put or publish
            wake()


# -- S3 -----------------------------------------------------------------------------------------


class Bucket(_Source):
    """An in-memory object store whose changes notify subscribed functions, as S3 does.

    ``put`` emits ``s3:ObjectCreated:Put`` and ``delete`` ``s3:ObjectRemoved:Delete`` to each
    :class:`S3` trigger whose event names and key filters match.
    """

    def __init__(
        self,
        name: str,
        *,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not _BUCKET.fullmatch(name):
            raise InvalidParameterValueException(
                f"Bucket name {name!r}: 3-63 characters of a-z, 0-9, '.' and '-'"
            )
        super().__init__(region, account_id, clock)
        self.name = name
        self._objects: dict[str, bytes] = {}
        self._sequence = itertools.count(1)

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"

    def put(self, key: str, data: bytes | str) -> str:
        """Store an object (replacing any) and return its ETag.

        :raises ~faaslib.InvalidParameterValueException: the key, or ``data`` as a string,
            holds text UTF-8 cannot encode (a lone surrogate)
        """
        utf8(key, "The object key")
        body = utf8(data, "The object's data") if isinstance(data, str) else bytes(data)
        self._objects[key] = body
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
        self._notify("ObjectCreated:Put", key, len(body), etag)
        return etag

    def get(self, key: str) -> bytes:
        """:raises ~faaslib.ResourceNotFoundException: no such key"""
        try:
            return self._objects[key]
        except KeyError:
            raise ResourceNotFoundException(f"NoSuchKey: {key}") from None

    def delete(self, key: str) -> None:
        """Delete an object (deleting a missing key is not an error, as in S3)."""
        self._objects.pop(key, None)
        self._notify("ObjectRemoved:Delete", key, None, None)

    def list(self, prefix: str = "") -> list[str]:
        """The keys starting with ``prefix``, sorted."""
        return sorted(k for k in self._objects if k.startswith(prefix))

    def _notify(self, event_name: str, key: str, size: int | None, etag: str | None) -> None:
        record = None
        for trigger in self._subscribers:
            assert isinstance(trigger, S3)
            if trigger.wants(event_name, key):
                if record is None:
                    record = s3_record(
                        event_name=event_name,
                        time=self.clock.time(),
                        region=self.region,
                        bucket=self.name,
                        key=key,
                        sequencer=f"{next(self._sequence):016X}",
                        size=size,
                        etag=etag,
                    )
                trigger._emit(records_event([record]))

    def __repr__(self) -> str:
        return f"<Bucket {self.name} objects={len(self._objects)}>"


@dataclass(frozen=True, eq=False)
class S3(PushTrigger):
    """Invoke the function (invocation type Event) when objects of a :class:`Bucket` change
    (SAM's ``S3`` event).

    :param bucket: the bucket
    :param events: S3 event names, ``s3:ObjectCreated:*`` (default), ``s3:ObjectCreated:Put``,
        ``s3:ObjectRemoved:*`` or ``s3:ObjectRemoved:Delete``
    :param prefix: only keys starting with it (S3's ``prefix`` filter rule)
    :param suffix: only keys ending with it (S3's ``suffix`` filter rule)
    """

    bucket: Bucket
    events: Sequence[str] = ("s3:ObjectCreated:*",)
    prefix: str = ""
    suffix: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.bucket, Bucket):
            raise InvalidParameterValueException("S3 trigger needs a faaslib.Bucket")
        names = (self.events,) if isinstance(self.events, str) else tuple(self.events)
        for name in names:
            if name not in _S3_EVENTS:
                raise InvalidParameterValueException(
                    f"The event is not supported for notifications: {name}"
                )
        object.__setattr__(self, "events", names)

    @property
    def source(self) -> Bucket:
        return self.bucket

    def wants(self, event_name: str, key: str) -> bool:
        kind = event_name.split(":", 1)[0]
        return (
            any(name in (f"s3:{event_name}", f"s3:{kind}:*") for name in self.events)
            and key.startswith(self.prefix)
            and key.endswith(self.suffix)
        )


# -- SNS ----------------------------------------------------------------------------------------


class Topic(_Source):
    """An in-memory topic: ``publish`` fans a message out to every subscribed function (SNS
    notification records), each :class:`SNS` trigger applying its filter policy.

    It can be a destination or dead-letter target of asynchronous invocations: ``send``
    publishes the record (JSON-encoded as the message).
    """

    def __init__(
        self,
        name: str,
        *,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not _TOPIC.fullmatch(name.removesuffix(".fifo")):
            raise InvalidParameterValueException(
                f"Topic name {name!r}: 1-256 characters of [a-zA-Z0-9_-]"
            )
        super().__init__(region, account_id, clock)
        self.name = name

    @property
    def arn(self) -> str:
        return f"arn:aws:sns:{self.region}:{self.account_id}:{self.name}"

    def publish(
        self,
        message: Any,
        *,
        subject: str | None = None,
        attributes: Mapping[str, Mapping[str, str]] | None = None,
    ) -> str:
        """Publish a message (a string, or anything else as its JSON); return its id.

        :param attributes: message attributes in Publish's shape, e.g.
            ``{"kind": {"DataType": "String", "StringValue": "order"}}``
        :raises ~faaslib.InvalidParameterValueException: the message, subject or an attribute
            holds text UTF-8 cannot encode (a lone surrogate), or the message cannot be JSON
        """
        if isinstance(message, str):
            text = message
        else:
            try:
                text = pydantic_core.to_json(message).decode()
            except pydantic_core.PydanticSerializationError as exc:
                raise InvalidParameterValueException(
                    f"Invalid parameter: Message is not JSON text: {exc}"
                ) from None
        utf8(text, "The message")
        if subject is not None:
            utf8(subject, "The subject")
        for name, attribute in (attributes or {}).items():
            values = attribute.values() if isinstance(attribute, Mapping) else ()
            for value in (name, *values):
                if isinstance(value, str):
                    utf8(value, f"Message attribute {name!r}")
        message_id = new_request_id()
        for trigger in self._subscribers:
            assert isinstance(trigger, SNS)
            if trigger.accepts(attributes or {}):
                record = sns_record(
                    topic_arn=self.arn,
                    subscription_arn=f"{self.arn}:{trigger.subscription_id}",
                    message_id=message_id,
                    message=text,
                    time=self.clock.time(),
                    region=self.region,
                    subject=subject,
                    message_attributes=attributes,
                )
                trigger._emit(records_event([record]))
        return message_id

    async def send(self, record: Any) -> None:
        """Publish ``record`` (a destination's invocation record)."""
        self.publish(record)

    def __repr__(self) -> str:
        return f"<Topic {self.name} subscriptions={len(self._subscribers)}>"


@dataclass(frozen=True, eq=False)
class SNS(PushTrigger):
    """Invoke the function (invocation type Event) with each message published to a
    :class:`Topic` (SAM's ``SNS`` event).

    :param topic: the topic
    :param filter_policy: an SNS filter policy on the message attributes (EventBridge
        pattern syntax: ``{"kind": ["order"], "amount": [{"numeric": [">", 100]}]}``)
    """

    topic: Topic
    filter_policy: Mapping[str, Any] | None = None
    subscription_id: str = field(default_factory=new_request_id, init=False)
    _policy: EventPattern | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.topic, Topic):
            raise InvalidParameterValueException("SNS trigger needs a faaslib.Topic")
        if self.filter_policy is not None:
            object.__setattr__(self, "_policy", EventPattern(self.filter_policy))

    @property
    def source(self) -> Topic:
        return self.topic

    def accepts(self, attributes: Mapping[str, Mapping[str, str]]) -> bool:
        policy = self._policy
        if policy is None:
            return True
        values: dict[str, Any] = {}
        for name, attribute in attributes.items():
            value: Any = attribute.get("StringValue", attribute.get("Value"))
            kind = attribute.get("DataType", attribute.get("Type", "String"))
            if kind.startswith("Number") and value is not None:
                value = float(value) if "." in value or "e" in value.lower() else int(value)
            elif kind.startswith("String.Array") and value is not None:
                value = pydantic_core.from_json(value)
            values[name] = value
        return policy.matches(values)


class Pump:
    """Takes what a push trigger's outbox holds and invokes the function with it (Event),
    on the invoker's task group."""

    def __init__(
        self,
        function_name: str,
        trigger: PushTrigger,
        invoke: Callable[..., Awaitable[Any]],
    ) -> None:
        self.function_name = function_name
        self.trigger = trigger
        self._invoke = invoke
        self._busy = False
        self._idle: anyio.Event | None = None
        self.scope: CancelScope | None = None

    async def run(self) -> None:
        outbox = self.trigger._outbox
        while True:
            while outbox:
                self._busy = True
                try:
                    await self._invoke(self.function_name, outbox[0], "Event")
                except FaaslibError as exc:  # it can never be delivered: said, and dropped
                    logger.error(
                        "Dropping an event of %s for function %s: %s",
                        type(self.trigger).__name__,
                        self.function_name,
                        exc,
                    )
                outbox.popleft()
                self._busy = False
            if self._idle is not None:
                self._idle.set()
                self._idle = None
            await sleep_until_woken(self.trigger._waiters)

    def settled(self) -> bool:
        return not self._busy and not self.trigger._outbox

    async def wait_settled(self) -> None:
        while not self.settled():
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()
