"""A function's log group: every invocation of a function whose ``/aws/lambda/<name>`` group
has a subscription writes its log there (START, what it printed or logged, END, REPORT), in
its environment's stream, so the subscribed function receives it, as on AWS.

No mocks: real invokers, real worker processes, real log groups and subscriptions.
"""

from __future__ import annotations

import base64
import itertools
import logging
import os
import re
from typing import Any

import anyio
import pytest

import faaslib
from faaslib import _logs
from faaslib._services.cloudwatch_logs import CloudWatchLogs, LogGroup, awslogs_data

pytestmark = pytest.mark.anyio

#: Lambda's name of an environment's stream: ``YYYY/MM/DD/[$LATEST]<32 hex digits>``.
STREAM = re.compile(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}")
_names = itertools.count()


def unique(name: str) -> str:
    """A function name no other test uses (subscriptions are the process's, by name)."""
    return f"{name}-{os.getpid()}-{next(_names)}"


def worker(event: dict[str, Any]) -> str:
    """Prints and logs an ERROR line and an ordinary one (module level: a worker process
    imports it)."""
    print(f"ERROR printed {event['n']}")  # noqa: T201 - what the function writes
    print("all fine")  # noqa: T201
    logging.getLogger("app").error("logged %s", event["n"])
    return "ok"


def collector(registry: faaslib.Registry, name: str, **config: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def handler(event: dict[str, Any]) -> None:
        seen.append(awslogs_data(event))

    registry.function(name=name, **config)(handler)
    return seen


def messages(deliveries: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for data in deliveries for e in data["logEvents"]]


@pytest.mark.parametrize("isolation", ["thread", "process"])
@pytest.mark.parametrize("invocation_type", ["RequestResponse", "Event"])
async def test_a_subscriber_receives_the_error_lines_of_a_functions_log(
    isolation: str, invocation_type: str
) -> None:
    registry = faaslib.Registry()
    name = unique("worker")
    registry.function(name=name, isolation=isolation)(worker)  # type: ignore[call-overload]
    group = LogGroup.for_function(name)
    seen = collector(registry, unique("watcher"), events=[CloudWatchLogs(group, "?ERROR ?REPORT")])
    async with faaslib.Invoker(registry) as invoker:
        with anyio.fail_after(30):
            result = await invoker.invoke(name, {"n": 1}, invocation_type)  # type: ignore[arg-type]
            await invoker.drain()
    assert result.log_result is None  # no Tail asked for
    request_id = result.request_id  # an Event's too
    lines = messages(seen)
    assert "ERROR printed 1" in lines
    assert "all fine" not in lines  # the pattern's choice
    [logged] = [line for line in lines if line.endswith("\tlogged 1")]
    assert logged.startswith("[ERROR]\t")
    assert logged.split("\t")[2] == request_id
    [report] = [line for line in lines if line.startswith("REPORT ")]
    assert report.startswith(f"REPORT RequestId: {request_id}\tDuration: ")
    assert {data["logGroup"] for data in seen} == {f"/aws/lambda/{name}"}
    [stream] = {data["logStream"] for data in seen}
    assert STREAM.fullmatch(stream)
    stored = [e["message"] for e in group.get_log_events(stream)["events"]]
    assert stored[0].startswith(f"START RequestId: {request_id} Version: $LATEST")
    assert stored[-2:] == [f"END RequestId: {request_id}", report]
    assert "all fine" in stored  # the group holds the whole log


async def test_tail_and_the_log_group_together() -> None:
    registry = faaslib.Registry()
    name = unique("worker")
    registry.function(name=name)(worker)
    group = LogGroup.for_function(name)
    seen = collector(registry, unique("watcher"), events=[CloudWatchLogs(group, "REPORT")])
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(name, {"n": 2}, log_type="Tail")
        await invoker.drain()
    assert result.log_result is not None
    tail = base64.b64decode(result.log_result).decode()
    assert "ERROR printed 2" in tail
    [report] = messages(seen)
    assert tail.endswith(report + "\n")


async def test_without_a_subscriber_nothing_is_written() -> None:
    registry = faaslib.Registry()
    name, other = unique("worker"), unique("other")
    registry.function(name=name)(worker)
    registry.function(name=other)(worker)
    group = LogGroup.for_function(name)  # a group, but nobody subscribes to it
    seen = collector(
        registry, unique("watcher"), events=[CloudWatchLogs(LogGroup.for_function(other), "")]
    )
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke(name, {"n": 3})
        await invoker.invoke(name, {"n": 4}, "Event")
        await invoker.drain()
    assert _logs.function_sinks(name) == []
    assert group.log_streams() == []
    assert seen == []


async def test_the_writes_stop_when_the_subscription_goes() -> None:
    registry = faaslib.Registry()
    name, watcher = unique("worker"), unique("watcher")
    registry.function(name=name)(worker)
    group = LogGroup.for_function(name)
    seen = collector(registry, watcher, events=[CloudWatchLogs(group, "REPORT")])
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke(name, {"n": 5})
        await invoker.drain()
        [stream] = group.log_streams()
        written = len(group.get_log_events(stream)["events"])
        registry.update(watcher, events=[])
        await invoker.invoke(name, {"n": 6})
        await invoker.drain()
    assert _logs.function_sinks(name) == []
    assert len(group.get_log_events(stream)["events"]) == written
    assert len(seen) == 1


async def test_a_function_subscribed_to_its_own_group_does_not_loop() -> None:
    """On AWS it would invoke itself forever (Lambda's recursive loop detection does not cover
    CloudWatch Logs): here the log of an invocation its own subscription made is stored, not
    delivered again."""
    registry = faaslib.Registry()
    name = unique("selfwatch")
    runs: list[dict[str, Any]] = []

    async def selfwatch(event: dict[str, Any]) -> None:
        runs.append(event)
        print("ERROR seen")  # noqa: T201 - matches its own pattern

    group = LogGroup.for_function(name)
    registry.function(name=name, events=[CloudWatchLogs(group, "?ERROR ?REPORT")])(selfwatch)
    async with faaslib.Invoker(registry) as invoker:
        with anyio.fail_after(10):
            await invoker.invoke(name, {"first": True}, "Event")
            await invoker.drain()
    assert len(runs) == 2  # the event, then its log's delivery; not that delivery's log
    assert runs[0] == {"first": True}
    assert "awslogs" in runs[1]
    [stream] = group.log_streams()
    stored = [e["message"] for e in group.get_log_events(stream)["events"]]
    assert sum(line.startswith("REPORT ") for line in stored) == 2  # both logs are stored


def test_a_huge_log_keeps_its_head_and_its_report() -> None:
    buffer = _logs.LogBuffer("r-1")
    buffer.write("START RequestId: r-1 Version: $LATEST\n")
    for n in range(30_000):
        buffer.write(f"line {n:06d} " + "x" * 40 + "\n")
    buffer.write("END RequestId: r-1\nREPORT RequestId: r-1\tDuration: 1.00 ms\n")
    full = buffer.full()
    assert len(full) <= _logs.FULL_LOG_CHARS
    lines = full.splitlines()
    assert lines[0] == "START RequestId: r-1 Version: $LATEST"
    assert lines[-2:] == ["END RequestId: r-1", "REPORT RequestId: r-1\tDuration: 1.00 ms"]
    [note] = [line for line in lines if line.startswith("[faaslib: ")]
    left_out = int(note.split()[1])
    assert len(full) - len(note) - 1 + left_out == len(buffer.text())
    assert _logs.tail_of(full) == buffer.tail()  # a process worker sends this whole log
    assert all(line.startswith(("line ", "START", "END", "REPORT", "[faaslib")) for line in lines)
