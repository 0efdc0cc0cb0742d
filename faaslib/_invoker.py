"""``Invoker``: runs registered functions as Lambda's Invoke does, on one anyio task group."""

from __future__ import annotations

import enum
import logging
import math
import os
import random
import sys
from collections.abc import Sequence
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

import anyio
from anyio.abc import TaskGroup
from anyio.lowlevel import checkpoint

from ._clock import Clock, SystemClock
from ._concurrency import ConcurrencyPool
from ._context import parse_client_context
from ._conversion import check_size, payload_bytes
from ._deadline import deadlines
from ._depth import check_depth, depth_bound
from ._environments import Environment, Runner
from ._errors import (
    InvalidParameterValueException,
    InvokerClosed,
    TooManyRequestsException,
)
from ._event_invocations import CHECKPOINT_EVERY, EventInvocations
from ._event_queue import EventQueue
from ._functions import FunctionTable
from ._ids import LATEST, new_request_id
from ._journal import Journal
from ._metrics import Metrics, PriceTable, metrics_of
from ._permissions import LAMBDA, PermissionCheck
from ._registry import Registry
from ._result import InvocationResult, InvocationType, LogType
from ._running_triggers import RunningTriggers
from ._site import Site
from ._stats import InvokerStatistics, PendingEvent
from ._tracing import tracing_of
from ._triggers import TriggerHost
from .workflows._calls import WorkflowCalls
from .workflows._targets import machine_host

if TYPE_CHECKING:
    from ._faults import Faults
    from ._history import History
    from ._services.mappings import EventSourceMapping
    from .workflows._executions import Workflows

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


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


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


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not (isinstance(value, (int, float)) and 0 < value < math.inf):
        raise InvalidParameterValueException(
            f"{name} must be a positive number of seconds, got {value!r}"
        )
    return float(value)


def _whole(name: str, value: object) -> int:
    if isinstance(value, bool) or not (isinstance(value, int) and value >= 0):
        raise InvalidParameterValueException(f"{name} must be a whole number >= 0, got {value!r}")
    return value


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


class Invoker(WorkflowCalls):
    """Runs the functions of a registry: RequestResponse, Event and DryRun invocations.

    An async context manager owning one task group, on asyncio or trio::

        async with faaslib.Invoker(registry) as invoker:
            result = await invoker.invoke("place_order", b'{"order_id": "o-1"}')

    Event invocations are queued and run by a fixed number of worker tasks, as Lambda runs
    them: a failed attempt is retried after ``retry_delays``, an event older than its
    function's ``max_event_age`` is given up, and records go to the function's destinations.
    Leaving the ``async with`` block waits for them (logging at WARNING each retry it waits
    more than a few seconds for), unless ``on_exit="cancel"`` or the block is left by an
    exception or cancellation: then it stops at once.

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
        (stop at once, as leaving by an exception does)
    :param journal: path of an SQLite file keeping accepted events until they are finished;
        events left unfinished there (a crash, a cancel) run when an invoker opens it again
    :param idle_timeout: seconds (on ``clock``) after which an unused execution environment
        is retired; provisioned ones stay
    :param unreserved_minimum: concurrency that reserved concurrency may not take from the
        functions without a reservation (Lambda's 100, at most ``concurrency_limit``)
    :param seed: seed of the random choice between an alias's two versions
    :param prices: Lambda's prices, for the cost estimate of :meth:`metrics`
    :param history: a :class:`~faaslib.History` receiving a record of every handler run
    :param faults: a :class:`~faaslib.Faults` whose declared failures replace invocations
    :param tracing: ``True`` (OpenTelemetry's global tracer provider) or a tracer provider:
        each handler run is a span (the ``otel`` extra)
    :param check_permissions: check each invocation's ``principal`` against the function's
        resource-based policy (:meth:`~faaslib.Registry.add_permission`) before it runs
    :param max_json_depth: refuse payloads nested deeper (1 to 200; the JSON parser refuses
        deeper than 200 levels itself)
    :raises ~faaslib.InvalidParameterValueException: an option is out of range, the
        ``journal`` path cannot name a file, the reserved concurrency of the functions
        leaves less than ``unreserved_minimum``, or (on opening) a destination or
        dead-letter target names a function, version or alias that does not exist
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
        history: History | None = None,
        faults: Faults | None = None,
        tracing: Any = False,
        check_permissions: bool = False,
        max_json_depth: int | None = None,
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
        self._max_depth = depth_bound(max_json_depth)
        self._workers = _positive("event_workers", event_workers)
        self._raise_when_full = _choice("on_queue_full", on_queue_full, ("wait", "raise"))
        self._cancel_on_exit = _choice("on_exit", on_exit, ("drain", "cancel"))
        self._retry_delays = _delays(retry_delays)
        self._clock: Clock = SystemClock() if clock is None else clock
        self._queue = EventQueue(self._clock, _positive("event_queue_size", event_queue_size))
        self._journal = None if journal is None else Journal(journal)
        self._idle_timeout = _seconds("idle_timeout", idle_timeout)
        minimum = _whole("unreserved_minimum", unreserved_minimum)
        self._concurrency = ConcurrencyPool(limit, minimum, self._queue)
        self._random = random.Random(seed).random
        self._prices = PriceTable() if prices is None else prices
        self._history, self._faults = history, faults
        self._tracing = tracing_of(tracing, region=region, account=account_id)
        self._state = _State.NEW
        self._functions = FunctionTable(
            registry,
            region=region,
            account=account_id,
            max_response=self._max_response,
            concurrency=self._concurrency,
            random=self._random,
        )
        # Read on the hot path: the table's cache, and its resolution for the rest.
        self._targets = self._functions.targets
        self._resolve = self._functions.resolve
        self._refusal: InvalidParameterValueException | None = None
        self._throttles = 0
        self._calls_to_checkpoint = CHECKPOINT_EVERY
        self._events = EventInvocations(
            queue=self._queue,
            clock=self._clock,
            journal=self._journal,
            concurrency=self._concurrency,
            retry_delays=self._retry_delays,
            max_async=self._max_async,
            raise_when_full=self._raise_when_full,
            resolve=lambda ref: self._functions.pick(self._resolve(ref, None)),
            refresh=self._refresh_if_changed,
            history=history,
            faults=faults,
        )
        site = Site(region, account_id, self._clock)
        self._permissions = PermissionCheck(site) if check_permissions else None
        invoke = partial(self.invoke, principal=LAMBDA)  # mappings; a pushing source says its own
        host = TriggerHost(site, invoke, self._events.deliver, history)
        machines = machine_host(host, self._workflow_service)  # their triggers start executions
        self._triggers = RunningTriggers(host, self._tracing, machines)
        self._workflows: Workflows | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state is not _State.NEW:
            raise InvokerClosed("An Invoker can be opened only once; create a new one")
        self._state = _State.CLOSED  # until opened: a failed open leaves nothing usable
        self._refresh()  # checks the reserved concurrency and the destinations
        if self._refusal is not None:
            raise self._refusal
        replay = [] if self._journal is None else await self._journal.open()
        self._runner = Runner(
            clock=self._clock,
            idle_timeout=self._idle_timeout,
            deadlines=deadlines(),
            region=self._region,
            account=self._account,
            max_response=self._max_response,
            retire=self._retire,
            history=self._history,
            faults=self._faults,
            tracing=self._tracing,
        )
        self._events.runner = self._runner
        self._events.start_execution = self.start_execution
        self._events.tracing = self._tracing
        self._task_group: TaskGroup = anyio.create_task_group()
        await self._task_group.__aenter__()
        try:
            if self._journal is not None:
                self._task_group.start_soon(self._journal.run)
            self._task_group.start_soon(self._queue.run_timer)
            self._task_group.start_soon(self._reap_idle)
            for _ in range(self._workers):
                self._task_group.start_soon(self._events.work)
            await self._provision()
            self._triggers.sync(self._registry, self._task_group)
            self._state = _State.OPEN
            self._events.replay(replay)
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
        # Accepted events run to the end unless on_exit="cancel" or the block is left by an
        # exception or cancellation: then they stop where they are, and what is unfinished is
        # reported (and stays in the journal, if there is one). The block's own exception is
        # not the task group's: it propagates as it is, unwrapped.
        cancel = self._cancel_on_exit or exc_type is not None
        try:
            if not cancel:
                try:
                    self._events.leaving()  # says at WARNING what a long wait waits for
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
        self._events.close(cancel=cancel)
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
        principal: str | None = None,
        source_arn: str | None = None,
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
        :param principal: who invokes (an account id, an IAM ARN, a service principal), and
            ``source_arn`` the resource an AWS service invokes for: checked by an invoker with
            ``check_permissions=True``
        :return: the invocation's result; a failing handler is a result with
            ``function_error="Unhandled"``, not an exception
        :raises ~faaslib.ResourceNotFoundException: no such function or qualifier
        :raises ~faaslib.AccessDeniedException: no policy lets ``principal`` invoke it
        :raises ~faaslib.ValidationException: the function name or qualifier is malformed
        :raises ~faaslib.InvalidParameterValueException: a parameter is invalid, or the
            registry changed to a configuration the invoker refuses (see :class:`Invoker`)
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
            self._calls_to_checkpoint = CHECKPOINT_EVERY
            await checkpoint()
            if self._state is not _State.OPEN:
                raise self._closed_error()
        if self._generation != self._registry.generation:
            self._refresh()
        if self._refusal is not None:
            raise self._refusal
        try:
            target = self._targets.get(function_name) if qualifier is None else None
        except TypeError:  # an unhashable name: _resolve says what is wrong with it
            target = None
        fn, invoked_arn, alternative, weight = target or self._resolve(function_name, qualifier)
        if alternative is not None and self._random() < weight:
            fn = alternative  # the alias's second version
        if self._permissions is not None:
            self._permissions.check(fn.spec, invoked_arn, principal, source_arn)
        if log_type != "None" and log_type != "Tail":
            raise InvalidParameterValueException(
                f"Unsupported log type {log_type!r}: expected 'None' or 'Tail'",
                function_name=fn.name,
            )
        context_data = None if client_context is None else parse_client_context(client_context)
        data = payload if type(payload) is bytes and payload else payload_bytes(payload, fn.name)
        if self._max_depth is not None and len(data) <= (
            self._max_async if invocation_type == "Event" else self._max_sync
        ):  # (a payload over its size limit: refused for that below)
            check_depth(fn.name, data, self._max_depth)
        if invocation_type == "RequestResponse":  # the hot path, inline
            if len(data) > self._max_sync:
                check_size(fn.name, data, self._max_sync, sync=True)
            event = fn.decode(data)
            request_id = new_request_id()
            concurrency = fn.concurrency
            throttled = self._concurrency.take(concurrency)
            if self._faults is not None and throttled is None and self._faults.throttled(fn.name):
                self._concurrency.free(concurrency)
                throttled = "ConcurrentInvocationLimitExceeded"
            if throttled is not None:
                self._throttles += 1
                concurrency.throttles += 1
                raise TooManyRequestsException(
                    "Rate Exceeded.", function_name=fn.name, reason=throttled
                )
            try:
                return await self._runner.run(
                    fn, event, data, request_id, invoked_arn, context_data, log_type == "Tail"
                )
            finally:
                self._concurrency.free(concurrency)
        if invocation_type == "Event":
            return await self._events.enqueue(fn, invoked_arn, data)
        if invocation_type == "DryRun":
            check_size(fn.name, data, self._max_sync, sync=True)
            fn.decode(data)
            return InvocationResult(204, b"", new_request_id())
        raise InvalidParameterValueException(
            f"Unsupported invocation type {invocation_type!r}: "
            "expected 'RequestResponse', 'Event' or 'DryRun'",
            function_name=fn.name,
        )

    def _refresh_if_changed(self) -> None:
        """Take the registry's updates, if there are any since the last look."""
        if self._generation != self._registry.generation:
            self._refresh()

    def _refresh(self) -> None:
        """Take the registry's updates: ``$LATEST`` of each function runs its new handler and
        configuration, and reserved concurrency is counted again.

        Reservations, or provisioned concurrency, beyond what ``unreserved_minimum`` allows,
        and destinations naming functions that do not exist, are remembered as the
        ``_refusal`` which opening and invocations raise (an event worker never does; a
        running invoker also logs it): so no configuration makes an opening invoker start more
        environments than it may run, or accept events whose records cannot be delivered.
        """
        snapshot = self._registry.snapshot()
        self._concurrency.configure(snapshot)
        self._generation = snapshot.generation
        self._functions.reload(snapshot)
        self._queue.reschedule()  # parked events' max_event_age may have changed
        missing = self._functions.missing_destination(snapshot)
        self._refusal = self._concurrency.refusal or missing
        if self._permissions is not None:
            self._permissions.policies = snapshot.policies
        if self._state is _State.OPEN:
            if missing is not None:
                logger.error("%s", missing)
            self._triggers.sync(self._registry, self._task_group)

    # -- event source mappings -----------------------------------------------------------------

    def event_source_mappings(self) -> list[EventSourceMapping]:
        """The running event source mappings (one per pull trigger a function declares)."""
        return self._triggers.mappings()

    # -- execution environments --------------------------------------------------------------

    async def _provision(self) -> None:
        """Start the provisioned environments of functions (``$LATEST``) and aliases."""
        for spec in self._registry:
            if spec.provisioned_concurrency:
                fn = self._functions.runtime(spec.name, LATEST)
                await self._runner.provision(fn, spec.provisioned_concurrency)
        for name, aliases in self._registry.snapshot().aliases.items():
            for alias in aliases.values():
                if alias.provisioned_concurrency:
                    fn = self._functions.runtime(name, alias.function_version)
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
            await self._events.wait_settled()
            busy = self._triggers.busy()
            if not busy:
                if self._workflows is None or self._workflows.settled():
                    return
                await self._workflows.wait_settled()  # its tasks may invoke, and so on
            for mapping in busy:  # its batches may queue events, and events feed queues
                await mapping.wait_settled()

    def _workflow_service(self) -> Workflows:
        """The Step Functions of this invoker (the workflows extra), made on first use."""
        if self._state is not _State.OPEN:
            raise self._closed_error()
        if self._workflows is None:
            from .workflows._executions import Workflows

            self._workflows = Workflows(
                self._registry.state_machines, self.invoke, self._clock, self._task_group,
                region=self._region, account=self._account,
            )  # fmt: skip
        return self._workflows

    # -- introspection -----------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The clock of retry delays and event ages."""
        return self._clock

    @property
    def site(self) -> Site:
        """The region, account id and clock the invoker gives the sources it runs."""
        return self._triggers.host.site

    def pending(self) -> list[PendingEvent]:
        """Every accepted Event invocation not finished: running, queued, then delayed."""
        return self._events.pending()

    def metrics(self) -> Metrics:
        """Per-function metrics (counts, durations, concurrency, cold starts) and the cost of
        what ran, at the invoker's :class:`~faaslib.PriceTable`."""
        return metrics_of(
            self._functions.runtimes.values(),
            self._concurrency.accounts,
            self._concurrency.running,
            self._prices,
        )

    def statistics(self) -> InvokerStatistics:
        """Return a snapshot of the invoker's counters."""
        runtimes = self._functions.runtimes.values()
        return InvokerStatistics(
            invocations=sum(fn.invocations for fn in runtimes),
            errors=sum(fn.errors for fn in runtimes),
            timeouts=sum(fn.timeouts for fn in runtimes),
            throttles=self._throttles + self._events.throttles,
            concurrent_executions=self._concurrency.running,
            **self._events.counters(),
        )

    def __repr__(self) -> str:
        return f"<Invoker state={self._state.value} functions={len(self._registry)}>"
