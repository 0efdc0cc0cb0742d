"""Amazon SQS as Lambda's trigger: the ``SQS`` trigger and the mapping that polls its
queue in batches (Lambda's pull model)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import pydantic_core

from .._errors import FaaslibError, TooManyRequestsException, ValidationException
from .._triggers import (
    REPORT_BATCH_ITEM_FAILURES,
    Invoke,
    Trigger,
    TriggerHost,
    check_whole,
    response_types,
)
from .mappings import EventSourceMapping, filterable, item_failures
from .patterns import filter_criteria
from .queue import Queue
from .shapes import RecordsEventWriter, SqsRecordEncoder

if TYPE_CHECKING:
    from .._clock import Clock

__all__ = ["SQS", "QueueMapping"]

logger = logging.getLogger("faaslib")


@dataclass(frozen=True, eq=False)
class SQS(Trigger):
    """An event source mapping that polls a :class:`~faaslib.Queue` and invokes the function
    synchronously with batches of SQS records (SAM's ``SQS`` event).

    Messages of a batch the function returns without error are deleted; after an error (or a
    throttle) they become visible again after the queue's visibility timeout, and after
    ``max_receive_count`` receives go to the queue's dead-letter queue. With
    ``function_response_types=["ReportBatchItemFailures"]`` the function may return
    ``{"batchItemFailures": [{"itemIdentifier": message_id}, ...]}`` to keep only those; a
    response of any other shape, or naming an unknown or empty id, fails the whole batch.

    :param queue: the queue
    :param batch_size: records per invocation, 1-10000 (10 at most on a FIFO queue)
    :param maximum_batching_window: seconds to gather a fuller batch, 0-300 (at least 1 when
        ``batch_size`` is over 10)
    :param function_response_types: ``["ReportBatchItemFailures"]`` or empty
    :param filter_criteria: up to 5 event patterns (EventBridge syntax) on the record, its
        JSON ``body`` parsed; records matching none are deleted without an invocation
    :param enabled: whether the mapping polls (changeable on the invoker's mapping)
    :param maximum_concurrency: batches in flight at once, 2-1000 (default 5)
    """

    queue: Queue
    batch_size: int = 10
    maximum_batching_window: float = 0
    function_response_types: Sequence[str] = ()
    filter_criteria: Sequence[Mapping[str, Any] | str] | None = None
    enabled: bool = True
    maximum_concurrency: int = 5

    def __post_init__(self) -> None:
        if not isinstance(self.queue, Queue):
            raise ValidationException("queue", self.queue, "Member must be a faaslib.Queue")
        check_whole("batchSize", self.batch_size, 1, 10 if self.queue.fifo else 10_000)
        window = self.maximum_batching_window
        if (
            isinstance(window, bool)
            or not isinstance(window, (int, float))
            or not (0 <= window <= 300)
        ):
            raise ValidationException(
                "maximumBatchingWindowInSeconds", window, "Member must be from 0 to 300"
            )
        if self.batch_size > 10 and window < 1:
            raise ValidationException(
                "maximumBatchingWindowInSeconds",
                window,
                "Maximum batch window in seconds must be greater than 0 if maximum batch size "
                "is greater than 10",
            )
        object.__setattr__(
            self, "function_response_types", response_types(self.function_response_types)
        )
        if not isinstance(self.enabled, bool):
            raise ValidationException("enabled", self.enabled, "Member must be a boolean")
        check_whole("scalingConfig.maximumConcurrency", self.maximum_concurrency, 2, 1000)
        if self.filter_criteria is not None:
            patterns = tuple(self.filter_criteria)
            filter_criteria(patterns)  # checks them: a bad pattern fails at registration
            object.__setattr__(self, "filter_criteria", patterns)

    @property
    def reports_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types

    def runner(self, function_name: str, host: TriggerHost) -> QueueMapping:
        """A mapping polling the queue for ``function_name``."""
        self.queue.follow(host.site)
        return QueueMapping(function_name, self, host.site.clock, host.invoke)


class QueueMapping(EventSourceMapping):
    """An SQS mapping: batches of visible messages, deleted once processed."""

    trigger: SQS

    def _set_enabled(self, enabled: bool) -> None:
        super()._set_enabled(enabled)
        self._poller.wake()

    def __init__(self, function_name: str, trigger: SQS, clock: Clock, invoke: Invoke) -> None:
        super().__init__(function_name, trigger, clock, invoke)
        self._encode = SqsRecordEncoder(trigger.queue.arn, trigger.queue.region)
        self._poller = trigger.queue.poller()
        self._gathering: list[float] = []  # the ends of the batching windows waited out
        self._pollers = 0

    def _caught_up(self) -> bool:
        if any(not self._later(deadline) for deadline in self._gathering):
            return False
        queue = self.trigger.queue
        return not self._poller.has_visible(queue.clock.time())

    async def run(self) -> None:
        """Poll the queue until cancelled, invoking the function with each batch.

        One poller runs always; while batches come full, more join it, up to
        ``maximum_concurrency``, each invoking with its own batches in turn (as Lambda scales
        its pollers with the queue's backlog). The extra ones leave when the queue runs dry.
        """
        async with anyio.create_task_group() as pollers:
            self._pollers = 1
            await self._poll(pollers, stay=True)

    async def _poll(self, pollers: anyio.abc.TaskGroup, stay: bool) -> None:
        trigger = self.trigger
        queue = trigger.queue
        while True:
            await self._until_enabled()
            batch = _QueueBatch()
            received = self._receive(queue, batch, trigger.batch_size)
            if not batch:
                if received:  # a batch its filter emptied: receive again at once
                    await anyio.lowlevel.checkpoint()
                    continue
                if not stay:
                    self._pollers -= 1
                    self._maybe_settled()
                    return
                self._maybe_settled()
                await self._wait_for_messages(queue)
                continue
            window = trigger.maximum_batching_window
            if window and len(batch) < trigger.batch_size:
                await self._gather(queue, batch, window)
            if len(batch) >= trigger.batch_size and self._pollers < trigger.maximum_concurrency:
                self._pollers += 1  # a full batch: there may be more to read at once
                pollers.start_soon(self._poll, pollers, False)
            await self._process(batch)
            await anyio.lowlevel.checkpoint()

    def _receive(self, queue: Queue, batch: _QueueBatch, limit: int) -> int:
        """Receive up to ``limit`` messages into ``batch``; return how many were received.

        Those the filter criteria drop are deleted, as Lambda deletes them.
        """
        encode = self._encode
        ids, receipts, add = batch.ids, batch.receipts, batch.add
        received = self._poller.take(limit, queue.visibility_timeout)
        for message in received:
            receipt_handle = message.receipt_handle or ""
            record = encode(
                message.message_id,
                receipt_handle,
                message.body,
                self._poller.attributes_json(message),
                message.message_attributes,
                message.md5,
            )
            if self._matches is not None and not self._matches(
                filterable(pydantic_core.from_json(record))
            ):
                self._filtered += 1
                self._poller.delete((receipt_handle,))
                continue
            ids.append(message.message_id)
            receipts.append(receipt_handle)
            add(record)
        self._polled += len(received)
        return len(received)

    async def _wait_for_messages(self, queue: Queue, until: float | None = None) -> None:
        """Sleep until a message may be visible (one is sent, or one's hiding ends on the
        queue's clock), or until the mapping's clock reaches ``until``."""
        deadlines: list[tuple[Clock, float]] = []
        wake = queue.next_visible()
        if wake is not None:
            deadlines.append((queue.clock, wake))
        if until is not None:
            if wake is not None and queue.clock is self._clock:
                deadlines[0] = (self._clock, min(wake, until))
            else:
                deadlines.append((self._clock, until))
        await self._poller.wait(*deadlines)

    async def _gather(self, queue: Queue, batch: _QueueBatch, window: float) -> None:
        """More messages for a batch, until it is full or the batching window ends."""
        deadline = self._clock.time() + window
        self._gathering.append(deadline)
        try:
            while len(batch) < self.trigger.batch_size and self._clock.time() < deadline:
                self._maybe_settled()
                await self._wait_for_messages(queue, deadline)
                self._receive(queue, batch, self.trigger.batch_size - len(batch))
        finally:
            self._gathering.remove(deadline)

    async def _process(self, batch: _QueueBatch) -> None:
        self._in_flight += 1
        try:
            self._invocations += 1
            failed = await self._invoke_batch(batch)
            if failed is None:  # they come back after the visibility timeout
                self._failed += len(batch)
                return
            done = batch.receipts
            if failed:
                done = [r for i, r in zip(batch.ids, done, strict=True) if i not in failed]
            self._poller.delete(done)
            self._failed += len(batch) - len(done)
            self._succeeded += len(done)
        finally:
            self._in_flight -= 1
            self._maybe_settled()

    async def _invoke_batch(self, batch: _QueueBatch) -> set[str] | None:
        """Invoke the function; return the message ids that failed, ``None`` for all of them
        (an error, a throttle, or a malformed partial-batch response)."""
        try:
            result = await self._invoke(self.function_name, batch.event())
        except TooManyRequestsException:
            return None
        except FaaslibError as exc:
            logger.error(
                "Event source mapping %s could not invoke %s: %s",
                self.uuid,
                self.function_name,
                exc,
            )
            return None
        if result.function_error is not None:
            return None
        if not self.trigger.reports_item_failures:
            return set()
        every = set(batch.ids)
        failed = item_failures(result.payload, every)
        return None if failed is every else failed


class _QueueBatch(RecordsEventWriter):
    """Messages received for one invocation: the event, and their ids and receipt handles."""

    __slots__ = ("ids", "receipts")

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.receipts: list[str] = []

    def __len__(self) -> int:
        return self.count
