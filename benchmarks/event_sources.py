"""Event source mappings: records per second through a Queue and a Stream mapping.

For batch sizes 1, 10, 100 and 1000: put N records in the source, collect the garbage of
that setup, open an invoker whose function consumes them, and time until every record is
processed. The function counts its records; it is an ``async def`` (faaslib's own cost per
invocation) or a plain ``def`` (the usual Lambda handler, run in a worker thread, whose hop
costs about 100 us an invocation). Repeats go round all cases in turn, so a noisy spell on
the machine hits each alike. Prints the median records/s, the invocations made, and the
cost per record, which falls as batches grow.
Then the push sources of issue 17, end to end in one invoker: events per second from
``EventBus.put_events`` (10 entries a call) through an ``EventBridgeRule`` (each event its
own Event invocation), and records per second through a Firehose ``DeliveryStream`` whose
transformation function answers every record ``Ok`` (buffers of 1 MiB, written to a bucket).
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


async def through_event_bus(events: int) -> float:
    """Events per second from ``put_events`` to an async handler, through one rule."""
    bus = faaslib.EventBus("bench")
    seen = 0
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.EventBridgeRule(bus, pattern={"source": ["bench"]})])
    async def consume(event: dict[str, Any]) -> None:
        nonlocal seen
        seen += 1

    entries = [{"Source": "bench", "DetailType": "n", "Detail": '{"n": 1}'}] * 10
    gc.collect()
    start = time.perf_counter()
    async with faaslib.Invoker(registry) as invoker:
        for _ in range(events // 10):
            bus.put_events(entries)
        await invoker.drain()
    elapsed = time.perf_counter() - start
    if seen != events:
        raise RuntimeError(f"{seen} of {events} events processed")
    return events / elapsed


async def through_firehose(records: int) -> float:
    """Records per second from ``put_record_batch`` to the bucket, through a processor."""
    bucket = faaslib.Bucket("bench-firehose")
    stream = faaslib.DeliveryStream("bench", destination=bucket, buffer_interval=0)
    registry = faaslib.Registry()

    @registry.function(events=[faaslib.FirehoseTransform(stream)])
    async def transform(event: dict[str, Any]) -> dict[str, Any]:
        return {
            "records": [
                {"recordId": r["recordId"], "result": "Ok", "data": r["data"]}
                for r in event["records"]
            ]
        }

    batch = [{"Data": b'{"n": 1}\n'}] * 500
    gc.collect()
    start = time.perf_counter()
    async with faaslib.Invoker(registry) as invoker:
        for _ in range(records // 500):
            stream.put_record_batch(batch)
        await invoker.drain()
    elapsed = time.perf_counter() - start
    written = sum(len(bucket.get(key)) for key in bucket.list())
    if written != records * len(b'{"n": 1}\n'):
        raise RuntimeError(f"{written} bytes written for {records} records")
    return records / elapsed


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
    pushed = (2_000, 1) if args.quick else (20_000, 5)
    bus = statistics.median(anyio.run(through_event_bus, pushed[0]) for _ in range(pushed[1]))
    hose = statistics.median(anyio.run(through_firehose, pushed[0] * 5) for _ in range(pushed[1]))
    print(f"\npush sources (async handler), medians of {pushed[1]}")
    print(f"EventBridge rule: {bus:12,.0f} events/s ({1e6 / bus:.2f} us an event)")
    print(f"Firehose:         {hose:12,.0f} records/s ({1e6 / hose:.2f} us a record)")


if __name__ == "__main__":
    main()
