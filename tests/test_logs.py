"""log_type="Tail": the base64 last 4 KB of one invocation's log, in Lambda's format."""

# The handlers here print on purpose: their output is what the tail captures.
# ruff: noqa: T201

from __future__ import annotations

import base64
import logging
import math
import re
import sys
import threading
import time
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import faaslib

logger = logging.getLogger("tests.handler")

REPORT = re.compile(
    r"REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d{2}) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<memory>\d+) MB\t"
    r"Max Memory Used: (?P<used>\d+) MB(?P<init>\tInit Duration: \d+\.\d{2} ms)?"
    r"(?P<status>\tStatus: timeout)?\n"
)
ISO_TIME = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"


def tail_of(result: faaslib.InvocationResult) -> str:
    assert result.log_result is not None
    raw = base64.b64decode(result.log_result, validate=True)
    assert len(raw) <= 4096
    return raw.decode()


def check_report(log: str, request_id: str, memory: int = 128) -> re.Match[str]:
    """The log ends with the REPORT line, TAB-separated as Lambda writes it."""
    last = log.splitlines(keepends=True)[-1]
    match = REPORT.fullmatch(last)
    assert match is not None, repr(last)
    assert match["id"] == request_id
    duration = float(match["duration"])
    billed = int(match["billed"])
    assert billed >= 1
    assert math.floor(duration) <= billed <= math.ceil(duration) + 1
    assert int(match["memory"]) == memory
    assert int(match["used"]) > 0
    return match


def make_registry() -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    async def chatty(event: Any, context: faaslib.Context) -> str:
        print("printed by", context.aws_request_id)
        logger.warning("careful: %s", event["n"])
        context.log("via context.log\n")
        print("to stderr", file=sys.stderr)
        return "ok"

    @registry.function(memory_size=512)
    def sync_chatty(event: Any, context: faaslib.Context) -> str:
        print("printed by", context.aws_request_id)
        logger.warning("careful: %s", event["n"])
        context.log("via context.log\n")
        print("to stderr", file=sys.stderr)
        return "ok"

    @registry.function
    async def boom(event: Any) -> None:
        raise ValueError("boom")

    @registry.function
    def sync_boom(event: Any) -> None:
        raise ValueError("boom")

    @registry.function
    async def loud(event: Any) -> None:
        for i in range(10):
            print(f"{i}" * 1023)  # 10 lines of 1 KB each

    @registry.function
    async def logs_exception(event: Any) -> None:
        try:
            lookup: dict[str, int] = {}
            _ = lookup["missing"]
        except KeyError:
            logger.exception("lookup failed")

    return registry


@pytest.mark.parametrize(("name", "memory"), [("chatty", 128), ("sync_chatty", 512)])
async def test_tail_has_lambda_log_lines(name: str, memory: int) -> None:
    async with faaslib.Invoker(make_registry()) as invoker:
        result = await invoker.invoke(name, {"n": 7}, log_type="Tail")
    assert result.json() == "ok"
    log = tail_of(result)
    rid = result.request_id
    lines = log.splitlines()
    assert lines[0] == f"START RequestId: {rid} Version: $LATEST"
    assert f"printed by {rid}" in lines
    warning = re.compile(rf"\[WARNING\]\t{ISO_TIME}\t{rid}\tcareful: 7")
    assert any(warning.fullmatch(line) for line in lines), log
    assert "via context.log" in lines
    assert "to stderr" in lines
    assert lines[-2] == f"END RequestId: {rid}"
    check_report(log, rid, memory)
    # Everything comes in the order it was written.
    order = [
        lines.index(f"START RequestId: {rid} Version: $LATEST"),
        lines.index(f"printed by {rid}"),
        next(i for i, line in enumerate(lines) if warning.fullmatch(line)),
        lines.index("via context.log"),
        lines.index("to stderr"),
        lines.index(f"END RequestId: {rid}"),
    ]
    assert order == sorted(order)


async def test_log_time_is_utc_now() -> None:
    async with faaslib.Invoker(make_registry()) as invoker:
        before = time.time()
        result = await invoker.invoke("chatty", {"n": 1}, log_type="Tail")
        after = time.time()
    stamp = re.search(rf"\[WARNING\]\t({ISO_TIME})\t", tail_of(result))
    assert stamp is not None
    parsed = time.mktime(time.strptime(stamp[1][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert before - 1 <= parsed <= after + 1


async def test_logged_exception_includes_traceback() -> None:
    async with faaslib.Invoker(make_registry()) as invoker:
        result = await invoker.invoke("logs_exception", log_type="Tail")
    log = tail_of(result)
    assert re.search(rf"\[ERROR\]\t{ISO_TIME}\t{result.request_id}\tlookup failed\n", log)
    assert "Traceback (most recent call last):" in log
    assert "KeyError: 'missing'" in log


async def test_tail_is_the_last_4_kb() -> None:
    async with faaslib.Invoker(make_registry()) as invoker:
        result = await invoker.invoke("loud", log_type="Tail")
    assert result.log_result is not None
    raw = base64.b64decode(result.log_result)
    assert len(raw) == 4096
    log = raw.decode()
    assert "START RequestId" not in log  # cut off
    assert log.endswith("\n")
    assert f"END RequestId: {result.request_id}\n" in log
    check_report(log, result.request_id)
    assert "9" * 1023 in log
    assert "0" * 1023 not in log


@pytest.mark.parametrize("name", ["boom", "sync_boom"])
async def test_failing_handler_tail(name: str) -> None:
    async with faaslib.Invoker(make_registry()) as invoker:
        result = await invoker.invoke(name, log_type="Tail")
    assert result.function_error == "Unhandled"
    log = tail_of(result)
    assert "[ERROR] ValueError: boom\n" in log
    assert "Traceback (most recent call last):\n" in log
    assert 'raise ValueError("boom")' in log
    assert log.index("[ERROR] ValueError: boom") < log.index(f"END RequestId: {result.request_id}")
    check_report(log, result.request_id)


async def test_timed_out_handler_tail() -> None:
    registry = faaslib.Registry()
    release = threading.Event()

    @registry.function(timeout=1)
    async def sleeps(event: Any) -> None:
        print("going to sleep")
        await anyio.sleep(5)

    @registry.function(timeout=1)
    def sync_sleeps(event: Any) -> None:
        print("going to sleep")
        release.wait(5)

    results: dict[str, faaslib.InvocationResult] = {}
    async with faaslib.Invoker(registry) as invoker:

        async def run(name: str) -> None:
            results[name] = await invoker.invoke(name, log_type="Tail")

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(run, "sleeps")
                tg.start_soon(run, "sync_sleeps")
        finally:
            release.set()  # let the abandoned thread finish

    for result in results.values():
        log = tail_of(result)
        rid = result.request_id
        assert "going to sleep" in log
        assert f"RequestId: {rid} Error: Task timed out after 1.00 seconds\n" in log
        assert f"END RequestId: {rid}\n" in log
        match = check_report(log, rid)
        assert match["status"] == "\tStatus: timeout"
        assert float(match["duration"]) >= 990


async def test_concurrent_tails_never_mix() -> None:
    registry = faaslib.Registry()

    @registry.function
    async def async_marker(event: str) -> None:
        for i in range(5):
            print(f"marker {event} {i}")
            logger.warning("warning %s", event)
            await anyio.lowlevel.checkpoint()

    @registry.function
    def sync_marker(event: str) -> None:
        for i in range(5):
            print(f"marker {event} {i}")
            logger.warning("warning %s", event)
            time.sleep(0.001)

    results: dict[str, faaslib.InvocationResult] = {}
    async with faaslib.Invoker(registry) as invoker:

        async def run(name: str, marker: str) -> None:
            results[marker] = await invoker.invoke(name, f'"{marker}"', log_type="Tail")

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(run, "async_marker", f"a{i}")
            for i in range(10):
                tg.start_soon(run, "sync_marker", f"s{i}")

    assert len(results) == 30
    for marker, result in results.items():
        log = tail_of(result)
        markers = re.findall(r"marker (\w+) (\d)", log)
        assert markers == [(marker, str(i)) for i in range(5)], log
        warnings = re.findall(rf"\[WARNING\]\t{ISO_TIME}\t([0-9a-f-]+)\twarning (\w+)", log)
        assert warnings == [(result.request_id, marker)] * 5
        assert log.count("START RequestId") == 1
        assert log.count("END RequestId") == 1
        check_report(log, result.request_id)


async def test_log_type_none_gives_no_log_result() -> None:
    async with faaslib.Invoker(make_registry()) as invoker:
        plain = await invoker.invoke("chatty", {"n": 1})
        enum = await invoker.invoke("chatty", {"n": 1}, log_type=faaslib.LogType.NONE)
        tail = await invoker.invoke("chatty", {"n": 1}, log_type=faaslib.LogType.TAIL)
        after = await invoker.invoke("chatty", {"n": 1}, log_type="None")
    assert plain.log_result is None
    assert enum.log_result is None
    assert after.log_result is None
    # A Tail log holds only its own invocation, not what others printed before it.
    log = tail_of(tail)
    assert plain.request_id not in log
    assert enum.request_id not in log
    assert log.count("printed by") == 1


async def test_output_still_reaches_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    async with faaslib.Invoker(make_registry()) as invoker:
        result = await invoker.invoke("chatty", {"n": 1}, log_type="Tail")
    captured = capsys.readouterr()
    assert f"printed by {result.request_id}\n" in captured.out
    assert "via context.log\n" in captured.out
    assert "to stderr\n" in captured.err
    assert "START RequestId" not in captured.out  # the runtime's lines are only in the tail


async def test_streams_restored_after_the_invoker_exits() -> None:
    stdout, stderr = sys.stdout, sys.stderr
    root_handlers = list(logging.getLogger().handlers)
    async with faaslib.Invoker(make_registry()) as invoker:
        await invoker.invoke("chatty", {"n": 1}, log_type="Tail")
        assert sys.stdout is not stdout  # captured while the invoker is open
    assert sys.stdout is stdout
    assert sys.stderr is stderr
    assert logging.getLogger().handlers == root_handlers


async def test_streams_restored_after_exit_by_error() -> None:
    stdout, stderr = sys.stdout, sys.stderr
    with pytest.raises(KeyError):  # noqa: PT012 - the error must leave the block
        async with faaslib.Invoker(make_registry()) as invoker:
            await invoker.invoke("chatty", {"n": 1}, log_type="Tail")
            raise KeyError("leave")
    assert sys.stdout is stdout
    assert sys.stderr is stderr


async def test_two_invokers_share_the_capture() -> None:
    stdout = sys.stdout
    async with faaslib.Invoker(make_registry()) as first:
        async with faaslib.Invoker(make_registry()) as second:
            one = await first.invoke("chatty", {"n": 1}, log_type="Tail")
            two = await second.invoke("chatty", {"n": 2}, log_type="Tail")
        # The second invoker leaving does not stop the first one's capture.
        three = await first.invoke("chatty", {"n": 3}, log_type="Tail")
    assert sys.stdout is stdout
    for result in (one, two, three):
        assert f"printed by {result.request_id}" in tail_of(result)


async def test_no_capture_without_tail() -> None:
    stdout = sys.stdout
    async with faaslib.Invoker(make_registry()) as invoker:
        await invoker.invoke("chatty", {"n": 1})
        assert sys.stdout is stdout  # nothing is installed until a Tail invocation needs it
    assert sys.stdout is stdout


async def test_context_log_appears_in_tail() -> None:
    registry = faaslib.Registry()

    @registry.function
    def logs(event: Any, context: faaslib.Context) -> None:
        context.log("x")
        context.log("-marker-from-context-log\n")

    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("logs", log_type="Tail")
    assert "x-marker-from-context-log\n" in tail_of(result)


async def test_end_line_starts_a_line_after_unterminated_output() -> None:
    registry = faaslib.Registry()

    @registry.function
    def logs(event: Any, context: faaslib.Context) -> None:
        context.log("x")

    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("logs", log_type="Tail")
    lines = tail_of(result).splitlines()
    assert "x" in lines
    assert f"END RequestId: {result.request_id}" in lines
