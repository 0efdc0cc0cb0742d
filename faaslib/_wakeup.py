"""Waking a task of the event loop from any thread (a sync handler runs in a worker thread)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
from anyio import CancelScope

from ._backend import running_loop

if TYPE_CHECKING:
    from ._clock import Clock

__all__ = ["Waker", "sleep_until_woken", "waker"]

Waker = Callable[[], None]


def waker(callback: Callable[[], None]) -> Waker:
    """Return a function that runs ``callback`` on the running event loop's thread: at once
    when called there, scheduled on the loop when called from another thread.

    Call it from async code (it captures the running loop).
    """
    owner = threading.get_ident()
    loop = running_loop()
    if loop is not None:
        call_soon = loop.call_soon_threadsafe

        def wake_asyncio() -> None:
            if threading.get_ident() == owner:
                callback()
            else:
                call_soon(callback)

        return wake_asyncio
    trio = sys.modules["trio"]
    token = trio.lowlevel.current_trio_token()

    def wake_trio() -> None:
        if threading.get_ident() == owner:
            callback()
        else:
            token.run_sync_soon(callback)

    return wake_trio


async def sleep_until_woken(waiters: set[Waker], *deadlines: tuple[Clock, float]) -> None:
    """Sleep until a source calls one of ``waiters`` (something arrived), or until one of
    ``deadlines``: a time, waited for on the clock it comes with (a source may follow another
    clock than its poller)."""
    with CancelScope() as scope:
        wake = waker(scope.cancel)
        waiters.add(wake)
        try:
            if not deadlines:
                await anyio.sleep_forever()
            elif len(deadlines) == 1:
                clock, until = deadlines[0]
                await clock.sleep_until(until)
            else:
                async with anyio.create_task_group() as tg:
                    for clock, until in deadlines:
                        tg.start_soon(_ring, clock, until, scope)
        finally:
            waiters.discard(wake)


async def _ring(clock: Clock, until: float, scope: CancelScope) -> None:
    await clock.sleep_until(until)
    scope.cancel()
