"""Per-function metrics of an invoker, with a cost estimate at Lambda's prices."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from ._durations import percentiles

if TYPE_CHECKING:
    from ._concurrency import Concurrency
    from ._execution import FunctionRuntime

__all__ = ["FunctionMetrics", "Metrics", "PriceTable", "metrics_of"]


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


def _billed(fn: FunctionRuntime) -> tuple[int, int]:
    """Billed milliseconds of a function version, and the same times its memory size (MB):
    each run rounded up to the millisecond, the init of cold starts included."""
    log = fn.duration_log
    recent = sum(map(math.ceil, fn.durations))
    extra = fn.billed_extra
    return (
        log.billed_ms + recent + extra,
        log.billed_mb_ms + recent * fn.memory_size + extra * fn.spec.memory_size,
    )


def _function_metrics(
    runtimes: list[FunctionRuntime], concurrency: Concurrency, prices: PriceTable
) -> FunctionMetrics:
    """One function's metrics from its versions' runtimes and its concurrency account."""
    (p50, p99), duration_max = percentiles(
        ((fn.duration_log, fn.durations) for fn in runtimes), (0.50, 0.99)
    )
    invocations = sum(fn.invocations for fn in runtimes)
    billed = [_billed(fn) for fn in runtimes]
    gb_seconds = sum(mb_ms for _, mb_ms in billed) / 1024 / 1000
    return FunctionMetrics(
        invocations=invocations,
        errors=sum(fn.errors for fn in runtimes),
        timeouts=sum(fn.timeouts for fn in runtimes),
        throttles=concurrency.throttles,
        concurrent_executions=concurrency.running,
        max_concurrent_executions=concurrency.peak,
        cold_starts=sum(fn.cold_starts for fn in runtimes),
        environments=sum(fn.pool.count for fn in runtimes if fn.pool is not None),
        duration_p50=p50,
        duration_p99=p99,
        duration_max=duration_max,
        billed_duration=sum(ms for ms, _ in billed),
        gb_seconds=gb_seconds,
        cost=prices.cost(invocations, gb_seconds),
    )


def metrics_of(
    runtimes: Iterable[FunctionRuntime],
    accounts: Mapping[str, Concurrency],
    running: int,
    prices: PriceTable,
) -> Metrics:
    """An invoker's :class:`Metrics`: its function versions' runtimes grouped by function,
    with each function's concurrency account, the runs in progress and the prices."""
    by_name: dict[str, list[FunctionRuntime]] = {}
    for fn in runtimes:
        by_name.setdefault(fn.name, []).append(fn)
    functions = {
        name: _function_metrics(versions, accounts[name], prices)
        for name, versions in by_name.items()
    }
    values = functions.values()
    return Metrics(
        functions=MappingProxyType(functions),
        invocations=sum(m.invocations for m in values),
        errors=sum(m.errors for m in values),
        throttles=sum(m.throttles for m in values),
        concurrent_executions=running,
        cold_starts=sum(m.cold_starts for m in values),
        cost=sum(m.cost for m in values),
    )
