"""faaslib's rows of the suite, and the timers every row shares.

Request-response rows are timed in one event loop, in rounds that go through all of them in
turn (the order rotating), so a noisy spell on the machine hits each alike. Event throughput
is invoke_overhead.py's (a burst from one producer, timed to the last completion); the Queue
mapping's handler takes a typed batch, each record's body validated into the order model.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from functools import partial

import anyio
import anyio.to_thread
from invoke_overhead import event_rate
from pydantic import BaseModel, Json
from suite_report import HOP, LIMIT, RR_ASYNC, RR_SYNC
from suite_workload import PAYLOAD, Order, direct, registry, total

import faaslib

#: A timer runs its case a fixed number of times and returns the seconds it took.
Timer = Callable[[], Awaitable[float]]


def sync_timer(call: Callable[[], object], n: int) -> Timer:
    """Time ``n`` calls of a synchronous ``call`` (no await between them)."""

    async def run() -> float:
        start = time.perf_counter()
        for _ in range(n):
            call()
        return time.perf_counter() - start

    return run


def async_timer(call: Callable[[], Awaitable[object]], n: int) -> Timer:
    """Time ``n`` awaited calls of ``call``, one after another."""

    async def run() -> float:
        start = time.perf_counter()
        for _ in range(n):
            await call()
        return time.perf_counter() - start

    return run


def _round(names: list[str], i: int) -> list[str]:
    """The order of round ``i``: each round starts one further on, so none always goes first."""
    k = i % len(names)
    return names[k:] + names[:k]


async def interleaved(cases: dict[str, tuple[int, Timer]], repeats: int) -> dict[str, float]:
    """Median microseconds per call of each case, over rounds that run every case in turn."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for i in range(repeats):
        for name in _round(names, i):
            n, timer = cases[name]
            samples[name].append(await timer() / n * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


async def request_response(
    n: int, sync_n: int, repeats: int, peers: dict[str, Callable[[], object]]
) -> dict[str, float]:
    """Microseconds per call: the physical limit, a thread hop plus the limit, faaslib's
    RequestResponse of an async and of a sync handler, and ``peers`` (synchronous calls)."""
    async with faaslib.Invoker(registry) as invoker:
        for name in ("total_async", "total_sync"):  # warm up (adapters, environments)
            result = await invoker.invoke(name, PAYLOAD)
            if result.function_error is not None or result.payload != direct(PAYLOAD):
                raise RuntimeError(f"{name}: {result.payload!r}")
        cases: dict[str, tuple[int, Timer]] = {
            LIMIT: (n, sync_timer(partial(direct, PAYLOAD), n)),
            RR_ASYNC: (n, async_timer(partial(invoker.invoke, "total_async", PAYLOAD), n)),
            RR_SYNC: (
                sync_n,
                async_timer(partial(invoker.invoke, "total_sync", PAYLOAD), sync_n),
            ),
            HOP: (
                sync_n,
                async_timer(partial(anyio.to_thread.run_sync, direct, PAYLOAD), sync_n),
            ),
        }
        cases.update({name: (n, sync_timer(call, n)) for name, call in peers.items()})
        return await interleaved(cases, repeats)


def rotating(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Median of each run's figure over rounds that run every one in turn, each after a
    garbage collection (the previous run's garbage is not the next one's to pay for)."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for i in range(repeats):
        for name in _round(names, i):
            gc.collect()
            samples[name].append(runs[name]())
    return {name: statistics.median(values) for name, values in samples.items()}


def event_throughput(events: int) -> float:
    """Events per second of a burst of Event invocations, first enqueue to last completion."""
    return anyio.run(partial(event_rate, events, 1, functions=registry))


class OrderRecord(BaseModel):
    body: Json[Order]


class OrderBatch(BaseModel):
    """The SQS event, typed: each record's body is an order's JSON."""

    Records: list[OrderRecord]


async def _drain_queue(records: int, batch_size: int) -> float:
    queue = faaslib.Queue("orders")
    body = PAYLOAD.decode()
    for _ in range(records):
        queue.send(body)
    done = 0

    async def orders(batch: OrderBatch) -> None:
        nonlocal done
        for record in batch.Records:
            total(record.body)
        done += len(batch.Records)

    window = 1 if batch_size > 10 else 0  # Lambda requires a window over 10 records
    trigger = faaslib.SQS(queue, batch_size=batch_size, maximum_batching_window=window)
    functions = faaslib.Registry()
    functions.function(name="orders", events=[trigger])(orders)
    gc.collect()  # the setup's garbage is not this run's to pay for
    start = time.perf_counter()
    async with faaslib.Invoker(functions) as invoker:
        await invoker.drain()
    elapsed = time.perf_counter() - start
    if done != records:
        raise RuntimeError(f"{done} of {records} records processed")
    return records / elapsed


def mapping_throughput(records: int, batch_size: int) -> float:
    """Records per second through a Queue mapping at ``batch_size``, typed handler."""
    return anyio.run(_drain_queue, records, batch_size)
