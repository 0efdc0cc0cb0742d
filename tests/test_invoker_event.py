"""Event invocations: 202 at once, run later on the invoker's task group, drained on exit."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from pydantic import BaseModel

import faaslib


class Job(BaseModel):
    job_id: int


async def test_returns_202_before_the_handler_runs() -> None:
    ran: list[Any] = []
    registry = faaslib.Registry()

    @registry.function
    async def record(event: Any, context: faaslib.Context) -> None:
        ran.append((event, context.aws_request_id, context.client_context))

    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke(
            "record", {"n": 1}, "Event", client_context={"custom": {"a": 1}}
        )
        assert ran == []  # accepted, not run yet
        assert result.status_code == 202
        assert result.payload == b""
        assert result.json() is None
        assert result.function_error is None
        assert result.log_result is None
        assert str(uuid.UUID(result.request_id)) == result.request_id
        stats = invoker.statistics()
        assert stats.events_received == 1
        assert stats.events_queued == 1
        await invoker.drain()
        assert invoker.statistics().events_queued == 0

    # The handler ran later, with the request id the caller got; no client context on Event.
    assert ran == [({"n": 1}, result.request_id, None)]


async def test_drain_waits_for_all_events() -> None:
    done: list[int] = []
    registry = faaslib.Registry()

    @registry.function
    async def work(job: Job) -> None:
        await anyio.lowlevel.checkpoint()
        done.append(job.job_id)

    async with faaslib.Invoker(registry) as invoker:
        ids = {
            (await invoker.invoke("work", {"job_id": i}, "Event")).request_id for i in range(200)
        }
        assert len(ids) == 200
        await invoker.drain()
        assert sorted(done) == list(range(200))
        stats = invoker.statistics()
        # Draining with nothing pending returns at once.
        await invoker.drain()
    assert stats.events_received == 200
    assert stats.events_succeeded == 200
    assert stats.events_dropped == 0
    assert stats.events_queued == 0
    assert stats.events_running == 0
    assert stats.invocations == 200


async def test_sync_handlers_as_events() -> None:
    done: list[tuple[int, str]] = []
    registry = faaslib.Registry()

    @registry.function
    def work(job: Job, context: faaslib.Context) -> None:
        done.append((job.job_id, threading.current_thread().name))

    async with faaslib.Invoker(registry) as invoker:
        for i in range(20):
            await invoker.invoke("work", Job(job_id=i), "Event")
        await invoker.drain()
        stats = invoker.statistics()
    assert sorted(job for job, _ in done) == list(range(20))
    assert all(thread != threading.main_thread().name for _, thread in done)
    assert stats.events_succeeded == 20


def slowish_registry(done: list[int]) -> faaslib.Registry:
    """An async ``slowish`` and a sync ``sync_slowish`` function, each recording its event."""
    registry = faaslib.Registry()

    @registry.function
    async def slowish(event: int) -> None:
        await anyio.sleep(0.01)
        done.append(event)

    @registry.function
    def sync_slowish(event: int) -> None:
        done.append(event)

    return registry


async def test_leaving_the_block_drains() -> None:
    done: list[int] = []
    async with faaslib.Invoker(slowish_registry(done)) as invoker:
        for i in range(50):
            await invoker.invoke("slowish" if i % 2 else "sync_slowish", str(i), "Event")
    assert sorted(done) == list(range(50))
    stats = invoker.statistics()
    assert stats.events_succeeded == 50
    assert stats.events_dropped == 0


async def test_leaving_the_block_by_exception_stops_at_once() -> None:
    done: list[int] = []
    with pytest.raises(KeyError):  # noqa: PT012 - the error must leave the block
        async with faaslib.Invoker(slowish_registry(done)) as invoker:
            for i in range(5):
                await invoker.invoke("slowish", i, "Event")
            raise KeyError("body failed")
    assert invoker.statistics().events_dropped == 5 - len(done)  # as on_exit="cancel"


async def test_events_accepted_while_draining_are_waited_for() -> None:
    done: list[str] = []
    registry = faaslib.Registry()
    invoker = faaslib.Invoker(registry)

    @registry.function
    async def first(event: int) -> None:
        await anyio.sleep(0.01)
        done.append(f"first-{event}")
        await invoker.invoke("second", event, "Event")

    @registry.function
    def second(event: int) -> None:
        done.append(f"second-{event}")
        anyio.from_thread.run(invoker.invoke, "third", event, "Event")

    @registry.function
    async def third(event: int) -> None:
        await anyio.sleep(0.01)
        done.append(f"third-{event}")

    async with invoker:
        for i in range(3):
            await invoker.invoke("first", i, "Event")
        await invoker.drain()
        assert len(done) == 9
        assert invoker.statistics().events_received == 9
        # Chains started just before leaving are waited for by the exit too.
        for i in range(3, 5):
            await invoker.invoke("first", i, "Event")
    assert sorted(done) == sorted(
        f"{step}-{i}" for step in ("first", "second", "third") for i in range(5)
    )
    assert invoker.statistics().events_succeeded == 15


async def test_failing_event_is_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    done: list[int] = []
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=0)
    async def maybe_fail(event: int) -> None:
        await anyio.lowlevel.checkpoint()
        if event == 3:
            raise ValueError("boom")
        done.append(event)

    @registry.function(max_retry_attempts=0)
    def sync_fail(event: int) -> None:
        raise RuntimeError("sync boom")

    caplog.set_level(logging.WARNING, logger="faaslib")
    async with faaslib.Invoker(registry) as invoker:
        accepted = [await invoker.invoke("maybe_fail", i, "Event") for i in range(6)]
        sync_failed = await invoker.invoke("sync_fail", b"0", "Event")
        await invoker.drain()
        stats = invoker.statistics()

    assert sorted(done) == [0, 1, 2, 4, 5]
    assert stats.events_received == 7
    assert stats.events_dropped == 2
    assert stats.events_succeeded == 5
    assert stats.errors == 2
    records = [r for r in caplog.records if r.name == "faaslib" and r.levelno == logging.WARNING]
    assert len(records) == 2
    messages = {r.getMessage() for r in records}
    failed_id = accepted[3].request_id
    assert any(
        failed_id in m and "maybe_fail" in m and "ValueError" in m and "boom" in m for m in messages
    )
    assert any(
        sync_failed.request_id in m and "sync_fail" in m and "RuntimeError" in m for m in messages
    )


async def test_event_payload_over_one_mb() -> None:
    ran: list[int] = []
    registry = faaslib.Registry()

    @registry.function
    def size(event: str) -> None:
        ran.append(len(event))

    one_mb = 1_048_576
    too_big = b'"' + b"x" * (one_mb - 1) + b'"'  # one_mb + 1 bytes
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.RequestTooLargeException) as info:
            await invoker.invoke("size", too_big, "Event")
        stats = invoker.statistics()
        # Exactly at the limit is accepted; a synchronous invoke of the same size is fine.
        await invoker.invoke("size", b'"' + b"x" * (one_mb - 2) + b'"', "Event")
        await invoker.invoke("size", too_big)
        await invoker.drain()
    error = info.value
    assert error.status_code == 413
    assert str(error) == (
        "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"
    )
    assert (error.size, error.limit) == (one_mb + 1, one_mb)
    assert stats.events_received == 0
    assert stats.events_queued == 0
    assert sorted(ran) == [one_mb - 2, one_mb - 1]


async def test_event_payload_over_configured_limit() -> None:
    ran: list[Any] = []
    registry = faaslib.Registry()

    @registry.function
    async def record(event: Any) -> None:
        ran.append(event)

    async with faaslib.Invoker(registry, max_async_payload=10) as invoker:
        with pytest.raises(faaslib.RequestTooLargeException) as info:
            await invoker.invoke("record", {"k": "123456"}, "Event")  # {"k":"123456"}: 14 bytes
        await invoker.drain()
        assert invoker.statistics().events_received == 0
        await invoker.invoke("record", [1, 2, 3, 4], "Event")  # [1,2,3,4]: 9 bytes
        # The synchronous limit is separate.
        await invoker.invoke("record", {"k": "123456"})
    assert str(info.value) == (
        "14 byte payload is too large for the Event invocation type (limit 10 bytes)"
    )
    assert info.value.status_code == 413
    assert sorted(map(str, ran)) == sorted(map(str, [[1, 2, 3, 4], {"k": "123456"}]))


async def test_invalid_event_rejected_before_queueing() -> None:
    ran: list[Any] = []
    registry = faaslib.Registry()

    @registry.function
    async def typed(job: Job) -> None:
        ran.append(job)

    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(faaslib.InvalidRequestContentException) as invalid:
            await invoker.invoke("typed", {"job_id": "not a number"}, "Event")
        with pytest.raises(faaslib.InvalidRequestContentException):
            await invoker.invoke("typed", b"{oops", "Event")
        with pytest.raises(faaslib.ResourceNotFoundException):
            await invoker.invoke("missing", b"{}", "Event")
        await invoker.drain()
        stats = invoker.statistics()
    assert "job_id" in str(invalid.value)
    assert ran == []
    assert stats.events_received == 0
    assert stats.events_queued == 0
    assert stats.invocations == 0


async def test_full_queue_applies_back_pressure() -> None:
    started: list[int] = []
    finished: list[int] = []
    first_started = anyio.Event()
    release = anyio.Event()
    registry = faaslib.Registry()

    @registry.function
    async def blocked(event: int) -> None:
        started.append(event)
        first_started.set()
        await release.wait()
        finished.append(event)

    async with faaslib.Invoker(registry, event_queue_size=2, event_workers=1) as invoker:
        await invoker.invoke("blocked", 0, "Event")
        with anyio.fail_after(5):
            await first_started.wait()
        assert started == [0]  # the only worker is busy with event 0
        await invoker.invoke("blocked", 1, "Event")
        await invoker.invoke("blocked", 2, "Event")  # the queue (2) is now full
        stats = invoker.statistics()
        assert (stats.events_received, stats.events_queued, stats.events_running) == (3, 2, 1)

        with anyio.move_on_after(0.1) as waited:
            await invoker.invoke("blocked", 3, "Event")
        assert waited.cancelled_caught  # it waited for room instead of dropping or raising
        stats = invoker.statistics()
        assert (stats.events_received, stats.events_queued) == (3, 2)

        accepted: list[faaslib.InvocationResult] = []
        async with anyio.create_task_group() as tg:

            async def invoke_more(n: int) -> None:
                accepted.append(await invoker.invoke("blocked", n, "Event"))

            tg.start_soon(invoke_more, 4)
            tg.start_soon(invoke_more, 5)
            await anyio.sleep(0.05)
            assert accepted == []  # still waiting for room
            release.set()
        assert [r.status_code for r in accepted] == [202, 202]
        await invoker.drain()
        stats = invoker.statistics()

    assert sorted(finished) == [0, 1, 2, 4, 5]
    assert stats.events_received == 5
    assert stats.events_succeeded == 5
    assert stats.events_dropped == 0


async def test_leaving_by_cancellation_counts_dropped_events(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started: list[int] = []
    finished: list[int] = []
    both_started = anyio.Event()
    registry = faaslib.Registry()

    @registry.function
    async def forever(event: int) -> None:
        started.append(event)
        if len(started) == 2:
            both_started.set()
        await anyio.sleep(60)
        finished.append(event)  # pragma: no cover - never reached

    caplog.set_level(logging.WARNING, logger="faaslib")
    with anyio.CancelScope() as scope:
        async with faaslib.Invoker(registry, event_workers=2) as invoker:
            for i in range(5):
                await invoker.invoke("forever", i, "Event")
            await both_started.wait()
            scope.cancel()
            await anyio.sleep(60)
    assert scope.cancelled_caught
    stats = invoker.statistics()
    assert stats.events_received == 5
    assert stats.events_dropped == 5
    assert stats.events_succeeded == 0
    assert finished == []
    assert sorted(started) == [0, 1]
    assert any(
        r.name == "faaslib" and r.levelno == logging.WARNING and "5" in r.getMessage()
        for r in caplog.records
    )
    with pytest.raises(faaslib.InvokerClosed):
        await invoker.invoke("forever", 9, "Event")


async def test_cancellation_while_draining_on_exit_counts_dropped() -> None:
    started: list[int] = []
    registry = faaslib.Registry()

    @registry.function
    async def forever(event: int) -> None:
        started.append(event)
        await anyio.sleep(60)

    with anyio.move_on_after(0.2) as scope:
        async with faaslib.Invoker(registry) as invoker:
            for i in range(3):
                await invoker.invoke("forever", i, "Event")
        # the exit drains: the events never finish, so the deadline cancels the drain
    assert scope.cancelled_caught
    assert sorted(started) == [0, 1, 2]
    assert invoker.statistics().events_dropped == 3


async def test_events_wait_for_a_concurrency_slot_instead_of_throttling() -> None:
    order: list[str] = []
    slow_started = anyio.Event()
    release = anyio.Event()
    registry = faaslib.Registry()

    @registry.function
    async def slow(event: Any) -> str:
        order.append("slow start")
        slow_started.set()
        await release.wait()
        order.append("slow end")
        return "done"

    @registry.function
    async def queued(event: Any) -> None:
        order.append("event")

    async with faaslib.Invoker(registry, concurrency_limit=1) as invoker:
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "slow", b"{}")
            await slow_started.wait()
            result = await invoker.invoke("queued", b"{}", "Event")
            await anyio.sleep(0.05)
            assert order == ["slow start"]  # the event waits for the slot
            release.set()
        await invoker.drain()
        stats = invoker.statistics()
    assert result.status_code == 202
    assert order == ["slow start", "slow end", "event"]
    assert stats.throttles == 0
    assert stats.events_succeeded == 1


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("this exception cannot be printed")


async def test_unprintable_event_error_does_not_crash_the_invoker() -> None:
    done: list[int] = []
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=0)
    async def unprintable(event: Any) -> None:
        raise UnprintableError

    @registry.function
    async def fine(event: int) -> None:
        await anyio.sleep(0.01)
        done.append(event)

    async with faaslib.Invoker(registry) as invoker:
        for i in range(3):
            await invoker.invoke("fine", i, "Event")
        await invoker.invoke("unprintable", b"{}", "Event")
        await invoker.drain()
        stats = invoker.statistics()
    assert sorted(done) == [0, 1, 2]
    assert stats.events_dropped == 1


async def test_events_that_suspend_spread_over_all_workers() -> None:
    running = peak = 0
    registry = faaslib.Registry()

    @registry.function
    async def waits(event: int) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.05)
        running -= 1

    async with faaslib.Invoker(registry, event_workers=16) as invoker:
        with anyio.fail_after(5):
            for i in range(64):
                await invoker.invoke("waits", i, "Event")
            await invoker.drain()
    assert peak == 16  # woken one after another, each by the one before


async def test_a_burst_of_quick_events_runs_on_few_workers() -> None:
    tasks: set[object] = set()
    registry = faaslib.Registry()

    @registry.function
    async def quick(event: int) -> None:
        tasks.add(anyio.get_current_task().id)

    async with faaslib.Invoker(registry, event_workers=64) as invoker:
        for i in range(1_000):
            await invoker.invoke("quick", i, "Event")
        await invoker.drain()
        assert invoker.statistics().events_succeeded == 1_000
    assert len(tasks) < 16  # not a worker woken (and put to sleep again) per event
