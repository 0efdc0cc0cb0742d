"""Amazon EventBridge: ``EventBus``, an in-memory event bus that routes the events put on it
to the rules whose patterns match; the ``EventBridgeRule`` trigger (SAM's event type) with
its target input, retry policy and dead-letter queue; and the events Lambda puts on a bus that
is an ``on_success`` or ``on_failure`` destination (push model)."""

from __future__ import annotations

import datetime
import heapq
import itertools
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import pydantic_core

from .._destinations import deliver, timestamp
from .._errors import (
    AccessDeniedException,
    FaaslibError,
    InvalidParameterValueException,
    InvalidRequestContentException,
    ResourceNotFoundException,
    ValidationException,
)
from .._ids import new_request_id
from .._wakeup import sleep_until_woken
from .patterns import EventPattern
from .push import PushSource, PushTrigger
from .schedule import eventbridge_event

if TYPE_CHECKING:
    from anyio import CancelScope

    from .._clock import Clock
    from .._site import Site
    from .._triggers import TriggerHost

__all__ = [
    "EventBridgeRule",
    "EventBus",
    "InvalidEventPatternException",
    "RuleStatistics",
    "invocation_result_event",
]

logger = logging.getLogger("faaslib")

#: Entries one PutEvents call takes.
MAX_ENTRIES = 10
#: Bytes the entries of one PutEvents call may total, counted as EventBridge counts them
#: (raised from 256 KB to 1 MB in 2025, as Lambda's Event payloads were).
MAX_PUT_SIZE = 1024 * 1024
_TIME_SIZE = 14  # what an entry's Time counts for
_MAX_INPUT = 8192  # PutTargets' Input and InputTemplate
_MAX_PATH = 256  # InputPath and each InputPathsMap value
_MAX_VARIABLES = 100
_MAX_PATTERN = 4096  # PutRule's EventPattern
_DEFAULT_RETRIES = 185
_DEFAULT_AGE = 86_400
_FIRST_BACKOFF = 1.0
_MAX_BACKOFF = 300.0
_BUS_NAME = re.compile(r"[/.\-_A-Za-z0-9]{1,256}")
_RULE_NAME = re.compile(r"[.\-_A-Za-z0-9]{1,64}")
_VARIABLE = re.compile(r"[A-Za-z0-9_\-]{1,256}")
_PATH_STEP = re.compile(
    r"\.(?P<name>[A-Za-z0-9_\-/]+|\*)|\[(?P<index>\d+|\*)\]|\[(?P<q>['\"])(?P<quoted>[^'\"]+)(?P=q)\]"
)
_SUCCESS = "Lambda Function Invocation Result - Success"
_FAILURE = "Lambda Function Invocation Result - Failure"


class InvalidEventPatternException(InvalidParameterValueException):
    """A rule's event pattern is not valid (PutRule's ``InvalidEventPatternException``): not
    JSON, an empty object or match array, an unknown or malformed operator."""

    error_type = "InvalidEventPatternException"


class _TooLarge(ValidationException):
    """PutEvents' entries are over :data:`MAX_PUT_SIZE` together."""

    def __init__(self, size: int) -> None:
        FaaslibError.__init__(self, "Total size of the entries in the request is over the limit.")
        self.field = "Entries"
        self.value = size


# -- the bus ------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Event:
    """One event put on a bus: what every matching rule delivers. Its time and ingestion time
    are read when it is delivered if the bus had no site yet when it was put."""

    bus: EventBus
    event_id: str
    source: str
    detail_type: str
    detail: Any
    resources: tuple[str, ...]
    time: float | None
    ingested: float | None

    def received(self) -> float:
        """When EventBridge received the event (fixed at the first delivery if unknown)."""
        if self.ingested is None:
            self.ingested = self.bus.clock.time()
        return self.ingested

    def __call__(self) -> dict[str, Any]:
        """The event, as a target receives it (a fresh copy)."""
        return self._build(self.received())

    def view(self) -> dict[str, Any]:
        """The event as rules match it when it is put (fixing no time)."""
        return self._build(self.bus.clock.time() if self.ingested is None else self.ingested)

    def _build(self, ingested: float) -> dict[str, Any]:
        return eventbridge_event(
            detail_type=self.detail_type,
            source=self.source,
            detail=pydantic_core.from_json(pydantic_core.to_json(self.detail)),
            resources=self.resources,
            time=ingested if self.time is None else self.time,
            region=self.bus.region,
            account=self.bus.account_id,
            event_id=self.event_id,
        )


class EventBus(PushSource):
    """An in-memory EventBridge event bus: ``put_events`` takes entries as PutEvents does and
    routes each event to every enabled :class:`EventBridgeRule` whose pattern matches.

    It can be an ``on_success`` or ``on_failure`` destination of asynchronous invocations:
    ``send`` puts the invocation record as the ``detail`` of an event from source ``lambda``
    (``Lambda Function Invocation Result - Success`` or ``- Failure``).
    """

    #: Lambda may not send a dead letter to an event bus (only to a queue or a topic).
    faas_dead_letter: ClassVar[bool] = False

    def __init__(
        self,
        name: str = "default",
        *,
        region: str | None = None,
        account_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(name, str) or not _BUS_NAME.fullmatch(name):
            raise ValidationException(
                "name",
                name,
                r"Member must satisfy regular expression pattern: [/\.\-_A-Za-z0-9]+ "
                "and have length from 1 to 256",
            )
        super().__init__(region, account_id, clock)
        self.name = name

    @property
    def arn(self) -> str:
        return f"arn:aws:events:{self.region}:{self.account_id}:event-bus/{self.name}"

    def rule_arn(self, rule_name: str) -> str:
        """The ARN of a rule of this bus (a custom bus's rules name it in theirs)."""
        prefix = f"arn:aws:events:{self.region}:{self.account_id}:rule/"
        return prefix + (rule_name if self.name == "default" else f"{self.name}/{rule_name}")

    def put_events(self, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Put events, as PutEvents does; answer PutEvents' response.

        Each entry has ``Source``, ``DetailType``, ``Detail`` (a JSON object's text), and
        optionally ``Resources`` (ARNs), ``Time`` (a datetime, epoch seconds or ISO 8601 text)
        and ``EventBusName`` (this bus's name or ARN). An entry that is not valid fails alone:
        its result holds ``ErrorCode`` and ``ErrorMessage`` instead of ``EventId``.

        :return: ``{"FailedEntryCount": n, "Entries": [{"EventId": ...}, ...]}``
        :raises ~faaslib.ValidationException: no entries, more than 10, or entries over
            1 MB together
        """
        given = list(entries)
        if not 1 <= len(given) <= MAX_ENTRIES:
            bound = "greater than or equal to 1" if not given else "less than or equal to 10"
            raise ValidationException(
                "entries", "[PutEventsRequestEntry]", f"Member must have length {bound}"
            )
        size = sum(_entry_size(entry) for entry in given)
        if size > MAX_PUT_SIZE:
            raise _TooLarge(size)
        results = [self._put(entry) for entry in given]
        failed = sum("ErrorCode" in result for result in results)
        return {"FailedEntryCount": failed, "Entries": results}

    def _put(self, entry: Mapping[str, Any]) -> dict[str, str]:
        try:
            event = self._read(entry)
        except _EntryError as exc:
            return {"ErrorCode": exc.code, "ErrorMessage": exc.message}
        self._route(event)
        return {"EventId": event.event_id}

    def _read(self, entry: Mapping[str, Any]) -> _Event:
        """The event an entry puts, or :class:`_EntryError` saying why it is refused."""
        if not isinstance(entry, Mapping):
            raise _EntryError("InvalidArgument", "Parameter Entry is not valid.")
        for name in ("Source", "DetailType", "Detail"):
            value = entry.get(name)
            if not isinstance(value, str) or not value:
                raise _EntryError(
                    "InvalidArgument",
                    f"Parameter {name} is not valid. Reason: {name} is a required argument.",
                )
        source: str = entry["Source"]
        if source.startswith("aws."):
            raise _EntryError("NotAuthorizedForSourceException", "Not authorized for the source.")
        try:
            detail = pydantic_core.from_json(entry["Detail"])
        except ValueError:
            detail = None
        if not isinstance(detail, dict):
            raise _EntryError("MalformedDetail", "Detail is malformed.")
        bus = entry.get("EventBusName")
        if bus is not None and bus not in (self.name, self.arn):
            raise _EntryError("ResourceNotFoundException", f"Event bus {bus} does not exist.")
        sent_at = self._sent_at()
        return _Event(
            bus=self,
            event_id=new_request_id(),
            source=source,
            detail_type=entry["DetailType"],
            detail=detail,
            resources=_resources(entry.get("Resources")),
            time=_entry_time(entry.get("Time")),
            ingested=sent_at,
        )

    def _route(self, event: _Event) -> None:
        """Hand the event to every rule that matches it."""
        rules = [t for t in self._subscribers if isinstance(t, EventBridgeRule) and t.enabled]
        if not rules:
            return
        view = event.view()
        for rule in rules:
            if rule.matches(view):
                rule._counters["matched_events"] += 1
                rule.emit(event)

    def send(self, record: Any, /) -> None:
        """Put an asynchronous invocation's destination record on the bus, as Lambda does.

        :raises ~faaslib.InvalidParameterValueException: ``record`` is not an invocation record
        """
        context = record.get("requestContext") if isinstance(record, Mapping) else None
        if not isinstance(context, Mapping) or "functionArn" not in context:
            raise InvalidParameterValueException(
                "An event bus takes invocation records (a destination), not other messages"
            )
        success = context.get("condition") == "Success"
        event = _Event(
            bus=self,
            event_id=new_request_id(),
            source="lambda",
            detail_type=_SUCCESS if success else _FAILURE,
            detail=record,
            resources=(self.arn, str(context["functionArn"])),
            time=None,
            ingested=self._sent_at(),
        )
        self._route(event)

    def __repr__(self) -> str:
        return f"<EventBus {self.name} rules={len(self._subscribers)}>"


class _EntryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _entry_size(entry: object) -> int:
    """An entry's size as EventBridge counts it: 14 bytes for a Time, and the UTF-8 bytes of
    Source, DetailType, Detail and each resource."""
    if not isinstance(entry, Mapping):
        return 0
    size = _TIME_SIZE if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        value = entry.get(name)
        if isinstance(value, str):
            size += len(value.encode("utf-8", "surrogatepass"))
    resources = entry.get("Resources")
    if isinstance(resources, (list, tuple)):
        size += sum(len(str(r).encode("utf-8", "surrogatepass")) for r in resources)
    return size


def _resources(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(item, str) and len(item) <= 2048 for item in value
    ):
        raise _EntryError(
            "InvalidArgument",
            "Parameter Resources is not valid. Reason: Resources is a list of ARNs "
            "of at most 2048 characters.",
        )
    return tuple(value)


def _entry_time(value: object) -> float | None:
    """An entry's Time as epoch seconds (a naive datetime is UTC, as botocore sends it)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            value = None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise _EntryError("InvalidArgument", "Parameter Time is not valid. Reason: not a timestamp.")


def invocation_result_event(
    record: Mapping[str, Any],
    *,
    bus: str = "default",
    event_id: str | None = None,
    time: float | None = None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
) -> dict[str, Any]:
    """The event Lambda puts on an event bus that is a function's ``on_success`` or
    ``on_failure`` destination: the invocation ``record`` as ``detail``.

    :param record: an invocation record (its ``requestContext.condition`` picks Success or
        Failure, its ``functionArn`` is the second resource after the bus's ARN)
    :param bus: the bus's name
    :param time: epoch seconds (default: the record's ``timestamp``)
    """
    context = record["requestContext"]
    when = time
    if when is None:
        stamp = str(record.get("timestamp", "")).replace("Z", "+00:00")
        when = datetime.datetime.fromisoformat(stamp).timestamp() if stamp else 0.0
    return eventbridge_event(
        detail_type=_SUCCESS if context.get("condition") == "Success" else _FAILURE,
        source="lambda",
        detail=dict(record),
        resources=[
            f"arn:aws:events:{region}:{account_id}:event-bus/{bus}",
            str(context["functionArn"]),
        ],
        time=when,
        region=region,
        account=account_id,
        event_id=event_id or new_request_id(),
    )


# -- JSONPath (the subset EventBridge evaluates) -------------------------------------------------


class _Missing:
    """What a path gives when the event has nothing there."""


_MISSING = _Missing()


@dataclass(frozen=True)
class _Path:
    """``$``, ``$.detail.items[0]``, ``$.resources[*]``, ``$['detail-type']``: dots, brackets,
    indices and ``*`` wildcards (a path with a wildcard gives the list of what it found)."""

    text: str
    steps: tuple[str | int | None, ...]  # a name, an index, or None for a wildcard

    @classmethod
    def parse(cls, text: object, field_name: str) -> _Path:
        if not isinstance(text, str) or not text.startswith("$") or len(text) > _MAX_PATH:
            raise _bad_path(field_name, text)
        steps: list[str | int | None] = []
        at = 1
        while at < len(text):
            step = _PATH_STEP.match(text, at)
            if step is None:
                raise _bad_path(field_name, text)
            name, index, quoted = step["name"], step["index"], step["quoted"]
            if quoted is not None:
                steps.append(quoted)
            elif name is not None:
                steps.append(None if name == "*" else name)
            else:
                steps.append(None if index == "*" else int(index))
            at = step.end()
        return cls(text, tuple(steps))

    def find(self, event: Any) -> Any:
        """The value at the path, or :data:`_MISSING`."""
        nodes: list[Any] = [event]
        for step in self.steps:
            found: list[Any] = []
            for node in nodes:
                found.extend(_children(node, step))
            nodes = found
        if None in self.steps:
            return nodes if nodes else _MISSING
        return nodes[0] if nodes else _MISSING


def _children(node: Any, step: str | int | None) -> list[Any]:
    if step is None:
        if isinstance(node, dict):
            return list(node.values())
        return list(node) if isinstance(node, list) else []
    if isinstance(step, int):
        return [node[step]] if isinstance(node, list) and step < len(node) else []
    return [node[step]] if isinstance(node, dict) and step in node else []


def _bad_path(field_name: str, text: object) -> ValidationException:
    return ValidationException(
        field_name,
        text,
        "Member must be a JSONPath of at most 256 characters: $, then .name, ['name'], "
        "[index] or * steps",
    )


# -- the input a target gets --------------------------------------------------------------------


@dataclass(frozen=True)
class _Transformer:
    """An InputTransformer: variables from JSON paths, filled into a template."""

    paths: tuple[tuple[str, _Path], ...]
    template: str

    @classmethod
    def parse(cls, value: object) -> _Transformer:
        if not isinstance(value, Mapping):
            raise ValidationException(
                "InputTransformer", value, "Member must be an object with an InputTemplate"
            )
        template = value.get("InputTemplate")
        if not isinstance(template, str) or not 1 <= len(template) <= _MAX_INPUT:
            raise ValidationException(
                "InputTransformer.InputTemplate",
                template,
                f"Member must have length from 1 to {_MAX_INPUT}",
            )
        given = value.get("InputPathsMap") or {}
        if not isinstance(given, Mapping) or len(given) > _MAX_VARIABLES:
            raise ValidationException(
                "InputTransformer.InputPathsMap",
                given,
                f"Member must be a map of at most {_MAX_VARIABLES} JSON paths",
            )
        paths = []
        for name, path in given.items():
            if not isinstance(name, str) or not _VARIABLE.fullmatch(name):
                raise ValidationException(
                    "InputTransformer.InputPathsMap",
                    name,
                    r"Member must satisfy regular expression pattern: [A-Za-z0-9\_\-]+",
                )
            paths.append((name, _Path.parse(path, f"InputTransformer.InputPathsMap.{name}")))
        return cls(tuple(paths), template)

    def fill(self, event: dict[str, Any], rule_name: str, rule_arn: str, ingested: float) -> str:
        """The template with each ``<variable>`` filled as EventBridge fills it."""
        values: dict[str, Any] = {
            "aws.events.rule-arn": rule_arn,
            "aws.events.rule-name": rule_name,
            "aws.events.event.ingestion-time": timestamp(ingested),
            "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
            "aws.events.event.json": event,
        }
        for name, path in self.paths:
            values[name] = path.find(event)
        return _fill(self.template, values)


def _fill(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``<name>`` placeholders: inside a JSON string a value goes in as text (an object or
    array without its quotes), elsewhere as JSON (a string quoted). A variable whose path found
    nothing is empty text in a string and ``null`` elsewhere; ``<text>`` naming no variable is
    left as it is."""
    out: list[str] = []
    in_string = False
    at = 0
    while at < len(template):
        char = template[at]
        if char == "\\" and in_string:
            out.append(template[at : at + 2])
            at += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            end = template.find(">", at + 1)
            name = template[at + 1 : end] if end != -1 else None
            if name is not None and name in values:
                out.append(_placed(values[name], in_string))
                at = end + 1
                continue
        out.append(char)
        at += 1
    return "".join(out)


def _placed(value: Any, in_string: bool) -> str:
    if in_string:
        if value is _MISSING:
            return ""
        if isinstance(value, str):
            return json.dumps(value, ensure_ascii=False)[1:-1]
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if isinstance(value, (dict, list)):  # its quotes removed, to keep the string whole
            return json.dumps(text.replace('"', ""), ensure_ascii=False)[1:-1]
        return text
    if value is _MISSING:
        return "null"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _input_text(value: object) -> str:
    """A target's constant Input: JSON text (or a value, written as JSON), at most 8 KB."""
    if isinstance(value, str):
        text = value
        try:
            pydantic_core.from_json(text)
        except ValueError:
            raise ValidationException("Input", value, "Member must be valid JSON text") from None
    else:
        try:
            text = pydantic_core.to_json(value).decode()
        except pydantic_core.PydanticSerializationError:
            raise ValidationException("Input", value, "Member must be valid JSON text") from None
    if len(text) > _MAX_INPUT:
        raise ValidationException(
            "Input", value, f"Member must have length less than or equal to {_MAX_INPUT}"
        )
    return text


# -- the rule -----------------------------------------------------------------------------------


@dataclass
class RuleStatistics:
    """What EventBridge's CloudWatch metrics count for a rule's Lambda target."""

    matched_events: int = 0
    invocations: int = 0
    failed_invocations: int = 0
    retry_invocation_attempts: int = 0
    invocations_sent_to_dlq: int = 0
    invocations_failed_to_be_sent_to_dlq: int = 0


@dataclass(frozen=True, eq=False)
class EventBridgeRule(PushTrigger):
    """Invoke the function (invocation type Event) with each event put on ``bus`` that
    ``pattern`` matches, as an EventBridge rule with the function as its target (SAM's
    ``EventBridgeRule`` event).

    The function gets the event, or what one of ``input``, ``input_path`` and
    ``input_transformer`` makes of it. A delivery Lambda refuses for a passing reason (a
    throttle, a full event queue, a service error) is retried with exponential backoff (1 s,
    doubling to 5 minutes) while ``retry_policy`` allows; a refusal retrying cannot mend
    (missing permission, no such function, a payload Lambda refuses) is not retried. Then the
    event goes to ``dead_letter``, with EventBridge's message attributes, or is dropped. Once
    Lambda has accepted the event, Lambda's own asynchronous retries apply.

    :param bus: the event bus
    :param pattern: an event pattern (a mapping or its JSON text)
    :param input: JSON the function gets instead of the event (SAM's ``Input``: text, or a
        value written as JSON)
    :param input_path: a JSONPath to the part of the event the function gets (``InputPath``)
    :param input_transformer: ``{"InputPathsMap": {"name": "$.detail.name"}, "InputTemplate":
        '{"who": <name>}'}``
    :param retry_policy: ``{"MaximumRetryAttempts": 0-185, "MaximumEventAgeInSeconds":
        60-86400}`` (defaults 185 and 86400)
    :param dead_letter: where undeliverable events go: a standard queue (an object whose
        ``send`` takes SQS ``attributes``)
    :param name: the rule's name (default: derived from the function's name)
    :param enabled: whether the rule matches events (SAM's ``State``)
    :raises ~faaslib.ValidationException: an invalid setting
    :raises InvalidEventPatternException: an invalid pattern
    """

    faas_trigger: ClassVar[str] = "pubsub"

    bus: EventBus
    pattern: Mapping[str, Any] | str
    input: Any = None
    input_path: str | None = None
    input_transformer: Mapping[str, Any] | None = None
    retry_policy: Mapping[str, int] | None = None
    dead_letter: Any = None
    name: str | None = None
    enabled: bool = True
    _pattern: EventPattern = field(init=False, repr=False)
    _input: str | _Path | _Transformer | None = field(default=None, init=False, repr=False)
    _retries: int = field(default=_DEFAULT_RETRIES, init=False, repr=False)
    _max_age: int = field(default=_DEFAULT_AGE, init=False, repr=False)
    _counters: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(RuleStatistics.__dataclass_fields__, 0),
        init=False,
        repr=False,
    )

    def __post_init__(self) -> None:
        if not isinstance(self.bus, EventBus):
            raise InvalidParameterValueException("EventBridgeRule trigger needs a faaslib.EventBus")
        object.__setattr__(self, "_pattern", _compile_pattern(self.pattern))
        object.__setattr__(self, "_input", self._read_input())
        self._read_retry_policy()
        if self.dead_letter is not None:
            _check_dead_letter(self.dead_letter)
        if self.name is not None and (
            not isinstance(self.name, str) or not _RULE_NAME.fullmatch(self.name)
        ):
            raise ValidationException(
                "Name",
                self.name,
                r"Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+ "
                "and have length from 1 to 64",
            )
        if not isinstance(self.enabled, bool):
            raise ValidationException("enabled", self.enabled, "Member must be a boolean")

    def _read_input(self) -> str | _Path | _Transformer | None:
        given = [
            name
            for name, value in (
                ("Input", self.input),
                ("InputPath", self.input_path),
                ("InputTransformer", self.input_transformer),
            )
            if value is not None
        ]
        if len(given) > 1:
            raise ValidationException(
                "Targets", given, "Only one of Input, InputPath, or InputTransformer may be given"
            )
        if self.input is not None:
            return _input_text(self.input)
        if self.input_path is not None:
            return _Path.parse(self.input_path, "InputPath")
        if self.input_transformer is not None:
            return _Transformer.parse(self.input_transformer)
        return None

    def _read_retry_policy(self) -> None:
        policy = self.retry_policy
        if policy is None:
            return
        if not isinstance(policy, Mapping) or set(policy) - {
            "MaximumRetryAttempts",
            "MaximumEventAgeInSeconds",
        }:
            raise ValidationException(
                "RetryPolicy",
                policy,
                "Member must hold MaximumRetryAttempts and MaximumEventAgeInSeconds only",
            )
        retries = policy.get("MaximumRetryAttempts", _DEFAULT_RETRIES)
        age = policy.get("MaximumEventAgeInSeconds", _DEFAULT_AGE)
        _check_whole("RetryPolicy.MaximumRetryAttempts", retries, 0, 185)
        _check_whole("RetryPolicy.MaximumEventAgeInSeconds", age, 60, 86_400)
        object.__setattr__(self, "_retries", retries)
        object.__setattr__(self, "_max_age", age)

    @property
    def source(self) -> EventBus:
        return self.bus

    def rule_name(self, function_name: str) -> str:
        """The rule's name: :attr:`name`, else one made from the function's name."""
        return self.name or f"{function_name[:55]}-events"

    def invoked_as(self, function_name: str, site: Site) -> tuple[str, str]:
        return "events.amazonaws.com", self.bus.rule_arn(self.rule_name(function_name))

    def matches(self, event: Mapping[str, Any]) -> bool:
        """Whether the rule's pattern matches ``event``."""
        return self._pattern.matches(event)

    def statistics(self) -> RuleStatistics:
        """The rule's counts so far (over every function that lists it)."""
        return RuleStatistics(**self._counters)

    def payload(self, event: dict[str, Any], rule_name: str, rule_arn: str, ingested: float) -> str:
        """What the target gets for ``event``: JSON text."""
        chosen = self._input
        if chosen is None:
            return json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        if isinstance(chosen, str):
            return chosen
        if isinstance(chosen, _Path):
            found = chosen.find(event)
            return _placed(found, in_string=False)
        return chosen.fill(event, rule_name, rule_arn, ingested)

    def runner(self, function_name: str, host: TriggerHost) -> RuleRunner:  # type: ignore[override]
        """A runner delivering what the bus routes to this rule to ``function_name``."""
        self.bus.follow(host.site)
        return RuleRunner(function_name, self, host.invoke, host.function_arn)


def _compile_pattern(pattern: object) -> EventPattern:
    text = pattern if isinstance(pattern, str) else None
    if text is None and isinstance(pattern, Mapping):
        try:
            text = json.dumps(pattern, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError):
            text = None
    if text is not None and len(text) > _MAX_PATTERN:
        raise ValidationException(
            "EventPattern", text, f"Member must have length less than or equal to {_MAX_PATTERN}"
        )
    try:
        return EventPattern(pattern)  # type: ignore[arg-type]
    except InvalidParameterValueException as exc:
        reason = exc.message.removeprefix("Invalid filter pattern definition. ")
        raise InvalidEventPatternException(
            f"Event pattern is not valid. Reason: {reason}"
        ) from None


def _check_whole(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationException(
            name, value, f"Member must be a whole number from {low} to {high}"
        )


def _check_dead_letter(target: object) -> None:
    """EventBridge's dead-letter queues are standard SQS queues."""
    if not callable(getattr(target, "send", None)):
        raise ValidationException(
            "DeadLetterConfig.Arn", target, "Member must be a queue (an object with send)"
        )
    if str(getattr(target, "name", "")).endswith(".fifo"):
        raise ValidationException(
            "DeadLetterConfig.Arn", target, "Member must be a standard queue, not a FIFO queue"
        )


# -- the runner ---------------------------------------------------------------------------------

#: Lambda's refusals EventBridge does not retry, with its error codes; others it retries.
_FINAL: tuple[tuple[type[FaaslibError], str], ...] = (
    (AccessDeniedException, "NO_PERMISSIONS"),
    (ResourceNotFoundException, "NO_RESOURCE"),
    (InvalidRequestContentException, "INVALID_JSON"),
)


def _error_code(exc: FaaslibError) -> tuple[str, bool]:
    """EventBridge's error code for a refused invocation, and whether it retries it."""
    for kind, code in _FINAL:
        if isinstance(exc, kind):
            return code, False
    if exc.status_code == 429:
        return "THROTTLING", True
    if exc.status_code >= 500:
        return "INTERNAL_ERROR", True
    return "INVALID_PARAMETER", False


@dataclass(eq=False)
class _Delivery:
    """One event on its way to the rule's target: its payload, and the retries made."""

    event: dict[str, Any]
    payload: bytes
    ingested: float
    retries: int = 0


class RuleRunner:
    """Delivers what an :class:`EventBridgeRule` receives to one function (Event invocations)
    on the invoker's task group, retrying refused deliveries on the bus's clock."""

    def __init__(
        self,
        function_name: str,
        trigger: EventBridgeRule,
        invoke: Callable[..., Awaitable[Any]],
        function_arn: Callable[[str], str],
    ) -> None:
        self.function_name = function_name
        self.trigger = trigger
        self._invoke = invoke
        self.rule_name = trigger.rule_name(function_name)
        self.rule_arn = trigger.bus.rule_arn(self.rule_name)
        self.target_arn = function_arn(function_name)
        self._clock = trigger.bus.clock
        self._retrying: list[tuple[float, int, _Delivery]] = []
        self._order = itertools.count()
        self._busy = False
        self._idle: anyio.Event | None = None
        self.scope: CancelScope | None = None

    async def run(self) -> None:
        outbox = self.trigger._outbox
        while True:
            while outbox:
                self._busy = True
                await self._attempt(self._delivery(outbox[0]))
                outbox.popleft()
                self._busy = False
            now = self._clock.time()
            if self._retrying and self._retrying[0][0] <= now:
                _, _, delivery = heapq.heappop(self._retrying)
                self._busy = True
                try:
                    await self._attempt(delivery)
                finally:
                    self._busy = False
                continue
            self._maybe_idle()
            if self._retrying:
                await sleep_until_woken(self.trigger._waiters, (self._clock, self._retrying[0][0]))
            else:
                await sleep_until_woken(self.trigger._waiters)

    def _delivery(self, item: Callable[[], dict[str, Any]]) -> _Delivery:
        event = item()
        ingested = item.received() if isinstance(item, _Event) else self._clock.time()
        text = self.trigger.payload(event, self.rule_name, self.rule_arn, ingested)
        return _Delivery(event, text.encode("utf-8", "surrogatepass"), ingested)

    async def _attempt(self, delivery: _Delivery) -> None:
        counters = self.trigger._counters
        counters["invocations"] += 1
        if delivery.retries:
            counters["retry_invocation_attempts"] += 1
        try:
            await self._invoke(
                self.function_name,
                delivery.payload,
                "Event",
                principal="events.amazonaws.com",
                source_arn=self.rule_arn,
            )
        except FaaslibError as exc:
            await self._refused(delivery, exc)

    async def _refused(self, delivery: _Delivery, exc: FaaslibError) -> None:
        code, retried = _error_code(exc)
        exhausted: str | None = None
        if retried:
            backoff = min(_FIRST_BACKOFF * 2**delivery.retries, _MAX_BACKOFF)
            due = self._clock.time() + backoff
            if delivery.retries >= self.trigger._retries:
                exhausted = "MaximumRetryAttempts"
            elif due - delivery.ingested > self.trigger._max_age:
                exhausted = "MaximumEventAgeInSeconds"
            else:
                delivery.retries += 1
                heapq.heappush(self._retrying, (due, next(self._order), delivery))
                return
        self.trigger._counters["failed_invocations"] += 1
        await self._give_up(delivery, exc, code, exhausted)

    async def _give_up(
        self, delivery: _Delivery, exc: FaaslibError, code: str, exhausted: str | None
    ) -> None:
        """Send the event to the dead-letter queue, or drop it (logged)."""
        target = self.trigger.dead_letter
        if target is None:
            logger.error(
                "Rule %s could not deliver event %s to function %s, dropped: %s: %s",
                self.rule_name,
                delivery.event.get("id"),
                self.function_name,
                code,
                exc.message,
            )
            return
        values = {
            "RULE_ARN": self.rule_arn,
            "TARGET_ARN": self.target_arn,
            "ERROR_CODE": code,
            "ERROR_MESSAGE": exc.message,
            "RETRY_ATTEMPTS": str(delivery.retries),
        }
        if exhausted is not None:
            values["EXHAUSTED_RETRY_CONDITION"] = exhausted
        attributes = {
            name: {"DataType": "String", "StringValue": value}
            for name, value in sorted(values.items())
        }
        counters = self.trigger._counters
        try:
            await deliver(target, json.dumps(delivery.event), attributes)
        except Exception as failure:  # noqa: BLE001 - counted and logged, as EventBridge does
            counters["invocations_failed_to_be_sent_to_dlq"] += 1
            logger.error(
                "Rule %s could not send event %s to its dead-letter queue %r: %s: %s",
                self.rule_name,
                delivery.event.get("id"),
                target,
                type(failure).__name__,
                failure,
            )
        else:
            counters["invocations_sent_to_dlq"] += 1

    def settled(self) -> bool:
        """Nothing to deliver now: retries waiting for a later time are not waited for."""
        if self._busy or self.trigger._outbox:
            return False
        return not self._retrying or self._retrying[0][0] > self._clock.time()

    def _maybe_idle(self) -> None:
        if self._idle is not None and self.settled():
            self._idle.set()
            self._idle = None

    async def wait_settled(self) -> None:
        while not self.settled():
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    def __repr__(self) -> str:
        return f"<RuleRunner {self.rule_name} -> {self.function_name}>"
