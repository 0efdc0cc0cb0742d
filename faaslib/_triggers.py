"""Triggers: the event sources a function declares, under Lambda's (and SAM's) own names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._destinations import check_destination
from ._errors import ValidationException
from ._patterns import filter_criteria
from ._queue import Queue
from ._stream import Stream
from ._table import ChangeStream, Table

__all__ = ["SQS", "DynamoDB", "Kinesis", "Trigger"]

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

    def _attach(self) -> None:
        """A function's spec now lists this trigger (see :class:`~faaslib.Registry`)."""

    def _detach(self) -> None:
        """A function's spec no longer lists this trigger."""


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


@dataclass(frozen=True, eq=False)
class Kinesis(Trigger):
    """An event source mapping that reads a :class:`~faaslib.Stream` shard by shard, in
    order, and invokes the function synchronously with batches of Kinesis records (SAM's
    ``Kinesis`` event).

    A failed batch blocks its shard (its partition-key lane, with ``parallelization_factor``)
    and is retried, 1 s later, then doubling to at most 60 s on the invoker's clock, until it
    succeeds, its records are older than ``maximum_record_age`` or ``maximum_retry_attempts``
    are spent; then ``on_failure`` gets a record describing the batch and the shard goes on.

    :param stream: the stream
    :param starting_position: ``TRIM_HORIZON`` (the oldest record kept; faaslib's default),
        ``LATEST`` (records put after the mapping starts) or ``AT_TIMESTAMP``
    :param starting_position_timestamp: epoch seconds, with ``AT_TIMESTAMP``
    :param batch_size: records per invocation, 1-10000 (default 100)
    :param maximum_batching_window: seconds to gather a fuller batch, 0-300
    :param parallelization_factor: batches of one shard in flight at once, 1-10; records of
        one partition key stay in order
    :param bisect_batch_on_function_error: split a failed batch in two and retry each half,
        down to the record that fails
    :param maximum_retry_attempts: -1 (until the records expire; the default) or 0-10000
    :param maximum_record_age: -1 (the stream's retention; the default) or 60-604800 seconds
    :param on_failure: where the record of a discarded batch goes (a function name or ARN,
        a :class:`~faaslib.Queue`, a :class:`~faaslib.Topic`, or a callable)
    :param function_response_types: ``["ReportBatchItemFailures"]``: the function returns
        the sequence numbers that failed, and the shard resumes from the lowest one
    :param filter_criteria: up to 5 event patterns on the record, its ``data`` decoded from
        base64 JSON; records matching none are skipped
    :param enabled: whether the mapping reads
    """

    stream: Stream
    starting_position: str = "TRIM_HORIZON"
    starting_position_timestamp: float | None = None
    batch_size: int = 100
    maximum_batching_window: float = 0
    parallelization_factor: int = 1
    bisect_batch_on_function_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    on_failure: Any = None
    function_response_types: Sequence[str] = ()
    filter_criteria: Sequence[Mapping[str, Any] | str] | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.stream, Stream):
            raise ValidationException("stream", self.stream, "Member must be a faaslib.Stream")
        if self.starting_position not in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"):
            raise ValidationException(
                "startingPosition",
                self.starting_position,
                "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]",
            )
        if (self.starting_position == "AT_TIMESTAMP") != (
            self.starting_position_timestamp is not None
        ):
            raise ValidationException(
                "startingPositionTimestamp",
                self.starting_position_timestamp,
                "Member is required with AT_TIMESTAMP, and only then",
            )
        _whole("batchSize", self.batch_size, 1, 10_000)
        window = self.maximum_batching_window
        if (
            isinstance(window, bool)
            or not isinstance(window, (int, float))
            or not (0 <= window <= 300)
        ):
            raise ValidationException(
                "maximumBatchingWindowInSeconds", window, "Member must be from 0 to 300"
            )
        _whole("parallelizationFactor", self.parallelization_factor, 1, 10)
        if not isinstance(self.bisect_batch_on_function_error, bool):
            raise ValidationException(
                "bisectBatchOnFunctionError",
                self.bisect_batch_on_function_error,
                "Member must be a boolean",
            )
        _whole("maximumRetryAttempts", self.maximum_retry_attempts, -1, 10_000)
        age = self.maximum_record_age
        if age != -1:
            _whole("maximumRecordAgeInSeconds", age, 60, 604_800)
        check_destination("destinationConfig.onFailure.destination", self.on_failure)
        object.__setattr__(
            self, "function_response_types", _response_types(self.function_response_types)
        )
        if self.filter_criteria is not None:
            patterns = tuple(self.filter_criteria)
            filter_criteria(patterns)
            object.__setattr__(self, "filter_criteria", patterns)
        if not isinstance(self.enabled, bool):
            raise ValidationException("enabled", self.enabled, "Member must be a boolean")

    @property
    def reports_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types


@dataclass(frozen=True, eq=False)
class DynamoDB(Kinesis):
    """An event source mapping on a :class:`~faaslib.Table`'s change stream (SAM's
    ``DynamoDB`` event): batches of DynamoDB Streams records, in order per item key.

    It takes the options of :class:`Kinesis` (but ``starting_position`` is ``TRIM_HORIZON``
    or ``LATEST``); pass the table (or its ``stream``) first. Filter patterns see the record,
    e.g. ``{"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["paid"]}}}}``.
    """

    stream: ChangeStream

    if TYPE_CHECKING:
        # The generated ``__init__`` takes a Table too (``__post_init__`` swaps in its stream),
        # which the inherited field type cannot say: this is the signature type checkers see.
        # tests/test_table_stream.py checks that it matches the dataclass's fields and defaults.
        def __init__(
            self,
            stream: Table | ChangeStream,
            starting_position: str = "TRIM_HORIZON",
            starting_position_timestamp: float | None = None,
            batch_size: int = 100,
            maximum_batching_window: float = 0,
            parallelization_factor: int = 1,
            bisect_batch_on_function_error: bool = False,
            maximum_retry_attempts: int = -1,
            maximum_record_age: int = -1,
            on_failure: Any = None,
            function_response_types: Sequence[str] = (),
            filter_criteria: Sequence[Mapping[str, Any] | str] | None = None,
            enabled: bool = True,
        ) -> None: ...

    def __post_init__(self) -> None:
        source: object = self.stream
        if isinstance(source, Table):
            object.__setattr__(self, "stream", source.stream)
        elif not isinstance(source, ChangeStream):
            raise ValidationException("stream", source, "Member must be a faaslib.Table")
        if self.starting_position == "AT_TIMESTAMP":
            raise ValidationException(
                "startingPosition",
                self.starting_position,
                "Member must satisfy enum value set: [TRIM_HORIZON, LATEST]",
            )
        super().__post_init__()
