"""Tracing with OpenTelemetry: each handler run a span with the FaaS semantic conventions,
its cold start's Init phase a child span, the caller's context kept through Event
invocations and their retries (the SDK's in-memory exporter; no mocks)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import anyio
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import faaslib

registry = faaslib.Registry()


@registry.function(memory_size=256, init=lambda: "ready")
def greet(event: dict[str, Any]) -> dict[str, str]:
    return {"greeting": f"hello {event['name']}"}


@registry.function(max_retry_attempts=1)
def flaky(event: dict[str, Any]) -> None:
    raise ValueError("boom")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def named(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


async def test_a_run_is_a_server_span_with_the_faas_conventions(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = provider.get_tracer("caller")
    async with faaslib.Invoker(registry, tracing=provider) as invoker:
        with tracer.start_as_current_span("caller") as caller:
            cold = await invoker.invoke("greet", {"name": "ada"})
            warm = await invoker.invoke("greet", {"name": "bob"})
    spans = exporter.get_finished_spans()
    first, second = named(spans, "greet")
    assert first.kind is trace.SpanKind.SERVER
    assert first.attributes is not None
    assert second.attributes is not None
    assert dict(first.attributes) == {
        "faas.invocation_id": cold.request_id,
        "faas.name": "greet",
        "faas.version": "$LATEST",
        "faas.coldstart": True,
        "faas.trigger": "other",
        "faas.invoked_name": "greet",
        "faas.invoked_provider": "aws",
        "faas.invoked_region": "us-east-1",
        "faas.max_memory": 256 * 2**20,
        "cloud.provider": "aws",
        "cloud.platform": "aws_lambda",
        "cloud.region": "us-east-1",
        "cloud.account.id": "123456789012",
        "cloud.resource_id": "arn:aws:lambda:us-east-1:123456789012:function:greet",
        "faaslib.invocation_type": "RequestResponse",
        "faaslib.attempt": 1,
    }
    assert second.attributes["faas.coldstart"] is False
    assert second.attributes["faas.invocation_id"] == warm.request_id
    for span in (first, second):  # children of the caller's span
        assert span.parent is not None
        assert span.parent.span_id == caller.get_span_context().span_id
    (init,) = named(spans, "init")  # the cold start's Init phase, inside its run's span
    assert init.parent is not None
    assert init.parent.span_id == first.context.span_id
    assert first.status.status_code is trace.StatusCode.UNSET


async def test_event_attempts_keep_the_callers_context(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    clock = faaslib.VirtualClock()
    tracer = provider.get_tracer("caller")
    async with faaslib.Invoker(registry, tracing=provider, clock=clock) as invoker:
        with tracer.start_as_current_span("caller") as caller:
            await invoker.invoke("flaky", {}, "Event")
        await anyio.sleep(0.05)
        clock.advance(60)
        await invoker.drain()
    spans = exporter.get_finished_spans()
    attempts = named(spans, "flaky")
    assert [s.attributes["faaslib.attempt"] for s in attempts if s.attributes] == [1, 2]
    caller_id = caller.get_span_context().span_id
    for span in (*attempts, *named(spans, "queue wait")):
        assert span.parent is not None
        assert span.parent.span_id == caller_id
        assert span.context.trace_id == caller.get_span_context().trace_id
    assert len(named(spans, "queue wait")) == 2
    for span in attempts:
        assert span.status.status_code is trace.StatusCode.ERROR
        assert span.attributes is not None
        assert span.attributes["faaslib.function_error"] == "Unhandled"
        assert span.attributes["faaslib.invocation_type"] == "Event"


def test_without_tracing_opentelemetry_is_not_imported() -> None:
    probe = (
        "import sys, anyio, faaslib\n"
        "registry = faaslib.Registry()\n"
        "registry.function(name='f')(lambda event: 1)\n"
        "async def main():\n"
        "    async with faaslib.Invoker(registry) as invoker:\n"
        "        await invoker.invoke('f', {})\n"
        "anyio.run(main)\n"
        "print('opentelemetry' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_tracing_without_opentelemetry_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ImportError, match=r"pip install 'faaslib\[otel\]'"):
        faaslib.Invoker(registry, tracing=True)


def test_the_traced_checkout_example_prints_its_trace() -> None:
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "examples" / "traced_checkout.py"
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, timeout=60
    )
    names = [line.rsplit("  ", 1)[0] for line in done.stdout.splitlines()]  # less the time
    assert names == [
        "checkout",
        "  quote (RequestResponse, attempt 1, cold start)",
        "    init",
        "  queue wait",
        "  charge (Event, attempt 1, cold start, error)",
        "    init",
        "  queue wait",
        "  charge (Event, attempt 2)",
    ]
