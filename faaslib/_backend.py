"""Which async backend runs the caller: asyncio or trio (a leaf: imports nothing of faaslib's).

faaslib supports the two backends anyio does. Code that must pick a backend-specific path (a
deadline timer, a thread hop, a wake-up) asks :func:`running_loop` once, when it is set up or
called, and branches on the answer; :func:`current_backend` names it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

__all__ = ["current_backend", "running_loop"]

#: The running asyncio event loop, or ``None`` when none runs in this thread: under trio
#: (faaslib's only other backend) or outside async code. This is asyncio's own C-level
#: ``_get_running_loop`` (exported in ``asyncio.__all__``), bound directly rather than wrapped:
#: one call, no ``try``/``except RuntimeError``, as cheap as the invoke hot path needs.
running_loop: Callable[[], asyncio.AbstractEventLoop | None] = asyncio._get_running_loop


def current_backend() -> Literal["asyncio", "trio"]:
    """The backend running the caller, by anyio's name for it (call it from async code)."""
    return "asyncio" if running_loop() is not None else "trio"
