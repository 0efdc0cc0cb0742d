"""The entry point Lambda's Python runtime calls: ``Handler: faaslib.aws.handler``.

Each execution environment imports this module once (Lambda's Init phase). When the runtime
names it as the handler (``_HANDLER``), it loads the function there and then: the registry
``FAASLIB_REGISTRY`` names, the function ``FAASLIB_FUNCTION`` names, and the function's
``init`` hook. Elsewhere (a test, a script) it loads on the first call.

An invocation then runs as under faaslib's invoker: the runtime's decoded event becomes the
handler's event type (encoded once more and read by faaslib's own decoder, so the rules and
the errors are the same), the handler gets the runtime's context with ``init_result`` on it,
and the result is encoded by faaslib and handed to the runtime as raw JSON, so Lambda answers
the same bytes. Errors keep the user's frames only.

The module is called ``bootstrap.py`` on purpose: the runtime drops the leading frames of its
own ``bootstrap.py`` from a stack trace, and so drops the entry point's frame too.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

import pydantic_core
from typing_extensions import Self

from .._conversion import JSON_OBJECT, MARSHAL_ERRORS
from .._errors import ConfigurationError, InvalidRequestContentException
from .._function_errors import runtime_dirs
from .._handler import is_async_callable
from .._locate import RegistryNotFound, locate_registry

if TYPE_CHECKING:
    from .._conversion import EventDecoder
    from .._spec import FunctionSpec

__all__ = [
    "FUNCTION_VARIABLE",
    "REGISTRY_VARIABLE",
    "ConfigurationError",
    "LambdaFunction",
    "handler",
    "load",
]

#: The environment variable naming the registry: ``package.module:attribute``.
REGISTRY_VARIABLE: Final = "FAASLIB_REGISTRY"
#: The environment variable naming the function: its name in that registry.
FUNCTION_VARIABLE: Final = "FAASLIB_FUNCTION"
#: The ``Handler`` setting of a function that runs through this entry point.
HANDLER_SETTING: Final = "faaslib.aws.handler"


class _RuntimeError(Exception):
    """An error Lambda's runtime reports itself; the runtime takes ``errorType`` from the
    class name, so each kind is a subclass named as Lambda names it."""


_runtime_errors: dict[str, type[_RuntimeError]] = {}
#: Where Lambda's runtime keeps the error it reports with a type and no stack trace.
_FAULT_MODULES: Final = ("awslambdaric.lambda_runtime_exception", "lambda_runtime_exception")


def _runtime_fault(error_type: str, message: str) -> Exception | None:
    """The runtime's own fault (reported as ``error_type`` with an empty stack trace), when
    this process is AWS's runtime (it sets ``_HANDLER``); else ``None``."""
    if "_HANDLER" not in os.environ:
        return None
    for name in _FAULT_MODULES:
        fault = getattr(sys.modules.get(name), "FaultException", None)
        if isinstance(fault, type) and issubclass(fault, Exception):
            return fault(error_type, message, None)
    return None


def _runtime_error(error_type: str, message: str) -> Exception:
    """An exception the runtime reports as ``error_type`` (``Runtime.MarshalError``) with no
    stack trace of the user's, as it reports its own."""
    fault = _runtime_fault(error_type, message)
    if fault is not None:
        return fault
    kind = _runtime_errors.get(error_type)
    if kind is None:
        kind = _runtime_errors[error_type] = type(error_type, (_RuntimeError,), {})
    return kind(message)


def _user_traceback(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` from the first frame that is not the runtime's (faaslib's, the event loop's),
    as faaslib's own error documents begin."""
    runtime = runtime_dirs()
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(runtime):
        tb = tb.tb_next
    return tb


def _raw_json_type() -> Any:
    """simplejson's ``RawJSON``, when the runtime's encoder (simplejson) is at hand and writes
    it as it is; else ``None``."""
    try:  # the runtime's own encoder; not a dependency of faaslib's
        simplejson = importlib.import_module("simplejson")
    except ImportError:
        return None
    raw = getattr(simplejson, "RawJSON", None)
    if raw is None or simplejson.dumps(raw('{"a":1}')) != '{"a":1}':
        return None
    return raw


class LambdaFunction:
    """A registered function as Lambda's runtime runs it: one per execution environment.

    :param spec: the function (its handler, event and result types, init hook)
    """

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        shape = spec.shape
        assert not isinstance(spec.handler, str)  # load() sends those to their own Handler
        self._handler = spec.handler
        self._pass_context = shape.pass_context
        self._is_async = shape.is_async
        event_type = shape.event_type
        #: ``None``: the decoded event is the handler's as it is (no annotation, ``Any``).
        self._decode: EventDecoder | None = None if event_type is Any else spec.decode_event
        self._object_only = event_type in JSON_OBJECT  # any JSON object, checked alone
        self._encode = spec.encode_result
        self._raw_json = _raw_json_type()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = spec.init is None
        self._init_result: Any = None
        self._init_error: BaseException | None = None

    def start(self) -> None:
        """Run the init hook now (Lambda's Init phase). An error is kept for the first
        invocation to report, as faaslib reports it; the next one runs ``init`` again."""
        try:
            self._init()
        except Exception as exc:  # noqa: BLE001 - the first invocation's error
            self._init_error = exc

    def _init(self) -> None:
        init = self.spec.init
        if init is None:
            return
        if is_async_callable(init):
            self._init_result = self._run(init())
        else:
            self._init_result = init()
        self._started = True

    def _run(self, awaitable: Any) -> Any:
        """Run a coroutine to completion on the environment's own event loop (one per
        environment, so what ``init`` made for it lives across invocations)."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.new_event_loop()
        return loop.run_until_complete(awaitable)

    def close(self) -> None:
        """Close the environment's event loop (Lambda ends the process instead)."""
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __call__(self, event: Any, context: Any) -> Any:
        """Run one invocation: ``event`` as the runtime decoded it, ``context`` the
        runtime's own. Returns what the runtime marshals to faaslib's bytes."""
        try:
            if not self._started:
                failed, self._init_error = self._init_error, None
                if failed is not None:
                    raise failed
                self._init()
            decode = self._decode
            if decode is not None and (not self._object_only or type(event) is not dict):
                event = self._read(decode, event)
            if self._pass_context:
                context.init_result = self._init_result
                args: tuple[Any, ...] = (event, context)
            else:
                args = (event,)
            if self._is_async:
                result = self._run(self._handler(*args))
            else:
                result = self._handler(*args)
        except Exception as exc:  # noqa: BLE001 - raised again, with the user's frames only
            raise exc.with_traceback(_user_traceback(exc.__traceback__))  # noqa: B904
        if type(result) is bytes:  # the runtime passes bytes through, as faaslib does
            return result
        try:
            payload = self._encode(result)
        except MARSHAL_ERRORS as exc:
            raise _runtime_error(
                "Runtime.MarshalError", f"Unable to marshal response: {exc}"
            ) from None
        if self._raw_json is not None:
            return self._raw_json(payload.decode())
        return pydantic_core.from_json(payload)  # equal JSON, in the runtime's own spacing

    def _read(self, decode: EventDecoder, event: Any) -> Any:
        """The event as the handler's type, read as faaslib reads a request's JSON.

        :raises ~faaslib.InvalidRequestContentException: it does not fit the type (on AWS
            the request was accepted already: the invocation fails with this error)
        """
        try:
            data = pydantic_core.to_json(event)
        except pydantic_core.PydanticSerializationError as exc:  # not from JSON: a test
            raise InvalidRequestContentException(
                f"Could not serialize payload into json: {exc}",
                function_name=self.spec.name,
            ) from None
        try:
            return decode(data)
        except InvalidRequestContentException as exc:
            # Reported with its type and message alone, as faaslib answers it (a 400).
            fault = _runtime_fault(type(exc).__name__, exc.message)
            if fault is None:
                raise exc.with_traceback(None) from None
            raise fault from None


def load(environ: Mapping[str, str] | None = None) -> LambdaFunction:
    """The function the environment names (``FAASLIB_REGISTRY``, ``FAASLIB_FUNCTION``).

    :raises ConfigurationError: a variable is missing or names nothing registered; the
        message says what to set
    """
    env = os.environ if environ is None else environ
    reference = env.get(REGISTRY_VARIABLE, "")
    if not reference:
        raise ConfigurationError(
            f"{REGISTRY_VARIABLE} is not set: set it to 'package.module:attribute', the "
            f"faaslib.Registry that holds the function (and {FUNCTION_VARIABLE} to its name)"
        )
    try:
        registry = locate_registry(reference)
    except RegistryNotFound as exc:
        raise ConfigurationError(f"{REGISTRY_VARIABLE}={exc}") from exc
    name = env.get(FUNCTION_VARIABLE, "")
    names = ", ".join(sorted(spec.name for spec in registry)) or "none"
    if not name:
        raise ConfigurationError(
            f"{FUNCTION_VARIABLE} is not set: set it to the name of a function of "
            f"{reference} ({names})"
        )
    if name not in registry:
        raise ConfigurationError(
            f"{FUNCTION_VARIABLE}={name!r} is not a function of {reference}: set it to one "
            f"of {names}"
        )
    spec = registry.get(name)
    if isinstance(spec.handler, str):
        raise ConfigurationError(
            f"{name} is Lambda code by name: set the function's Handler to {spec.handler!r} "
            "(with its code) instead of faaslib.aws.handler"
        )
    return LambdaFunction(spec)


_function: LambdaFunction | None = None


def handler(event: Any, context: Any) -> Any:
    """The handler Lambda's runtime calls (``Handler: faaslib.aws.handler``)."""
    function = _function
    if function is None:
        function = _cold_start()
    return function(event, context)


def _cold_start() -> LambdaFunction:
    global _function
    _function = load()
    _function.start()
    return _function


if os.environ.get("_HANDLER") == HANDLER_SETTING:
    _cold_start()  # Lambda's Init phase: a wrong setting fails the cold start
