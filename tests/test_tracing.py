"""Tracing with OpenTelemetry: each handler run a span with the FaaS semantic conventions,
its cold start's Init phase a child span, the caller's context kept through Event
invocations and their retries (the SDK's in-memory exporter; no mocks)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import anyio
import httpx
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
        await invoker.drain()  # the first attempt failed; the retry waits for the clock
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


# -- what invokes: faas.trigger, the producers of a batch, the HTTP front's headers -----------

TRACED = faaslib.Registry()
ORDERS = faaslib.Queue("traced-orders")
UPLOADS = faaslib.Bucket("traced-uploads")
BATCHES: list[list[dict[str, Any]]] = []


@TRACED.function(events=[faaslib.SQS(ORDERS, batch_size=10, maximum_batching_window=1)])
def take_orders(event: dict[str, Any]) -> None:
    BATCHES.append(event["Records"])


@TRACED.function(events=[faaslib.S3(UPLOADS), faaslib.Schedule("rate(1 minute)")])
def index(event: dict[str, Any]) -> None:
    pass


@TRACED.function(events=[faaslib.HttpApi(path="/ping", method="GET")])
def ping(event: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "body": "pong"}


async def test_each_trigger_names_its_kind_and_a_batch_links_its_producers(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    BATCHES.clear()
    clock = faaslib.VirtualClock()
    tracer = provider.get_tracer("producer")
    async with faaslib.Invoker(TRACED, tracing=provider, clock=clock) as invoker:
        with tracer.start_as_current_span("send one") as first:
            ORDERS.send('{"id": 1}')
        with tracer.start_as_current_span("send two") as second:
            ORDERS.send('{"id": 2}')
        ORDERS.send('{"id": 3}')  # no span: no header, no link
        UPLOADS.put("a.txt", b"x")
        for _ in range(100):
            await anyio.sleep(0.01)
            clock.advance(1)
            if BATCHES and len(named(exporter.get_finished_spans(), "index")) >= 2:
                break
        await invoker.drain()
    spans = exporter.get_finished_spans()
    (batch,) = named(spans, "take_orders")
    assert batch.attributes is not None
    assert batch.attributes["faas.trigger"] == "pubsub"
    linked = {link.context.span_id for link in batch.links}
    assert linked == {first.get_span_context().span_id, second.get_span_context().span_id}
    headers = [record["attributes"].get("AWSTraceHeader") for record in BATCHES[0]]
    trace_id = f"{first.get_span_context().trace_id:032x}"
    assert headers[0] == (
        f"Root=1-{trace_id[:8]}-{trace_id[8:]};"
        f"Parent={first.get_span_context().span_id:016x};Sampled=1"
    )
    assert headers[2] is None
    kinds = {s.attributes["faas.trigger"] for s in named(spans, "index") if s.attributes}
    assert kinds == {"datasource", "timer"}  # the bucket's Event and the schedule's


def test_the_http_front_continues_the_callers_trace(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    from faaslib.server import Server

    parent_trace, parent_span = 0x0AF7651916CD43DD8448EB211C80319C, 0xB7AD6B7169203331
    with Server(TRACED, tracing=provider) as server, httpx.Client(base_url=server.url) as client:
        w3c = client.get(
            "/ping", headers={"traceparent": f"00-{parent_trace:032x}-{parent_span:016x}-01"}
        )
        xray = client.get(
            "/ping",
            headers={
                "X-Amzn-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;"
                "Parent=53995c3f42cd8ad8;Sampled=1"
            },
        )
    assert (w3c.text, xray.text) == ("pong", "pong")
    first, second = named(exporter.get_finished_spans(), "ping")
    assert first.attributes is not None
    assert first.attributes["faas.trigger"] == "http"
    assert first.context.trace_id == parent_trace
    assert first.parent is not None
    assert first.parent.span_id == parent_span
    assert second.context.trace_id == 0x5759E988BD862E3FE1BE46A994272793
    assert second.parent is not None
    assert second.parent.span_id == 0x53995C3F42CD8AD8


# -- destinations and the handler's _X_AMZN_TRACE_ID ---------------------------------------------

CHAINED = faaslib.Registry()
DEAD_LETTERS = faaslib.Queue("traced-dead-letters")


@CHAINED.function(max_retry_attempts=0, on_failure="report", dead_letter=DEAD_LETTERS)
def fail(event: dict[str, Any]) -> None:
    raise ValueError("no")


@CHAINED.function
def report(record: dict[str, Any]) -> None:
    pass


@CHAINED.function(isolation="process")
def trace_variable(event: dict[str, Any]) -> str | None:
    import os

    return os.environ.get("_X_AMZN_TRACE_ID")


async def test_a_destination_continues_the_trace_of_the_invocation_it_reports(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async with faaslib.Invoker(CHAINED, tracing=provider) as invoker:
        await invoker.invoke("fail", {}, "Event")
        await invoker.drain()
    spans = exporter.get_finished_spans()
    (failed,) = named(spans, "fail")
    (reported,) = named(spans, "report")
    assert reported.context.trace_id == failed.context.trace_id
    assert reported.parent is not None
    assert reported.parent.span_id == failed.context.span_id
    (dead,) = DEAD_LETTERS.receive()
    assert dead.attributes["AWSTraceHeader"].endswith(
        f"Parent={failed.context.span_id:016x};Sampled=1"
    )


def header_of(span: ReadableSpan) -> str:
    trace_id = f"{span.context.trace_id:032x}"
    return f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={span.context.span_id:016x};Sampled=1"


async def test_a_worker_process_sees_each_invocations_trace_header(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    async with faaslib.Invoker(CHAINED, tracing=provider) as invoker:
        traced = await invoker.invoke("trace_variable", {})
    async with faaslib.Invoker(CHAINED) as invoker:
        untraced = await invoker.invoke("trace_variable", {})
    (span,) = named(exporter.get_finished_spans(), "trace_variable")
    assert traced.json() == header_of(span)
    assert untraced.json() is None


RUNNING: list[faaslib.Invoker] = []


@CHAINED.function
async def trace_variable_here(event: dict[str, Any]) -> list[str | None]:
    import os

    seen = [os.environ.get("_X_AMZN_TRACE_ID")]
    if event.get("nested"):
        await RUNNING[-1].invoke("trace_variable_here", {})
        seen.append(os.environ.get("_X_AMZN_TRACE_ID"))  # its own again, after the inner run
    return seen


async def test_a_thread_mode_handler_sees_its_invocations_trace_header(
    provider: TracerProvider, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One process: the variable is set for each traced run, as Lambda's runtime sets it, and
    # put back as it was when the run ends (a nested invocation's header does not stay).
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    async with faaslib.Invoker(CHAINED, tracing=provider) as invoker:
        RUNNING.append(invoker)
        try:
            traced = await invoker.invoke("trace_variable_here", {"nested": True})
        finally:
            RUNNING.remove(invoker)
    import os

    assert "_X_AMZN_TRACE_ID" not in os.environ
    outer, inner = sorted(
        named(exporter.get_finished_spans(), "trace_variable_here"),
        key=lambda span: span.start_time or 0,
    )
    assert traced.json() == [header_of(outer), header_of(outer)]
    assert inner.parent is not None
    assert inner.parent.span_id == outer.context.span_id
