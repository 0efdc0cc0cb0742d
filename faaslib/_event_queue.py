"""The queue of accepted Event invocations: ready, throttled and waiting for a retry."""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from typing import TYPE_CHECKING, Any, Literal

import anyio
from anyio import CancelScope
from anyio.lowlevel import checkpoint

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._clock import Clock
    from ._execution import FunctionRuntime
    from ._result import InvocationResult
    from ._tracing import Traced

__all__ = ["EventQueue", "QueuedEvent"]

State = Literal["queued", "running", "delayed"]


class QueuedEvent:
    """One accepted Event invocation, from acceptance until it is finished."""

    __slots__ = (
        "attempts",
        "data",
        "due",
        "event",
        "fn",
        "invoked_arn",
        "parked",
        "received_at",
        "request_id",
        "response",
        "state",
        "trace",
    )

    def __init__(
        self,
        fn: FunctionRuntime,
        invoked_arn: str,
        data: bytes,
        event: Any,
        request_id: str,
        received_at: float,
        attempts: int = 0,
    ) -> None:
        self.fn = fn
        self.invoked_arn = invoked_arn
        #: The payload as accepted: every retry decodes it afresh, records quote it.
        self.data = data
        #: The decoded payload for the first attempt (``None`` once used, or after a replay).
        self.event = event
        self.request_id = request_id
        self.received_at = received_at
        self.attempts = attempts
        self.response: InvocationResult | None = None
        self.state: State = "queued"
        self.due = 0.0
        #: The deque it is parked on while throttled, else ``None``.
        self.parked: deque[QueuedEvent] | None = None
        #: With tracing: its caller's context, trigger and queue wait (see Traced).
        self.trace: Traced | None = None


class EventQueue:
    """Ready events in arrival order, events parked while throttled, retries waiting on a clock.

    Workers take events with :meth:`get`; nothing here runs a handler. ``bound`` limits the
    events waiting to run that :meth:`full` reports; events coming back (retries, throttled
    events) are never refused. A parked event that reaches its function's ``max_event_age``
    goes back to the front of the queue, for a worker to give it up (Lambda discards throttled
    events that grow too old).
    """

    def __init__(self, clock: Clock, bound: int) -> None:
        self._clock = clock
        self.bound = bound
        self._ready: deque[QueuedEvent] = deque()
        #: Events parked while throttled by the invoker's unreserved pool (functions with
        #: reserved concurrency park theirs on their own deque).
        self.throttled: deque[QueuedEvent] = deque()
        self._parked = 0
        self._parked_lists: dict[int, deque[QueuedEvent]] = {id(self.throttled): self.throttled}
        self._delayed: list[tuple[float, int, QueuedEvent]] = []
        #: When parked events grow too old: hints, checked when they come (an event released
        #: since is skipped; one whose max_event_age was raised gets a later hint).
        self._expiries: list[tuple[float, int, QueuedEvent]] = []
        self._sequence = itertools.count()
        self._idle_workers: deque[anyio.Event] = deque()
        #: Workers woken and not yet back taking events: while one is on its way, new events
        #: wake nobody else; each worker that takes an event and leaves more behind wakes
        #: the next (so a burst of quick events is run by few workers without sleeping, and
        #: events whose handlers suspend still spread over all of them).
        self._waking = 0
        self._room: anyio.Event | None = None
        self._timer_wakeup: anyio.Event | None = None
        self._timer_scope: CancelScope | None = None
        self._timer_due = 0.0
        self._closed = False

    # -- accepting -----------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Events waiting to run (ready or throttled)."""
        return len(self._ready) + self._parked

    @property
    def delayed(self) -> int:
        """Events waiting for the time of their next attempt."""
        return len(self._delayed)

    def full(self) -> bool:
        return len(self._ready) + self._parked >= self.bound

    async def wait_for_room(self) -> None:
        """Wait until :meth:`full` is false or the queue is closed (returns at once if so)."""
        while self.full() and not self._closed:
            if self._room is None:
                self._room = anyio.Event()
            await self._room.wait()

    def put(self, event: QueuedEvent) -> None:
        """Make ``event`` ready to run, after those already waiting."""
        event.state = "queued"
        self._ready.append(event)
        self._wake_one()

    def _wake_one(self) -> None:
        """Wake an idle worker, unless one is already on its way (or none is idle)."""
        if self._idle_workers and not self._waking:
            self._waking += 1
            self._idle_workers.popleft().set()

    def close(self) -> None:
        """Stop making callers of :meth:`wait_for_room` wait: nothing will take events now."""
        self._closed = True
        if self._room is not None:
            self._room.set()
            self._room = None

    # -- workers -------------------------------------------------------------------------------

    async def get(self) -> QueuedEvent:
        """The next ready event, waiting for one if none is."""
        while not self._ready:
            woken = anyio.Event()
            self._idle_workers.append(woken)
            try:
                await woken.wait()
            except BaseException:
                if woken.is_set():
                    self._waking -= 1
                    if self._ready:
                        self._wake_one()  # pass the wake-up on
                else:
                    self._idle_workers.remove(woken)
                raise
            self._waking -= 1
        event = self._ready.popleft()
        if self._ready:
            self._wake_one()  # more to run: the next worker
        if self._room is not None and len(self._ready) + self._parked < self.bound:
            self._room.set()
            self._room = None
        return event

    def park(self, event: QueuedEvent, parked: deque[QueuedEvent]) -> None:
        """Keep a throttled event aside on ``parked`` until :meth:`release` of it, or until it
        grows older than its function's ``max_event_age``."""
        event.state = "queued"
        event.parked = parked
        parked.append(event)
        self._parked += 1
        self._parked_lists[id(parked)] = parked
        if len(self._expiries) > 2 * self._parked + 64:  # mostly hints of released events
            self.reschedule()
        else:
            self._hint(event)

    def _hint(self, event: QueuedEvent) -> None:
        expiry = event.received_at + event.fn.spec.max_event_age
        heapq.heappush(self._expiries, (expiry, next(self._sequence), event))
        if self._expiries[0][2] is event:
            self._look_again(expiry)

    def reschedule(self) -> None:
        """Compute again when parked events grow too old (``max_event_age`` may have changed)."""
        self._expiries = []
        for parked in self._parked_lists.values():
            for event in parked:
                self._hint(event)

    def release(self, parked: deque[QueuedEvent]) -> None:
        """Put the longest-parked event of ``parked`` back at the front of the queue."""
        if parked:
            self._parked -= 1
            event = parked.popleft()
            event.parked = None
            self._ready.appendleft(event)
            self._wake_one()

    def release_all(self, parked: deque[QueuedEvent]) -> None:
        """Put every event of ``parked`` back at the front of the queue, in their order."""
        while parked:
            self._parked -= 1
            event = parked.pop()
            event.parked = None
            self._ready.appendleft(event)
        if self._ready:
            self._wake_one()

    def _expire(self, now: float) -> None:
        """Send parked events that have grown too old back to the front of the queue."""
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            event = heapq.heappop(expiries)[2]
            parked = event.parked
            if parked is None:
                continue  # released since
            if now < event.received_at + event.fn.spec.max_event_age:
                self._hint(event)  # its max_event_age was raised
                continue
            parked.remove(event)  # (the oldest are near the front)
            event.parked = None
            self._parked -= 1
            self._ready.appendleft(event)
            self._wake_one()

    # -- retries -------------------------------------------------------------------------------

    def delay(self, event: QueuedEvent, due: float) -> None:
        """Keep ``event`` until the clock reaches ``due``, then make it ready again."""
        event.state = "delayed"
        event.due = due
        heapq.heappush(self._delayed, (due, next(self._sequence), event))
        if self._delayed[0][2] is event:
            self._look_again(due)

    def _look_again(self, due: float) -> None:
        """A new earliest time: the timer must look again if it sleeps past ``due``."""
        if self._timer_wakeup is not None:
            self._timer_wakeup.set()
        elif self._timer_scope is not None and due < self._timer_due:
            self._timer_scope.cancel()

    def delayed_due(self) -> bool:
        """Whether an event waiting for a retry has reached its time (the timer will move it)."""
        return bool(self._delayed) and self._delayed[0][0] <= self._clock.time()

    async def run_timer(self) -> None:
        """Move delayed events to the queue when their time comes, and parked events that
        grow too old to its front; runs until cancelled."""
        delayed, inf = self._delayed, math.inf
        while True:
            now = self._clock.time()
            while delayed and delayed[0][0] <= now:
                self.put(heapq.heappop(delayed)[2])
            if self._expiries and self._expiries[0][0] <= now:
                self._expire(now)
            due = min(
                delayed[0][0] if delayed else inf,
                self._expiries[0][0] if self._expiries else inf,
            )
            if due < inf:
                self._timer_due = due
                with CancelScope() as self._timer_scope:
                    await self._clock.sleep_until(due)
                self._timer_scope = None
            else:
                self._timer_wakeup = anyio.Event()
                await self._timer_wakeup.wait()
                self._timer_wakeup = None
            await checkpoint()

    # -- views ---------------------------------------------------------------------------------

    def waiting(self) -> Iterator[QueuedEvent]:
        """Every event not running: ready, throttled, then delayed by due time."""
        yield from self._ready
        for parked in self._parked_lists.values():
            yield from parked
        for _, _, event in sorted(self._delayed, key=lambda item: item[:2]):
            yield event
