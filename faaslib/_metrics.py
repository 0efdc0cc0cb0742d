"""Per-function metrics of an invoker, with a cost estimate at Lambda's prices."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FunctionMetrics", "Metrics", "PriceTable"]


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Lambda's prices (us-east-1, x86_64, first tier, without the free tier).

    :ivar per_request: dollars per request ($0.20 per million)
    :ivar per_gb_second: dollars per GB-second of billed duration
    """

    per_request: float = 0.20 / 1_000_000
    per_gb_second: float = 0.0000166667

    def cost(self, requests: int, gb_seconds: float) -> float:
        return requests * self.per_request + gb_seconds * self.per_gb_second


@dataclass(frozen=True, slots=True)
class FunctionMetrics:
    """One function's metrics since the invoker opened, all versions together (durations in
    milliseconds; Lambda's metric names in brackets).

    :ivar invocations: handler runs [Invocations]
    :ivar errors: runs ending in a function error, timeouts and init errors included [Errors]
    :ivar timeouts: runs stopped at their deadline
    :ivar throttles: invocations refused, and Event attempts put back, for want of
        concurrency [Throttles]
    :ivar concurrent_executions: runs in progress now [ConcurrentExecutions]
    :ivar max_concurrent_executions: the most runs at once so far
    :ivar cold_starts: invocations that started a new execution environment
    :ivar environments: execution environments alive now (busy and warm)
    :ivar duration_p50: median duration [Duration p50]
    :ivar duration_p99: 99th percentile duration [Duration p99]
    :ivar duration_max: longest duration [Duration Maximum]
    :ivar billed_duration: billed milliseconds in all (each run rounded up, init included)
    :ivar gb_seconds: billed duration times memory, in GB-seconds
    :ivar cost: dollars at the invoker's :class:`PriceTable`
    """

    invocations: int
    errors: int
    timeouts: int
    throttles: int
    concurrent_executions: int
    max_concurrent_executions: int
    cold_starts: int
    environments: int
    duration_p50: float
    duration_p99: float
    duration_max: float
    billed_duration: int
    gb_seconds: float
    cost: float


@dataclass(frozen=True, slots=True)
class Metrics:
    """A snapshot of an invoker's per-function metrics, and their totals.

    :ivar functions: metrics by function name (functions invoked at least once)
    :ivar invocations: all handler runs
    :ivar errors: all function errors
    :ivar throttles: all throttles
    :ivar concurrent_executions: runs in progress now
    :ivar cold_starts: all cold starts
    :ivar cost: dollars in all
    """

    functions: Mapping[str, FunctionMetrics]
    invocations: int
    errors: int
    throttles: int
    concurrent_executions: int
    cold_starts: int
    cost: float
