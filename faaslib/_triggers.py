"""Triggers: the event sources a function declares, under Lambda's (and SAM's) own names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import ValidationException
from ._patterns import filter_criteria
from ._queue import Queue

__all__ = ["SQS", "Trigger"]

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


def _whole(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationException(
            name, value, f"Member must be a whole number from {low} to {high}"
        )


def _response_types(value: Sequence[str]) -> tuple[str, ...]:
    types = tuple(value)
    for item in types:
        if item != REPORT_BATCH_ITEM_FAILURES:
            raise ValidationException(
                "functionResponseTypes",
                item,
                "Member must satisfy enum value set: [ReportBatchItemFailures]",
            )
    return types


@dataclass(frozen=True, eq=False)
class Trigger:
    """Base of the event sources a function lists in ``events=[...]``."""


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
        _whole("batchSize", self.batch_size, 1, 10 if self.queue.fifo else 10_000)
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
            self, "function_response_types", _response_types(self.function_response_types)
        )
        if not isinstance(self.enabled, bool):
            raise ValidationException("enabled", self.enabled, "Member must be a boolean")
        _whole("scalingConfig.maximumConcurrency", self.maximum_concurrency, 2, 1000)
        if self.filter_criteria is not None:
            patterns = tuple(self.filter_criteria)
            filter_criteria(patterns)  # checks them: a bad pattern fails at registration
            object.__setattr__(self, "filter_criteria", patterns)

    @property
    def reports_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types
