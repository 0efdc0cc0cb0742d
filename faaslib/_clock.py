"""Clocks: the time faaslib's own waits read (retry delays, event age), real or virtual."""

from __future__ import annotations

import datetime
import heapq
import itertools
import time
from typing import Protocol

import anyio
from anyio.lowlevel import checkpoint

__all__ = ["Clock", "SystemClock", "VirtualClock"]


class Clock(Protocol):
    """What the invoker needs of a clock: the time now, and a way to wait for a later time.

    Times are seconds since the epoch (they stamp destination records and survive in the
    journal). Handler timeouts never read this clock: they are always real time.
    """

    def time(self) -> float:
        """Seconds since the epoch, never going backwards."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once :meth:`time` has reached ``deadline``."""
        ...


class SystemClock:
    """Real time: the epoch from :func:`time.time`, advanced by :func:`time.monotonic`.

    Anchoring the monotonic clock to the epoch once keeps the time stamps meaningful and the
    waits immune to the system clock being set back.
    """

    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = time.time() - time.monotonic()

    def time(self) -> float:
        return time.monotonic() + self._offset

    async def sleep_until(self, deadline: float) -> None:
        await anyio.sleep(max(0.0, deadline - self.time()))

    def __repr__(self) -> str:
        return "<SystemClock>"


class VirtualClock:
    """A clock that moves only when :meth:`advance` is called.

    Give it to an invoker (``Invoker(registry, clock=clock)``) and a test of a two-minute
    retry backoff or a six-hour event age runs in milliseconds::

        clock = faaslib.VirtualClock()
        async with faaslib.Invoker(registry, clock=clock) as invoker:
            await invoker.invoke("flaky", {}, "Event")
            await invoker.drain()  # first attempt failed; the retry waits for the clock
            clock.advance(60)
            await invoker.drain()  # second attempt done

    :param start: the time it starts at: seconds since the epoch or an aware
        :class:`~datetime.datetime` (default: the current time)
    """

    __slots__ = ("_now", "_sequence", "_sleepers")

    def __init__(self, start: float | datetime.datetime | None = None) -> None:
        if start is None:
            start = time.time()
        elif isinstance(start, datetime.datetime):
            if start.tzinfo is None:
                raise ValueError("VirtualClock needs an aware datetime (with a tzinfo)")
            start = start.timestamp()
        self._now = float(start)
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._sequence = itertools.count()

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward and wake everything waiting for a time now reached.

        Call it from the event loop's thread (a test body, a fixture); from synchronous code
        use :meth:`BlockingInvoker.advance <faaslib.BlockingInvoker.advance>`.

        :raises ValueError: ``seconds`` is negative or not finite
        """
        if not 0 <= seconds < float("inf"):
            raise ValueError(f"A clock advances by a finite, non-negative time, not {seconds!r}")
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            heapq.heappop(self._sleepers)[2].set()

    def next_wakeup(self) -> float | None:
        """The earliest time something waits for, or ``None`` when nothing waits."""
        while self._sleepers and self._sleepers[0][2].is_set():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._now:
            await checkpoint()
            return
        woken = anyio.Event()
        heapq.heappush(self._sleepers, (deadline, next(self._sequence), woken))
        try:
            await woken.wait()
        finally:
            woken.set()  # a cancelled sleeper is skipped by next_wakeup

    def __repr__(self) -> str:
        stamp = datetime.datetime.fromtimestamp(self._now, datetime.timezone.utc)
        return f"<VirtualClock {stamp.isoformat()}>"
