"""X-Ray's trace header (``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;
Sampled=1``), as SQS keeps it with a message (``AWSTraceHeader``) and load balancers and API
Gateway pass it (``X-Amzn-Trace-Id``): made from the current OpenTelemetry span, and read
back. Imports nothing of faaslib, and OpenTelemetry only where it is in use already."""

from __future__ import annotations

import re
import sys

__all__ = ["TRACE_VARIABLE", "parse_trace_header", "trace_header"]

#: The environment variable Lambda's runtime sets to each invocation's trace header.
TRACE_VARIABLE = "_X_AMZN_TRACE_ID"

_HEADER = re.compile(
    r"Root=1-([0-9a-f]{8})-([0-9a-f]{24});Parent=([0-9a-f]{16})(?:;Sampled=([01]))?"
)


def trace_header() -> str | None:
    """The current span as an X-Ray trace header; ``None`` without OpenTelemetry in use (at
    the cost of a dictionary look-up) or without a span."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    trace_id = f"{context.trace_id:032x}"
    sampled = 1 if context.trace_flags.sampled else 0
    return f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={context.span_id:016x};Sampled={sampled}"


def parse_trace_header(header: str) -> tuple[int, int, bool] | None:
    """The trace id, parent span id and sampling decision an X-Ray header names."""
    found = _HEADER.search(header)
    if found is None:
        return None
    epoch, unique, parent, sampled = found.groups()
    return int(epoch + unique, 16), int(parent, 16), sampled != "0"
