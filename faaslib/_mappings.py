"""Event source mappings: pollers on the invoker's task group that read a source, build
batches and invoke the function synchronously (Lambda's pull model)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import pydantic_core
from anyio import CancelScope

from ._errors import FaaslibError, ResourceNotFoundException, TooManyRequestsException
from ._patterns import filter_criteria
from ._shapes import sqs_event, sqs_record
from ._wakeup import waker

if TYPE_CHECKING:
    from ._clock import Clock
    from ._queue import Message, Queue
    from ._result import InvocationResult
    from ._triggers import SQS

__all__ = ["EventSourceMapping", "MappingStatistics"]

logger = logging.getLogger("faaslib")

Invoke = Callable[[str, Any], Awaitable["InvocationResult"]]


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
    """

    records_polled: int
    records_filtered: int
    records_succeeded: int
    records_failed: int
    invocations: int
    batches_in_flight: int


class EventSourceMapping:
    """One running event source mapping: a function, a source, and the poller between them.

    Listed by :meth:`Invoker.event_source_mappings`; :meth:`disable` and :meth:`enable`
    stop and resume its polling at run time (Lambda's ``UpdateEventSourceMapping``).
    """

    def __init__(self, function_name: str, trigger: SQS, clock: Clock, invoke: Invoke) -> None:
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
        self._idle: anyio.Event | None = None
        self.scope: CancelScope | None = None

    @property
    def source(self) -> Queue:
        return self.trigger.queue

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
        self.source._wake()

    def statistics(self) -> MappingStatistics:
        return MappingStatistics(
            self._polled,
            self._filtered,
            self._succeeded,
            self._failed,
            self._invocations,
            self._in_flight,
        )

    # -- settling (for Invoker.drain) ----------------------------------------------------------

    def settled(self) -> bool:
        """No batch in flight and, if enabled, nothing visible left to read right now."""
        if self._in_flight:
            return False
        if not self._enabled:
            return True
        queue = self.source
        return not queue._has_visible(queue.clock.time())

    async def wait_settled(self) -> None:
        while not self.settled():
            if self._idle is None:
                self._idle = anyio.Event()
            await self._idle.wait()

    def _maybe_settled(self) -> None:
        if self._idle is not None and self.settled():
            self._idle.set()
            self._idle = None

    # -- polling -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll the queue until cancelled, invoking the function with each batch."""
        trigger = self.trigger
        queue = trigger.queue
        slots = anyio.Semaphore(trigger.maximum_concurrency)
        async with anyio.create_task_group() as batches:
            while True:
                if not self._enabled:
                    self._maybe_settled()
                    self._enabled_changed = anyio.Event()
                    await self._enabled_changed.wait()
                    continue
                await slots.acquire()
                messages = queue.receive(trigger.batch_size)
                if not messages:
                    slots.release()
                    self._maybe_settled()
                    await self._wait_for_messages(queue)
                    continue
                window = trigger.maximum_batching_window
                if window and len(messages) < trigger.batch_size:
                    messages += await self._gather(queue, len(messages), window)
                self._in_flight += 1
                batches.start_soon(self._process, messages, slots)

    async def _wait_for_messages(self, queue: Queue, until: float | None = None) -> None:
        """Sleep until a message may be visible: one is sent, or one's hiding ends."""
        wake = queue.next_visible()
        if until is not None:
            wake = until if wake is None else min(wake, until)
        with CancelScope() as scope:
            waiter = waker(scope.cancel)
            queue._waiters.add(waiter)
            try:
                if wake is None:
                    await anyio.sleep_forever()
                else:
                    await self._clock.sleep_until(wake)
            finally:
                queue._waiters.discard(waiter)

    async def _gather(self, queue: Queue, have: int, window: float) -> list[Message]:
        """More messages for a batch, until it is full or the batching window ends."""
        deadline = self._clock.time() + window
        more: list[Message] = []
        while have + len(more) < self.trigger.batch_size and self._clock.time() < deadline:
            await self._wait_for_messages(queue, deadline)
            more += queue.receive(self.trigger.batch_size - have - len(more))
        return more

    async def _process(self, messages: list[Message], slots: anyio.Semaphore) -> None:
        queue = self.trigger.queue
        try:
            self._polled += len(messages)
            records = [
                sqs_record(
                    message_id=m.message_id,
                    receipt_handle=m.receipt_handle,
                    body=m.body,
                    attributes=m.attributes,
                    message_attributes=m.message_attributes,
                    md5_of_body=m.md5_of_body,
                    queue_arn=queue.arn,
                    region=queue.region,
                )
                for m in messages
            ]
            if self._matches is not None:
                kept = []
                for message, record in zip(messages, records, strict=True):
                    if self._matches(_filterable(record)):
                        kept.append((message, record))
                    else:  # Lambda deletes an SQS message its filter drops
                        self._filtered += 1
                        _delete(queue, message)
                if not kept:
                    return
                messages = [m for m, _ in kept]
                records = [r for _, r in kept]
            self._invocations += 1
            failed = await self._invoke_batch(records, messages)
            for message in messages:
                if message.message_id in failed:
                    self._failed += 1
                else:
                    self._succeeded += 1
                    _delete(queue, message)
        finally:
            self._in_flight -= 1
            slots.release()
            self._maybe_settled()

    async def _invoke_batch(
        self, records: list[dict[str, Any]], messages: list[Message]
    ) -> set[str]:
        """Invoke the function; return the message ids that failed (all of them on an error)."""
        every = {m.message_id for m in messages}
        try:
            result = await self._invoke(self.function_name, sqs_event(records))
        except TooManyRequestsException:
            return every  # throttled: the messages come back after the visibility timeout
        except FaaslibError as exc:
            logger.error(
                "Event source mapping %s could not invoke %s: %s",
                self.uuid,
                self.function_name,
                exc,
            )
            return every
        if result.function_error is not None:
            return every
        if not self.trigger.reports_item_failures:
            return set()
        return _item_failures(result.payload, every)


def _item_failures(payload: bytes, every: set[str]) -> set[str]:
    """The ids a ``ReportBatchItemFailures`` response names; any malformed response fails all.

    An empty, ``null`` or ``{}`` response, or an empty ``batchItemFailures``, is a success.
    """
    try:
        response = pydantic_core.from_json(payload) if payload else None
    except ValueError:
        return every
    if response is None or response == {}:
        return set()
    if not isinstance(response, dict):
        return every
    items = response.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return every
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in every:
            return every  # unknown, empty or missing: the whole batch failed
        failed.add(identifier)
    return failed


def _filterable(record: dict[str, Any]) -> dict[str, Any]:
    """An SQS record as Lambda's filter sees it: its body parsed when it is JSON."""
    try:
        body = pydantic_core.from_json(record["body"])
    except ValueError:
        return record
    return {**record, "body": body}


def _delete(queue: Queue, message: Message) -> None:
    try:
        queue.delete(message.receipt_handle)
    except ResourceNotFoundException:  # its receipt expired and it was received again
        pass
