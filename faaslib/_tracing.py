"""Tracing with OpenTelemetry (the ``otel`` extra), X-Ray's role in Lambda.

With ``Invoker(tracing=True)`` (the global tracer provider) or ``Invoker(tracing=provider)``,
each handler run is a span named after the function, of kind ``SERVER``, with the FaaS
semantic conventions' attributes (``faas.invocation_id``, ``faas.coldstart``,
``faas.invoked_name``, ``cloud.resource_id``, ...) and a child span for the Init phase of a
cold start. A RequestResponse run is a child of the caller's current span; an Event
invocation keeps the context of its ``invoke`` call, so each attempt (``faaslib.attempt``) is
a child of the caller's span too, after a ``queue wait`` span (from its acceptance, or from
the failure that put it back for a retry). Without tracing the invoker
never imports OpenTelemetry and its invoke path is the bare one.
"""

from __future__ import annotations

import contextvars
import dataclasses
import importlib.metadata
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ._xray import TRACE_VARIABLE, parse_trace_header, trace_header

if TYPE_CHECKING:
    from ._execution import FunctionRuntime
    from ._result import InvocationResult
    from ._triggers import Trigger, TriggerHost

__all__ = [
    "Traced",
    "Tracing",
    "attach_http",
    "host_for",
    "invoking_trigger",
    "tracing_of",
]

#: The span of the handler run that started last in this context (an Event attempt's).
_last_run: contextvars.ContextVar[Any] = contextvars.ContextVar("faaslib_last_run", default=None)


@dataclasses.dataclass(slots=True)
class Traced:
    """What an accepted Event invocation keeps for tracing: its caller's context and trigger,
    when its current queue wait began (ns), and its last attempt's span."""

    context: Any
    trigger: str
    waiting_since: int
    last_run: Any = None


#: What is invoking now, as OpenTelemetry's ``faas.trigger`` names it (``http``, ``pubsub``,
#: ``datasource``, ``timer``, ``other``): set by a trigger's host and the HTTP front.
invoking_trigger: contextvars.ContextVar[str] = contextvars.ContextVar(
    "faaslib_invoking_trigger", default="other"
)

_INSTALL = "pip install 'faaslib[otel]'"


class Tracing:
    """Spans of an invoker's handler runs.

    :param provider: a ``TracerProvider``; ``None`` for OpenTelemetry's global one
    :raises ImportError: OpenTelemetry is not installed (the message names the extra)
    """

    def __init__(self, provider: Any, *, region: str, account: str) -> None:
        try:
            from opentelemetry import context, trace
        except ImportError as exc:
            raise ImportError(f"tracing needs OpenTelemetry: {_INSTALL}") from exc
        self._trace = trace
        self._context = context
        self._tracer = trace.get_tracer("faaslib", _version(), tracer_provider=provider)
        self._region = region
        self._account = account

    def capture(self) -> Traced:
        """The caller's context and trigger, kept with an accepted Event invocation."""
        return Traced(self._context.get_current(), invoking_trigger.get(), time.time_ns())

    @contextmanager
    def event(self, traced: Traced) -> Iterator[None]:
        """Run an Event attempt in the context its ``invoke`` call had, after a span for the
        time it waited in the queue; the attempt's span is kept for its destinations."""
        token = self._context.attach(traced.context)
        invoking = invoking_trigger.set(traced.trigger)
        ran = _last_run.set(None)
        try:
            waited = self._tracer.start_span("queue wait", start_time=traced.waiting_since)
            waited.end()
            yield
            traced.last_run = _last_run.get()
        finally:
            _last_run.reset(ran)
            invoking_trigger.reset(invoking)
            self._context.detach(token)

    @contextmanager
    def following(self, traced: Traced) -> Iterator[None]:
        """Deliver an Event's destination record (or its dead letter) as a child of its last
        attempt's span: a function destination's invocation continues the trace."""
        context = traced.context
        if traced.last_run is not None:
            context = self._trace.set_span_in_context(traced.last_run, context)
        token = self._context.attach(context)
        try:
            yield
        finally:
            self._context.detach(token)

    @contextmanager
    def run(
        self,
        fn: FunctionRuntime,
        request_id: str,
        invoked_arn: str,
        data: bytes,
        *,
        cold: bool,
        invocation_type: str,
        attempt: int,
    ) -> Iterator[Any]:
        """A span around one handler run; the caller passes the result to :meth:`ended`."""
        attributes: dict[str, str | bool | int] = {
            "faas.invocation_id": request_id,
            "faas.name": fn.name,
            "faas.version": fn.version,
            "faas.coldstart": cold,
            "faas.trigger": invoking_trigger.get(),
            "faas.invoked_name": fn.name,
            "faas.invoked_provider": "aws",
            "faas.invoked_region": self._region,
            "faas.max_memory": fn.memory_size * 2**20,
            "cloud.provider": "aws",
            "cloud.platform": "aws_lambda",
            "cloud.region": self._region,
            "cloud.account.id": self._account,
            "cloud.resource_id": invoked_arn,
            "faaslib.invocation_type": invocation_type,
            "faaslib.attempt": attempt,
        }
        with self._tracer.start_as_current_span(
            fn.name,
            kind=self._trace.SpanKind.SERVER,
            attributes=attributes,
            links=self._producers(data),
            record_exception=False,
            set_status_on_exception=True,
        ) as span:
            _last_run.set(span)
            if fn.spec.isolation == "process":  # the worker sets its own variable
                yield span
                return
            # One process for all: the variable is the running invocation's, as Lambda's
            # runtime sets it, then as it was (invocations that overlap share it).
            before = os.environ.get(TRACE_VARIABLE)
            os.environ[TRACE_VARIABLE] = trace_header() or ""
            try:
                yield span
            finally:
                if before is None:
                    os.environ.pop(TRACE_VARIABLE, None)
                else:
                    os.environ[TRACE_VARIABLE] = before

    def _producers(self, data: bytes) -> list[Any]:
        """Links to the spans that sent a batch's records: SQS's ``AWSTraceHeader``."""
        if b"AWSTraceHeader" not in data:
            return []
        links = []
        for record in json.loads(data).get("Records", ()):
            header = (record.get("attributes") or {}).get("AWSTraceHeader")
            span_context = None if header is None else _span_context(self._trace, header)
            if span_context is not None:
                links.append(self._trace.Link(span_context))
        return links

    def ended(self, span: Any, result: InvocationResult, init_ms: float | None) -> None:
        """Record the run's outcome on its span, and its Init phase as a child span."""
        if init_ms is not None:
            start = span.start_time if hasattr(span, "start_time") else time.time_ns()
            init = self._tracer.start_span("init", start_time=start)
            init.end(end_time=start + int(init_ms * 1e6))
        if result.function_error is not None:
            span.set_attribute("faaslib.function_error", result.function_error)
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, "function error"))


def tracing_of(tracing: Any, *, region: str, account: str) -> Tracing | None:
    """An invoker's ``tracing`` option: ``False`` or ``None`` (none), ``True`` (the global
    tracer provider) or a tracer provider."""
    if tracing is False or tracing is None:
        return None
    return Tracing(None if tracing is True else tracing, region=region, account=account)


def _version() -> str:
    """faaslib's version, as installed (the instrumentation scope's version)."""
    try:
        return importlib.metadata.version("faaslib")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _span_context(trace: Any, header: str) -> Any:
    """The remote span an X-Ray trace header names, or ``None``."""
    parsed = parse_trace_header(header)
    if parsed is None:
        return None
    trace_id, span_id, sampled = parsed
    return trace.SpanContext(
        trace_id=trace_id,
        span_id=span_id,
        is_remote=True,
        trace_flags=trace.TraceFlags(1 if sampled else 0),
    )


@contextmanager
def attach_http(headers: Mapping[str, str]) -> Iterator[None]:
    """Run an HTTP request's invocation as ``faas.trigger`` ``http``, in the trace its
    ``traceparent`` (W3C) or ``X-Amzn-Trace-Id`` (X-Ray) header names, when OpenTelemetry is
    in use."""
    invoking = invoking_trigger.set("http")
    token = None
    if "opentelemetry.trace" in sys.modules:
        from opentelemetry import context, propagate, trace

        extracted = propagate.extract(headers)
        if not trace.get_current_span(extracted).get_span_context().is_valid:
            xray = headers.get("x-amzn-trace-id")
            remote = None if xray is None else _span_context(trace, xray)
            if remote is not None:
                extracted = trace.set_span_in_context(trace.NonRecordingSpan(remote))
        token = context.attach(extracted)
    try:
        yield
    finally:
        if token is not None:
            from opentelemetry import context

            context.detach(token)
        invoking_trigger.reset(invoking)


def host_for(tracing: Tracing | None, host: TriggerHost, trigger: Trigger) -> TriggerHost:
    """The host of one trigger's runner: with tracing, one whose invocations carry the
    trigger's ``faas.trigger``; else the invoker's own."""
    if tracing is None:
        return host
    kind = trigger.faas_trigger
    invoke = host.invoke

    async def invoke_as_trigger(*args: Any, **kwargs: Any) -> Any:
        token = invoking_trigger.set(kind)
        try:
            return await invoke(*args, **kwargs)
        finally:
            invoking_trigger.reset(token)

    return dataclasses.replace(host, invoke=invoke_as_trigger)
