"""Running one invocation: the handler under its deadline, its result or error as Lambda reports it."""

from __future__ import annotations

import datetime
import logging
import time
import uuid
from array import array
from types import CoroutineType
from typing import TYPE_CHECKING, Any, NamedTuple

import anyio
from anyio import CancelScope

from . import _function_errors as errors
from . import _logs
from ._arn import function_arn
from ._context import Context
from ._conversion import MARSHAL_ERRORS
from ._deadline import UNSTARTED, DeadlineExceeded, Deadlines
from ._durations import DurationLog
from ._ids import LATEST, UNHANDLED, new_request_id  # new_request_id: the invoker's import
from ._result import InvocationResult
from ._threads import run_sync
from ._usage import max_memory_mb, report_line

if TYPE_CHECKING:
    from ._concurrency import Concurrency
    from ._pool import EnvironmentPool
    from ._spec import FunctionSpec

__all__ = [
    "EXIT",
    "TIMEOUT",
    "Ending",
    "FunctionRuntime",
    "execute",
    "execute_logged",
    "failed",
    "new_request_id",
    "timed_out",
    "write_function_log",
]

logger = logging.getLogger("faaslib")


class Ending(NamedTuple):
    """How an invocation ended its execution environment, as its REPORT line says it."""

    status: str
    error_type: str | None


#: The handler ran past its timeout (``Sandbox.Timedout``).
TIMEOUT = Ending("timeout", None)
#: The handler ended its runtime (``Runtime.ExitError``).
EXIT = Ending("error", "Runtime.ExitError")
_LIVES_ON = (None, None)  # no Status on the REPORT line


def _in_its_worker(*args: object) -> Any:
    """The handler of a function named by its ``Handler`` setting, in the parent: it is
    imported and called in the function's worker processes only."""
    raise RuntimeError("a handler given by name runs in its worker process only")


class FunctionRuntime:
    """A function as one invoker runs it: its spec plus what its invocations need at hand."""

    __slots__ = (
        "arn",
        "billed_extra",
        "cold_starts",
        "concurrency",
        "decode",
        "duration_log",
        "durations",
        "encode",
        "errors",
        "handler",
        "invocations",
        "is_async",
        "log_group_name",
        "log_sinks",
        "log_stream_name",
        "max_response",
        "memory_limit_in_mb",
        "memory_size",
        "name",
        "pass_context",
        "pool",
        "spec",
        "timeout",
        "timeouts",
        "version",
    )

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        region: str,
        account: str,
        max_response: int,
        version: str = LATEST,
        concurrency: Concurrency,
    ):
        self.name = spec.name
        self.version = version
        #: Duration of each recent invocation, in ms (the handler's run: what Lambda bills),
        #: until :meth:`fold_durations` moves them into ``duration_log``.
        self.durations = array("d")
        self.duration_log = DurationLog()
        #: The memory size (MB) the recent invocations ran with.
        self.memory_size = spec.memory_size
        self.load(spec)
        self.max_response = max_response
        self.arn = function_arn(region, account, spec.name)
        self.log_group_name = f"/aws/lambda/{spec.name}"
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y/%m/%d")
        self.log_stream_name = f"{today}/[{self.version}]{uuid.uuid4().hex}"
        #: The subscribed log groups of ``/aws/lambda/<name>`` (the list :mod:`._logs` keeps
        #: for the name, changing in place): while it is not empty, each invocation writes
        #: its log there.
        self.log_sinks = _logs.function_sinks(spec.name)
        self.invocations = 0
        self.errors = 0
        self.timeouts = 0
        self.cold_starts = 0
        #: Billed milliseconds beyond the rounded durations: the init of cold starts.
        self.billed_extra = 0
        #: The execution environments (an EnvironmentPool), made by the first invocation.
        self.pool: EnvironmentPool | None = None
        #: The function's concurrency account, shared by its versions (see the invoker).
        self.concurrency = concurrency

    def load(self, spec: FunctionSpec) -> None:
        """Take the handler and configuration of ``spec`` (same name), keeping the counters."""
        self.spec = spec
        if spec.memory_size != self.memory_size:  # runs so far are billed at the old size
            self.fold_durations()
            self.memory_size = spec.memory_size
        self.timeout = spec.timeout
        self.memory_limit_in_mb = str(spec.memory_size)
        self.handler = spec.handler if not isinstance(spec.handler, str) else _in_its_worker
        self.decode = spec.decode_event
        self.encode = spec.encode_result
        self.pass_context = spec.shape.pass_context
        self.is_async = spec.shape.is_async

    def fold_durations(self) -> None:
        """Move the recent durations into ``duration_log`` (bounded memory)."""
        self.duration_log.fold(self.durations, self.memory_size)


async def _run_sync(fn: FunctionRuntime, args: tuple[Any, ...], start: float) -> Any:
    # The thread cannot be stopped; at the deadline it is abandoned and the caller answered.
    # It is one of faaslib's daemon threads, so it never keeps the program from exiting.
    remaining = fn.timeout - (time.monotonic() - start)
    with CancelScope(deadline=anyio.current_time() + remaining):
        return await run_sync(fn.handler, *args)
    raise DeadlineExceeded


async def execute(
    fn: FunctionRuntime,
    event: Any,
    request_id: str,
    invoked_arn: str,
    client_context: bytes | None,
    deadlines: Deadlines,
    init_result: Any = None,
) -> tuple[InvocationResult, Ending | None]:
    """Run the handler once: the 200 result (with a function error if it failed) and how it
    ended its environment (``TIMEOUT``, ``EXIT``, or ``None`` when the environment lives on).

    Errors of the handler never escape: they become Lambda's error document (``SystemExit``,
    ``KeyboardInterrupt`` and ``GeneratorExit`` too, as ``Runtime.ExitError``). Cancellation
    from outside does escape. The run's duration (ms) is appended to ``fn.durations``.
    """
    start = time.monotonic()
    fn.invocations += 1
    args: tuple[Any, ...]
    if fn.pass_context:
        args = (
            event,
            Context(fn, request_id, invoked_arn, start + fn.timeout, client_context, init_result),
        )
    else:
        args = (event,)
    try:
        if fn.is_async:
            running = fn.handler(*args)
            if deadlines.step_first and type(running) is CoroutineType:
                try:
                    pending = running.send(None)
                except StopIteration as done:  # ended without suspending: the usual case
                    result = done.value
                else:
                    result = await deadlines.finish(running, pending, start + fn.timeout)
            else:
                result = await deadlines.finish(running, UNSTARTED, start + fn.timeout)
        else:
            result = await _run_sync(fn, args, start)
    except DeadlineExceeded:
        return timed_out(request_id, fn), TIMEOUT
    except Exception as exc:  # noqa: BLE001 - the handler's error is the result
        fn.durations.append((time.monotonic() - start) * 1000)
        return failed(errors.handler_error(exc, request_id), request_id, fn), None
    except errors.RUNTIME_EXITS as exc:
        # What would end Lambda's runtime process: Runtime.ExitError, and the environment
        # is discarded, never the invoker's own exception.
        fn.durations.append((time.monotonic() - start) * 1000)
        return failed(errors.exit_error(exc, request_id), request_id, fn), EXIT
    elapsed = time.monotonic() - start
    if elapsed > fn.timeout:  # ran past its deadline without yielding
        return timed_out(request_id, fn), TIMEOUT
    fn.durations.append(elapsed * 1000)
    if type(result) is bytes:
        payload = result
    else:
        try:
            payload = fn.encode(result)
        except MARSHAL_ERRORS as exc:
            document = errors.runtime_error(
                "Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id
            )
            return failed(document, request_id, fn), None
    if len(payload) > fn.max_response:
        return failed(errors.response_too_large(fn.max_response), request_id, fn), None
    return InvocationResult(200, payload, request_id, None, fn.version), None


def failed(document: bytes, request_id: str, fn: FunctionRuntime) -> InvocationResult:
    """The result of a run that failed with ``document``, counted as the function's error."""
    fn.errors += 1
    return InvocationResult(200, document, request_id, UNHANDLED, fn.version)


def timed_out(request_id: str, fn: FunctionRuntime) -> InvocationResult:
    """A run stopped at its deadline: its duration is the timeout, as Lambda reports and
    bills it (``Duration: 3000.00 ms``, ``Billed Duration: 3000 ms``)."""
    fn.durations.append(fn.timeout * 1000)
    fn.timeouts += 1
    return failed(errors.timeout_error(request_id, fn.timeout), request_id, fn)


async def execute_logged(
    fn: FunctionRuntime,
    event: Any,
    request_id: str,
    invoked_arn: str,
    client_context: bytes | None,
    deadlines: Deadlines,
    init_result: Any = None,
    init_ms: float | None = None,
) -> tuple[InvocationResult, Ending | None, _logs.LogBuffer]:
    """:func:`execute`, capturing the invocation's log (``START`` to ``REPORT``) in the
    buffer returned with it; ``init_ms`` is the environment's Init Duration on a cold start."""
    _logs.tee_streams()
    buffer = _logs.LogBuffer(request_id)
    buffer.write(f"START RequestId: {request_id} Version: {fn.version}\n")
    token = _logs.current_buffer.set(buffer)
    try:
        result, ending = await execute(
            fn, event, request_id, invoked_arn, client_context, deadlines, init_result
        )
    finally:
        _logs.current_buffer.reset(token)
    duration = fn.durations[-1]  # what execute recorded (the timeout, for a timeout)
    buffer.end_line()
    if result.function_error is not None:
        buffer.write(errors.log_lines(result.payload))
    report = report_line(
        request_id,
        duration,
        fn.memory_limit_in_mb,
        max_memory_mb(),
        init_ms,
        *(ending or _LIVES_ON),
    )
    buffer.write(f"END RequestId: {request_id}\n{report}\n")
    return result, ending, buffer


def write_function_log(fn: FunctionRuntime, text: str, payload: bytes) -> None:
    """Write an invocation's log to the function's subscribed log groups, in the stream of its
    environment; a group that refuses it (a clock far from the events' time) is logged."""
    for sink in list(fn.log_sinks):
        _write_to(sink, fn, text, payload)


def _write_to(sink: _logs.FunctionLogSink, fn: FunctionRuntime, text: str, payload: bytes) -> None:
    try:
        sink.put_function_log(fn.log_stream_name, text, payload)
    except Exception:  # the invocation's result stands
        logger.exception("Could not write the log of function %s to its log group", fn.name)
