"""What of the running executions is at work, for ``Invoker.drain``.

A *strand* (an execution's path, a Parallel branch, a Map iteration) is active while it
runs. One that sleeps (a ``Wait`` state, a retry's backoff) or a task's timer is a *timer*
with its deadline on the invoker's clock; one that waits for a task token is *held*: only the
caller's ``send_task_success`` moves it. Whatever wakes a waiting strand (a timer firing, a
token's answer, a stop) counts it active at once, so ``drain`` cannot return between the
wake-up and the strand's next step. Executions are settled when nothing is active and,
on a :class:`~faaslib.VirtualClock`, no timer is due (on a real clock, no timer is left), as
``drain`` treats delayed events.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import anyio

from .._clock import Clock, VirtualClock

__all__ = ["Activity"]


class Activity:
    """Counts the active strands and the timers of an invoker's executions."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._virtual = isinstance(clock, VirtualClock)
        self.active = 0
        self._timers: dict[int, float] = {}
        self._ids = itertools.count()
        self._idle: anyio.Event | None = None

    def enter(self) -> None:
        """A strand starts (or comes back from waiting)."""
        self.active += 1

    def leave(self) -> None:
        """A strand ends (or steps aside to wait)."""
        self.active -= 1
        self._maybe_idle()

    async def sleep_until(self, deadline: float, *, strand: bool) -> None:
        """Sleep on the clock as a timer; a ``strand`` steps aside while it sleeps and is
        active again as the timer fires (or the sleep is cancelled)."""
        if not strand:
            await self.timer(deadline)
            return
        woke: list[bool] = []

        def woken() -> None:
            woke.append(True)
            self.enter()

        try:
            await self.timer(deadline, woken, sleeping=self.leave)
        finally:
            if not woke:
                self.enter()

    async def timer(
        self,
        deadline: float,
        woken: Callable[[], None] | None = None,
        *,
        sleeping: Callable[[], None] | None = None,
    ) -> None:
        """Sleep until ``deadline`` as a timer. ``sleeping`` runs once the timer is counted
        (before anything else can run: a strand stepping aside there is never seen settled
        without its timer), ``woken`` as it fires, before ``drain`` can see the executions
        settled (it makes whoever the timer wakes active)."""
        key = next(self._ids)
        self._timers[key] = deadline
        if sleeping is not None:
            sleeping()
        fired = False
        try:
            await self._clock.sleep_until(deadline)
            fired = True
        finally:
            del self._timers[key]
            if fired and woken is not None:
                woken()
            self._maybe_idle()

    def settled(self) -> bool:
        if self.active:
            return False
        if not self._virtual:
            return not self._timers
        now = self._clock.time()
        return all(deadline > now for deadline in self._timers.values())

    async def wait_settled(self) -> None:
        while not self.settled():
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    def _maybe_idle(self) -> None:
        if self._idle is not None and self.settled():
            self._idle.set()
            self._idle = None
