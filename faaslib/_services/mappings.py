"""Event source mappings: pollers on the invoker's task group that read a source, build
batches and invoke the function synchronously (Lambda's pull model)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import anyio.abc
import anyio.lowlevel
import pydantic_core
from anyio import CancelScope

from .._clock import VirtualClock
from .._history import History  # noqa: TC001 - read by typing.get_type_hints
from .patterns import filter_criteria

if TYPE_CHECKING:
    from .._clock import Clock
    from .._site import FollowsSite
    from .._triggers import Invoke

__all__ = [
    "MAX_BATCH_PAYLOAD",
    "EventSourceMapping",
    "MappingStatistics",
    "PullTrigger",
    "item_failures",
]

logger = logging.getLogger("faaslib")

#: Lambda's limit on a batch's event: 6 MB, its synchronous invocation payload (a batch is
#: sent when it is full, its window ends, or its payload reaches this).
MAX_BATCH_PAYLOAD = 6_291_456


@dataclass(frozen=True, slots=True)
class MappingStatistics:
    """Counters of one event source mapping.

    :ivar records_polled: records read from the source
    :ivar records_filtered: records dropped by the filter criteria (deleted unprocessed)
    :ivar records_succeeded: records the function processed (and that were deleted)
    :ivar records_failed: records of failed batches or reported as failed items (they stay
        in the source to be retried)
    :ivar invocations: batches the function was invoked with
    :ivar batches_in_flight: batches being processed now
    :ivar iterator_age: streams: milliseconds between the arrival of the last record of the
        latest batch and its processing [IteratorAge]; 0 for queues
    """

    records_polled: int
    records_filtered: int
    records_succeeded: int
    records_failed: int
    invocations: int
    batches_in_flight: int
    iterator_age: float = 0.0


class PullTrigger(Protocol):
    """What every mapping reads of its trigger."""

    @property
    def enabled(self) -> bool: ...

    @property
    def filter_criteria(self) -> Any: ...

    @property
    def source(self) -> FollowsSite: ...


class EventSourceMapping:
    """One running event source mapping: a function, a source, and the poller between them.

    Listed by :meth:`Invoker.event_source_mappings`; :meth:`disable` and :meth:`enable`
    stop and resume its polling at run time (Lambda's ``UpdateEventSourceMapping``).
    """

    trigger: PullTrigger
    #: The invoker's history, told where each record of a batch went (when it keeps one).
    history: History | None = None

    def __init__(
        self, function_name: str, trigger: PullTrigger, clock: Clock, invoke: Invoke
    ) -> None:
        self.uuid = str(uuid.uuid4())
        self.function_name = function_name
        self.trigger = trigger
        self._clock = clock
        self._invoke = invoke
        self._enabled = trigger.enabled
        self._enabled_changed: anyio.Event | None = None
        self._matches = (
            None if trigger.filter_criteria is None else filter_criteria(trigger.filter_criteria)
        )
        self._polled = self._filtered = self._succeeded = self._failed = self._invocations = 0
        self._in_flight = 0
        self._iterator_age = 0.0
        self._idle: anyio.Event | None = None
        self.scope: CancelScope | None = None

    @property
    def source(self) -> FollowsSite:
        """The queue or stream it reads (Lambda's mapping names it by ``EventSourceArn``)."""
        return self.trigger.source

    @property
    def state(self) -> str:
        """``Enabled`` or ``Disabled``, as Lambda reports a mapping."""
        return "Enabled" if self._enabled else "Disabled"

    def enable(self) -> None:
        self._set_enabled(True)

    def disable(self) -> None:
        """Stop polling (batches in flight finish)."""
        self._set_enabled(False)

    def _set_enabled(self, enabled: bool) -> None:
        self._enabled = enabled
        if self._enabled_changed is not None:
            self._enabled_changed.set()
            self._enabled_changed = None

    async def _until_enabled(self) -> None:
        while not self._enabled:
            self._maybe_settled()
            if self._enabled_changed is None:  # (shared by all the mapping's pollers)
                self._enabled_changed = anyio.Event()
            await self._enabled_changed.wait()

    def statistics(self) -> MappingStatistics:
        return MappingStatistics(
            self._polled,
            self._filtered,
            self._succeeded,
            self._failed,
            self._invocations,
            self._in_flight,
            self._iterator_age,
        )

    # -- settling (for Invoker.drain) ----------------------------------------------------------

    def settled(self) -> bool:
        """No batch in flight and, if enabled, nothing left to read right now."""
        if self._in_flight:
            return False
        return not self._enabled or self._caught_up()

    def _caught_up(self) -> bool:
        raise NotImplementedError

    def _later(self, due: float) -> bool:
        """Whether waiting until ``due`` leaves the mapping settled: only on a
        :class:`~faaslib.VirtualClock` not yet there (real time passes on its own)."""
        return isinstance(self._clock, VirtualClock) and due > self._clock.time()

    async def run(self) -> None:
        raise NotImplementedError

    async def wait_settled(self) -> None:
        while not self.settled():
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    def _maybe_settled(self) -> None:
        if self._idle is not None and self.settled():
            self._idle.set()
            self._idle = None


def item_failures(payload: bytes, every: set[str]) -> set[str] | None:
    """The ids a ``ReportBatchItemFailures`` response names, or ``None`` for a response that
    cannot be read as item failures (Lambda fails the whole batch).

    An empty, ``null`` or ``{}`` response, or an empty or ``null`` ``batchItemFailures``,
    is a success (an empty set). An ``itemIdentifier`` that is empty, ``null``, missing or
    not one of ``every`` makes the response malformed.
    """
    try:
        response = pydantic_core.from_json(payload) if payload else None
    except ValueError:
        return None
    if response is None or response == {}:
        return set()
    if not isinstance(response, dict):
        return None
    items = response.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return None
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in every:
            return None  # unknown, empty or missing: the whole batch failed
        failed.add(identifier)
    return failed
