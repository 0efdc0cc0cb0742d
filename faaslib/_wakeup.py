"""Waking a task of the event loop from any thread (a sync handler runs in a worker thread)."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable

__all__ = ["Waker", "waker"]

Waker = Callable[[], None]


def waker(callback: Callable[[], None]) -> Waker:
    """Return a function that runs ``callback`` on the running event loop's thread: at once
    when called there, scheduled on the loop when called from another thread.

    Call it from async code (it captures the running loop).
    """
    owner = threading.get_ident()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
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
