"""The life of Event invocations: accepted (journaled, queued), run by workers, retried,
given up, and their records delivered to destinations; with the counters Lambda keeps."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import anyio
from anyio.lowlevel import checkpoint

from ._clock import VirtualClock
from ._conversion import check_size, payload_bytes
from ._destinations import (
    Condition,
    dead_letter_attributes,
    deliver,
    invocation_record,
    payload_value,
    timestamp,
)
from ._errors import FaaslibError, InvokerClosed, TooManyRequestsException
from ._event_queue import QueuedEvent
from ._function_errors import RUNTIME_EXITS, runtime_error
from ._history import running_attempt
from ._ids import UNHANDLED, new_request_id
from ._journal import JournalEntry
from ._result import InvocationResult
from ._stats import PendingEvent, counted
from .workflows._machines import machine_name_of

if TYPE_CHECKING:
    from ._clock import Clock
    from ._concurrency import ConcurrencyPool
    from ._environments import Runner
    from ._event_queue import EventQueue
    from ._execution import FunctionRuntime
    from ._faults import Faults
    from ._history import Ending, History
    from ._journal import Journal
    from ._tracing import Tracing

__all__ = ["EventInvocations"]

logger = logging.getLogger("faaslib")

#: Each worker lets the loop run (a checkpoint: other tasks, timers, cancellation) once in
#: this many events, and ``Invoker.invoke`` once in as many calls, so a loop of work that never
#: suspends shares the loop and can be cancelled; a checkpoint on every call would cost a
#: third of a RequestResponse (a pass of the event loop), one in 64 costs half a percent.
CHECKPOINT_EVERY = 64
#: A normal exit that waits longer than this (seconds) for a retry says so at WARNING.
EXIT_WAIT_WARNING = 5.0
#: Queued events beyond this many keep their payload as bytes, not decoded: a decoded event is
#: many objects, and the garbage collector's passes over 100,000 of them cost more than
#: decoding again.
_KEEP_DECODED = 1024


class EventInvocations:
    """Every Event invocation of one invoker, from its 202 to its end.

    The invoker hands it what it resolves: ``resolve(ref)`` gives the function version to run
    and the ARN as invoked (for function destinations and replayed events), and ``refresh()``
    takes up registry changes before an event runs. :attr:`runner` is set when the invoker
    opens.
    """

    def __init__(
        self,
        *,
        queue: EventQueue,
        clock: Clock,
        journal: Journal | None,
        concurrency: ConcurrencyPool,
        retry_delays: Sequence[float],
        max_async: int,
        raise_when_full: bool,
        resolve: Callable[[str], tuple[FunctionRuntime, str]],
        refresh: Callable[[], None],
        history: History | None = None,
        faults: Faults | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._history = history
        self._faults = faults
        self.tracing = tracing
        self._queue = queue
        self._clock = clock
        self._journal = journal
        self._concurrency = concurrency
        self._retry_delays = tuple(retry_delays)
        self._max_async = max_async
        self._raise_when_full = raise_when_full
        self._resolve = resolve
        self._refresh = refresh
        self.runner: Runner | None = None
        #: Starts an execution of a state machine destination (set by the invoker).
        self.start_execution: Callable[[str, Any], Awaitable[object]] | None = None
        self._closed = False
        self._leaving = False
        self._idle: anyio.Event | None = None
        #: Accepted events not finished.
        self.pending_count = 0
        #: Events running now.
        self.running: set[QueuedEvent] = set()
        # Lambda's counters (see InvokerStatistics).
        self.received = 0
        self.replayed = 0
        self.succeeded = 0
        self.retried = 0
        self.dropped = 0
        self.age_max = 0.0
        self.deliveries = 0
        self.delivery_failures = 0
        self.dead_letter_errors = 0
        self.throttles = 0

    def close(self, *, cancel: bool) -> None:
        """Stop accepting; report what is left unfinished (in the journal, or dropped)."""
        self._closed = True
        self._queue.close()
        if not self.pending_count:
            return
        unfinished = counted(self.pending_count, "accepted Event invocation")
        if self._journal is not None:
            logger.warning(
                "Invoker closed with %s unfinished; %s in the journal %s and run when an "
                "invoker opens it again",
                unfinished,
                "it stays" if self.pending_count == 1 else "they stay",
                self._journal.path,
            )
        else:
            self.dropped += self.pending_count
            logger.warning(
                "Invoker %s with %s unfinished; %s dropped",
                "cancelled" if cancel else "closed",
                unfinished,
                "it is" if self.pending_count == 1 else "they are",
            )

    def leaving(self) -> None:
        """The invoker drains to close: log each retry it must wait long for, now and later."""
        self._leaving = True
        for queued in self._queue.waiting():
            if queued.state == "delayed":
                self._warn_wait(queued)

    def _warn_wait(self, queued: QueuedEvent) -> None:
        now = self._clock.time()
        if queued.due - now <= EXIT_WAIT_WARNING or isinstance(self._clock, VirtualClock):
            return  # (on a VirtualClock draining never waits for a later time)
        logger.warning(
            "Leaving the invoker waits for Event invocation %s of function %s: its retry is "
            "due at %s (in %.0f s); on_exit='cancel' leaves at once, keeping it in a journal",
            queued.request_id,
            queued.fn.name,
            timestamp(queued.due),
            queued.due - now,
        )

    async def wait_settled(self) -> None:
        """Wait until every accepted event has finished (on a VirtualClock, until only
        events waiting for a later time of it are left)."""
        while not self.settled():
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    def pending(self) -> list[PendingEvent]:
        """Every accepted event not finished: running, queued, then delayed."""
        return [
            PendingEvent(
                request_id=queued.request_id,
                function_name=queued.fn.name,
                state=queued.state,
                attempts=queued.attempts,
                received_at=queued.received_at,
                next_attempt_at=queued.due if queued.state == "delayed" else None,
            )
            for queued in (*self.running, *self._queue.waiting())
        ]

    async def enqueue(self, fn: FunctionRuntime, invoked_arn: str, data: bytes) -> InvocationResult:
        check_size(fn.name, data, self._max_async, sync=False)
        event = fn.decode(data)
        if self._queue.full():
            if self._raise_when_full:
                self.throttles += 1
                raise TooManyRequestsException(
                    f"Rate exceeded: the Event queue holds {self._queue.bound} events",
                    function_name=fn.name,
                    reason="CallerRateLimitExceeded",
                )
            await self._queue.wait_for_room()  # back-pressure: nothing accepted is dropped
            if self._closed:
                raise InvokerClosed("Invoker is closed")
        return InvocationResult(202, b"", await self.accept(fn, invoked_arn, data, event))

    async def accept(self, fn: FunctionRuntime, invoked_arn: str, data: bytes, event: Any) -> str:
        """Accept an Event invocation: journal it (when there is a journal), queue it, and
        return its request id."""
        if self._queue.queued >= _KEEP_DECODED:
            event = None  # a long queue holds bytes only: the worker decodes them again
        queued = QueuedEvent(fn, invoked_arn, data, event, new_request_id(), self._clock.time())
        if self.tracing is not None:
            queued.trace = self.tracing.capture()
        self.pending_count += 1
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
                self.pending_count -= 1
                self._maybe_idle()
                raise
        self._queue.put(queued)
        self.received += 1
        return queued.request_id

    def replay(self, entries: list[JournalEntry]) -> None:
        """Queue the events a previous invoker left unfinished in the journal."""
        for entry in entries:
            try:
                fn, _ = self._resolve(entry.invoked_arn)
            except FaaslibError as exc:
                logger.error(
                    "Event invocation %s in the journal %s is kept, not run: %s",
                    entry.request_id,
                    self._journal.path if self._journal is not None else "",
                    exc,
                )
                continue
            self.pending_count += 1
            self.replayed += 1
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
        if self.replayed:
            logger.info("Replaying %s from the journal", counted(self.replayed, "Event invocation"))

    async def work(self) -> None:
        """One worker: run queued events one after another, until cancelled."""
        get = self._queue.get
        taken = 0
        while True:
            queued = await get()
            taken += 1
            if taken % CHECKPOINT_EVERY == 0:
                await checkpoint()  # let others run when every event is ready at once
            await self._run_event(queued)

    async def _run_event(self, queued: QueuedEvent) -> None:
        fn = queued.fn
        self._refresh()  # the registry may have changed since it was queued
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
        if self._faults is not None and self._faults.throttled(fn.name):
            self._concurrency.free(concurrency)  # a declared throttle: back in line at once
            concurrency.throttles += 1
            self._queue.put(queued)
            return
        self.age_max = max(self.age_max, age)
        event = queued.event
        queued.event = None  # a retry decodes the payload afresh
        queued.attempts += 1
        queued.state = "running"
        self.running.add(queued)
        try:
            try:
                if event is None:  # a retry, a replay, or an event of a long queue
                    event = fn.decode(queued.data)
            except FaaslibError as exc:  # the function's event type changed since
                result = _failed(queued, "Runtime.UnmarshalError", exc.message)
            else:
                runner = self.runner
                assert runner is not None  # set when the invoker opened
                if self._history is None and self.tracing is None:  # the bare path
                    result = await runner.run(
                        fn, event, queued.data, queued.request_id, queued.invoked_arn, None, False
                    )
                else:
                    result = await self._attempt(runner, fn, event, queued)
        except InvokerClosed:
            raise
        except FaaslibError as exc:  # Lambda refused the attempt (a file system not mounted)
            logger.warning("Event %s of %s not run: %s", queued.request_id, fn.name, exc.message)
            result = _failed(queued, exc.error_type, exc.message)
        except Exception as exc:
            logger.error(  # with its traceback; the attempt failed, no other event is lost
                "faaslib failed running Event %s of %s: %r", queued.request_id, fn.name, exc,
                exc_info=exc,
            )  # fmt: skip
            result = _failed(queued, "Runtime.Unknown", f"faaslib failed: {exc!r}")
        finally:
            self.running.discard(queued)
            self._concurrency.free(concurrency)
        queued.response = result
        if result.function_error is None:
            self._ended(queued, "done")
            self.succeeded += 1
            if fn.spec.on_success is not None:
                await self._send_record(queued, fn.spec.on_success, "Success")
            self._finish(queued)
        elif queued.attempts > fn.spec.max_retry_attempts:
            await self._give_up(queued, "RetriesExhausted")
        else:
            self._ended(queued, "retry")
            self._retry_later(queued)

    async def _attempt(
        self, runner: Runner, fn: FunctionRuntime, event: Any, queued: QueuedEvent
    ) -> InvocationResult:
        """Run one attempt as an Event's attempt (for a history), in its caller's context (for
        tracing)."""
        run = runner.run(fn, event, queued.data, queued.request_id, queued.invoked_arn, None, False)
        token = running_attempt.set(("Event", queued.attempts))
        try:
            if queued.trace is None or self.tracing is None:
                return await run
            with self.tracing.event(queued.trace):
                return await run
        finally:
            running_attempt.reset(token)

    def _ended(self, queued: QueuedEvent, ending: Ending, condition: str = "") -> None:
        if self._history is not None:
            self._history.ended(queued.request_id, ending, queued.fn.name, condition)

    def _retry_later(self, queued: QueuedEvent) -> None:
        if queued.trace is not None:  # the next attempt's queue wait starts now
            queued.trace.waiting_since = time.time_ns()
        delays = self._retry_delays
        now = self._clock.time()
        due = now + delays[min(queued.attempts, len(delays)) - 1]
        expiry = queued.received_at + queued.fn.spec.max_event_age
        self.retried += 1
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
        if self._leaving:
            self._warn_wait(queued)
        self._maybe_idle()

    async def _give_up(self, queued: QueuedEvent, condition: Condition) -> None:
        """An event failed for good: records to ``on_failure`` and ``dead_letter``, or a log."""
        self.dropped += 1
        spec = queued.fn.spec
        if spec.on_failure is not None:
            self._ended(queued, "on_failure", condition)
        elif spec.dead_letter is not None:
            self._ended(queued, "dead_letter", condition)
        else:
            self._ended(queued, "dropped", condition)
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
                "Event invocation %s of function %s dropped (%s after %s)%s",
                queued.request_id,
                queued.fn.name,
                condition,
                counted(queued.attempts, "attempt"),
                error,
            )
        self._finish(queued)

    def _finish(self, queued: QueuedEvent) -> None:
        if self._journal is not None:
            self._journal.remove(queued.request_id)
        self.pending_count -= 1
        self._maybe_idle()

    def _following(self, queued: QueuedEvent) -> AbstractContextManager[None]:
        """Where an event's destination record or dead letter is sent from: with tracing, a
        child of its last attempt's span."""
        if self.tracing is None or queued.trace is None:
            return nullcontext()
        return self.tracing.following(queued.trace)

    async def _send_record(
        self, queued: QueuedEvent, destination: object, condition: Condition
    ) -> None:
        with self._following(queued):
            await self._record_to(queued, destination, condition)

    async def _record_to(
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
            await self.deliver(destination, record)
        except (Exception, *RUNTIME_EXITS) as exc:  # noqa: BLE001 - counted and logged
            self.delivery_failures += 1
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
            self.deliveries += 1

    async def _send_dead_letter(self, queued: QueuedEvent, target: object) -> None:
        with self._following(queued):
            await self._dead_letter_to(queued, target)

    async def _dead_letter_to(self, queued: QueuedEvent, target: object) -> None:
        try:
            await self.deliver(
                target,
                payload_value(queued.data),
                dead_letter_attributes(queued.request_id, queued.response),
            )
        except (Exception, *RUNTIME_EXITS) as exc:  # noqa: BLE001 - counted and logged
            self.dead_letter_errors += 1
            logger.error(
                "Could not send Event invocation %s of function %s to its dead-letter target "
                "%r: %s: %s",
                queued.request_id,
                queued.fn.name,
                target,
                type(exc).__name__,
                exc,
            )

    async def deliver(
        self,
        destination: object,
        message: Any,
        attributes: dict[str, dict[str, str]] | None = None,
    ) -> None:
        if not isinstance(destination, str):
            await deliver(destination, message, attributes)
            return
        if machine_name_of(destination) is not None:  # a state machine: an execution
            assert self.start_execution is not None  # set by the invoker
            await self.start_execution(destination, message)
            return
        # A function destination: an Event invocation, accepted even when the queue is full.
        fn, invoked_arn = self._resolve(destination)
        data = payload_bytes(message, fn.name)
        check_size(fn.name, data, self._max_async, sync=False)
        await self.accept(fn, invoked_arn, data, fn.decode(data))

    def counters(self) -> dict[str, Any]:
        """The Event lifecycle's counters, as :class:`~faaslib.InvokerStatistics` names them."""
        return {
            "events_received": self.received,
            "events_replayed": self.replayed,
            "events_queued": self._queue.queued,
            "events_running": len(self.running),
            "events_delayed": self._queue.delayed,
            "events_succeeded": self.succeeded,
            "events_retried": self.retried,
            "events_dropped": self.dropped,
            "event_age_max": self.age_max,
            "destination_deliveries": self.deliveries,
            "destination_delivery_failures": self.delivery_failures,
            "dead_letter_errors": self.dead_letter_errors,
        }

    def settled(self) -> bool:
        if not self.pending_count:
            return True
        # On a virtual clock, events waiting for a time not yet reached wait for advance().
        return (
            isinstance(self._clock, VirtualClock)
            and self.pending_count == self._queue.delayed
            and not self._queue.delayed_due()
        )

    def _maybe_idle(self) -> None:
        if self._idle is not None and self.settled():
            self._idle.set()
            self._idle = None


def _failed(queued: QueuedEvent, error_type: str, message: str) -> InvocationResult:
    """A failed attempt (retried, then sent on) that the handler did not make: its event no
    longer decodes, Lambda refused to run it, or faaslib itself failed."""
    queued.fn.errors += 1
    document = runtime_error(error_type, message, queued.request_id)
    return InvocationResult(200, document, queued.request_id, UNHANDLED, queued.fn.version)
