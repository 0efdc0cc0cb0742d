"""``Invoker``: runs registered functions as Lambda's Invoke does, on one anyio task group."""

from __future__ import annotations

import enum
import logging
import math
import sys
from types import TracebackType
from typing import Any, Literal

import anyio
import pydantic_core
from anyio import CapacityLimiter, WouldBlock
from anyio.abc import TaskGroup
from anyio.lowlevel import checkpoint
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from . import _logs
from ._arn import QUALIFIER, function_arn, parse_function_ref
from ._context import parse_client_context
from ._conversion import payload_bytes
from ._deadline import deadline_runner
from ._errors import (
    InvalidParameterValueException,
    InvokerClosed,
    RequestTooLargeException,
    ResourceNotFoundException,
    TooManyRequestsException,
    ValidationException,
)
from ._execution import LATEST, FunctionRuntime, execute, execute_with_tail, new_request_id
from ._registry import Registry
from ._result import InvocationResult, InvocationType, LogType
from ._stats import InvokerStatistics

if sys.version_info >= (3, 11):
    from typing import Self
else:
    from typing_extensions import Self

__all__ = ["Invoker"]

logger = logging.getLogger("faaslib")

#: Lambda's payload limits, in bytes.
MAX_SYNC_PAYLOAD = 6_291_456
MAX_ASYNC_PAYLOAD = 1_048_576
MAX_RESPONSE_PAYLOAD = 6_291_556

_QueuedEvent = tuple[FunctionRuntime, Any, str, str]
_CHECKPOINT_EVERY = 64


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterValueException(f"{name} must be a positive integer, got {value!r}")
    return value


class Invoker:
    """Runs the functions of a registry: RequestResponse, Event and DryRun invocations.

    An async context manager owning one task group, on asyncio or trio::

        async with faaslib.Invoker(registry) as invoker:
            result = await invoker.invoke("place_order", b'{"order_id": "o-1"}')

    Event invocations are queued and run by a fixed number of worker tasks; leaving the
    ``async with`` block waits for them (unless it is left by cancellation).

    :param registry: the functions to serve
    :param region: region of the ARNs the invoker reports
    :param account_id: account id of the ARNs the invoker reports
    :param concurrency_limit: handler runs allowed at once, over all functions (Lambda's
        account default 1000); a RequestResponse invoke over it is throttled, an Event waits
    :param max_sync_payload: request size limit of RequestResponse and DryRun (6 MB)
    :param max_async_payload: request size limit of Event (1 MB)
    :param max_response_payload: result size limit (Lambda's 6291556 bytes)
    :param event_queue_size: accepted events held before ``invoke(..., "Event")`` waits
    :param event_workers: tasks running queued events
    :raises ~faaslib.InvalidParameterValueException: an option is out of range
    """

    def __init__(
        self,
        registry: Registry,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        concurrency_limit: int = 1000,
        max_sync_payload: int = MAX_SYNC_PAYLOAD,
        max_async_payload: int = MAX_ASYNC_PAYLOAD,
        max_response_payload: int = MAX_RESPONSE_PAYLOAD,
        event_queue_size: int = 100_000,
        event_workers: int = 64,
    ) -> None:
        if not isinstance(registry, Registry):
            raise InvalidParameterValueException(
                f"Invoker needs a faaslib.Registry, not {type(registry).__name__}"
            )
        self._registry = registry
        self._region = region
        self._account = account_id
        self._limit = _positive("concurrency_limit", concurrency_limit)
        self._max_sync = _positive("max_sync_payload", max_sync_payload)
        self._max_async = _positive("max_async_payload", max_async_payload)
        self._max_response = _positive("max_response_payload", max_response_payload)
        self._queue_size = _positive("event_queue_size", event_queue_size)
        self._workers = _positive("event_workers", event_workers)
        self._state = _State.NEW
        self._runtimes: dict[str, FunctionRuntime] = {}
        self._targets: dict[str, tuple[FunctionRuntime, str]] = {}
        self._capturing_logs = False
        self._running = 0
        self._throttles = 0
        self._pending = 0  # accepted events not finished
        self._events_received = 0
        self._events_queued = 0
        self._events_running = 0
        self._events_succeeded = 0
        self._events_failed = 0
        self._events_dropped = 0
        self._idle: anyio.Event | None = None
        self._slot_freed: anyio.Event | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state is not _State.NEW:
            raise InvokerClosed("An Invoker can be opened only once; create a new one")
        self._send: MemoryObjectSendStream[_QueuedEvent]
        self._receive: MemoryObjectReceiveStream[_QueuedEvent]
        self._send, self._receive = anyio.create_memory_object_stream[_QueuedEvent](
            self._queue_size
        )
        # Concurrency is counted by the invoker itself; the limiter only lifts anyio's default
        # cap of 40 worker threads. It is unbounded because a timed-out sync handler's thread
        # is abandoned, not stopped, and on trio keeps its token until it really ends.
        self._limiter = CapacityLimiter(math.inf)
        self._run_async = deadline_runner()
        self._task_group: TaskGroup = anyio.create_task_group()
        await self._task_group.__aenter__()
        for _ in range(self._workers):
            self._task_group.start_soon(self._event_worker, self._receive.clone())
        self._receive.close()
        self._state = _State.OPEN
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # Accepted events run to the end unless the block is left by cancellation (or
        # KeyboardInterrupt); then they are cancelled, counted and reported as dropped. The
        # block's own exception is not the task group's: it propagates as it is, unwrapped.
        cancel = exc_type is not None and not issubclass(exc_type, Exception)
        try:
            if not cancel:
                try:
                    await self.drain()
                except BaseException:
                    cancel = True
                    raise
        finally:
            self._close(cancel=cancel)
            await self._task_group.__aexit__(None, None, None)
        return None

    def _close(self, *, cancel: bool) -> None:
        self._state = _State.CLOSED
        self._send.close()
        if self._capturing_logs:
            _logs.uninstall()
            self._capturing_logs = False
        if cancel:
            if self._pending:
                self._events_dropped += self._pending
                logger.warning(
                    "Invoker cancelled with %d accepted Event invocations unfinished",
                    self._pending,
                )
            self._task_group.cancel_scope.cancel()

    def _closed_error(self) -> InvokerClosed:
        if self._state is _State.NEW:
            return InvokerClosed("Invoker is not open: enter it with 'async with' first")
        return InvokerClosed("Invoker is closed")

    # -- invoke ------------------------------------------------------------------------------

    async def invoke(
        self,
        function_name: str,
        payload: object = b"",
        invocation_type: InvocationType
        | Literal["RequestResponse", "Event", "DryRun"] = "RequestResponse",
        *,
        qualifier: str | None = None,
        client_context: dict[str, Any] | str | None = None,
        log_type: LogType | Literal["None", "Tail"] = "None",
    ) -> InvocationResult:
        """Invoke a function, as Lambda's ``Invoke`` API does.

        :param function_name: a name, ``name:qualifier``, or a partial or full function ARN
        :param payload: the event: JSON as ``bytes`` or ``str`` (empty means ``{}``), or any
            object pydantic can serialise to JSON (it is copied, never shared with the handler)
        :param invocation_type: ``RequestResponse`` runs the handler and returns its result
            (200); ``Event`` queues it and returns 202 at once; ``DryRun`` checks everything
            and returns 204 without running anything
        :param qualifier: version or alias; only ``$LATEST`` exists so far
        :param client_context: a dict, or base64 JSON; reaches the handler on synchronous
            invocations only
        :param log_type: ``Tail`` returns the last 4 KB of the invocation's log (synchronous
            invocations only)
        :return: the invocation's result; a failing handler is a result with
            ``function_error="Unhandled"``, not an exception
        :raises ~faaslib.ResourceNotFoundException: no such function or qualifier
        :raises ~faaslib.ValidationException: the function name or qualifier is malformed
        :raises ~faaslib.InvalidParameterValueException: a parameter is invalid
        :raises ~faaslib.InvalidRequestContentException: the payload is not JSON, or does not
            validate against the handler's event type
        :raises ~faaslib.RequestTooLargeException: the payload is over the size limit
        :raises ~faaslib.TooManyRequestsException: the concurrency limit is reached
        :raises ~faaslib.InvokerClosed: the invoker is not open
        """
        if self._state is not _State.OPEN:
            raise self._closed_error()
        target = self._targets.get(function_name) if qualifier is None else None
        fn, invoked_arn = target or self._resolve(function_name, qualifier)
        if log_type != "None" and log_type != "Tail":
            raise InvalidParameterValueException(
                f"Unsupported log type {log_type!r}: expected 'None' or 'Tail'",
                function_name=fn.name,
            )
        context_data = None if client_context is None else parse_client_context(client_context)
        data = payload if type(payload) is bytes and payload else payload_bytes(payload, fn.name)
        if invocation_type == "RequestResponse":  # the hot path, inline
            if len(data) > self._max_sync:
                self._check_size(fn, data, self._max_sync, sync=True)
            event = fn.decode(data)
            request_id = new_request_id()
            if self._running >= self._limit:
                self._throttles += 1
                raise TooManyRequestsException(
                    "Rate Exceeded.",
                    function_name=fn.name,
                    reason="ConcurrentInvocationLimitExceeded",
                )
            self._running += 1
            try:
                if log_type == "None":
                    return await execute(
                        fn,
                        event,
                        request_id,
                        invoked_arn,
                        context_data,
                        self._limiter,
                        self._run_async,
                    )
                if not self._capturing_logs:
                    _logs.install()
                    self._capturing_logs = True
                return await execute_with_tail(
                    fn, event, request_id, invoked_arn, context_data, self._limiter, self._run_async
                )
            finally:
                self._free_slot()
        if invocation_type == "Event":
            return await self._enqueue(fn, invoked_arn, data)
        if invocation_type == "DryRun":
            self._check_size(fn, data, self._max_sync, sync=True)
            fn.decode(data)
            return InvocationResult(204, b"", new_request_id())
        raise InvalidParameterValueException(
            f"Unsupported invocation type {invocation_type!r}: "
            "expected 'RequestResponse', 'Event' or 'DryRun'",
            function_name=fn.name,
        )

    def _free_slot(self) -> None:
        self._running -= 1
        if self._slot_freed is not None:  # a throttled event waits for this slot
            self._slot_freed.set()
            self._slot_freed = None

    def _check_size(self, fn: FunctionRuntime, data: bytes, limit: int, *, sync: bool) -> None:
        size = len(data)
        if size <= limit:
            return
        if sync:
            message = f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
        else:
            message = (
                f"{size} byte payload is too large for the Event invocation type "
                f"(limit {limit} bytes)"
            )
        raise RequestTooLargeException(message, function_name=fn.name, size=size, limit=limit)

    def _resolve(self, ref: str, qualifier: str | None) -> tuple[FunctionRuntime, str]:
        parsed = parse_function_ref(ref) if isinstance(ref, str) else None
        if parsed is None:
            raise ValidationException(
                "functionName",
                ref,
                "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?"
                r"([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)"
                r"(:(\$LATEST|[a-zA-Z0-9-_]+))?",
            )
        name, derived, region, account = parsed
        version = derived
        if qualifier is not None:
            if not isinstance(qualifier, str) or not QUALIFIER.fullmatch(qualifier):
                raise ValidationException(
                    "qualifier",
                    qualifier,
                    r"Member must satisfy regular expression pattern: "
                    r"(|[a-zA-Z0-9$_-]+)",
                )
            if derived is not None and derived != qualifier:
                raise InvalidParameterValueException(
                    "The derived qualifier from the function name does not match the specified "
                    "qualifier.",
                    function_name=name,
                )
            version = qualifier
        if (
            (region is not None and region != self._region)
            or (account is not None and account != self._account)
            or name not in self._registry
            or version not in (None, LATEST)
        ):
            arn = function_arn(region or self._region, account or self._account, name, version)
            raise ResourceNotFoundException(f"Function not found: {arn}", function_name=name)
        spec = self._registry.get(name)
        fn = self._runtimes.get(name)
        if fn is None or fn.spec is not spec:
            fn = self._runtimes[name] = FunctionRuntime(
                spec,
                region=self._region,
                account=self._account,
                max_response=self._max_response,
            )
        target = (fn, function_arn(self._region, self._account, name, version))
        if qualifier is None:
            self._targets[ref] = target
        return target

    # -- Event invocations -------------------------------------------------------------------

    async def _enqueue(
        self, fn: FunctionRuntime, invoked_arn: str, data: bytes
    ) -> InvocationResult:
        self._check_size(fn, data, self._max_async, sync=False)
        event = fn.decode(data)
        request_id = new_request_id()
        item = (fn, event, request_id, invoked_arn)
        self._pending += 1
        self._events_queued += 1
        try:
            try:
                self._send.send_nowait(item)
            except WouldBlock:
                await self._send.send(item)  # the queue is full: wait for room (back-pressure)
        except BaseException as exc:
            self._pending -= 1
            self._events_queued -= 1
            if isinstance(exc, (anyio.ClosedResourceError, anyio.BrokenResourceError)):
                raise self._closed_error() from None
            raise
        self._events_received += 1
        return InvocationResult(202, b"", request_id)

    async def _event_worker(self, receive: MemoryObjectReceiveStream[_QueuedEvent]) -> None:
        with receive:
            taken = 0
            while True:
                try:
                    item = receive.receive_nowait()
                except WouldBlock:
                    try:
                        item = await receive.receive()
                    except anyio.EndOfStream:
                        return
                except anyio.EndOfStream:
                    return
                else:
                    taken += 1
                    if taken % _CHECKPOINT_EVERY == 0:
                        await checkpoint()  # let others run when every event is ready at once
                await self._run_event(item)

    async def _run_event(self, item: _QueuedEvent) -> None:
        fn, event, request_id, invoked_arn = item
        while self._running >= self._limit:  # throttled: keep the event until a slot frees
            if self._slot_freed is None:
                self._slot_freed = anyio.Event()
            await self._slot_freed.wait()
        self._events_queued -= 1
        self._running += 1
        self._events_running += 1
        try:
            result = await execute(
                fn, event, request_id, invoked_arn, None, self._limiter, self._run_async
            )
        finally:
            self._events_running -= 1
            self._free_slot()
        if result.function_error is None:
            self._events_succeeded += 1
        else:
            self._events_failed += 1
            document = pydantic_core.from_json(result.payload)
            logger.error(
                "Event invocation %s of function %s failed: %s: %s",
                request_id,
                fn.name,
                document.get("errorType"),
                document.get("errorMessage"),
            )
        self._pending -= 1
        if not self._pending and self._idle is not None:
            self._idle.set()
            self._idle = None

    async def drain(self) -> None:
        """Wait until every accepted Event invocation has finished running.

        Events accepted while waiting (an event handler invoking another function, say) are
        waited for too.
        """
        if not self._pending:
            await checkpoint()
            return
        while self._pending:
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    # -- introspection -----------------------------------------------------------------------

    def statistics(self) -> InvokerStatistics:
        """Return a snapshot of the invoker's counters."""
        runtimes = self._runtimes.values()
        return InvokerStatistics(
            invocations=sum(fn.invocations for fn in runtimes),
            errors=sum(fn.errors for fn in runtimes),
            timeouts=sum(fn.timeouts for fn in runtimes),
            throttles=self._throttles,
            concurrent_executions=self._running,
            events_received=self._events_received,
            events_queued=self._events_queued,
            events_running=self._events_running,
            events_succeeded=self._events_succeeded,
            events_failed=self._events_failed,
            events_dropped=self._events_dropped,
        )

    def __repr__(self) -> str:
        return f"<Invoker state={self._state.value} functions={len(self._registry)}>"
