"""``FunctionSpec``: one registered function and its Lambda configuration, checked on creation."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypedDict

from ._conversion import EventDecoder, ResultEncoder, event_decoder, result_encoder
from ._destinations import DeadLetter, Destination, check_destination
from ._errors import ValidationException
from ._file_system import FileSystem
from ._handler import HandlerShape, check_handler_setting, inspect_handler
from ._triggers import Trigger
from ._variables import check_environment

__all__ = ["FunctionOptions", "FunctionSpec"]

_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
MIN_TIMEOUT, MAX_TIMEOUT = 1, 900
MIN_MEMORY, MAX_MEMORY = 128, 10_240
MAX_DESCRIPTION = 256
MAX_RETRY_ATTEMPTS = 2
MIN_EVENT_AGE, MAX_EVENT_AGE = 60, 21_600
_NO_VARIABLES: Mapping[str, str] = MappingProxyType({})
#: What Lambda's runtime knows of a handler named by its ``Handler`` setting: an event of
#: plain JSON, the context, a result marshalled as the runtime does.
_LAMBDA_SHAPE = HandlerShape(event_type=Any, return_type=None, pass_context=True, is_async=False)


class FunctionOptions(TypedDict, total=False):
    """A function's configuration as keyword arguments (:meth:`Registry.function`,
    :meth:`Registry.update`): the fields of :class:`FunctionSpec` but its handler, each
    optional (an omitted one keeps :class:`FunctionSpec`'s default); a test keeps the two
    in step."""

    name: str
    timeout: float
    memory_size: int
    description: str
    max_retry_attempts: int
    max_event_age: int
    on_success: Destination | None
    on_failure: Destination | None
    dead_letter: DeadLetter | None
    init: Callable[[], Any] | None
    isolation: Literal["thread", "process"]
    reserved_concurrency: int | None
    provisioned_concurrency: int
    events: Sequence[Trigger]
    environment: Mapping[str, str]
    code_uri: str | None
    file_system: FileSystem | None


def _check_range(field_name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationException(field_name, value, "Member must be a number")
    if not value >= low:  # also NaN, which compares false with everything
        raise ValidationException(
            field_name, value, f"Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise ValidationException(
            field_name, value, f"Member must have value less than or equal to {high}"
        )


def _check_whole(field_name: str, value: object, low: int, high: int) -> None:
    _check_range(field_name, value, low, high)
    if not isinstance(value, int):
        raise ValidationException(field_name, value, "Member must be a whole number")


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise ValidationException("functionName", name, "Member must be a string")
    if not 1 <= len(name) <= 64:
        raise ValidationException("functionName", name, "Member must have length between 1 and 64")
    if not _NAME.fullmatch(name):
        raise ValidationException(
            "functionName", name, "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+"
        )


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A handler with its configuration, as ``CreateFunction`` would hold it.

    Built by :meth:`Registry.function`, or directly and passed to :meth:`Registry.add`.
    The handler's signature is read on creation: its first parameter's annotation is the event
    type, a second parameter receives the :class:`~faaslib.Context`, and the return annotation
    (if any) drives serialisation of the result.

    The asynchronous settings (Lambda's event invoke configuration and dead-letter target)
    apply to Event invocations: ``max_retry_attempts`` (0-2) retries after a function error or
    timeout, ``max_event_age`` (60-21600 s) is how long an event may wait in the queue,
    ``on_success`` and ``on_failure`` receive an invocation record, and ``dead_letter``
    receives the original event of a failed one. A destination is a registered function's
    name or ARN, an object with a ``send(record)`` method, or a callable.

    Execution environments: ``init`` (sync or async, no arguments) runs once in each new
    environment (a cold start) and its result reaches the handler as
    ``context.init_result``; ``isolation="process"`` runs each environment in a worker process
    of its own; ``reserved_concurrency`` caps (and reserves) the function's concurrent runs, 0
    disabling it; ``provisioned_concurrency`` environments are initialised when an invoker
    opens.

    ``events`` lists the function's triggers (SAM's ``Events``), such as
    ``faaslib.SQS(queue, batch_size=10)``: an invoker runs a mapping for each.

    ``file_system`` (Lambda's ``FileSystemConfigs``), a :class:`~faaslib.FileSystem`, is a
    local directory the function's environments see at its mount path.

    Code as Lambda runs it (``isolation="process"`` only, each environment being a process):
    ``handler`` may be Lambda's ``Handler`` setting, ``"module.function"``, imported in the
    worker from ``code_uri`` (its working directory, first on its ``sys.path``); such a
    handler takes the event as plain JSON. ``environment`` (Lambda's
    ``Environment.Variables``) is set in each worker's ``os.environ``, beside the variables
    Lambda's runtime sets (``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_REGION``, ...).

    :raises ~faaslib.ValidationException: a setting is outside Lambda's range (the message
        names the field), or the handler's signature cannot serve as a handler
    """

    name: str
    handler: Callable[..., Any] | str
    timeout: float = 3.0
    memory_size: int = 128
    description: str = ""
    max_retry_attempts: int = MAX_RETRY_ATTEMPTS
    max_event_age: int = MAX_EVENT_AGE
    on_success: Destination | None = None
    on_failure: Destination | None = None
    dead_letter: DeadLetter | None = None
    init: Callable[[], Any] | None = None
    isolation: Literal["thread", "process"] = "thread"
    reserved_concurrency: int | None = None
    provisioned_concurrency: int = 0
    events: tuple[Trigger, ...] = ()
    environment: Mapping[str, str] = field(default_factory=lambda: _NO_VARIABLES)
    code_uri: str | None = None
    file_system: FileSystem | None = None
    shape: HandlerShape = field(init=False, repr=False, compare=False)
    decode_event: EventDecoder = field(init=False, repr=False, compare=False)
    encode_result: ResultEncoder = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_range("timeout", self.timeout, MIN_TIMEOUT, MAX_TIMEOUT)
        _check_whole("memorySize", self.memory_size, MIN_MEMORY, MAX_MEMORY)
        _check_whole("maximumRetryAttempts", self.max_retry_attempts, 0, MAX_RETRY_ATTEMPTS)
        _check_whole("maximumEventAgeInSeconds", self.max_event_age, MIN_EVENT_AGE, MAX_EVENT_AGE)
        check_destination("destinationConfig.onSuccess.destination", self.on_success)
        check_destination("destinationConfig.onFailure.destination", self.on_failure)
        check_destination("deadLetterConfig.targetArn", self.dead_letter)
        if self.init is not None and not callable(self.init):
            raise ValidationException("init", self.init, "Member must be a callable or None")
        if self.isolation not in ("thread", "process"):
            raise ValidationException(
                "isolation", self.isolation, "Member must satisfy enum value set: [thread, process]"
            )
        if self.isolation != "process":
            self._check_thread_settings()
        else:
            for field_name, fn in (("handler", self.handler), ("init", self.init)):
                if isinstance(fn, str):
                    continue  # a Handler setting, checked below
                qualname = getattr(fn, "__qualname__", None)
                if fn is not None and (not isinstance(qualname, str) or "<" in qualname):
                    # A worker process imports it by name: no lambdas, nested functions,
                    # partials or callable objects (checked in full when an environment starts).
                    raise ValidationException(
                        field_name,
                        qualname or repr(fn),
                        "Member must be a module-level function for isolation='process'",
                    )
        if self.reserved_concurrency is not None:
            _check_whole("reservedConcurrentExecutions", self.reserved_concurrency, 0, 10**9)
        _check_whole("provisionedConcurrentExecutions", self.provisioned_concurrency, 0, 10**9)
        if isinstance(self.events, (Trigger, str)) or not isinstance(self.events, Iterable):
            raise ValidationException(
                "events",
                self.events,
                "Member must be a list of triggers, such as [faaslib.SQS(queue)]",
            )
        events = tuple(self.events)
        for trigger in events:
            if not isinstance(trigger, Trigger):
                raise ValidationException(
                    "events", trigger, "Member must be a trigger such as faaslib.SQS(queue)"
                )
        object.__setattr__(self, "events", events)
        if not isinstance(self.description, str) or len(self.description) > MAX_DESCRIPTION:
            raise ValidationException(
                "description",
                self.description,
                f"Member must be a string of length less than or equal to {MAX_DESCRIPTION}",
            )
        if self.environment is not _NO_VARIABLES:
            object.__setattr__(self, "environment", check_environment(self.environment))
        if self.code_uri is not None and not isinstance(self.code_uri, str):
            raise ValidationException("codeUri", self.code_uri, "Member must be a directory")
        if self.file_system is not None and not isinstance(self.file_system, FileSystem):
            raise ValidationException(
                "fileSystemConfigs", self.file_system, "Member must be a faaslib.FileSystem"
            )
        if isinstance(self.handler, str):
            check_handler_setting(self.handler)
            shape = _LAMBDA_SHAPE
        else:
            shape = inspect_handler(self.handler)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "decode_event", event_decoder(shape.event_type, self.name))
        object.__setattr__(self, "encode_result", result_encoder(shape.return_type))

    def _check_thread_settings(self) -> None:
        """What only a process of its own can have: its environment, its code, by name."""
        for field_name, value, given in (
            ("handler", self.handler, isinstance(self.handler, str)),
            ("environment", self.environment, bool(self.environment)),
            ("codeUri", self.code_uri, self.code_uri is not None),
        ):
            if given:
                raise ValidationException(
                    field_name,
                    value,
                    "Member requires isolation='process' (an environment's variables, code "
                    "directory and handler by name are its process's)",
                )
