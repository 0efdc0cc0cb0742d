"""An execution's history: its events as ``GetExecutionHistory`` lists them.

Each event is a dict in boto3's shape: ``timestamp`` (an aware datetime), ``type``
(``ExecutionStarted``, ``TaskStateEntered``, ``LambdaFunctionScheduled``, ...), ``id`` (from
1), ``previousEventId`` (the event before it on the same path of the execution: a Parallel
branch or a Map iteration has its own) and the type's details under
``<type in lowerCamelCase>EventDetails`` (``stateEnteredEventDetails`` for every
``...StateEntered``, ``stateExitedEventDetails`` for every ``...StateExited``).

The chains follow histories recorded from AWS: no event names ``ExecutionStarted``,
``MapIterationSucceeded``/``Failed`` or ``Parallel``/``MapStateSucceeded`` as its previous
one (the first state's entry follows event 0; the event after an iteration's end follows the
iteration's last state event); a branch or iteration chains from its state's
``...StateStarted``, and the state goes on from the latest event of its branches.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

from ._failure import DATA_LIMIT_EXCEEDED, StatesFailure

__all__ = ["MAX_DATA", "NO_DETAILS", "ExecutionHistory", "Strand", "as_text", "limited_text"]

_UTC = datetime.timezone.utc
#: Step Functions' limit on a state's input and output, in bytes of UTF-8 (256 KiB).
MAX_DATA = 262_144
#: An event's ``inputDetails`` or ``outputDetails``: its data is whole (never truncated here).
NO_DETAILS = {"truncated": False}
#: Events that no later event names as its previous one.
_PASSED_OVER = frozenset(
    {
        "ExecutionStarted",
        "MapIterationSucceeded",
        "MapIterationFailed",
        "MapStateSucceeded",
        "ParallelStateSucceeded",
    }
)


def as_text(value: Any) -> str:
    """A JSON value as Step Functions writes one in its API: compact JSON text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def limited_text(value: Any, state: str, *, what: str = "returned a result") -> str:
    """``value`` as text, if within :data:`MAX_DATA` bytes (``what`` says what it is, in
    the failure's cause).

    :raises StatesFailure: ``States.DataLimitExceeded`` (no ``States.ALL`` catches it)
    """
    text = as_text(value)
    if len(text) > MAX_DATA // 4 and len(text.encode()) > MAX_DATA:
        raise StatesFailure(
            DATA_LIMIT_EXCEEDED,
            f"The state/task '{state}' {what} with a size exceeding the maximum number of "
            "bytes service limit.",
        )
    return text


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
    """One path through an execution: each event it records follows the one before.

    :ivar last: the event the next one follows
    :ivar latest: the latest event recorded on this path (or joined to it)
    """

    __slots__ = ("history", "last", "latest")

    def __init__(self, history: ExecutionHistory, previous: int) -> None:
        self.history = history
        self.last = previous
        self.latest = previous

    def add(self, event_type: str, details: dict[str, Any] | None = None) -> int:
        event_id = self.history.add(event_type, self.last, details)
        self.latest = event_id
        if event_type not in _PASSED_OVER:
            self.last = event_id
        return event_id

    def fork(self) -> Strand:
        """A path starting after this one's last event (a branch, an iteration)."""
        return Strand(self.history, self.last)

    def join(self, path: Strand) -> None:
        """A path forked from this one ended: what starts next follows the later of the two."""
        self.last = max(self.last, path.last)
        self.latest = max(self.latest, path.latest)

    def settle(self) -> None:
        """The paths joined to this one all ended: it goes on from the latest of their
        events."""
        self.last = self.latest
