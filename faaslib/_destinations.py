"""Destinations of asynchronous invocations: what a destination may be, and what it receives."""

from __future__ import annotations

import datetime
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

import pydantic_core

from ._arn import parse_function_ref
from ._errors import ValidationException
from .workflows._machines import machine_name_of

if TYPE_CHECKING:
    from typing import TypeAlias

    from ._result import InvocationResult

__all__ = [
    "DeadLetter",
    "DeadLetterTarget",
    "Destination",
    "DestinationTarget",
    "check_destination",
    "deliver",
    "invocation_record",
    "payload_value",
]

Condition = Literal["Success", "RetriesExhausted", "EventAgeExceeded"]


class DestinationTarget(Protocol):
    """An in-process target, such as a queue, a topic or an event bus: it has a ``send`` method.

    ``send(record)`` may be a coroutine function or a plain one.
    """

    def send(self, record: Any, /) -> Any: ...


class DeadLetterTarget(Protocol):
    """A dead-letter target whose ``send`` takes the message attributes Lambda sends with a
    dead letter (``RequestID``, ``ErrorCode``, ``ErrorMessage``, in SendMessage's shape).

    Only a dead letter carries attributes: a ``send`` that requires them fails (a failed
    delivery, counted and logged) when the target is an ``on_success`` or ``on_failure``
    destination. ``send`` may be a coroutine function or a plain one.
    """

    def send(self, message: Any, /, *, attributes: dict[str, dict[str, str]]) -> Any: ...


#: Where an asynchronous invocation's record goes: a registered function's name or ARN
#: (invoked with invocation type Event), a registered state machine's ARN (an execution
#: started with the record as input), a :class:`DestinationTarget`, or a callable.
Destination: TypeAlias = str | DestinationTarget | Callable[[Any], Any]
#: Where the original event of a failed asynchronous invocation goes: a :data:`Destination`,
#: or a :class:`DeadLetterTarget` (whose ``send`` takes Lambda's message attributes).
DeadLetter: TypeAlias = Destination | DeadLetterTarget


def check_destination(field: str, value: object) -> None:
    """Reject a destination the invoker could not deliver to.

    :raises ~faaslib.ValidationException: ``value`` is neither a function reference, an object
        with a ``send`` method, nor a callable; or it is a dead-letter target that says it may
        not be one (``faas_dead_letter = False``: an event bus, which only destinations take)
    """
    machine = isinstance(value, str) and machine_name_of(value) is not None
    if field == "deadLetterConfig.targetArn" and (
        machine or getattr(value, "faas_dead_letter", True) is False
    ):  # an event bus or a state machine: a destination, never a dead-letter target
        raise ValidationException(
            field, value, "Member must be an Amazon SQS queue or an Amazon SNS topic"
        )
    if (
        value is None
        or machine
        or (not isinstance(value, str) and (_send_of(value) or callable(value)))
    ):
        return
    if isinstance(value, str) and parse_function_ref(value) is not None:
        return
    raise ValidationException(
        field,
        value,
        "Member must be a function name or ARN, an object with a send(record) method, "
        "or a callable",
    )


def _send_of(target: object) -> Callable[..., Any] | None:
    send = getattr(target, "send", None)
    return send if callable(send) else None


async def deliver(
    target: object, message: Any, attributes: dict[str, dict[str, str]] | None = None
) -> None:
    """Hand ``message`` to an in-process target (a ``send`` method, or the callable itself).

    ``attributes`` (message attributes in SQS's shape) go along only to a target whose
    ``send`` takes an ``attributes`` keyword.
    """
    send = _send_of(target)
    if send is None:
        outcome = target(message)  # type: ignore[operator]
    elif attributes is not None and _takes_attributes(send):
        outcome = send(message, attributes=attributes)
    else:
        outcome = send(message)
    if inspect.isawaitable(outcome):
        await outcome


def _takes_attributes(send: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(send).parameters
    except (TypeError, ValueError):  # no signature to read (some builtins)
        return False
    return "attributes" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def dead_letter_attributes(
    request_id: str, response: InvocationResult | None
) -> dict[str, dict[str, str]]:
    """The message attributes Lambda sends with a dead letter: ``RequestID``, and for an event
    that ran, ``ErrorCode`` (the invocation's status code) and ``ErrorMessage`` (its first KB).
    """
    attributes = {"RequestID": {"DataType": "String", "StringValue": request_id}}
    if response is not None:
        document = payload_value(response.payload)
        message = document.get("errorMessage") if isinstance(document, dict) else None
        attributes["ErrorCode"] = {"DataType": "Number", "StringValue": str(response.status_code)}
        attributes["ErrorMessage"] = {
            "DataType": "String",
            "StringValue": str(message)[:1024] if message is not None else "",
        }
    return attributes


def payload_value(data: bytes) -> Any:
    """A payload as a record carries it: its JSON value (``None`` when empty), or its text
    where it is not JSON faaslib reads back (raw bytes a handler returned, JSON nested deeper
    than the parser goes), so that a record is always made and nothing is lost."""
    if not data:
        return None
    try:
        return pydantic_core.from_json(data)
    except ValueError:
        return data.decode(errors="replace")


def timestamp(seconds: float) -> str:
    """Lambda's record time stamp: ISO 8601 in UTC with milliseconds, e.g. ``...T18:16:05.568Z``."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: Condition,
    attempts: int,
    time: float,
    request_payload: bytes,
    response: InvocationResult | None,
) -> dict[str, Any]:
    """The invocation record Lambda sends to an ``on_success`` or ``on_failure`` destination.

    ``function_arn`` is qualified with the executed version (``...:function:name:$LATEST``).
    An event that expired before any attempt has no response, so its record carries no
    ``responseContext`` and no ``responsePayload``.
    """
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": timestamp(time),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": payload_value(request_payload),
    }
    if response is not None:
        context: dict[str, Any] = {
            "statusCode": response.status_code,
            "executedVersion": response.executed_version,
        }
        if response.function_error is not None:
            context["functionError"] = response.function_error
        record["responseContext"] = context
        record["responsePayload"] = payload_value(response.payload)
    return record
