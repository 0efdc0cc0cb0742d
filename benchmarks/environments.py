"""Execution environments: cold start, warm invoke, and scaling with process isolation.

Prints, for thread and process isolation on asyncio: the cost of a cold start (a new
environment: for a process, spawning the worker, importing the handler and running init) and
of a warm invocation (medians), then the throughput of a CPU-bound handler with
``isolation="process"`` at concurrency 1 and 2 on this machine, with the speed-up.
Run: ``python benchmarks/environments.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import anyio
from cpu_handlers import burn, echo

import faaslib

registry = faaslib.Registry()
for isolation in ("thread", "process"):
    registry.add(faaslib.FunctionSpec(f"echo_{isolation}", echo, isolation=isolation))
    registry.add(faaslib.FunctionSpec(f"burn_{isolation}", burn, timeout=60, isolation=isolation))


async def cold_and_warm(isolation: str, colds: int, warms: int) -> tuple[float, float]:
    """Median ms of a cold start and of a warm invocation of ``echo`` (RequestResponse)."""
    cold: list[float] = []
    for _ in range(colds):  # a fresh invoker each time: its first invocation is cold
        async with faaslib.Invoker(registry) as invoker:
            start = time.perf_counter()
            result = await invoker.invoke(f"echo_{isolation}", {"n": 1})
            cold.append((time.perf_counter() - start) * 1000)
            assert result.function_error is None, result.payload
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke(f"echo_{isolation}", {"n": 1})
        warm: list[float] = []
        for _ in range(warms):
            start = time.perf_counter()
            await invoker.invoke(f"echo_{isolation}", {"n": 1})
            warm.append((time.perf_counter() - start) * 1000)
    return statistics.median(cold), statistics.median(warm)


async def cpu_throughput(isolation: str, concurrency: int, jobs: int, rounds: int) -> float:
    """CPU-bound invocations per second with ``concurrency`` of them at once."""
    async with faaslib.Invoker(registry, concurrency_limit=concurrency) as invoker:
        # Start the environments first: the figure is about running, not cold starts.
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(invoker.invoke, f"burn_{isolation}", {"rounds": 1})
        per_task = jobs // concurrency
        start = time.perf_counter()

        async def worker() -> None:
            for _ in range(per_task):
                result = await invoker.invoke(f"burn_{isolation}", {"rounds": rounds})
                assert result.function_error is None, result.payload

        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
        return per_task * concurrency / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    args = parser.parse_args()
    colds, warms, jobs, rounds = (3, 200, 8, 200_000) if args.quick else (9, 2_000, 24, 1_000_000)
    print(f"faaslib {faaslib.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"{'isolation':10} {'cold start ms':>14} {'warm invoke ms':>15} {'cold/warm':>10}")
    for isolation in ("thread", "process"):
        cold, warm = anyio.run(cold_and_warm, isolation, colds, warms)
        print(f"{isolation:10} {cold:14.3f} {warm:15.3f} {cold / warm:9.0f}x")
    print(f"\nCPU-bound sync handler ({rounds:,} loop rounds), invocations/s:")
    print(f"{'isolation':10} {'concurrency 1':>14} {'concurrency 2':>14} {'speed-up':>9}")
    for isolation in ("process", "thread"):
        one = anyio.run(cpu_throughput, isolation, 1, jobs, rounds)
        two = anyio.run(cpu_throughput, isolation, 2, jobs, rounds)
        print(f"{isolation:10} {one:14.2f} {two:14.2f} {two / one:8.2f}x")
    print("\nmedians; cold = a new environment's first invocation, init included")


if __name__ == "__main__":
    main()
