"""AWS IoT Core: ``IoTBroker``, an in-memory MQTT message broker, and the ``IoTRule`` trigger
(SAM's ``IoTRule`` event), a topic rule whose SQL statement picks and reshapes the messages
that invoke the function (push model)."""

from __future__ import annotations

import logging
import re
import time as _time
from dataclasses import KW_ONLY, dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import pydantic_core

from .._errors import InvalidParameterValueException, RequestTooLargeException, ValidationException
from .._ids import new_request_id
from .iot_sql import NO_MATCH, UNDEFINED, Message, RuleError, Statement, parse
from .push import PushSource, PushTrigger
from .records import utf8

if TYPE_CHECKING:
    from .._clock import Clock
    from .._site import Site
    from .._triggers import TriggerHost
    from .push import Pump

__all__ = ["IoTBroker", "IoTRule", "default_broker", "iot_rule_event", "topic_rule_arn"]

logger = logging.getLogger("faaslib")

#: AWS IoT Core's limits on a published message.
MAX_PAYLOAD = 128 * 1024
MAX_TOPIC_BYTES = 256
MAX_TOPIC_SLASHES = 7
_RULE_NAME = re.compile(r"[a-zA-Z0-9_]{1,128}")
_INGEST = "$aws/rules/"


class _Published(NamedTuple):
    """A message as the rules engine took it, before a rule evaluates it."""

    topic: str  # as topic() reads it (without a Basic Ingest prefix)
    payload: bytes
    client_id: str | None
    trace_id: str | None


class IoTBroker(PushSource):
    """An in-memory AWS IoT message broker: ``publish`` hands each message to every enabled
    :class:`IoTRule` whose ``FROM`` topic filter matches its topic.

    Sources in faaslib are explicit objects (a ``Topic``, a ``Bucket``), so the broker is one
    too: code and tests publish to the broker their rules were given. AWS has a single broker
    per account and Region, which SAM's ``IoTRule`` does not name: a rule made without
    ``broker=`` uses :func:`default_broker`.

    A message no rule takes is dropped, as MQTT drops a message nobody subscribes to; a rule
    takes messages while a registered function lists it (the rule exists), and what it takes
    before an invoker runs it waits for one.
    """

    def __init__(
        self,
        *,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(region, account_id, clock)
        self._shared = False

    def follow(self, site: Site) -> None:
        """Take the site's values for those not given (the default broker, shared by every
        invoker of the process, takes each new invoker's)."""
        if self._shared:
            self._followed = True
            self._take_site(site)
        else:
            super().follow(site)

    def publish(self, topic: str, payload: Any = b"", *, client_id: str | None = None) -> None:
        """Publish a message.

        :param topic: its topic: levels separated by ``/``, no wildcards; ``$aws/rules/<rule
            name>/...`` sends it to that rule alone (Basic Ingest; the rule must have been
            given its ``name``)
        :param payload: bytes, text (sent as UTF-8), or anything else as its JSON
        :param client_id: the MQTT client publishing it (what ``clientid()`` returns; without
            one the message is published as the HTTP Publish API does: ``clientid()`` is
            ``n/a`` and ``traceid()`` undefined)
        :raises ~faaslib.InvalidParameterValueException: the topic is empty, holds a wildcard,
            is longer than 256 bytes, has more than 7 forward slashes or is a reserved ``$``
            topic; the payload cannot be JSON or holds text UTF-8 cannot encode
        :raises ~faaslib.RequestTooLargeException: the payload is over 128 KB
        """
        rule_topic, ingest = _check_topic(topic)
        body = _payload_bytes(payload)
        rules = [
            rule
            for rule in self._subscribers
            if isinstance(rule, IoTRule) and rule.enabled and rule.takes(rule_topic, ingest)
        ]
        if not rules:
            return
        trace_id = new_request_id() if client_id is not None else None
        published = _Published(rule_topic, body, client_id, trace_id)
        sent_at = self._sent_at()
        for rule in rules:
            if sent_at is None:  # no invoker yet: evaluated when one runs the rule
                rule._held.append(published)
            else:
                rule._evaluate(published, sent_at)

    def __repr__(self) -> str:
        return f"<IoTBroker rules={len(self._subscribers)}>"


_default: IoTBroker | None = None


def default_broker() -> IoTBroker:
    """The process's broker, for rules made without ``broker=`` (SAM's ``IoTRule`` events):
    it takes the site of each invoker that runs it. Tests that want isolation give their
    rules a broker of their own."""
    global _default
    if _default is None:
        _default = IoTBroker()
        _default._shared = True
    return _default


def _check_topic(topic: object) -> tuple[str, str | None]:
    """The topic as rules see it, and the rule a Basic Ingest topic names (or ``None``).

    :raises ~faaslib.InvalidParameterValueException: not a topic one may publish to
    """
    if not isinstance(topic, str) or not topic:
        raise InvalidParameterValueException("Invalid topic: a topic name is required")
    utf8(topic, "The topic")
    ingest = None
    rest = topic
    if topic.startswith(_INGEST):
        ingest, _, rest = topic[len(_INGEST) :].partition("/")
        if not _RULE_NAME.fullmatch(ingest):
            raise InvalidParameterValueException(
                f"Invalid topic {topic!r}: $aws/rules/ must be followed by a rule name"
            )
    elif topic.startswith("$"):
        raise InvalidParameterValueException(
            f"Invalid topic {topic!r}: topics starting with '$' are reserved for AWS IoT"
        )
    if "+" in topic or "#" in topic:
        raise InvalidParameterValueException(
            f"Invalid topic {topic!r}: wildcards (+, #) are for topic filters, not for publishing"
        )
    if len(rest.encode()) > MAX_TOPIC_BYTES:
        raise InvalidParameterValueException(
            f"Invalid topic: the topic is longer than {MAX_TOPIC_BYTES} bytes"
        )
    if rest.count("/") > MAX_TOPIC_SLASHES:
        raise InvalidParameterValueException(
            f"Invalid topic {topic!r}: more than {MAX_TOPIC_SLASHES} forward slashes"
        )
    return rest, ingest


def _payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, (bytes, bytearray, memoryview)):
        body = bytes(payload)
    elif isinstance(payload, str):
        body = utf8(payload, "The payload")
    else:
        try:
            body = pydantic_core.to_json(payload)
        except pydantic_core.PydanticSerializationError as exc:
            raise InvalidParameterValueException(f"The payload is not JSON: {exc}") from None
    if len(body) > MAX_PAYLOAD:
        raise RequestTooLargeException(
            f"{len(body)} byte payload is too large for AWS IoT (limit {MAX_PAYLOAD} bytes)",
            size=len(body),
            limit=MAX_PAYLOAD,
        )
    return body


@dataclass(frozen=True, eq=False)
class IoTRule(PushTrigger):
    """Invoke the function (invocation type Event) with the result of an AWS IoT topic rule's
    SQL statement, for each message published to a matching topic (SAM's ``IoTRule`` event,
    a topic rule with a Lambda action).

    :param sql: the statement, ``SELECT <items> FROM '<topic filter>' [WHERE <condition>]``
        (SAM's ``Sql``)
    :param aws_iot_sql_version: ``2015-10-08`` (the default, as CloudFormation's),
        ``2016-03-23`` (object and array literals, ``encode``, ``decode``, whole-number
        decimals as Ints) or ``beta`` (SAM's ``AwsIotSqlVersion``)
    :param broker: the broker it takes messages from (default: :func:`default_broker`)
    :param name: the rule's name (default: made from the function's name)
    :param enabled: whether the rule acts on messages (a disabled rule drops them)
    :raises ~faaslib.ValidationException: the statement is not valid (the message names the
        line and column), or the version or name is
    """

    faas_trigger: ClassVar[str] = "pubsub"

    sql: str
    _: KW_ONLY
    aws_iot_sql_version: str = "2015-10-08"
    broker: IoTBroker | None = None
    name: str | None = None
    enabled: bool = True
    statement: Statement = field(init=False, repr=False)
    _held: list[_Published] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "statement", parse(self.sql, self.aws_iot_sql_version))
        if self.broker is None:
            object.__setattr__(self, "broker", default_broker())
        elif not isinstance(self.broker, IoTBroker):
            raise InvalidParameterValueException("IoTRule needs a faaslib IoTBroker")
        if self.name is not None and (
            not isinstance(self.name, str) or not _RULE_NAME.fullmatch(self.name)
        ):
            raise ValidationException(
                "ruleName",
                self.name,
                "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]+$ "
                "and have length from 1 to 128",
            )
        if not isinstance(self.enabled, bool):
            raise ValidationException("ruleDisabled", self.enabled, "Member must be a boolean")

    @property
    def source(self) -> IoTBroker:
        assert self.broker is not None
        return self.broker

    def rule_name(self, function_name: str) -> str:
        """The rule's name: :attr:`name`, else one made from the function's name."""
        return self.name or f"{re.sub(r'[^A-Za-z0-9_]', '_', function_name)[:120]}_IoTRule"

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str]:
        broker = self.source
        arn = topic_rule_arn(broker.region, broker.account_id, self.rule_name(function_name))
        return "iot.amazonaws.com", arn

    def takes(self, topic: str, ingest: str | None) -> bool:
        """Whether a message for ``topic`` is this rule's: its ``FROM`` filter matches, or it
        was sent to the rule by name (Basic Ingest, ``ingest``)."""
        if ingest is not None:
            return ingest == self.name
        return self.statement.matches(topic)

    def runner(self, function_name: str, host: TriggerHost) -> Pump:
        """A pump invoking ``function_name``; what the rule took before an invoker ran it is
        evaluated now, on the invoker's clock."""
        pump = super().runner(function_name, host)
        held, self._held[:] = list(self._held), []
        now = self.source.clock.time()
        for published in held:
            self._evaluate(published, now)
        return pump

    def _evaluate(self, published: _Published, time: float) -> None:
        """Run the statement on a message; emit its result when the ``WHERE`` holds."""
        message = Message.of(
            published.topic,
            published.payload,
            time=time,
            account_id=self.source.account_id,
            sql_version=self.aws_iot_sql_version,
            client_id=published.client_id,
            trace_id=published.trace_id,
        )
        try:
            result = self.statement.run(message)
        except RuleError as exc:  # AWS runs the rule's error action; faaslib has none
            logger.error("IoT rule %r dropped a message on %s: %s", self.sql, message.topic, exc)
            return
        if result is not NO_MATCH:
            self.emit(partial(_invocation_payload, result))


def _invocation_payload(result: Any) -> Any:
    """What the Lambda action sends: the result's JSON (an empty payload for ``Undefined``), or
    a non-JSON payload's raw bytes, which Lambda refuses (the invoker's
    InvalidRequestContentException, logged; AWS runs the rule's error action)."""
    if isinstance(result, (bytes, dict)):
        return result
    if result is UNDEFINED:
        return b""
    return pydantic_core.to_json(result)


def topic_rule_arn(region: str, account: str, name: str) -> str:
    """The ARN of an AWS IoT topic rule."""
    return f"arn:aws:iot:{region}:{account}:rule/{name}"


def iot_rule_event(
    payload: Any = None,
    *,
    sql: str = "SELECT * FROM '#'",
    topic: str = "sensors/sensor-1/telemetry",
    time: float | None = None,
    account_id: str = "123456789012",
    client_id: str | None = None,
    aws_iot_sql_version: str = "2015-10-08",
) -> Any:
    """The event an IoT rule's Lambda action sends for one message: the statement's result.

    :param payload: the message (default ``{"device": "sensor-1", "temperature": 21.5}``):
        bytes, text, or anything else as its JSON
    :param time: epoch seconds ``timestamp()`` reads (default: now)
    :raises ~faaslib.ValidationException: the statement is not valid
    :raises ~faaslib.InvalidParameterValueException: ``topic`` does not match the statement's
        topic filter, its ``WHERE`` is not true for the message, or its result is not JSON
    """
    statement = parse(sql, aws_iot_sql_version)
    if payload is None:
        payload = {"device": "sensor-1", "temperature": 21.5}
    rule_topic, _ = _check_topic(topic)
    if not statement.matches(rule_topic):
        raise InvalidParameterValueException(
            f"Topic {topic!r} does not match {statement.topic_filter!r}"
        )
    message = Message.of(
        rule_topic,
        _payload_bytes(payload),
        time=_time.time() if time is None else time,
        account_id=account_id,
        sql_version=aws_iot_sql_version,
        client_id=client_id,
        trace_id=new_request_id() if client_id is not None else None,
    )
    result = statement.run(message)
    if result is NO_MATCH:
        raise InvalidParameterValueException("The statement's WHERE is not true for the message")
    if isinstance(result, bytes):
        raise InvalidParameterValueException(
            "The result is the raw payload, which is not JSON: Lambda refuses it"
        )
    return None if result is UNDEFINED else result
