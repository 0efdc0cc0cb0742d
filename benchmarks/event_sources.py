"""Event source mappings: records per second through a Queue and a Stream mapping.

For batch sizes 1, 10, 100 and 1000: put N records in the source, collect the garbage of
that setup, open an invoker whose function consumes them, and time until every record is
processed. The function counts its records; it is an ``async def`` (faaslib's own cost per
invocation) or a plain ``def`` (the usual Lambda handler, run in a worker thread, whose hop
costs about 100 us an invocation). Repeats go round all cases in turn, so a noisy spell on
the machine hits each alike. Prints the median records/s, the invocations made, and the
cost per record, which falls as batches grow.
Run: ``python benchmarks/event_sources.py [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import anyio

import faaslib

BATCH_SIZES = (1, 10, 100, 1000)
HANDLERS = ("async", "sync")


async def consume_all(records: int, trigger: faaslib.Trigger, handler: str) -> tuple[float, int]:
    """Records per second and invocations for a function consuming ``trigger``'s source."""
    seen = 0
    registry = faaslib.Registry()

    def count(event: dict[str, Any]) -> None:
        nonlocal seen
        seen += len(event["Records"])

    async def count_async(event: dict[str, Any]) -> None:
        count(event)

    registry.function(name="consume", events=[trigger])(
        count_async if handler == "async" else count
    )
    gc.collect()  # the setup's garbage is not this run's to pay for
    start = time.perf_counter()
    async with faaslib.Invoker(registry) as invoker:
        await invoker.drain()
        invocations = invoker.statistics().invocations
    elapsed = time.perf_counter() - start
    if seen != records:
        raise RuntimeError(f"{seen} of {records} records processed")
    return records / elapsed, invocations


async def through_queue(records: int, batch_size: int, handler: str) -> tuple[float, int]:
    queue = faaslib.Queue("bench")
    for i in range(records):
        queue.send(f'{{"n": {i}}}')
    window = 1 if batch_size > 10 else 0  # Lambda requires a window over 10 records
    trigger = faaslib.SQS(queue, batch_size=batch_size, maximum_batching_window=window)
    return await consume_all(records, trigger, handler)


async def through_stream(records: int, batch_size: int, handler: str) -> tuple[float, int]:
    stream = faaslib.Stream("bench", shard_count=2)
    for i in range(records):
        stream.put(b'{"n": %d}' % i, f"key-{i % 16}")
    return await consume_all(records, faaslib.Kinesis(stream, batch_size=batch_size), handler)


SOURCES: dict[str, Callable[[int, int, str], Any]] = {
    "queue": through_queue,
    "stream": through_stream,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer records (a smoke run)")
    args = parser.parse_args()
    records, repeats = (2_000, 1) if args.quick else (20_000, 5)
    print(f"faaslib {faaslib.__version__}, Python {sys.version.split()[0]}, asyncio")
    print(f"{records:,} records per run ({records // 4:,} at batch size 1), medians of {repeats}")
    runs: dict[tuple[str, str, int], list[tuple[float, int]]] = {}
    for _ in range(repeats):
        for handler in HANDLERS:
            for size in BATCH_SIZES:
                count = records // 4 if size == 1 else records  # (the slow case, shorter)
                for source, run in SOURCES.items():
                    result = anyio.run(run, count, size, handler)
                    runs.setdefault((handler, source, size), []).append(result)
    for handler in HANDLERS:
        print(f"\n{handler} def handler")
        print(
            f"{'batch':>6} {'queue rec/s':>12} {'invocations':>12} {'us/record':>10}"
            f"   {'stream rec/s':>13} {'invocations':>12} {'us/record':>10}"
        )
        for size in BATCH_SIZES:
            row = f"{size:>6}"
            for source in SOURCES:
                results = runs[handler, source, size]
                rate = statistics.median(r for r, _ in results)
                width = 12 if source == "queue" else 13
                row += f" {rate:{width},.0f} {results[0][1]:12,} {1e6 / rate:10.2f}"
                row += "  " if source == "queue" else ""
            print(row)


if __name__ == "__main__":
    main()
