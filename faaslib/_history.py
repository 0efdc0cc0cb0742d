"""``History``: a record of every invocation an invoker runs, for tests to assert on.

Given to an invoker (``Invoker(registry, history=history)``), it receives one
:class:`Invocation` per handler run: RequestResponse calls, each attempt of an Event
invocation, the batches of event source mappings. An Event attempt also learns where its
event went next: done, retried (back on the queue), to ``on_failure``, to the dead-letter
target, or dropped.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from ._result import InvocationResult

__all__ = ["Ending", "GivenUp", "History", "Invocation", "running_attempt"]

#: Where an Event invocation's event went after an attempt.
Ending = Literal["done", "retry", "on_failure", "dead_letter", "dropped"]

#: The invocation type and attempt of the handler run in progress (set by the Event
#: lifecycle; a run without it is a RequestResponse call, its first attempt).
running_attempt: contextvars.ContextVar[tuple[str, int]] = contextvars.ContextVar(
    "faaslib_running_attempt", default=("RequestResponse", 1)
)


@dataclass(slots=True)
class Invocation:
    """One handler run.

    :ivar function: the function's name
    :ivar version: the version that ran (``$LATEST``, "1", ...)
    :ivar invoked_arn: the ARN it was invoked by (with the alias or version it named)
    :ivar invocation_type: ``RequestResponse`` (event source mappings invoke so) or ``Event``
    :ivar attempt: 1 for the first run of an event, 2 and 3 for Lambda's retries
    :ivar request_id: the invocation's request id (an Event's attempts share it)
    :ivar payload: the event, as the JSON bytes the handler was invoked with
    :ivar result: what the invocation answered (a function error is a result too)
    :ivar duration_ms: the handler's run, as the REPORT line gives it
    :ivar ended: for an Event attempt, where its event went next (``done``, ``retry``,
        ``on_failure``, ``dead_letter``, ``dropped``); ``None`` for a synchronous call
    :ivar records: for a mapping's batch, where each record went: for a queue, by message
        id, ``done`` (deleted) or ``back_on_queue`` (visible again after its visibility
        timeout, and to the dead-letter queue after ``max_receive_count`` receives); for a
        stream, by sequence number, ``done``, ``retry`` (in a later batch), or, once the
        mapping gives it up, ``on_failure`` or ``skipped``
    """

    function: str
    version: str
    invoked_arn: str
    invocation_type: str
    attempt: int
    request_id: str
    payload: bytes
    result: InvocationResult
    duration_ms: float
    ended: Ending | None = None
    records: dict[str, str] | None = None

    @property
    def failed(self) -> bool:
        """Whether the run ended in a function error (a timeout and an init error included)."""
        return self.result.function_error is not None


@dataclass(frozen=True, slots=True)
class GivenUp:
    """An Event invocation given up before any attempt ran: where it went, and why."""

    function: str
    request_id: str
    ended: Ending
    condition: str


class History:
    """Every invocation an invoker ran, oldest first::

    history = faaslib.History()
    async with faaslib.Invoker(registry, history=history) as invoker:
        ...
    assert [i.ended for i in history.of("ship_order")] == ["retry", "done"]
    """

    def __init__(self) -> None:
        self.invocations: list[Invocation] = []
        #: Event invocations given up before any attempt ran (too old, or their function's
        #: reserved concurrency was 0).
        self.given_up: list[GivenUp] = []
        self._latest_attempt: dict[str, Invocation] = {}  # by an Event's request id

    def of(self, function: str) -> list[Invocation]:
        """The invocations of one function."""
        return [i for i in self.invocations if i.function == function]

    def failed_events(self) -> list[Invocation]:
        """The last attempt of each Event invocation that failed for good (not retried)."""
        return [
            i
            for i in self._latest_attempt.values()
            if i.ended in ("on_failure", "dead_letter", "dropped")
        ]

    def clear(self) -> None:
        """Forget what was recorded."""
        self.invocations.clear()
        self.given_up.clear()
        self._latest_attempt.clear()

    def __iter__(self) -> Iterator[Invocation]:
        return iter(self.invocations)

    def __len__(self) -> int:
        return len(self.invocations)

    def __repr__(self) -> str:
        return f"<History invocations={len(self.invocations)}>"

    # -- what the invoker tells it -------------------------------------------------------------

    def ran(
        self,
        function: str,
        version: str,
        invoked_arn: str,
        payload: bytes,
        result: InvocationResult,
        duration_ms: float,
    ) -> None:
        """A handler run ended with ``result``."""
        invocation_type, attempt = running_attempt.get()
        invocation = Invocation(
            function,
            version,
            invoked_arn,
            invocation_type,
            attempt,
            result.request_id,
            payload,
            result,
            duration_ms,
        )
        self.invocations.append(invocation)
        if invocation_type == "Event":
            self._latest_attempt[result.request_id] = invocation

    def records_ended(self, request_id: str, endings: dict[str, str]) -> None:
        """Where each record of the batch invocation ``request_id`` went."""
        for invocation in reversed(self.invocations):
            if invocation.request_id == request_id:
                invocation.records = endings
                return

    def records_given_up(self, record_ids: list[str], ending: str) -> None:
        """Records a stream mapping gave up after their last invocation: ``on_failure`` or
        ``skipped``."""
        remaining = set(record_ids)
        for invocation in reversed(self.invocations):
            if not remaining:
                return
            records = invocation.records
            if records:
                for record_id in remaining.intersection(records):
                    records[record_id] = ending
                    remaining.discard(record_id)

    def ended(self, request_id: str, ending: Ending, function: str, condition: str = "") -> None:
        """Where the Event invocation ``request_id`` went after its latest attempt (or,
        given up before any, why: ``EventAgeExceeded``, ``RetriesExhausted``)."""
        latest = self._latest_attempt.get(request_id)
        if latest is not None:
            latest.ended = ending
        else:
            self.given_up.append(GivenUp(function, request_id, ending, condition))
