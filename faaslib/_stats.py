"""``InvokerStatistics``: a frozen snapshot of an invoker's counters."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InvokerStatistics"]


@dataclass(frozen=True, slots=True)
class InvokerStatistics:
    """Counters of an invoker since it was opened.

    :ivar invocations: handler runs started (RequestResponse and Event)
    :ivar errors: handler runs that ended in a function error (including timeouts)
    :ivar timeouts: handler runs stopped at their deadline
    :ivar throttles: invocations refused with ``TooManyRequestsException``
    :ivar concurrent_executions: handler runs in progress now
    :ivar events_received: Event invocations accepted (202)
    :ivar events_queued: accepted events waiting for a worker
    :ivar events_running: events being run now
    :ivar events_succeeded: events whose run returned without a function error
    :ivar events_failed: events whose run ended in a function error (logged at error level)
    :ivar events_dropped: accepted events not run because the invoker was cancelled
    """

    invocations: int
    errors: int
    timeouts: int
    throttles: int
    concurrent_executions: int
    events_received: int
    events_queued: int
    events_running: int
    events_succeeded: int
    events_failed: int
    events_dropped: int
