"""A function's account of concurrent executions: running now, its reserved cap, throttles."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._event_queue import QueuedEvent

__all__ = ["Concurrency"]


class Concurrency:
    """Concurrent executions of one function, all its versions together (as Lambda counts).

    ``reserved`` is the function's reserved concurrency (``None``: it draws on the invoker's
    unreserved pool); ``parked`` keeps its Event invocations throttled by that reservation.
    """

    __slots__ = ("parked", "peak", "reserved", "running", "throttles", "unreserved")

    def __init__(self, reserved: int | None) -> None:
        self.reserved = reserved
        self.running = 0
        #: Runs holding a slot of the invoker's unreserved pool (taken before a reservation).
        self.unreserved = 0
        self.peak = 0
        self.throttles = 0
        self.parked: deque[QueuedEvent] = deque()
