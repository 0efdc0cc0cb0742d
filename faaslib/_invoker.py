"""``Invoker``: runs registered functions as Lambda's Invoke does, on one anyio task group."""

from __future__ import annotations

import enum
import logging
import math
import os
import random
import sys
from collections.abc import Sequence
from types import MappingProxyType, TracebackType
from typing import Any, Literal

import anyio
from anyio import CancelScope
from anyio.abc import TaskGroup
from anyio.lowlevel import checkpoint

from . import _function_errors, _logs
from ._arn import QUALIFIER, function_arn, parse_function_ref
from ._clock import Clock, SystemClock, VirtualClock
from ._concurrency import ConcurrencyPool
from ._context import parse_client_context
from ._conversion import payload_bytes
from ._deadline import deadline_runner
from ._destinations import (
    Condition,
    dead_letter_attributes,
    deliver,
    invocation_record,
    payload_value,
)
from ._durations import percentiles
from ._environments import Environment, Runner
from ._errors import (
    FaaslibError,
    InvalidParameterValueException,
    InvokerClosed,
    RequestTooLargeException,
    ResourceNotFoundException,
    TooManyRequestsException,
    ValidationException,
)
from ._event_queue import EventQueue, QueuedEvent
from ._execution import FunctionRuntime, new_request_id
from ._function_errors import RUNTIME_EXITS
from ._journal import Journal, JournalEntry
from ._mappings import EventSourceMapping, QueueMapping, StreamMapping
from ._metrics import FunctionMetrics, Metrics, PriceTable
from ._push import Pump, PushTrigger
from ._registry import Registry
from ._result import InvocationResult, InvocationType, LogType
from ._schedule import Schedule, ScheduleRunner
from ._stats import InvokerStatistics, PendingEvent
from ._triggers import SQS, Kinesis
from ._versions import LATEST

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

#: Lambda's waits before the second and the third attempt of a failed Event invocation.
RETRY_DELAYS = (60.0, 120.0)
#: Lambda keeps the account's unreserved concurrency at 100 at least.
UNRESERVED_MINIMUM = 100

#: A resolved function reference: the runtime, the ARN as invoked, and an alias's second
#: version with its weight (``None`` and 0.0 without routing).
_Target = tuple[FunctionRuntime, str, "FunctionRuntime | None", float]
#: ``invoke`` and each event worker let the loop run (a checkpoint: other tasks, timers,
#: cancellation) once in this many calls or events, so a loop of invocations that never
#: suspend shares the loop and can be cancelled; a checkpoint on every call would cost a
#: third of a RequestResponse (a pass of the event loop), one in 64 costs half a percent.
_CHECKPOINT_EVERY = 64
#: Queued events beyond this many keep their payload as bytes, not decoded: a decoded event is
#: many objects, and the garbage collector's passes over 100,000 of them cost more than
#: decoding again.
_KEEP_DECODED = 1024


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


def _billed(fn: FunctionRuntime) -> tuple[int, int]:
    """Billed milliseconds of a function version, and the same times its memory size (MB):
    each run rounded up to the millisecond, the init of cold starts included."""
    log = fn.duration_log
    recent = sum(map(math.ceil, fn.durations))
    extra = fn.billed_extra
    return (
        log.billed_ms + recent + extra,
        log.billed_mb_ms + recent * fn.memory_size + extra * fn.spec.memory_size,
    )


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterValueException(f"{name} must be a positive integer, got {value!r}")
    return value


def _choice(name: str, value: object, choices: tuple[str, str]) -> bool:
    """Whether ``value`` is the second of two allowed strings."""
    if value not in choices:
        raise InvalidParameterValueException(
            f"{name} must be {choices[0]!r} or {choices[1]!r}, got {value!r}"
        )
    return value == choices[1]


def _delays(value: Sequence[float]) -> tuple[float, ...]:
    delays = tuple(value) if isinstance(value, Sequence) and not isinstance(value, str) else ()
    if not delays or not all(
        not isinstance(d, bool) and isinstance(d, (int, float)) and 0 <= d < math.inf
        for d in delays
    ):
        raise InvalidParameterValueException(
            f"retry_delays must be a non-empty sequence of seconds (finite, >= 0), got {value!r}"
        )
    return tuple(float(d) for d in delays)


class Invoker:
    """Runs the functions of a registry: RequestResponse, Event and DryRun invocations.

    An async context manager owning one task group, on asyncio or trio::

        async with faaslib.Invoker(registry) as invoker:
            result = await invoker.invoke("place_order", b'{"order_id": "o-1"}')

    Event invocations are queued and run by a fixed number of worker tasks, as Lambda runs
    them: a failed attempt is retried after ``retry_delays``, an event older than its
    function's ``max_event_age`` is given up, and records go to the function's destinations.
    Leaving the ``async with`` block waits for them, unless ``on_exit="cancel"`` or the block
    is left by cancellation.

    :param registry: the functions to serve
    :param region: region of the ARNs the invoker reports
    :param account_id: account id of the ARNs the invoker reports
    :param concurrency_limit: handler runs allowed at once, over all functions (Lambda's
        account default 1000); a RequestResponse invoke over it is throttled, an Event waits
    :param max_sync_payload: request size limit of RequestResponse and DryRun (6 MB)
    :param max_async_payload: request size limit of Event (1 MB)
    :param max_response_payload: result size limit (Lambda's 6291556 bytes)
    :param event_queue_size: accepted events waiting to run before the queue is full
    :param on_queue_full: what ``invoke(..., "Event")`` does when the queue is full: ``"wait"``
        for room, or ``"raise"`` :class:`~faaslib.TooManyRequestsException`
    :param event_workers: tasks running queued events
    :param clock: the clock of retry delays and event ages (default: real time); pass a
        :class:`~faaslib.VirtualClock` to let a test move time. Handler timeouts are real time.
    :param retry_delays: seconds before the second and later attempts of a failed event
        (Lambda's 60 then 120)
    :param on_exit: leaving the block ``"drain"`` (wait for accepted events) or ``"cancel"``
        (stop at once)
    :param journal: path of an SQLite file keeping accepted events until they are finished;
        events left unfinished there (a crash, a cancel) run when an invoker opens it again
    :param idle_timeout: seconds (on ``clock``) after which an unused execution environment
        is retired; provisioned ones stay
    :param unreserved_minimum: concurrency that reserved concurrency may not take from the
        functions without a reservation (Lambda's 100, at most ``concurrency_limit``)
    :param seed: seed of the random choice between an alias's two versions
    :param prices: Lambda's prices, for the cost estimate of :meth:`metrics`
    :raises ~faaslib.InvalidParameterValueException: an option is out of range, the
        ``journal`` path cannot name a file, or the reserved concurrency of the functions
        leaves less than ``unreserved_minimum``
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
        on_queue_full: Literal["wait", "raise"] = "wait",
        event_workers: int = 64,
        clock: Clock | None = None,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        on_exit: Literal["drain", "cancel"] = "drain",
        journal: str | os.PathLike[str] | None = None,
        idle_timeout: float = 600.0,
        unreserved_minimum: int = UNRESERVED_MINIMUM,
        seed: int | None = None,
        prices: PriceTable | None = None,
    ) -> None:
        if not isinstance(registry, Registry):
            raise InvalidParameterValueException(
                f"Invoker needs a faaslib.Registry, not {type(registry).__name__}"
            )
        self._registry = registry
        self._generation = registry.generation
        self._region = region
        self._account = account_id
        limit = _positive("concurrency_limit", concurrency_limit)
        self._max_sync = _positive("max_sync_payload", max_sync_payload)
        self._max_async = _positive("max_async_payload", max_async_payload)
        self._max_response = _positive("max_response_payload", max_response_payload)
        self._workers = _positive("event_workers", event_workers)
        self._raise_when_full = _choice("on_queue_full", on_queue_full, ("wait", "raise"))
        self._cancel_on_exit = _choice("on_exit", on_exit, ("drain", "cancel"))
        self._retry_delays = _delays(retry_delays)
        self._clock: Clock = SystemClock() if clock is None else clock
        self._queue = EventQueue(self._clock, _positive("event_queue_size", event_queue_size))
        self._journal = None if journal is None else Journal(journal)
        if isinstance(idle_timeout, bool) or not (
            isinstance(idle_timeout, (int, float)) and 0 < idle_timeout < math.inf
        ):
            raise InvalidParameterValueException(
                f"idle_timeout must be a positive number of seconds, got {idle_timeout!r}"
            )
        self._idle_timeout = float(idle_timeout)
        if isinstance(unreserved_minimum, bool) or not (
            isinstance(unreserved_minimum, int) and unreserved_minimum >= 0
        ):
            raise InvalidParameterValueException(
                f"unreserved_minimum must be a whole number >= 0, got {unreserved_minimum!r}"
            )
        self._concurrency = ConcurrencyPool(limit, unreserved_minimum, self._queue)
        self._random = random.Random(seed).random
        self._prices = PriceTable() if prices is None else prices
        self._state = _State.NEW
        self._runtimes: dict[tuple[str, str], FunctionRuntime] = {}
        self._mappings: dict[tuple[str, int], EventSourceMapping | Pump | ScheduleRunner] = {}
        self._targets: dict[str, _Target] = {}
        self._capturing_logs = False
        self._throttles = 0
        self._calls_to_checkpoint = _CHECKPOINT_EVERY
        self._pending = 0  # accepted events not finished
        self._running_events: set[QueuedEvent] = set()
        self._events_received = 0
        self._events_replayed = 0
        self._events_succeeded = 0
        self._events_retried = 0
        self._events_dropped = 0
        self._event_age_max = 0.0
        self._destination_deliveries = 0
        self._destination_delivery_failures = 0
        self._dead_letter_errors = 0
        self._idle: anyio.Event | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state is not _State.NEW:
            raise InvokerClosed("An Invoker can be opened only once; create a new one")
        self._state = _State.CLOSED  # until opened: a failed open leaves nothing usable
        self._refresh()  # checks the reserved concurrency against the limit
        if self._concurrency.refusal is not None:
            raise self._concurrency.refusal
        replay = [] if self._journal is None else await self._journal.open()
        self._run_async = deadline_runner()
        self._runner = Runner(
            clock=self._clock,
            idle_timeout=self._idle_timeout,
            run_async=self._run_async,
            region=self._region,
            account=self._account,
            max_response=self._max_response,
            retire=self._retire,
        )
        self._task_group: TaskGroup = anyio.create_task_group()
        await self._task_group.__aenter__()
        try:
            if self._journal is not None:
                self._task_group.start_soon(self._journal.run)
            self._task_group.start_soon(self._queue.run_timer)
            self._task_group.start_soon(self._reap_idle)
            for _ in range(self._workers):
                self._task_group.start_soon(self._event_worker)
            await self._provision()
            self._sync_mappings()
            self._state = _State.OPEN
            self._replay(replay)
        except BaseException:
            self._state = _State.CLOSED
            self._task_group.cancel_scope.cancel()
            await self._task_group.__aexit__(None, None, None)
            await self._runner.close()
            if self._journal is not None:
                await self._journal.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        # Accepted events run to the end unless on_exit="cancel" or the block is left by
        # cancellation (or KeyboardInterrupt): then they stop where they are, and what is
        # unfinished is reported (and stays in the journal, if there is one). The block's own
        # exception is not the task group's: it propagates as it is, unwrapped.
        cancel = self._cancel_on_exit or (
            exc_type is not None and not issubclass(exc_type, Exception)
        )
        try:
            if not cancel:
                try:
                    await self.drain()
                except BaseException:
                    cancel = True
                    raise
        finally:
            self._close(cancel=cancel)
            try:
                await self._task_group.__aexit__(None, None, None)
            finally:
                try:
                    await self._runner.close()
                finally:
                    if self._journal is not None:
                        await self._journal.close()
        return None

    def _close(self, *, cancel: bool) -> None:
        self._state = _State.CLOSED
        self._queue.close()
        if self._capturing_logs:
            _logs.uninstall()
            self._capturing_logs = False
        if self._pending:
            if self._journal is not None:
                logger.warning(
                    "Invoker closed with %d accepted Event invocations unfinished; they stay "
                    "in the journal %s and run when an invoker opens it again",
                    self._pending,
                    self._journal.path,
                )
            else:
                self._events_dropped += self._pending
                logger.warning(
                    "Invoker %s with %d accepted Event invocations unfinished; they are dropped",
                    "cancelled" if cancel else "closed",
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
        :param qualifier: a version (``$LATEST``, "1", ...) or an alias of the function
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
        :raises ~faaslib.ServiceException: the journal could not commit an Event invocation
            (it was not accepted)
        :raises ~faaslib.InvokerClosed: the invoker is not open, or closed while a
            process-isolated invocation ran
        """
        if self._state is not _State.OPEN:
            raise self._closed_error()
        self._calls_to_checkpoint -= 1
        if not self._calls_to_checkpoint:
            self._calls_to_checkpoint = _CHECKPOINT_EVERY
            await checkpoint()
            if self._state is not _State.OPEN:
                raise self._closed_error()
        if self._generation != self._registry.generation:
            self._refresh()
        if self._concurrency.refusal is not None:
            raise self._concurrency.refusal
        try:
            target = self._targets.get(function_name) if qualifier is None else None
        except TypeError:  # an unhashable name: _resolve says what is wrong with it
            target = None
        fn, invoked_arn, alternative, weight = target or self._resolve(function_name, qualifier)
        if alternative is not None and self._random() < weight:
            fn = alternative  # the alias's second version
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
            concurrency = fn.concurrency
            throttled = self._concurrency.take(concurrency)
            if throttled is not None:
                self._throttles += 1
                concurrency.throttles += 1
                raise TooManyRequestsException(
                    "Rate Exceeded.", function_name=fn.name, reason=throttled
                )
            try:
                tail = log_type == "Tail"
                if tail and not self._capturing_logs:
                    _logs.install()
                    self._capturing_logs = True
                return await self._runner.run(
                    fn, event, data, request_id, invoked_arn, context_data, tail
                )
            finally:
                self._concurrency.free(concurrency)
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

    def _refresh(self) -> None:
        """Take the registry's updates: ``$LATEST`` of each function runs its new handler and
        configuration, and reserved concurrency is counted again.

        Reservations, or provisioned concurrency, beyond what ``unreserved_minimum`` allows
        are remembered in ``_overreserved``, which opening and invocations raise (an event
        worker never does): so no configuration makes an opening invoker start more
        environments than it may run.
        """
        snapshot = self._registry.snapshot()
        specs = snapshot.functions
        self._concurrency.configure(snapshot)
        self._generation = snapshot.generation
        self._targets.clear()
        for (name, version), fn in self._runtimes.items():
            if version == LATEST and specs[name] is not fn.spec:
                fn.load(specs[name])
        if self._state is _State.OPEN:
            self._sync_mappings()

    # -- event source mappings -----------------------------------------------------------------

    def _sync_mappings(self) -> None:
        """Run a mapping (pull) or a pump (push) for every trigger the functions declare;
        stop those no longer declared."""
        wanted: set[tuple[str, int]] = set()
        for spec in self._registry:
            for trigger in spec.events:
                key = (spec.name, id(trigger))
                wanted.add(key)
                if key in self._mappings:
                    continue
                runner: EventSourceMapping | Pump | ScheduleRunner
                if isinstance(trigger, SQS):
                    trigger.queue.follow(self._clock)
                    runner = QueueMapping(spec.name, trigger, self._clock, self.invoke)
                elif isinstance(trigger, Kinesis):
                    trigger.stream.follow(self._clock)
                    runner = StreamMapping(
                        spec.name,
                        trigger,
                        self._clock,
                        self.invoke,
                        self._deliver,
                        function_arn(self._region, self._account, spec.name),
                        f"arn:aws:iam::{self._account}:role/{spec.name}-role",
                    )
                elif isinstance(trigger, Schedule):
                    runner = ScheduleRunner(
                        spec.name,
                        trigger,
                        self._clock,
                        self.invoke,
                        region=self._region,
                        account=self._account,
                    )
                else:
                    assert isinstance(trigger, PushTrigger)
                    trigger.source.follow(self._clock)
                    runner = Pump(spec.name, trigger, self.invoke)
                self._mappings[key] = runner
                self._task_group.start_soon(self._run_mapping, runner)
        for key in set(self._mappings) - wanted:
            mapping = self._mappings.pop(key)
            if mapping.scope is not None:
                mapping.scope.cancel()

    async def _run_mapping(self, runner: EventSourceMapping | Pump | ScheduleRunner) -> None:
        with CancelScope() as runner.scope:
            await runner.run()

    def event_source_mappings(self) -> list[EventSourceMapping]:
        """The running event source mappings (one per pull trigger a function declares)."""
        return [m for m in self._mappings.values() if isinstance(m, EventSourceMapping)]

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

    def _resolve(self, ref: str, qualifier: str | None) -> _Target:
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
        arn = function_arn(region or self._region, account or self._account, name, version)
        if (
            (region is not None and region != self._region)
            or (account is not None and account != self._account)
            or name not in self._registry
        ):
            raise ResourceNotFoundException(f"Function not found: {arn}", function_name=name)
        alternative, weight = None, 0.0
        try:
            if version is None or version == LATEST or version.isdigit():
                fn = self._runtime(name, version or LATEST)
            else:  # an alias
                alias = self._registry.get_alias(name, version)
                fn = self._runtime(name, alias.function_version)
                for extra, share in alias.routing.items():
                    alternative, weight = self._runtime(name, extra), share
        except ResourceNotFoundException:
            raise ResourceNotFoundException(
                f"Function not found: {arn}", function_name=name
            ) from None
        target = (fn, arn, alternative, weight)
        if qualifier is None:
            self._targets[ref] = target
        return target

    def _pick(self, target: _Target) -> tuple[FunctionRuntime, str]:
        """The version to run (an alias may route a share to its second one), and the ARN."""
        fn, invoked_arn, alternative, weight = target
        if alternative is not None and self._random() < weight:
            fn = alternative
        return fn, invoked_arn

    def _runtime(self, name: str, version: str) -> FunctionRuntime:
        """The runtime of a version of a function, made on first use.

        :raises ~faaslib.ResourceNotFoundException: no such function or version
        """
        fn = self._runtimes.get((name, version))
        if fn is None:
            spec = self._registry.get_version(name, version)
            concurrency = self._concurrency.account(
                name, self._registry.get(name).reserved_concurrency
            )
            fn = self._runtimes[name, version] = FunctionRuntime(
                spec,
                region=self._region,
                account=self._account,
                max_response=self._max_response,
                version=version,
                concurrency=concurrency,
            )
        return fn

    # -- Event invocations -------------------------------------------------------------------

    async def _enqueue(
        self, fn: FunctionRuntime, invoked_arn: str, data: bytes
    ) -> InvocationResult:
        self._check_size(fn, data, self._max_async, sync=False)
        event = fn.decode(data)
        if self._queue.full():
            if self._raise_when_full:
                self._throttles += 1
                raise TooManyRequestsException(
                    f"Rate exceeded: the Event queue holds {self._queue.bound} events",
                    function_name=fn.name,
                    reason="CallerRateLimitExceeded",
                )
            await self._queue.wait_for_room()  # back-pressure: nothing accepted is dropped
            if self._state is not _State.OPEN:
                raise self._closed_error()
        return InvocationResult(202, b"", await self._accept(fn, invoked_arn, data, event))

    async def _accept(self, fn: FunctionRuntime, invoked_arn: str, data: bytes, event: Any) -> str:
        """Accept an Event invocation: journal it (when there is a journal), queue it, and
        return its request id."""
        if self._queue.queued >= _KEEP_DECODED:
            event = None  # a long queue holds bytes only: the worker decodes them again
        queued = QueuedEvent(fn, invoked_arn, data, event, new_request_id(), self._clock.time())
        self._pending += 1
        if self._journal is not None:
            try:
                await self._journal.add(
                    JournalEntry(
                        queued.request_id,
                        queued.fn.name,
                        queued.invoked_arn,
                        queued.data,
                        queued.received_at,
                        queued.attempts,
                    )
                )
            except BaseException:
                # Not accepted (no 202): an entry committed all the same must not run later.
                self._journal.remove(queued.request_id)
                self._pending -= 1
                self._maybe_idle()
                raise
        self._queue.put(queued)
        self._events_received += 1
        return queued.request_id

    def _replay(self, entries: list[JournalEntry]) -> None:
        """Queue the events a previous invoker left unfinished in the journal."""
        for entry in entries:
            try:
                fn, _ = self._pick(self._resolve(entry.invoked_arn, None))
            except FaaslibError as exc:
                logger.error(
                    "Event invocation %s in the journal %s is kept, not run: %s",
                    entry.request_id,
                    self._journal.path if self._journal is not None else "",
                    exc,
                )
                continue
            self._pending += 1
            self._events_replayed += 1
            queued = QueuedEvent(
                fn,
                entry.invoked_arn,
                entry.payload,
                None,
                entry.request_id,
                entry.received_at,
                entry.attempts,
            )
            if entry.due > self._clock.time():  # a retry keeps its time
                self._queue.delay(queued, entry.due)
            else:
                self._queue.put(queued)
        if self._events_replayed:
            logger.info("Replaying %d Event invocations from the journal", self._events_replayed)

    async def _event_worker(self) -> None:
        get = self._queue.get
        taken = 0
        while True:
            queued = await get()
            taken += 1
            if taken % _CHECKPOINT_EVERY == 0:
                await checkpoint()  # let others run when every event is ready at once
            await self._run_event(queued)

    async def _run_event(self, queued: QueuedEvent) -> None:
        fn = queued.fn
        if self._generation != self._registry.generation:  # updated since it was queued
            self._refresh()
        age = self._clock.time() - queued.received_at
        if age >= fn.spec.max_event_age:
            await self._give_up(queued, "EventAgeExceeded")
            return
        concurrency = fn.concurrency
        if queued.attempts > fn.spec.max_retry_attempts or concurrency.reserved == 0:
            # Retries lowered since it failed, or the function is disabled: Lambda sends the
            # event on without (another) attempt.
            await self._give_up(queued, "RetriesExhausted")
            return
        if self._concurrency.take(concurrency) is not None:  # back to the queue, not an attempt
            concurrency.throttles += 1
            parked = self._queue.throttled if concurrency.reserved is None else concurrency.parked
            self._queue.park(queued, parked)
            return
        self._event_age_max = max(self._event_age_max, age)
        event = queued.event
        queued.event = None  # a retry decodes the payload afresh
        queued.attempts += 1
        queued.state = "running"
        self._running_events.add(queued)
        try:
            try:
                if event is None:  # a retry, a replay, or an event of a long queue
                    event = fn.decode(queued.data)
            except FaaslibError as exc:  # the function's event type changed since
                result = self._undecodable(queued, exc)
            else:
                result = await self._runner.run(
                    fn, event, queued.data, queued.request_id, queued.invoked_arn, None, False
                )
        finally:
            self._running_events.discard(queued)
            self._concurrency.free(concurrency)
        queued.response = result
        if result.function_error is None:
            self._events_succeeded += 1
            if fn.spec.on_success is not None:
                await self._send_record(queued, fn.spec.on_success, "Success")
            self._finish(queued)
        elif queued.attempts > fn.spec.max_retry_attempts:
            await self._give_up(queued, "RetriesExhausted")
        else:
            self._retry_later(queued)

    def _undecodable(self, queued: QueuedEvent, exc: FaaslibError) -> InvocationResult:
        """The attempt of an event its function's event type no longer accepts: it fails."""
        queued.fn.errors += 1
        document = _function_errors.runtime_error(
            "Runtime.UnmarshalError", exc.message, queued.request_id
        )
        return InvocationResult(200, document, queued.request_id, "Unhandled", queued.fn.version)

    def _retry_later(self, queued: QueuedEvent) -> None:
        delays = self._retry_delays
        now = self._clock.time()
        due = now + delays[min(queued.attempts, len(delays)) - 1]
        expiry = queued.received_at + queued.fn.spec.max_event_age
        self._events_retried += 1
        due = min(due, expiry)
        if self._journal is not None:
            self._journal.set_attempts(queued.request_id, queued.attempts, due)
        logger.info(
            "Event invocation %s of function %s failed (attempt %d); retrying in %.0f s",
            queued.request_id,
            queued.fn.name,
            queued.attempts,
            due - now,
        )
        self._queue.delay(queued, due)
        self._maybe_idle()

    async def _give_up(self, queued: QueuedEvent, condition: Condition) -> None:
        """An event failed for good: records to ``on_failure`` and ``dead_letter``, or a log."""
        self._events_dropped += 1
        spec = queued.fn.spec
        if spec.on_failure is not None:
            await self._send_record(queued, spec.on_failure, condition)
        if spec.dead_letter is not None:
            await self._send_dead_letter(queued, spec.dead_letter)
        if spec.on_failure is None and spec.dead_letter is None:
            error = ""
            document = None if queued.response is None else payload_value(queued.response.payload)
            if isinstance(document, dict):
                error = f": {document.get('errorType')}: {document.get('errorMessage')}"
            logger.warning(
                "Event invocation %s of function %s dropped (%s after %d attempts)%s",
                queued.request_id,
                queued.fn.name,
                condition,
                queued.attempts,
                error,
            )
        self._finish(queued)

    def _finish(self, queued: QueuedEvent) -> None:
        if self._journal is not None:
            self._journal.remove(queued.request_id)
        self._pending -= 1
        self._maybe_idle()

    async def _send_record(
        self, queued: QueuedEvent, destination: object, condition: Condition
    ) -> None:
        response = queued.response
        version = response.executed_version if response is not None else None
        try:
            record = invocation_record(
                request_id=queued.request_id,
                function_arn=f"{queued.fn.arn}:{version or queued.fn.version}",
                condition=condition,
                attempts=queued.attempts,
                time=self._clock.time(),
                request_payload=queued.data,
                response=response,
            )
            await self._deliver(destination, record)
        except (Exception, *RUNTIME_EXITS) as exc:  # noqa: BLE001 - counted and logged
            self._destination_delivery_failures += 1
            logger.error(
                "Could not deliver the %s record of Event invocation %s of function %s to %r: "
                "%s: %s",
                condition,
                queued.request_id,
                queued.fn.name,
                destination,
                type(exc).__name__,
                exc,
            )
        else:
            self._destination_deliveries += 1

    async def _send_dead_letter(self, queued: QueuedEvent, target: object) -> None:
        try:
            await self._deliver(
                target,
                payload_value(queued.data),
                dead_letter_attributes(queued.request_id, queued.response),
            )
        except (Exception, *RUNTIME_EXITS) as exc:  # noqa: BLE001 - counted and logged
            self._dead_letter_errors += 1
            logger.error(
                "Could not send Event invocation %s of function %s to its dead-letter target "
                "%r: %s: %s",
                queued.request_id,
                queued.fn.name,
                target,
                type(exc).__name__,
                exc,
            )

    async def _deliver(
        self,
        destination: object,
        message: Any,
        attributes: dict[str, dict[str, str]] | None = None,
    ) -> None:
        if not isinstance(destination, str):
            await deliver(destination, message, attributes)
            return
        # A function destination: an Event invocation, accepted even when the queue is full.
        fn, invoked_arn = self._pick(self._resolve(destination, None))
        data = payload_bytes(message, fn.name)
        self._check_size(fn, data, self._max_async, sync=False)
        await self._accept(fn, invoked_arn, data, fn.decode(data))

    def _settled(self) -> bool:
        if not self._pending:
            return True
        # On a virtual clock, events waiting for a time not yet reached wait for advance().
        return (
            isinstance(self._clock, VirtualClock)
            and self._pending == self._queue.delayed
            and not self._queue.delayed_due()
        )

    def _maybe_idle(self) -> None:
        if self._idle is not None and self._settled():
            self._idle.set()
            self._idle = None

    # -- execution environments --------------------------------------------------------------

    async def _provision(self) -> None:
        """Start the provisioned environments of functions (``$LATEST``) and aliases."""
        for spec in self._registry:
            if spec.provisioned_concurrency:
                fn = self._runtime(spec.name, LATEST)
                await self._runner.provision(fn, spec.provisioned_concurrency)
        for name, aliases in self._registry.snapshot().aliases.items():
            for alias in aliases.values():
                if alias.provisioned_concurrency:
                    fn = self._runtime(name, alias.function_version)
                    await self._runner.provision(fn, alias.provisioned_concurrency)

    def _retire(self, environment: Environment) -> None:
        """Let go of a retired environment (a process is closed in the background)."""
        if environment.process is not None and self._state is not _State.CLOSED:
            self._task_group.start_soon(environment.process.close)

    async def _reap_idle(self) -> None:
        """Retire idle environments as the clock passes their idle timeout."""
        while True:
            await self._clock.sleep_until(self._clock.time() + self._idle_timeout / 2)
            for environment in self._runner.expired():
                self._retire(environment)

    async def drain(self) -> None:
        """Wait until every accepted Event invocation has finished, and every event source
        mapping has read what its source holds visible now.

        Events accepted while waiting (an event handler invoking another function, a
        destination) are waited for too, and so are retries. On a
        :class:`~faaslib.VirtualClock`, time moves only when the test advances it: ``drain``
        returns once the only events left wait for a later time of that clock. Messages hidden
        by a visibility timeout, and stream batches waiting to be retried, are not waited for;
        a batching window is (on a VirtualClock, only up to the clock's time). Triggers
        added or removed in the registry since the last invocation are taken up first.
        """
        if self._state is _State.OPEN and self._generation != self._registry.generation:
            self._refresh()
        await checkpoint()
        while True:
            while not self._settled():
                if self._idle is None:
                    self._idle = anyio.Event()
                await self._idle.wait()
            busy = [m for m in self._mappings.values() if not m.settled()]
            if not busy:
                return
            for mapping in busy:  # its batches may queue events, and events feed queues
                await mapping.wait_settled()

    # -- introspection -----------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The clock of retry delays and event ages."""
        return self._clock

    def pending(self) -> list[PendingEvent]:
        """Every accepted Event invocation not finished: running, queued, then delayed."""
        return [
            PendingEvent(
                request_id=queued.request_id,
                function_name=queued.fn.name,
                state=queued.state,
                attempts=queued.attempts,
                received_at=queued.received_at,
                next_attempt_at=queued.due if queued.state == "delayed" else None,
            )
            for queued in (*self._running_events, *self._queue.waiting())
        ]

    def metrics(self) -> Metrics:
        """Per-function metrics (counts, durations, concurrency, cold starts) and the cost of
        what ran, at the invoker's :class:`~faaslib.PriceTable`."""
        by_name: dict[str, list[FunctionRuntime]] = {}
        for (name, _), fn in self._runtimes.items():
            by_name.setdefault(name, []).append(fn)
        functions: dict[str, FunctionMetrics] = {}
        for name, runtimes in by_name.items():
            (p50, p99), duration_max = percentiles(
                ((fn.duration_log, fn.durations) for fn in runtimes), (0.50, 0.99)
            )
            invocations = sum(fn.invocations for fn in runtimes)
            billed = [_billed(fn) for fn in runtimes]
            gb_seconds = sum(mb_ms for _, mb_ms in billed) / 1024 / 1000
            concurrency = self._concurrency.accounts[name]
            functions[name] = FunctionMetrics(
                invocations=invocations,
                errors=sum(fn.errors for fn in runtimes),
                timeouts=sum(fn.timeouts for fn in runtimes),
                throttles=concurrency.throttles,
                concurrent_executions=concurrency.running,
                max_concurrent_executions=concurrency.peak,
                cold_starts=sum(fn.cold_starts for fn in runtimes),
                environments=sum(fn.pool.count for fn in runtimes if fn.pool is not None),
                duration_p50=p50,
                duration_p99=p99,
                duration_max=duration_max,
                billed_duration=sum(ms for ms, _ in billed),
                gb_seconds=gb_seconds,
                cost=self._prices.cost(invocations, gb_seconds),
            )
        values = functions.values()
        return Metrics(
            functions=MappingProxyType(functions),
            invocations=sum(m.invocations for m in values),
            errors=sum(m.errors for m in values),
            throttles=sum(m.throttles for m in values),
            concurrent_executions=self._concurrency.running,
            cold_starts=sum(m.cold_starts for m in values),
            cost=sum(m.cost for m in values),
        )

    def statistics(self) -> InvokerStatistics:
        """Return a snapshot of the invoker's counters."""
        runtimes = self._runtimes.values()
        return InvokerStatistics(
            invocations=sum(fn.invocations for fn in runtimes),
            errors=sum(fn.errors for fn in runtimes),
            timeouts=sum(fn.timeouts for fn in runtimes),
            throttles=self._throttles,
            concurrent_executions=self._concurrency.running,
            events_received=self._events_received,
            events_replayed=self._events_replayed,
            events_queued=self._queue.queued,
            events_running=len(self._running_events),
            events_delayed=self._queue.delayed,
            events_succeeded=self._events_succeeded,
            events_retried=self._events_retried,
            events_dropped=self._events_dropped,
            event_age_max=self._event_age_max,
            destination_deliveries=self._destination_deliveries,
            destination_delivery_failures=self._destination_delivery_failures,
            dead_letter_errors=self._dead_letter_errors,
        )

    def __repr__(self) -> str:
        return f"<Invoker state={self._state.value} functions={len(self._registry)}>"
