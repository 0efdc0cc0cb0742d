"""Snapshots of an invoker: its counters, and the Event invocations it has not finished."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["InvokerStatistics", "PendingEvent", "counted"]


def counted(count: int, noun: str) -> str:
    """``count`` and ``noun`` for a log line: "1 attempt", "2 attempts", "0 attempts"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


@dataclass(frozen=True, slots=True)
class InvokerStatistics:
    """Counters of an invoker since it was opened (Lambda's metric names in brackets).

    :ivar invocations: handler runs started (RequestResponse and Event) [Invocations]
    :ivar errors: handler runs that ended in a function error, timeouts included [Errors]
    :ivar timeouts: handler runs stopped at their deadline
    :ivar throttles: invocations refused with ``TooManyRequestsException`` [Throttles]
    :ivar concurrent_executions: handler runs in progress now [ConcurrentExecutions]
    :ivar events_received: Event invocations accepted (202), destination invocations of
        functions included [AsyncEventsReceived]
    :ivar events_replayed: unfinished events taken over from the journal at start
    :ivar events_queued: accepted events waiting to run (throttled ones included)
    :ivar events_running: events being run now
    :ivar events_delayed: events waiting for the time of their next attempt
    :ivar events_succeeded: events whose attempt returned without a function error
    :ivar events_retried: failed attempts followed by another
    :ivar events_dropped: events given up without success: retries exhausted, too old, or left
        unfinished by an invoker without a journal [AsyncEventsDropped]
    :ivar event_age_max: longest wait, in seconds, between accepting an event and starting an
        attempt [AsyncEventAge, maximum]
    :ivar destination_deliveries: records delivered to ``on_success``/``on_failure``
    :ivar destination_delivery_failures: records that could not be delivered
        [DestinationDeliveryFailures]
    :ivar dead_letter_errors: events that could not be sent to their dead-letter target
        [DeadLetterErrors]
    """

    invocations: int
    errors: int
    timeouts: int
    throttles: int
    concurrent_executions: int
    events_received: int
    events_replayed: int
    events_queued: int
    events_running: int
    events_delayed: int
    events_succeeded: int
    events_retried: int
    events_dropped: int
    event_age_max: float
    destination_deliveries: int
    destination_delivery_failures: int
    dead_letter_errors: int


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An accepted Event invocation that has not finished.

    :ivar request_id: its request id (the one every attempt sees)
    :ivar function_name: the function it invokes
    :ivar state: ``"running"``, ``"queued"`` (waiting to run, or throttled) or ``"delayed"``
        (waiting for the time of its next attempt)
    :ivar attempts: attempts started so far
    :ivar received_at: when it was accepted, in seconds since the epoch (the invoker's clock)
    :ivar next_attempt_at: when a delayed event runs again (the invoker's clock)
    """

    request_id: str
    function_name: str
    state: Literal["queued", "running", "delayed"]
    attempts: int
    received_at: float
    next_attempt_at: float | None = None
