"""What of the running executions is at work, for ``Invoker.drain``.

A *strand* (an execution's path, a Parallel branch, a Map iteration) is active while it
runs. One that sleeps (a ``Wait`` state, a retry's backoff) or a task's timer is a *timer*
with its deadline on the invoker's clock; one that waits for a task token is *held*: only the
caller's ``send_task_success`` moves it. Executions are settled when nothing is active and,
on a :class:`~faaslib.VirtualClock`, no timer is due (on a real clock, no timer is left), as
``drain`` treats delayed events.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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

    @asynccontextmanager
    async def stepping_aside(self) -> AsyncIterator[None]:
        """The strand waits for others (its branches): it is not active meanwhile."""
        self.leave()
        try:
            yield
        finally:
            self.enter()

    async def sleep_until(self, deadline: float, *, strand: bool) -> None:
        """Sleep on the clock as a timer; a ``strand`` steps aside while it sleeps."""
        key = next(self._ids)
        self._timers[key] = deadline
        if strand:
            self.leave()
        try:
            await self._clock.sleep_until(deadline)
        finally:
            del self._timers[key]
            if strand:
                self.enter()
            self._maybe_idle()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """The strand waits for a task token's answer: settled until it comes."""
        async with self.stepping_aside():
            yield

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
