"""Amazon SNS: ``Topic``, an in-memory topic that fans messages out to the functions
subscribed to it; the notification records; and the ``SNS`` trigger with its filter policy
(push model)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic_core

from .._destinations import timestamp
from .._errors import InvalidParameterValueException
from .._ids import new_request_id
from .patterns import EventPattern
from .push import PushSource, PushTrigger
from .records import MessageAttributes, b64, binary_value, records_event, utf8

if TYPE_CHECKING:
    from .._clock import Clock
    from .._site import Site

__all__ = ["SNS", "Topic", "sns_record"]

_TOPIC = re.compile(r"[a-zA-Z0-9_-]{1,256}")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
#: A certificate name of the form SNS uses; nothing checks the signature against it.
_SNS_CERTIFICATE = "SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem"


class Topic(PushSource):
    """An in-memory topic: ``publish`` fans a message out to every subscribed function (SNS
    notification records), each :class:`SNS` trigger applying its filter policy.

    It can be a destination or dead-letter target of asynchronous invocations: ``send``
    publishes the record (JSON-encoded as the message); a dead letter's message attributes
    (``RequestID``, ``ErrorCode``, ``ErrorMessage``) become the notification's.
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
        attributes: MessageAttributes | None = None,
    ) -> str:
        """Publish a message (a string, or anything else as its JSON); return its id.

        :param attributes: message attributes in Publish's shape, e.g.
            ``{"kind": {"DataType": "String", "StringValue": "order"}}``
        :raises ~faaslib.InvalidParameterValueException: the message, subject or an attribute
            holds text UTF-8 cannot encode (a lone surrogate), the message cannot be JSON, or
            an attribute lacks a type (``String``, ``String.Array``, ``Number``, ``Binary``,
            with an optional ``.custom`` suffix) or a value of it
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
            _check_attribute(name, attribute)
        message_id = new_request_id()
        wanting = [
            t for t in self._subscribers if isinstance(t, SNS) and t.accepts(attributes or {})
        ]
        if not wanting:
            return message_id
        sent_at = self._sent_at()
        # As delivered, now: the caller may reuse its mappings once publish returns.
        delivered = {name: _sns_attribute(value) for name, value in (attributes or {}).items()}
        for trigger in wanting:
            trigger.emit(
                partial(self._event, trigger, message_id, text, subject, delivered, sent_at)
            )
        return message_id

    def _event(
        self,
        trigger: SNS,
        message_id: str,
        message: str,
        subject: str | None,
        attributes: dict[str, dict[str, str]],
        sent_at: float | None,
    ) -> dict[str, Any]:
        """The event of one notification to one subscription, written at delivery."""
        record = sns_record(
            topic_arn=self.arn,
            subscription_arn=f"{self.arn}:{trigger.subscription_id}",
            message_id=message_id,
            message=message,
            time=self.clock.time() if sent_at is None else sent_at,
            region=self.region,
            subject=subject,
            message_attributes=attributes,
        )
        return records_event([record])

    async def send(self, message: Any, /, *, attributes: MessageAttributes | None = None) -> None:
        """Publish ``message``: a destination's invocation record, or a dead letter (the
        original event) with Lambda's ``RequestID``, ``ErrorCode`` and ``ErrorMessage``
        ``attributes`` in SendMessage's shape, delivered as SNS message attributes."""
        self.publish(message, attributes=attributes)

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

    faas_trigger: ClassVar[str] = "pubsub"

    topic: Topic
    filter_policy: Mapping[str, Any] | None = None
    subscription_id: str = field(default_factory=new_request_id, init=False)
    _policy: EventPattern | None = field(default=None, init=False, repr=False)

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str]:
        return "sns.amazonaws.com", self.topic.arn

    def __post_init__(self) -> None:
        if not isinstance(self.topic, Topic):
            raise InvalidParameterValueException("SNS trigger needs a faaslib.Topic")
        if self.filter_policy is not None:
            object.__setattr__(self, "_policy", EventPattern(self.filter_policy))

    @property
    def source(self) -> Topic:
        return self.topic

    def accepts(self, attributes: MessageAttributes) -> bool:
        """Whether the filter policy passes a message with these attributes."""
        policy = self._policy
        return policy is None or policy.matches(_filterable(attributes))


def _check_attribute(name: str, attribute: object) -> None:
    """A Publish message attribute has a type and a value of it.

    :raises ~faaslib.InvalidParameterValueException: it does not
    """
    utf8(name, f"Message attribute {name!r}")
    if not isinstance(attribute, Mapping) or not attribute.get("DataType"):
        raise _bad(f"The message attribute '{name}' must contain non-empty message attribute type.")
    kind = attribute["DataType"]
    if not isinstance(kind, str) or kind.partition(".")[0] not in ("String", "Number", "Binary"):
        raise _bad(
            f"The message attribute '{name}' has an invalid message attribute type, the set of "
            "supported type prefixes is Binary, Number, and String."
        )
    field = "BinaryValue" if kind.startswith("Binary") else "StringValue"
    value = attribute.get(field)
    if field == "BinaryValue":
        valid = isinstance(value, (bytes, bytearray, memoryview)) or (
            isinstance(value, str) and _is_base64(value)
        )
    else:
        valid = isinstance(value, str)
    if not valid:
        raise _bad(
            f"The message attribute '{name}' must contain a message attribute value for message "
            f"attribute type '{kind}'."
        )
    if isinstance(value, str):
        utf8(value, f"Message attribute {name!r}")
        _check_value(name, kind, value)


def _check_value(name: str, kind: str, value: str) -> None:
    if kind.startswith("Number") and not _NUMBER.fullmatch(value):
        raise _bad(f"Could not cast message attribute '{name}' value to number.")
    if kind.startswith("String.Array"):
        try:
            array = pydantic_core.from_json(value)
        except ValueError:
            array = None
        if not isinstance(array, list):
            raise _bad(
                f"The message attribute '{name}' of type 'String.Array' must be a JSON array."
            )


def _is_base64(text: str) -> bool:
    try:
        binary_value(text)
    except ValueError:  # binascii.Error
        return False
    return True


def _bad(message: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(f"Invalid parameter: MessageAttributes: {message}")


def _filterable(attributes: MessageAttributes) -> dict[str, Any]:
    """Message attributes as a filter policy sees them (in Publish's shape or as delivered):
    numbers as numbers, a ``String.Array`` as its list; SNS ignores ``Binary`` ones."""
    values: dict[str, Any] = {}
    for name, attribute in attributes.items():
        kind = attribute.get("DataType", attribute.get("Type", "String"))
        value = attribute.get("StringValue", attribute.get("Value"))
        if not isinstance(kind, str) or not isinstance(value, str) or kind.startswith("Binary"):
            continue
        if kind.startswith("Number"):
            values[name] = float(value) if "." in value or "e" in value.lower() else int(value)
        elif kind.startswith("String.Array"):
            values[name] = pydantic_core.from_json(value)
        else:
            values[name] = value
    return values


# -- Records -----------------------------------------------------------------------------------


def sns_record(
    *,
    topic_arn: str,
    subscription_arn: str,
    message_id: str,
    message: str,
    time: float,
    region: str,
    subject: str | None = None,
    message_attributes: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The record of an SNS notification (SNS invokes with one record).

    ``message_attributes`` may be given as ``Publish`` takes them (``{"DataType": "String",
    "StringValue": "..."}`` or ``"BinaryValue"``) or as delivered (``{"Type": ..., "Value":
    ...}``); they are delivered as ``{"Type", "Value"}``, binary values base64-encoded. A
    message without a subject has ``"Subject": null``. The signature is well-formed but signs
    nothing.
    """
    signature = b64(hashlib.sha256(message_id.encode()).digest() * 8)  # 256 bytes, like RSA's
    return {
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": timestamp(time),
            "Signature": signature,
            "SigningCertUrl": f"https://sns.{region}.amazonaws.com/{_SNS_CERTIFICATE}",
            "MessageId": message_id,
            "Message": message,
            "MessageAttributes": {
                name: _sns_attribute(value) for name, value in (message_attributes or {}).items()
            },
            "Type": "Notification",
            "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/"
            f"?Action=Unsubscribe&SubscriptionArn={subscription_arn}",
            "TopicArn": topic_arn,
            "Subject": subject,
        },
    }


def _sns_attribute(attribute: Mapping[str, Any]) -> dict[str, str]:
    if "Type" in attribute:
        return {"Type": attribute["Type"], "Value": attribute["Value"]}
    if "StringValue" in attribute:
        value = str(attribute["StringValue"])
    else:
        value = b64(binary_value(attribute["BinaryValue"]))
    return {"Type": attribute["DataType"], "Value": value}
