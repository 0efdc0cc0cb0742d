"""The invoker under misbehaving handlers and hostile input (issue 10): one invocation's trouble
stays that invocation's, the invoker keeps serving, and bad input gets faaslib's errors."""

from __future__ import annotations

import base64
import gc
import json
import logging
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import faaslib

EXITS = [
    pytest.param(SystemExit(3), "exit status 3", id="SystemExit"),
    pytest.param(SystemExit(), "exit status 0", id="SystemExit-none"),
    pytest.param(SystemExit("bye"), "exit status 1", id="SystemExit-text"),
    pytest.param(KeyboardInterrupt(), "signal: interrupt", id="KeyboardInterrupt"),
    pytest.param(GeneratorExit(), "exit status 1", id="GeneratorExit"),
]


def exit_registry(exc: BaseException, inits: list[int], **config: Any) -> faaslib.Registry:
    """Functions that raise ``exc`` (sync and async) and a well-behaved one, all counting
    their environments' init runs in ``inits``."""
    registry = faaslib.Registry()

    def init() -> None:
        inits.append(1)

    @registry.function(init=init, **config)
    def sync_exit(event: Any) -> Any:
        if event.get("exit"):
            raise exc
        return "ok"

    @registry.function(init=init, **config)
    async def async_exit(event: Any) -> Any:
        if event.get("suspend"):
            await anyio.lowlevel.checkpoint()
        if event.get("exit"):
            raise exc
        return "ok"

    return registry


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- Defect 2: SystemExit, KeyboardInterrupt and GeneratorExit from a handler ---------------


@pytest.mark.parametrize(("exc", "reason"), EXITS)
@pytest.mark.parametrize("function", ["sync_exit", "async_exit"])
async def test_exit_from_a_handler_is_runtime_exit_error(
    function: str, exc: BaseException, reason: str
) -> None:
    inits: list[int] = []
    async with faaslib.Invoker(exit_registry(exc, inits)) as invoker:
        assert (await invoker.invoke(function, {})).json() == "ok"
        result = await invoker.invoke(function, {"exit": True, "suspend": True}, log_type="Tail")
        assert result.status_code == 200
        assert result.function_error == "Unhandled"
        assert result.json() == {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: "
            f"{reason}",
        }
        assert result.log_result is not None
        log = base64.b64decode(result.log_result).decode()
        assert f"Runtime exited with error: {reason}\nRuntime.ExitError\nEND RequestId" in log
        assert log.endswith("\tStatus: error\tError Type: Runtime.ExitError\n")
        # The environment is gone: the next invocation is a cold start.
        assert (await invoker.invoke(function, {})).json() == "ok"
        assert len(inits) == 2
        metrics = invoker.metrics().functions[function]
        assert (metrics.cold_starts, metrics.errors, metrics.environments) == (2, 1, 1)


@pytest.mark.parametrize(("exc", "reason"), EXITS)
async def test_exit_in_event_invocations_loses_no_other_event(
    exc: BaseException, reason: str
) -> None:
    failures: list[dict[str, Any]] = []
    done: list[int] = []
    registry = exit_registry(exc, [], max_retry_attempts=0, on_failure=failures.append)

    @registry.function
    async def good(event: int) -> None:
        await anyio.lowlevel.checkpoint()
        done.append(event)

    async with faaslib.Invoker(registry) as invoker:
        for i in range(100):
            await invoker.invoke("good", i, "Event")
            if i % 25 == 0:
                await invoker.invoke("sync_exit", {"exit": True}, "Event")
                await invoker.invoke("async_exit", {"exit": True, "suspend": i % 50 == 0}, "Event")
        await invoker.drain()
        stats = invoker.statistics()
    assert sorted(done) == list(range(100))
    assert len(failures) == 8
    for record in failures:
        assert record["responsePayload"]["errorType"] == "Runtime.ExitError"
        assert record["responsePayload"]["errorMessage"].endswith(reason)
    assert (stats.events_succeeded, stats.events_dropped) == (100, 8)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process isolation on Linux")
async def test_exit_from_a_process_handler_ends_its_worker() -> None:
    import process_handlers as handlers

    registry = faaslib.Registry()
    registry.function(
        handlers.raise_exit,
        name="exits",
        isolation="process",
    )
    async with faaslib.Invoker(registry) as invoker:
        pid = (await invoker.invoke("exits", {})).json()
        result = await invoker.invoke("exits", {"status": 4})
        assert result.function_error == "Unhandled"
        assert result.json() == {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: "
            "exit status 4",
        }
        assert (await invoker.invoke("exits", {})).json() != pid  # a new worker
        assert not _alive(pid)


@pytest.mark.parametrize(("exc", "reason"), EXITS)
async def test_exit_from_init_is_an_init_exit_error(exc: BaseException, reason: str) -> None:
    registry = faaslib.Registry()

    def init() -> None:
        raise exc

    async def async_init() -> None:
        raise exc

    @registry.function(init=init)
    def sync_init(event: Any) -> None:
        return None

    @registry.function(init=async_init)
    def other_init(event: Any) -> None:
        return None

    async with faaslib.Invoker(registry) as invoker:
        for name in ("sync_init", "other_init"):
            result = await invoker.invoke(name, {})
            assert result.function_error == "Unhandled"
            assert result.json() == {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"Error: Runtime exited with error: {reason}",
            }


# -- Defect 3: a result faaslib cannot read back -------------------------------------------


def nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


async def test_destination_record_of_an_unreadable_result() -> None:
    records: list[dict[str, Any]] = []
    done: list[int] = []
    registry = faaslib.Registry()

    @registry.function(on_success=records.append)
    async def raw(event: Any) -> Any:
        return b"not json" if event["kind"] == "raw" else nested(230)

    @registry.function
    async def good(event: int) -> None:
        done.append(event)

    async with faaslib.Invoker(registry) as invoker:
        for i in range(100):
            await invoker.invoke("good", i, "Event")
            if i % 50 == 0:
                await invoker.invoke("raw", {"kind": "raw"}, "Event")
                await invoker.invoke("raw", {"kind": "deep"}, "Event")
        await invoker.drain()
        stats = invoker.statistics()
    assert sorted(done) == list(range(100))
    assert stats.events_succeeded == 104
    assert stats.destination_deliveries == 4
    assert stats.destination_delivery_failures == 0
    by_kind = {r["requestPayload"]["kind"]: r for r in records}
    assert by_kind["raw"]["responsePayload"] == "not json"  # as text, not lost
    deep = by_kind["deep"]["responsePayload"]
    assert deep == json.dumps(nested(230), separators=(",", ":"))  # too deep to decode: text
    assert all(r["requestContext"]["condition"] == "Success" for r in records)


async def test_function_destination_of_an_unreadable_result() -> None:
    got: list[Any] = []
    registry = faaslib.Registry()

    @registry.function(on_success="sink")
    async def raw(event: Any) -> bytes:
        return b"\xff\xfe not utf-8"

    @registry.function
    async def sink(record: dict[str, Any]) -> None:
        got.append(record["responsePayload"])

    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("raw", {}, "Event")
        await invoker.drain()
        assert invoker.statistics().destination_delivery_failures == 0
    assert got == ["\ufffd\ufffd not utf-8"]


@pytest.mark.parametrize(("exc", "reason"), EXITS)
async def test_a_destination_that_exits_is_a_failed_delivery(
    exc: BaseException, reason: str
) -> None:
    def sync_target(record: Any) -> None:
        raise exc

    async def async_target(record: Any) -> None:
        raise exc

    done: list[int] = []
    registry = faaslib.Registry()

    @registry.function(on_success=sync_target)
    async def succeeds(event: Any) -> int:
        return 1

    @registry.function(max_retry_attempts=0, on_failure=async_target, dead_letter=sync_target)
    async def fails(event: Any) -> None:
        raise ValueError("no")

    @registry.function
    async def good(event: int) -> None:
        done.append(event)

    async with faaslib.Invoker(registry) as invoker:
        for i in range(40):
            await invoker.invoke("good", i, "Event")
            if i == 20:
                await invoker.invoke("succeeds", {}, "Event")
                await invoker.invoke("fails", {}, "Event")
        await invoker.drain()
        stats = invoker.statistics()
    assert sorted(done) == list(range(40))
    assert (stats.destination_delivery_failures, stats.dead_letter_errors) == (2, 1)


async def test_a_stream_on_failure_target_that_exits_is_a_failed_delivery() -> None:
    clock = faaslib.VirtualClock(1_700_000_000.0)
    stream = faaslib.Stream("s", clock=clock)
    seen: list[int] = []

    def target(record: Any) -> None:
        raise SystemExit(2)

    registry = faaslib.Registry()
    trigger = faaslib.Kinesis(stream, batch_size=1, maximum_retry_attempts=0, on_failure=target)

    @registry.function(events=[trigger])
    async def consume(event: dict[str, Any]) -> None:
        n = json.loads(base64.b64decode(event["Records"][0]["kinesis"]["data"]))
        seen.append(n)
        if n == 1:
            raise ValueError("poison")

    for n in range(4):
        stream.put(n, "k")
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.drain()
    assert seen == [0, 1, 2, 3]  # the shard went on past the discarded batch


# -- Defect 6: a process worker outlives its invoker ----------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process isolation on Linux")
async def test_leaving_the_block_stops_a_busy_process_worker(tmp_path: Path) -> None:
    import process_handlers as handlers

    registry = faaslib.Registry()
    registry.function(
        handlers.write_pid_then_sleep,
        name="slow",
        isolation="process",
        timeout=30,
    )
    pid_file = tmp_path / "pid"
    outcome: list[object] = []

    async def call(invoker: faaslib.Invoker) -> None:
        try:
            outcome.append(await invoker.invoke("slow", {"pid_file": str(pid_file), "sleep": 5}))
        except faaslib.FaaslibError as exc:
            outcome.append(exc)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            async with faaslib.Invoker(registry) as invoker:
                tg.start_soon(call, invoker)
                while not pid_file.exists() or not pid_file.read_text():  # noqa: ASYNC110
                    await anyio.sleep(0.01)
                pid = int(pid_file.read_text())
                assert _alive(pid)
            started = time.monotonic()
            while _alive(pid) and time.monotonic() - started < 3:  # noqa: ASYNC110
                await anyio.sleep(0.01)
            assert not _alive(pid)  # stopped and reaped when the block was left
    assert len(outcome) == 1
    assert isinstance(outcome[0], faaslib.InvokerClosed)


# -- Defect 7: invoke() is a checkpoint ------------------------------------------------------


def quick_registry() -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    async def quick(event: int) -> int:
        return event

    return registry


async def test_a_loop_of_invokes_lets_other_tasks_run() -> None:
    ran = 0

    async def other() -> None:
        nonlocal ran
        while True:
            ran += 1
            await anyio.lowlevel.checkpoint()

    async with faaslib.Invoker(quick_registry()) as invoker, anyio.create_task_group() as tg:
        tg.start_soon(other)
        await anyio.lowlevel.checkpoint()
        before = ran
        for i in range(5_000):
            await invoker.invoke("quick", i)
        assert ran - before >= 5_000 // 64 // 2  # trio may run it in a later batch
        tg.cancel_scope.cancel()


async def test_a_loop_of_invokes_can_be_cancelled() -> None:
    calls = 0
    async with faaslib.Invoker(quick_registry()) as invoker:
        with anyio.move_on_after(0.05) as scope:
            while calls < 300_000:
                await invoker.invoke("quick", calls)
                calls += 1
        assert scope.cancelled_caught
        assert calls < 300_000
        with anyio.CancelScope() as scope:
            scope.cancel()
            for i in range(100):
                await invoker.invoke("quick", i)
        assert scope.cancelled_caught


# -- Defect 8: bare Python exceptions at the boundary ---------------------------------------


async def test_lone_surrogate_payload_is_invalid_request_content() -> None:
    async with faaslib.Invoker(quick_registry()) as invoker:
        for invocation_type in ("RequestResponse", "Event", "DryRun"):
            with pytest.raises(faaslib.InvalidRequestContentException) as info:
                await invoker.invoke("quick", '"\ud800"', invocation_type)
            assert info.value.status_code == 400
            assert "Could not parse request body into json" in info.value.message


@pytest.mark.parametrize("name", [["quick"], {"quick": 1}, None, b"quick", 7])
async def test_a_function_name_that_is_not_text_is_a_validation_error(name: Any) -> None:
    async with faaslib.Invoker(quick_registry()) as invoker:
        for invocation_type in ("RequestResponse", "Event", "DryRun"):
            with pytest.raises(faaslib.ValidationException):
                await invoker.invoke(name, 1, invocation_type)


@pytest.mark.parametrize(
    "client_context",
    [
        pytest.param(nested(10_000), id="deep-dict"),
        pytest.param("\ud800", id="surrogate-text"),
        pytest.param("W" * 1200 + "=" * 2, id="not-json"),
    ],
)
async def test_bad_client_context_is_invalid_parameter_value(client_context: Any) -> None:
    if isinstance(client_context, list):
        client_context = {"custom": client_context}
    async with faaslib.Invoker(quick_registry()) as invoker:
        with pytest.raises(faaslib.InvalidParameterValueException):
            await invoker.invoke("quick", 1, client_context=client_context)
        assert (await invoker.invoke("quick", 2)).json() == 2


async def test_deep_base64_client_context_is_invalid_parameter_value() -> None:
    deep = base64.b64encode(b'{"custom":' + b"[" * 1300 + b"]" * 1300 + b"}")
    assert len(deep) <= 3583
    async with faaslib.Invoker(quick_registry()) as invoker:
        with pytest.raises(faaslib.InvalidParameterValueException):
            await invoker.invoke("quick", 1, client_context=deep.decode())


def surrogate_registry() -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=0)
    async def raises(event: Any) -> None:
        raise ValueError("bad \ud800 text")

    @registry.function
    def logs(event: Any) -> str:
        logging.getLogger("handler").warning("logged \udc80")
        try:
            print("printed \ud800")  # noqa: T201
        except UnicodeEncodeError:
            return "print refused it"  # as the runtime's UTF-8 standard output does
        return "printed"

    return registry


async def test_an_error_message_with_a_lone_surrogate_is_a_function_error() -> None:
    async with faaslib.Invoker(surrogate_registry()) as invoker:
        result = await invoker.invoke("raises", {}, log_type="Tail")
        assert result.function_error == "Unhandled"
        document = result.json()
        assert (document["errorType"], document["errorMessage"]) == (
            "ValueError",
            "bad \ufffd text",
        )
        assert result.log_result is not None
        assert "[ERROR] ValueError: bad \ufffd text" in base64.b64decode(result.log_result).decode()
        await invoker.invoke("raises", {}, "Event")
        await invoker.drain()
        assert invoker.statistics().events_dropped == 1


async def test_an_exception_whose_str_exits_is_a_function_error() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise SystemExit(1)

    registry = faaslib.Registry()

    @registry.function
    async def raises(event: Any) -> None:
        raise Unprintable

    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("raises", {})
        assert result.function_error == "Unhandled"
        assert result.json()["errorMessage"] == "<unprintable Unprintable object>"


async def test_a_log_with_a_lone_surrogate_still_has_a_tail() -> None:
    async with faaslib.Invoker(surrogate_registry()) as invoker:
        result = await invoker.invoke("logs", {}, log_type="Tail")
        assert result.function_error is None
        assert result.log_result is not None
        log = base64.b64decode(result.log_result).decode()
        assert "logged \ufffd" in log
        assert "printed" not in log or result.json() == "printed"


async def test_provisioned_concurrency_past_the_account_is_refused_at_open() -> None:
    inits: list[int] = []
    registry = faaslib.Registry()

    def init() -> None:
        inits.append(1)

    @registry.function(init=init, provisioned_concurrency=1_000_000)
    async def warm(event: Any) -> None:
        return None

    with anyio.fail_after(5), pytest.raises(faaslib.InvalidParameterValueException) as info:
        async with faaslib.Invoker(registry):
            pass
    assert "UnreservedConcurrentExecution below its minimum value of [100]" in info.value.message
    assert inits == []
    registry.update("warm", provisioned_concurrency=900)  # 1000 - 100 unreserved: allowed
    registry.update("warm", reserved_concurrency=5)
    with pytest.raises(faaslib.InvalidParameterValueException) as info:
        async with faaslib.Invoker(registry):
            pass
    assert "should not be greater than the reservedConcurrentExecution" in info.value.message
    registry.update("warm", provisioned_concurrency=5)
    async with faaslib.Invoker(registry):
        assert len(inits) == 5  # the provisioned environments, started at open


# -- Defect 9: per-invocation memory ---------------------------------------------------------


async def test_metrics_keep_bounded_memory() -> None:
    registry = quick_registry()
    async with faaslib.Invoker(registry) as invoker:
        for i in range(3_000):
            await invoker.invoke("quick", i)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(40_000):
                await invoker.invoke("quick", i)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        metrics = invoker.metrics().functions["quick"]
    assert metrics.invocations == 43_000
    # An array of 40,000 durations alone would be 320,000 bytes; below half of it is the
    # backend's own bookkeeping, which varies with the machine's load (trio's, up to 74 KB).
    assert grown < 160_000
