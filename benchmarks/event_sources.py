"""Event source mappings: records per second through a Queue and a Stream mapping.

For batch sizes 1, 10, 100 and 1000: put N records in the source, collect the garbage of
that setup, open an invoker whose function consumes them (an async handler counting its
records), and time until every record is processed. Repeats go round all batch sizes in
turn, so a noisy spell on the machine hits every size alike. Prints the median records/s,
the invocations made, and the cost per record, which falls as batches grow.
Run: ``python benchmarks/event_sources.py [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from typing import Any

import anyio

import faaslib

BATCH_SIZES = (1, 10, 100, 1000)


async def consume_all(records: int, trigger: faaslib.Trigger) -> tuple[float, int]:
    """Records per second and invocations for a function consuming ``trigger``'s source."""
    seen = 0
    registry = faaslib.Registry()

    @registry.function(events=[trigger])
    async def consume(event: dict[str, Any]) -> None:
        nonlocal seen
        seen += len(event["Records"])

    gc.collect()  # the setup's garbage is not this run's to pay for
    start = time.perf_counter()
    async with faaslib.Invoker(registry) as invoker:
        await invoker.drain()
        invocations = invoker.statistics().invocations
    elapsed = time.perf_counter() - start
    if seen != records:
        raise RuntimeError(f"{seen} of {records} records processed")
    return records / elapsed, invocations


async def through_queue(records: int, batch_size: int) -> tuple[float, int]:
    queue = faaslib.Queue("bench")
    for i in range(records):
        queue.send(f'{{"n": {i}}}')
    window = 1 if batch_size > 10 else 0
    trigger = faaslib.SQS(queue, batch_size=batch_size, maximum_batching_window=window)
    return await consume_all(records, trigger)


async def through_stream(records: int, batch_size: int) -> tuple[float, int]:
    stream = faaslib.Stream("bench", shard_count=2)
    for i in range(records):
        stream.put(b'{"n": %d}' % i, f"key-{i % 16}")
    return await consume_all(records, faaslib.Kinesis(stream, batch_size=batch_size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer records (a smoke run)")
    args = parser.parse_args()
    records, repeats = (2_000, 1) if args.quick else (20_000, 5)
    print(f"faaslib {faaslib.__version__}, Python {sys.version.split()[0]}, asyncio")
    print(f"{records:,} records per run, medians of {repeats}\n")
    runs: dict[tuple[str, int], list[tuple[float, int]]] = {}
    for _ in range(repeats):
        for size in BATCH_SIZES:
            runs.setdefault(("queue", size), []).append(anyio.run(through_queue, records, size))
            runs.setdefault(("stream", size), []).append(anyio.run(through_stream, records, size))
    print(
        f"{'batch':>6} {'queue rec/s':>12} {'invocations':>12} {'us/record':>10}"
        f"   {'stream rec/s':>13} {'invocations':>12} {'us/record':>10}"
    )
    for size in BATCH_SIZES:
        queue, stream = runs["queue", size], runs["stream", size]
        q_rate = statistics.median(r for r, _ in queue)
        s_rate = statistics.median(r for r, _ in stream)
        print(
            f"{size:>6} {q_rate:12,.0f} {queue[0][1]:12,} {1e6 / q_rate:10.2f}"
            f"   {s_rate:13,.0f} {stream[0][1]:12,} {1e6 / s_rate:10.2f}"
        )


if __name__ == "__main__":
    main()
