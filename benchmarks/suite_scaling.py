"""How faaslib's cost grows with the work: the suite's scaling figures.

- Event throughput of bursts of 1k, 10k and 100k events (medians); the peak of the Python
  heap (tracemalloc, in a separate untimed run) above what it held before the burst, which
  runs events while it enqueues them; and the heap each event holds when all of them wait.
- Queue mapping throughput against batch size (typed handler, as in the suite's table).
- A CPU-bound sync handler with ``isolation="process"`` at concurrency 1 and 2
  (environments.py's measurement): two processes use both cores.
"""

from __future__ import annotations

import statistics
import tracemalloc
from typing import Any

import anyio
from environments import cpu_throughput
from invoke_overhead import memory_per_event
from suite_runs import event_throughput, mapping_throughput


def peak_heap(events: int) -> int:
    """Bytes of Python heap at the peak of a burst of ``events``, above the heap before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        event_throughput(events)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def event_scaling(sizes: tuple[int, ...], repeats: int) -> list[dict[str, Any]]:
    """Events per second and peak heap for bursts of each size (rounds over all sizes), and
    the heap each event holds while that many wait (one worker held: invoke_overhead.py's)."""
    rates: dict[int, list[float]] = {size: [] for size in sizes}
    for _ in range(repeats):
        for size in sizes:
            rates[size].append(event_throughput(size))
    return [
        {
            "events": size,
            "events_per_s": statistics.median(rates[size]),
            "peak_heap_bytes": peak_heap(size),
            "held_bytes_per_event": anyio.run(memory_per_event, size),
        }
        for size in sizes
    ]


def mapping_scaling(
    batch_sizes: tuple[int, ...], records: int, repeats: int
) -> list[dict[str, Any]]:
    """Records per second through a Queue mapping at each batch size (rounds over all)."""
    rates: dict[int, list[float]] = {size: [] for size in batch_sizes}
    for _ in range(repeats):
        for size in batch_sizes:
            count = records // 4 if size == 1 else records  # the slow case, shorter
            rates[size].append(mapping_throughput(count, size))
    return [
        {"batch_size": size, "records_per_s": statistics.median(rates[size])}
        for size in batch_sizes
    ]


def process_scaling(jobs: int, rounds: int) -> dict[str, float]:
    """CPU-bound invocations per second, process isolation, at concurrency 1 and 2."""
    one = anyio.run(cpu_throughput, "process", 1, jobs, rounds)
    two = anyio.run(cpu_throughput, "process", 2, jobs, rounds)
    return {"concurrency_1_per_s": one, "concurrency_2_per_s": two, "speedup": two / one}
