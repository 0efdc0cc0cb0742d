"""Invoke overhead: faaslib against the physical limit, measured in one run.

The physical limit is the same handler called directly: ``validate_json`` on the payload
bytes, the call, and ``pydantic_core.to_json`` of its result (bytes in, bytes out). faaslib's
RequestResponse invoke of that handler does the same plus everything Lambda does around it:
lookup, size check, request id, context, deadline, concurrency accounting, result record.

Prints microseconds per invocation (median of repeats) and the ratio faaslib / limit, for
an async and a sync handler on asyncio and trio, then Event throughput from the first
enqueue to the last completion (in memory, and with the SQLite journal) and the heap each
queued event holds (tracemalloc). Run: ``python benchmarks/invoke_overhead.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pydantic_core
from pydantic import BaseModel, TypeAdapter

import faaslib


class Item(BaseModel):
    sku: str
    quantity: int
    unit_price: float


class Order(BaseModel):
    order_id: str
    customer_id: str
    items: list[Item]


PAYLOAD = (
    Order(
        order_id="o-1001",
        customer_id="c-42",
        items=[Item(sku=f"sku-{i}", quantity=i + 1, unit_price=9.99) for i in range(3)],
    )
    .model_dump_json()
    .encode()
)


def total(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "total": round(sum(i.quantity * i.unit_price for i in order.items), 2),
    }


async def total_async(order: Order) -> dict[str, Any]:
    return total(order)


registry = faaslib.Registry()
registry.function(name="total_async")(total_async)
registry.function(name="total_sync")(total)


def median_us(samples: list[float], n: int) -> float:
    return statistics.median(samples) / n * 1e6


def limit_sync(n: int, repeats: int) -> float:
    validate = TypeAdapter(Order).validate_json
    to_json = pydantic_core.to_json
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            to_json(total(validate(PAYLOAD)))
        samples.append(time.perf_counter() - start)
    return median_us(samples, n)


async def timed_async(n: int, repeats: int, call: Callable[[], Awaitable[object]]) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            await call()
        samples.append(time.perf_counter() - start)
    return median_us(samples, n)


async def measure(backend: str, n: int, sync_n: int, repeats: int) -> dict[str, float]:
    validate = TypeAdapter(Order).validate_json
    to_json = pydantic_core.to_json
    out: dict[str, float] = {}

    async def direct_async() -> bytes:
        return to_json(await total_async(validate(PAYLOAD)))

    async def direct_sync_in_thread() -> bytes:
        return to_json(await anyio.to_thread.run_sync(total, validate(PAYLOAD)))

    out["limit async"] = await timed_async(n, repeats, direct_async)
    out["limit sync via to_thread"] = await timed_async(sync_n, repeats, direct_sync_in_thread)
    async with faaslib.Invoker(registry) as invoker:
        invoke = invoker.invoke
        for name in ("total_async", "total_sync"):  # warm up (adapters, runtimes)
            result = await invoke(name, PAYLOAD)
            assert result.function_error is None, result.payload

        async def rr_async() -> object:
            return await invoke("total_async", PAYLOAD)

        async def rr_sync() -> object:
            return await invoke("total_sync", PAYLOAD)

        out["faaslib RR async"] = await timed_async(n, repeats, rr_async)
        out["faaslib RR sync"] = await timed_async(sync_n, repeats, rr_sync)

    return out


async def event_rate(
    events: int,
    producers: int,
    journal: str | None = None,
    *,
    functions: faaslib.Registry = registry,
) -> float:
    """Events per second from the first enqueue until the last one has finished (of
    ``functions``' ``total_async``)."""
    async with faaslib.Invoker(functions, journal=journal) as invoker:
        invoke = invoker.invoke
        await invoke("total_async", PAYLOAD, "Event")  # warm up
        await invoker.drain()
        per_producer = events // producers

        async def produce() -> None:
            for _ in range(per_producer):
                await invoke("total_async", PAYLOAD, "Event")

        start = time.perf_counter()
        if producers == 1:
            await produce()
        else:
            async with anyio.create_task_group() as tg:
                for _ in range(producers):
                    tg.start_soon(produce)
        await invoker.drain()
        elapsed = time.perf_counter() - start
        stats = invoker.statistics()
    if stats.events_dropped or stats.events_succeeded != per_producer * producers + 1:
        raise RuntimeError(f"events lost or failed: {stats}")
    return per_producer * producers / elapsed


async def memory_per_event(events: int) -> float:
    """Bytes of Python heap (tracemalloc) each accepted event holds while it waits to run,
    its payload included."""
    gate = anyio.Event()
    blocking = faaslib.Registry()

    @blocking.function(timeout=900)  # held as long as the measurement takes: no retry due
    async def held(order: Order) -> None:
        await gate.wait()

    async with faaslib.Invoker(blocking, event_workers=1) as invoker:
        await invoker.invoke("held", PAYLOAD, "Event")  # the one worker waits in this one
        await anyio.sleep(0.01)
        padded = b" " + PAYLOAD
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(events):
            # A payload of its own for each event, counted: the queue holds on to it.
            await invoker.invoke("held", padded[1:], "Event")
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        gate.set()
    return (after - before) / events


def event_figures(backend: str, events: int, repeats: int, directory: str) -> dict[str, float]:
    figures: dict[str, float] = {}
    cases: list[tuple[str, int, bool]] = [
        ("in memory, 1 producer", 1, False),
        ("in memory, 100 producers", 100, False),
        ("journal, 100 producers", 100, True),
    ]
    for label, producers, journaled in cases:
        rates = []
        for i in range(repeats if not journaled else max(1, repeats // 3)):
            path = os.path.join(directory, f"{backend}-{i}.db") if journaled else None
            rates.append(anyio.run(event_rate, events, producers, path, backend=backend))
        figures[label] = statistics.median(rates)
    figures["bytes per queued event"] = anyio.run(memory_per_event, events, backend=backend)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    args = parser.parse_args()
    n, sync_n, repeats, events = (
        (2_000, 200, 3, 5_000) if args.quick else (20_000, 2_000, 7, 100_000)
    )

    limit = limit_sync(n, repeats)
    print(f"faaslib {faaslib.__version__}, Python {sys.version.split()[0]}")
    print(f"physical limit (validate_json + call + to_json, sync): {limit:7.2f} us/inv\n")
    print(f"{'backend':8} {'handler':6} {'limit us':>9} {'faaslib us':>11} {'ratio':>6}")
    for backend in ("asyncio", "trio"):
        r = anyio.run(measure, backend, n, sync_n, repeats, backend=backend)
        print(
            f"{backend:8} {'async':6} {r['limit async']:9.2f} {r['faaslib RR async']:11.2f} "
            f"{r['faaslib RR async'] / limit:6.2f}x"
        )
        print(
            f"{backend:8} {'sync':6} {r['limit sync via to_thread']:9.2f} "
            f"{r['faaslib RR sync']:11.2f} {r['faaslib RR sync'] / limit:6.2f}x"
            f"  ({r['faaslib RR sync'] / r['limit sync via to_thread']:.2f}x the bare thread hop)"
        )
    print(f"\nEvent throughput, {events:,} events from the first enqueue to the last completion:")
    with tempfile.TemporaryDirectory() as directory:
        for backend in ("asyncio", "trio"):
            figures = event_figures(backend, events, max(1, repeats // 2), directory)
            memory = figures.pop("bytes per queued event")
            for label, rate in figures.items():
                print(f"{backend:8} {label:26} {rate:9,.0f} events/s")
            print(
                f"{backend:8} {'memory per queued event':26} {memory:9,.0f} bytes "
                f"(tracemalloc; its {len(PAYLOAD)}-byte payload included)"
            )
    print(
        "\nratio = faaslib RequestResponse / physical limit (sync direct call); medians of repeats"
    )


if __name__ == "__main__":
    main()
