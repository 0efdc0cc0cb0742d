"""Function timeouts: Lambda's Sandbox.Timedout result at the deadline, and what is not one.

The shortest function timeout is Lambda's 1 s, so the tests that wait for it run their
invocations concurrently in one task group.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import anyio
import anyio.lowlevel
import pytest

import faaslib


def timeout_document(request_id: str) -> dict[str, str]:
    return {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 1.00 seconds",
    }


async def timed_invoke(
    invoker: faaslib.Invoker, name: str, **kwargs: Any
) -> tuple[faaslib.InvocationResult, float]:
    start = time.monotonic()
    result = await invoker.invoke(name, b"{}", **kwargs)
    return result, time.monotonic() - start


async def test_handlers_time_out_at_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    sync_finished = threading.Event()
    registry = faaslib.Registry()

    @registry.function(timeout=1, max_retry_attempts=0)
    async def async_sleeper(event: Any) -> str:
        await anyio.sleep(1.5)
        return "too late"

    @registry.function(timeout=1)
    def sync_sleeper(event: Any) -> str:
        time.sleep(1.5)
        sync_finished.set()
        return "too late"

    @registry.function(timeout=1)
    async def longer_move_on_after(event: Any) -> str:
        # An inner scope with a later deadline must not swallow the function's timeout.
        with anyio.move_on_after(5):
            await anyio.sleep(10)
        return "inner scope swallowed the function timeout"

    @registry.function(timeout=1)
    async def longer_fail_after(event: Any) -> str:
        with anyio.fail_after(5):
            await anyio.sleep(10)
        return "unreachable"

    @registry.function(timeout=1)
    async def swallows_cancellation(event: Any) -> str:
        try:
            await anyio.sleep(10)
        except BaseException:  # noqa: BLE001 - swallowing the cancellation is the point
            return "swallowed"
        return "unreachable"

    @registry.function(timeout=1)
    async def quick(event: Any) -> str:
        await anyio.sleep(0.01)
        return "in time"

    slow = [
        "async_sleeper",
        "sync_sleeper",
        "longer_move_on_after",
        "longer_fail_after",
        "swallows_cancellation",
    ]
    outcomes: dict[str, tuple[faaslib.InvocationResult, float]] = {}
    async with faaslib.Invoker(registry) as invoker:

        async def run(name: str) -> None:
            outcomes[name] = await timed_invoke(invoker, name)

        caplog.set_level(logging.WARNING, logger="faaslib")
        event = await invoker.invoke("async_sleeper", b"{}", "Event")
        async with anyio.create_task_group() as tg:
            for name in [*slow, "quick"]:
                tg.start_soon(run, name)
        await invoker.drain()
        stats = invoker.statistics()

        # The caller was answered at the deadline, but the sync handler's thread runs on.
        assert not sync_finished.is_set()
        assert await anyio.to_thread.run_sync(sync_finished.wait, 1.5)

    for name in slow:
        result, elapsed = outcomes[name]
        assert result.status_code == 200, name
        assert result.function_error == "Unhandled", name
        assert result.executed_version == "$LATEST"
        assert result.json() == timeout_document(result.request_id), name
        assert 0.9 < elapsed < 2, (name, elapsed)

    quick_result, quick_elapsed = outcomes["quick"]
    assert quick_result.function_error is None
    assert quick_result.json() == "in time"
    # Answered before any of the others reached the deadline they share.
    assert quick_elapsed < min(outcomes[name][1] for name in slow)

    assert stats.invocations == 7
    assert stats.timeouts == 6
    assert stats.errors == 6
    assert stats.concurrent_executions == 0
    # A timed-out Event invocation is a failed attempt; with no retries left and no
    # destination, the event is dropped, logged with its request id.
    assert stats.events_dropped == 1
    assert any(
        event.request_id in r.getMessage() and "Sandbox.Timedout" in r.getMessage()
        for r in caplog.records
        if r.name == "faaslib"
    )


async def test_async_handler_blocking_the_loop_past_deadline() -> None:
    registry = faaslib.Registry()

    @registry.function(timeout=1)
    async def blocks_loop(event: Any) -> str:
        time.sleep(1.1)  # noqa: ASYNC251 - the point of the test
        return "returned late"

    async with faaslib.Invoker(registry) as invoker:
        result, elapsed = await timed_invoke(invoker, "blocks_loop")
        stats = invoker.statistics()
    assert result.function_error == "Unhandled"
    assert result.json() == timeout_document(result.request_id)
    assert 1.05 < elapsed < 2
    assert stats.timeouts == 1
    assert stats.errors == 1


async def test_inner_deadlines_shorter_than_timeout() -> None:
    registry = faaslib.Registry()

    @registry.function(timeout=1)
    async def moves_on(event: Any, context: faaslib.Context) -> dict[str, Any]:
        with anyio.move_on_after(0.05) as scope:
            await anyio.sleep(10)
        return {"cancelled": scope.cancelled_caught, "left": context.get_remaining_time_in_millis()}

    @registry.function(timeout=1)
    async def fails_after(event: Any) -> str:
        try:
            with anyio.fail_after(0.05):
                await anyio.sleep(10)
        except TimeoutError:
            return "caught inner timeout"
        return "unreachable"

    @registry.function(timeout=1)
    async def lets_inner_timeout_escape(event: Any) -> str:
        with anyio.fail_after(0.05):
            await anyio.sleep(10)
        return "unreachable"

    async with faaslib.Invoker(registry) as invoker:
        moved, moved_elapsed = await timed_invoke(invoker, "moves_on")
        caught, _ = await timed_invoke(invoker, "fails_after")
        escaped, escaped_elapsed = await timed_invoke(invoker, "lets_inner_timeout_escape")
        stats = invoker.statistics()

    assert moved.function_error is None
    assert moved.json()["cancelled"] is True
    assert 0 < moved.json()["left"] <= 950  # counted down through the 50 ms inner wait
    assert moved_elapsed < 1  # at the inner deadline, before the function's 1 s one
    assert caught.function_error is None
    assert caught.json() == "caught inner timeout"
    # An inner fail_after is the handler's own error, not the function timeout.
    assert escaped.function_error == "Unhandled"
    assert escaped.json()["errorType"] == "TimeoutError"
    assert escaped.json()["requestId"] == escaped.request_id
    assert escaped_elapsed < 1  # at the inner deadline, before the function's 1 s one
    assert stats.timeouts == 0
    assert stats.errors == 1


@pytest.mark.parametrize("is_async", [True, False], ids=["async", "sync"])
async def test_handler_raising_timeout_error_is_ordinary_error(is_async: bool) -> None:
    registry = faaslib.Registry()

    async def raises_async(event: Any) -> Any:
        await anyio.lowlevel.checkpoint()
        raise TimeoutError("upstream took too long")

    def raises_sync(event: Any) -> Any:
        raise TimeoutError("upstream took too long")

    registry.function(name="raises", timeout=1)(raises_async if is_async else raises_sync)
    async with faaslib.Invoker(registry) as invoker:
        result, elapsed = await timed_invoke(invoker, "raises")
        stats = invoker.statistics()
    assert result.function_error == "Unhandled"
    document = result.json()
    assert set(document) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert document["errorType"] == "TimeoutError"
    assert document["errorMessage"] == "upstream took too long"
    assert elapsed < 1  # at once, not at the function's 1 s deadline
    assert stats.timeouts == 0
    assert stats.errors == 1


@pytest.mark.parametrize("log_type", ["None", "Tail"])
async def test_cancellation_from_outside_propagates(log_type: str) -> None:
    registry = faaslib.Registry()
    cleaned_up: list[str] = []
    release = threading.Event()

    @registry.function(timeout=30)
    async def async_waits(event: Any) -> str:
        try:
            await anyio.sleep(30)
        finally:
            cleaned_up.append("async")
        return "unreachable"

    @registry.function(timeout=30)
    def sync_waits(event: Any) -> str:
        release.wait(30)
        return "unreachable"

    async with faaslib.Invoker(registry) as invoker:
        for name in ("async_waits", "sync_waits"):
            start = time.monotonic()
            with anyio.move_on_after(0.1) as scope:
                await invoker.invoke(name, b"{}", log_type=log_type)  # type: ignore[arg-type]
                pytest.fail("the invocation returned instead of being cancelled")
            assert scope.cancelled_caught
            assert time.monotonic() - start < 1
        stats = invoker.statistics()
        release.set()

    assert cleaned_up == ["async"]
    assert stats.invocations == 2
    assert stats.errors == 0
    assert stats.timeouts == 0
    assert stats.concurrent_executions == 0


async def test_cancel_scope_cancel_around_invoke_is_not_a_result() -> None:
    registry = faaslib.Registry()
    started = anyio.Event()

    @registry.function(timeout=30)
    async def waits(event: Any) -> str:
        started.set()
        await anyio.sleep(30)
        return "unreachable"

    results: list[faaslib.InvocationResult] = []
    async with faaslib.Invoker(registry) as invoker:
        async with anyio.create_task_group() as tg:

            async def call() -> None:
                results.append(await invoker.invoke("waits"))

            tg.start_soon(call)
            await started.wait()
            tg.cancel_scope.cancel()
        assert results == []
        assert invoker.statistics().errors == 0
        assert invoker.statistics().concurrent_executions == 0


async def test_timed_out_sync_handler_frees_its_concurrency_slot() -> None:
    registry = faaslib.Registry()
    release = threading.Event()

    @registry.function(timeout=1)
    def stuck(event: Any) -> str:
        release.wait(10)
        return "unreachable"

    @registry.function(timeout=1)
    def quick(event: Any) -> str:
        return "quick"

    try:
        async with faaslib.Invoker(registry, concurrency_limit=1) as invoker:
            timed_out, _ = await timed_invoke(invoker, "stuck")
            assert timed_out.json() == timeout_document(timed_out.request_id)
            assert invoker.statistics().concurrent_executions == 0
            result, elapsed = await timed_invoke(invoker, "quick")
            assert result.function_error is None, result.json()
            assert result.json() == "quick"
            assert elapsed < 1  # not held until the stuck thread's deadline or release
    finally:
        release.set()


async def test_handler_suspending_many_times_runs_to_its_result() -> None:
    # On asyncio the deadline timer is armed only once a handler suspends, and the handler is
    # carried on by hand from there: every kind of suspension must come back to it intact.
    registry = faaslib.Registry()

    @registry.function(timeout=5)
    async def steps(event: Any, context: faaslib.Context) -> dict[str, Any]:
        remaining = [context.get_remaining_time_in_millis()]
        await anyio.lowlevel.checkpoint()  # a bare reschedule
        await anyio.sleep(0.01)  # a timer
        async with anyio.create_task_group() as tg:  # a child task, waited for
            tg.start_soon(anyio.sleep, 0.01)
        with anyio.move_on_after(0.01):  # an inner scope that expires
            await anyio.sleep(1)
        remaining.append(context.get_remaining_time_in_millis())
        return {"sum": sum(event), "remaining": remaining}

    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("steps", [1, 2, 3])
    assert result.function_error is None, result.payload
    document = result.json()
    assert document["sum"] == 6
    first, last = document["remaining"]
    assert 4000 < first <= 5000
    assert last < first


@pytest.mark.parametrize("suspend", [False, True])
async def test_error_after_suspending_lists_only_the_handlers_frames(suspend: bool) -> None:
    registry = faaslib.Registry()

    @registry.function
    async def fails_later(event: Any) -> None:
        if suspend:
            await anyio.sleep(0.001)
        raise ValueError("after the pause")

    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("fails_later")
    document = result.json()
    assert (document["errorType"], document["errorMessage"]) == ("ValueError", "after the pause")
    assert document["stackTrace"]
    assert all(frame.startswith(f'  File "{__file__}",') for frame in document["stackTrace"])
    assert "fails_later" in document["stackTrace"][0]


async def test_handler_finishing_before_its_deadline_leaves_no_pending_cancellation() -> None:
    # A handler that suspended and then finished must leave the caller's task uncancelled:
    # the next await of the caller proceeds normally.
    registry = faaslib.Registry()

    @registry.function(timeout=1)
    async def quick(event: Any) -> str:
        await anyio.sleep(0.01)
        return "done"

    async with faaslib.Invoker(registry) as invoker:
        for _ in range(3):
            assert (await invoker.invoke("quick")).json() == "done"
        await anyio.sleep(1.2)  # past the deadlines of all three: nothing fires at us
        assert (await invoker.invoke("quick")).json() == "done"
