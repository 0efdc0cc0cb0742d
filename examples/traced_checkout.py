"""A traced checkout: OpenTelemetry spans of faaslib's invocations, printed as a tree and drawn
as a timeline (``examples/traced_checkout.png``, with matplotlib from the bench extra).

A caller's ``checkout`` span invokes ``quote`` synchronously (a cold start: its Init phase is
a child span) and ``charge`` as an Event that fails once and succeeds on its retry: each
attempt is a child of ``checkout`` after its ``queue wait``.
Run: ``python examples/traced_checkout.py [--plot examples/traced_checkout.png]`` (needs the otel extra and
OpenTelemetry's SDK).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import anyio
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import faaslib

registry = faaslib.Registry()
ATTEMPTS: list[int] = []


def load_prices() -> dict[str, float]:
    time.sleep(0.02)  # a cold start's work: the Init phase
    return {"apple": 0.5}


@registry.function(init=load_prices)
def quote(event: dict[str, Any], context: faaslib.Context) -> dict[str, float]:
    return {"total": context.init_result["apple"] * event["quantity"]}


@registry.function(max_retry_attempts=2)
async def charge(event: dict[str, Any]) -> dict[str, str]:
    ATTEMPTS.append(1)
    await anyio.sleep(0.005)
    if len(ATTEMPTS) == 1:
        raise ConnectionError("payment service unreachable")
    return {"charged": str(event["total"])}


async def checkout(provider: TracerProvider) -> None:
    clock = faaslib.VirtualClock()
    tracer = provider.get_tracer("shop")
    async with faaslib.Invoker(registry, tracing=provider, clock=clock) as invoker:
        with tracer.start_as_current_span("checkout"):
            price = await invoker.invoke("quote", {"quantity": 4})
            await invoker.invoke("charge", price.json(), "Event")
        await invoker.drain()  # the first attempt fails
        clock.advance(60)  # Lambda's first retry delay, at once
        await invoker.drain()


def tree(spans: tuple[ReadableSpan, ...]) -> list[tuple[int, ReadableSpan]]:
    """The spans as (depth, span), parents before children, in start order."""
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None else None
        children.setdefault(parent, []).append(span)
    ordered: list[tuple[int, ReadableSpan]] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in children.get(parent, []):
            ordered.append((depth, span))
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return ordered


def label(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    if "faaslib.attempt" in attributes:
        kind = str(attributes["faaslib.invocation_type"])
        attempt = str(attributes["faaslib.attempt"])
        cold = ", cold start" if attributes["faas.coldstart"] else ""
        error = ", error" if "faaslib.function_error" in attributes else ""
        return f"{span.name} ({kind}, attempt {attempt}{cold}{error})"
    return span.name


def draw(rows: list[tuple[int, ReadableSpan]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    origin = min(span.start_time or 0 for _, span in rows)
    figure, axes = plt.subplots(figsize=(9, 0.45 * len(rows) + 1))
    for index, (depth, span) in enumerate(rows):
        start = ((span.start_time or 0) - origin) / 1e6
        length = max(((span.end_time or 0) - (span.start_time or 0)) / 1e6, 0.05)
        failed = "faaslib.function_error" in (span.attributes or {})
        colour = "#c0392b" if failed else ("#2e6fb7" if depth else "#7f8c8d")
        axes.barh(index, length, left=start, color=colour)
        axes.text(start + length, index, f" {length:.2f} ms", va="center", fontsize=8)
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels(["↳ " * depth + label(span) for depth, span in rows], fontsize=9)
    axes.invert_yaxis()
    axes.set_xlabel("milliseconds since the checkout began")
    axes.set_title("one trace: faaslib's spans under the caller's", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plot", help="draw the trace as a PNG timeline here")
    args = parser.parse_args()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    anyio.run(checkout, provider)
    rows = tree(exporter.get_finished_spans())
    for depth, span in rows:
        duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        print(f"{'  ' * depth}{label(span)}  {duration:.2f} ms")
    if args.plot:
        draw(rows, args.plot)


if __name__ == "__main__":
    main()
