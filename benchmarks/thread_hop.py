"""Thread round trip: faaslib's daemon worker threads against ``anyio.to_thread.run_sync``.

A no-op called in a thread and awaited, one call after another, as a sync handler pays it:
``faaslib._threads.run_sync`` against ``anyio.to_thread.run_sync`` with the arguments faaslib
used (``abandon_on_cancel=True`` and an unbounded limiter). Prints microseconds per round trip
(medians of interleaved repeats) and the ratio faaslib / anyio, on asyncio and trio.
Run: ``python benchmarks/thread_hop.py [--quick]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import anyio
import anyio.to_thread

from faaslib._threads import run_sync


def noop() -> None:
    pass


async def measure(quick: bool) -> dict[str, float]:
    calls, repeats = (200, 5) if quick else (2000, 15)
    limiter = anyio.CapacityLimiter(math.inf)

    async def anyio_hop() -> None:
        await anyio.to_thread.run_sync(noop, abandon_on_cancel=True, limiter=limiter)

    async def faaslib_hop() -> None:
        await run_sync(noop)

    runs: dict[str, list[float]] = {"anyio": [], "faaslib": []}
    for hop in (anyio_hop, faaslib_hop):  # warm up: threads started
        for _ in range(50):
            await hop()
    for i in range(repeats):
        order = [("anyio", anyio_hop), ("faaslib", faaslib_hop)]
        if i % 2:
            order.reverse()
        for name, hop in order:
            start = time.perf_counter()
            for _ in range(calls):
                await hop()
            runs[name].append((time.perf_counter() - start) / calls * 1e6)
    return {name: statistics.median(values) for name, values in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few short repeats")
    args = parser.parse_args()
    for backend in ("asyncio", "trio"):
        result = anyio.run(measure, args.quick, backend=backend)
        ratio = result["faaslib"] / result["anyio"]
        print(
            f"{backend:8} anyio.to_thread.run_sync {result['anyio']:6.1f} µs"
            f"  faaslib._threads.run_sync {result['faaslib']:6.1f} µs  ratio {ratio:.2f}"
        )


if __name__ == "__main__":
    main()
