"""The entry point's cost on AWS Lambda: ``faaslib.aws.handler`` against the same work done by
a plain handler, both run by AWS's own runtime code (awslambdaric's ``handle_event_request``,
in this process, posting to a client that keeps nothing).

Three functions: an untyped one (a dict in, a dict out), and a typed one (a pydantic model of
an SQS-like batch in, a model out) whose plain twin validates and dumps by hand, as code
without faaslib would; and an async one. Prints microseconds per invocation (medians of
interleaved repeats) and the ratio entry / plain. Needs the test extras (awslambdaric).
Run: ``python benchmarks/aws_entry.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import pydantic

import faaslib
import faaslib.aws

try:
    from awslambdaric import bootstrap
    from awslambdaric.lambda_runtime_marshaller import LambdaMarshaller
except ImportError:  # pragma: no cover - a hint, not a failure
    sys.exit("This benchmark runs AWS's runtime code: pip install -e '.[test]'")

os.environ.setdefault("AWS_EXECUTION_ENV", "AWS_Lambda_python3.12")
registry = faaslib.Registry()


class Record(pydantic.BaseModel):
    messageId: str
    body: str
    attributes: dict[str, str]


class Batch(pydantic.BaseModel):
    Records: list[Record]


class Summary(pydantic.BaseModel):
    count: int
    first: str


@registry.function
def untyped(event, context):  # type: ignore[no-untyped-def]
    return {"count": len(event["Records"]), "first": event["Records"][0]["messageId"]}


@registry.function
def typed(event: Batch) -> Summary:
    return Summary(count=len(event.Records), first=event.Records[0].messageId)


@registry.function
async def async_untyped(event, context):  # type: ignore[no-untyped-def]
    return {"count": len(event["Records"])}


def plain_typed(event: Any, context: Any) -> Any:
    """What a handler without faaslib writes for ``typed``."""
    batch = Batch.model_validate(event)
    return Summary(count=len(batch.Records), first=batch.Records[0].messageId).model_dump()


_loop = asyncio.new_event_loop()


def plain_async(event: Any, context: Any) -> Any:
    """What a handler without faaslib writes to run ``async_untyped`` (one loop, kept)."""
    return _loop.run_until_complete(async_untyped(event, context))  # type: ignore[no-untyped-call]


class NullClient:
    """The Runtime API client, posting nowhere."""

    marshaller = LambdaMarshaller()

    def post_invocation_result(self, *args: Any, **kwargs: Any) -> None:
        pass

    def post_invocation_error(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError(args)


def event_body(records: int) -> bytes:
    return json.dumps(
        {
            "Records": [
                {
                    "messageId": f"id-{i}",
                    "body": json.dumps({"order": i, "items": ["a", "b"]}),
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
                }
                for i in range(records)
            ]
        }
    ).encode()


def per_invocation(handler: Callable[..., Any], body: bytes, calls: int) -> float:
    client, sink = NullClient(), bootstrap.StandardLogSink()
    deadline = int(time.time() * 1000) + 3_600_000
    start = time.perf_counter()
    for _ in range(calls):
        bootstrap.handle_event_request(
            client, handler, "id", body, "application/json", None, None, "arn", deadline, None,
            sink,
        )  # fmt: skip
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few short repeats")
    args = parser.parse_args()
    calls, repeats = (200, 3) if args.quick else (2000, 9)
    environ = {"FAASLIB_REGISTRY": "__main__:registry"}
    pairs: list[tuple[str, str, Callable[..., Any], int]] = [
        ("untyped, 10 records", "untyped", untyped, 10),
        ("typed, 10 records", "typed", plain_typed, 10),
        ("typed, 100 records", "typed", plain_typed, 100),
        ("async, 10 records", "async_untyped", plain_async, 10),
    ]
    print(f"faaslib {faaslib.__version__}, Python {sys.version.split()[0]}")
    print(f"{'function':22s} {'plain us':>9s} {'entry us':>9s}  ratio")
    for label, name, plain, records in pairs:
        entry = faaslib.aws.load({**environ, "FAASLIB_FUNCTION": name})
        body = event_body(records)
        runs: dict[str, list[float]] = {"plain": [], "entry": []}
        for i in range(repeats):
            order: list[tuple[str, Callable[..., Any]]] = [("plain", plain), ("entry", entry)]
            if i % 2:
                order.reverse()
            for side, handler in order:
                runs[side].append(per_invocation(handler, body, calls))
        plain_us = statistics.median(runs["plain"])
        entry_us = statistics.median(runs["entry"])
        print(f"{label:22s} {plain_us:9.1f} {entry_us:9.1f}  {entry_us / plain_us:.2f}x")
        entry.close()
    _loop.close()


if __name__ == "__main__":
    main()
