"""What tracing costs on the invoke path: a RequestResponse of a small async handler with
``Invoker(tracing=...)`` off, and on with OpenTelemetry's SDK and its in-memory exporter.

Off, the invoker never imports OpenTelemetry and takes the bare path: compare the first row
with an older faaslib (``PYTHONPATH=<old checkout> python benchmarks/tracing.py``) to see
that it costs nothing. Run: ``python benchmarks/tracing.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import anyio
from pydantic import BaseModel

import faaslib


class Order(BaseModel):
    order_id: str
    total: float


registry = faaslib.Registry()


@registry.function
async def handle(order: Order) -> dict[str, str]:
    return {"id": order.order_id}


PAYLOAD = b'{"order_id": "o-1", "total": 2.5}'


async def per_invocation(calls: int, repeats: int, **options: Any) -> float:
    """Median microseconds per RequestResponse invocation."""
    async with faaslib.Invoker(registry, **options) as invoker:
        for _ in range(calls // 10):  # warm up
            await invoker.invoke("handle", PAYLOAD)
        rounds = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(calls):
                await invoker.invoke("handle", PAYLOAD)
            rounds.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(rounds)


def sdk_provider() -> Any:
    """A tracer provider exporting to memory, or None without OpenTelemetry's SDK."""
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )
    except ImportError:
        return None
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    return provider


async def main(calls: int, repeats: int) -> None:
    print(f"faaslib {faaslib.__version__}, RequestResponse of an async handler")
    print(f"tracing off                          {await per_invocation(calls, repeats):7.2f} us")
    provider = sdk_provider()
    if provider is None:
        print("tracing on: OpenTelemetry's SDK is not installed (pip install opentelemetry-sdk)")
        return
    traced = await per_invocation(calls, repeats, tracing=provider)
    print(f"tracing on (SDK, in-memory exporter) {traced:7.2f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    args = parser.parse_args()
    anyio.run(main, *((2_000, 3) if args.quick else (20_000, 7)))
