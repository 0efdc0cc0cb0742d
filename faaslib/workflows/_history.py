"""An execution's history: its events as ``GetExecutionHistory`` lists them.

Each event is a dict in boto3's shape: ``timestamp`` (an aware datetime), ``type``
(``ExecutionStarted``, ``TaskStateEntered``, ``LambdaFunctionScheduled``, ...), ``id`` (from
1), ``previousEventId`` (the event before it on the same path of the execution: a Parallel
branch or a Map iteration has its own) and the type's details under
``<type in lowerCamelCase>EventDetails`` (``stateEnteredEventDetails`` for every
``...StateEntered``, ``stateExitedEventDetails`` for every ``...StateExited``).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

__all__ = ["ExecutionHistory", "Strand", "as_text"]

_UTC = datetime.timezone.utc


def as_text(value: Any) -> str:
    """A JSON value as Step Functions writes one in its API: compact JSON text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _details_key(event_type: str) -> str:
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


class ExecutionHistory:
    """The events of one execution, stamped by the invoker's clock.

    :param now: the clock's time (seconds since the epoch)
    :param keep: ``False`` for an EXPRESS execution (Step Functions keeps no history of those):
        the events are counted, not kept
    """

    def __init__(self, now: Callable[[], float], *, keep: bool = True) -> None:
        self._now = now
        self._keep = keep
        self.events: list[dict[str, Any]] = []
        self._count = 0

    def add(self, event_type: str, previous: int, details: dict[str, Any] | None = None) -> int:
        """Record an event after event ``previous`` (0 for none); return its id."""
        self._count += 1
        if self._keep:
            event: dict[str, Any] = {
                "timestamp": datetime.datetime.fromtimestamp(self._now(), _UTC),
                "type": event_type,
                "id": self._count,
                "previousEventId": previous,
            }
            if details is not None:
                event[_details_key(event_type)] = details
            self.events.append(event)
        return self._count

    def strand(self, previous: int = 0) -> Strand:
        """A path of the execution (the main one, a branch, an iteration) starting after
        event ``previous``."""
        return Strand(self, previous)


class Strand:
    """One path through an execution: each event it records follows the one before."""

    __slots__ = ("history", "last")

    def __init__(self, history: ExecutionHistory, previous: int) -> None:
        self.history = history
        self.last = previous

    def add(self, event_type: str, details: dict[str, Any] | None = None) -> int:
        self.last = self.history.add(event_type, self.last, details)
        return self.last

    def fork(self) -> Strand:
        """A path starting after this one's last event (a branch, an iteration)."""
        return Strand(self.history, self.last)
