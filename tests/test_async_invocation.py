"""Asynchronous (Event) invocation as Lambda runs it: retries and backoff on a virtual clock,
event age, destinations and their records, dead-letter targets, configuration, back-pressure
and shutdown. Real registries, invokers and clocks; no mocks."""

from __future__ import annotations

import collections
import datetime
import logging
import math
import time
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from pydantic import BaseModel

import faaslib

UTC = datetime.timezone.utc
#: Every virtual clock here starts at this instant, so record time stamps are exact.
START = datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
T0 = START.timestamp()
LATEST = "$LATEST"


def arn(name: str, region: str = "us-east-1", account: str = "123456789012") -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


class Job(BaseModel):
    job_id: int


class Order(BaseModel):
    order_id: str
    items: list[int]


class Receipt(BaseModel):
    order_id: str
    total: int


class AlwaysFails:
    """A registry whose function ``fails`` always raises; it records when each attempt ran
    (on ``clock``) and the records its ``on_failure`` destination received."""

    def __init__(self, clock: faaslib.VirtualClock, **config: Any) -> None:
        self.attempts: list[float] = []
        self.failures: list[dict[str, Any]] = []
        self.registry = faaslib.Registry()
        config.setdefault("on_failure", self.failures.append)

        @self.registry.function(**config)
        async def fails(event: Any) -> None:
            self.attempts.append(clock.time())
            raise ValueError("bad")


class AsyncTarget:
    """An in-process queue with an ``async def send``."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    async def send(self, record: Any) -> None:
        await anyio.lowlevel.checkpoint()
        self.records.append(record)


class SyncTarget:
    """An in-process queue with a plain ``def send``."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    def send(self, record: Any) -> None:
        self.records.append(record)


class BrokenTarget:
    """A target whose ``send`` always fails."""

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, record: Any) -> None:
        self.calls += 1
        raise ConnectionError("queue is down")


def faaslib_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "faaslib" and r.levelno == level]


# -- 1. retries and backoff ---------------------------------------------------------------------


async def test_failing_event_is_retried_after_60_then_120_seconds() -> None:
    clock = faaslib.VirtualClock(START)
    attempts: list[tuple[str, float]] = []
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(on_failure=failures.append)
    async def always_fails(event: dict[str, Any], context: faaslib.Context) -> None:
        attempts.append((context.aws_request_id, clock.time()))
        raise ValueError(f"attempt {len(attempts)} failed")

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        accepted = await invoker.invoke("always_fails", {"n": 1}, "Event")
        rid = accepted.request_id
        assert accepted.status_code == 202
        with anyio.fail_after(5):
            await invoker.drain()  # returns: the only event left waits for the clock
        assert attempts == [(rid, T0)]
        assert invoker.pending() == [
            faaslib.PendingEvent(
                request_id=rid,
                function_name="always_fails",
                state="delayed",
                attempts=1,
                received_at=T0,
                next_attempt_at=T0 + 60,
            )
        ]
        stats = invoker.statistics()
        assert (stats.events_delayed, stats.events_retried, stats.events_queued) == (1, 1, 0)
        assert (stats.events_running, stats.invocations, stats.errors) == (0, 1, 1)
        assert failures == []

        clock.advance(59.9)
        with anyio.fail_after(5):
            await invoker.drain()
        assert len(attempts) == 1  # not yet
        assert invoker.statistics().events_delayed == 1

        clock.advance(0.1)
        with anyio.fail_after(5):
            await invoker.drain()  # the retry is due: drain waits for it
        assert [r for r, _ in attempts] == [rid, rid]
        assert attempts[1][1] == pytest.approx(T0 + 60)
        [delayed] = invoker.pending()
        assert (delayed.state, delayed.attempts) == ("delayed", 2)
        assert delayed.next_attempt_at == pytest.approx(T0 + 180)
        stats = invoker.statistics()
        assert (stats.events_delayed, stats.events_retried, stats.invocations) == (1, 2, 2)

        clock.advance(119.9)
        await invoker.drain()
        assert len(attempts) == 2
        clock.advance(0.1)
        with anyio.fail_after(5):
            await invoker.drain()
        assert [r for r, _ in attempts] == [rid, rid, rid]
        assert attempts[2][1] == pytest.approx(T0 + 180)
        assert invoker.pending() == []
        stats = invoker.statistics()

    assert len(failures) == 1
    context = failures[0]["requestContext"]
    assert context["requestId"] == rid
    assert context["condition"] == "RetriesExhausted"
    assert context["approximateInvokeCount"] == 3
    assert failures[0]["responsePayload"]["errorMessage"] == "attempt 3 failed"
    assert stats.events_received == 1
    assert stats.event_age_max == pytest.approx(180)
    assert stats.events_retried == 2
    assert stats.events_delayed == 0
    assert stats.events_dropped == 1
    assert stats.events_succeeded == 0
    assert (stats.invocations, stats.errors) == (3, 3)
    assert (stats.destination_deliveries, stats.destination_delivery_failures) == (1, 0)


@pytest.mark.parametrize(("max_retry_attempts", "expected_attempts"), [(0, 1), (1, 2), (2, 3)])
async def test_max_retry_attempts_bounds_the_attempts(
    max_retry_attempts: int, expected_attempts: int
) -> None:
    clock = faaslib.VirtualClock(START)
    failing = AlwaysFails(clock, max_retry_attempts=max_retry_attempts)
    attempts, failures = failing.attempts, failing.failures

    async with faaslib.Invoker(failing.registry, clock=clock) as invoker:
        await invoker.invoke("fails", b"{}", "Event")
        await invoker.drain()
        for _ in range(4):  # far past every retry delay
            clock.advance(3600)
            await invoker.drain()
        assert invoker.pending() == []
        stats = invoker.statistics()
    assert len(attempts) == expected_attempts
    assert [r["requestContext"]["approximateInvokeCount"] for r in failures] == [expected_attempts]
    assert failures[0]["requestContext"]["condition"] == "RetriesExhausted"
    assert stats.events_retried == expected_attempts - 1
    assert stats.events_dropped == 1


async def test_event_failing_once_then_succeeding_reports_success() -> None:
    clock = faaslib.VirtualClock(START)
    seen: list[str] = []
    successes: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(on_success=successes.append, on_failure=failures.append)
    async def flaky(job: Job, context: faaslib.Context) -> dict[str, int]:
        seen.append(context.aws_request_id)
        if len(seen) == 1:
            raise ConnectionError("database unavailable")
        return {"done": job.job_id}

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        accepted = await invoker.invoke("flaky", Job(job_id=4), "Event")
        await invoker.drain()
        assert successes == []
        clock.advance(60)
        await invoker.drain()
        stats = invoker.statistics()
    assert seen == [accepted.request_id, accepted.request_id]
    assert failures == []
    [record] = successes
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["requestId"] == accepted.request_id
    assert record["responsePayload"] == {"done": 4}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": LATEST}
    assert (stats.events_succeeded, stats.events_retried, stats.events_dropped) == (1, 1, 0)
    assert (stats.invocations, stats.errors) == (2, 1)


async def test_timeout_is_retried_like_an_error() -> None:
    clock = faaslib.VirtualClock(START)
    calls: list[str] = []
    successes: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(timeout=1, max_retry_attempts=1, on_success=successes.append)
    async def slow_first(event: Any, context: faaslib.Context) -> str:
        calls.append(context.aws_request_id)
        if len(calls) == 1:
            await anyio.sleep(30)  # past its 1 s timeout (real time)
        return "second time lucky"

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        accepted = await invoker.invoke("slow_first", b"{}", "Event")
        started = time.monotonic()
        with anyio.fail_after(10):
            await invoker.drain()
        assert 0.9 <= time.monotonic() - started < 5  # stopped at its timeout
        [delayed] = invoker.pending()
        assert (delayed.state, delayed.attempts) == ("delayed", 1)
        assert delayed.next_attempt_at == T0 + 60
        stats = invoker.statistics()
        assert (stats.timeouts, stats.errors, stats.events_retried) == (1, 1, 1)
        clock.advance(60)
        await invoker.drain()
        stats = invoker.statistics()
    assert calls == [accepted.request_id, accepted.request_id]
    [record] = successes
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"] == "second time lucky"
    assert (stats.events_succeeded, stats.timeouts, stats.invocations) == (1, 1, 2)


async def test_retries_of_several_events_keep_their_own_times() -> None:
    # A's second retry (+180) is scheduled before B's first retry (+120), which is earlier:
    # the invoker's timer must wake for B first, then for A.
    clock = faaslib.VirtualClock(START)
    attempts: list[tuple[str, float]] = []
    registry = faaslib.Registry()

    @registry.function(dead_letter=lambda event: None)
    async def fails(event: str) -> None:
        attempts.append((event, clock.time() - T0))
        raise ValueError(event)

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        a = await invoker.invoke("fails", '"A"', "Event")
        await invoker.drain()
        clock.advance(60)
        await invoker.drain()  # A's second attempt; its third waits for +180
        b = await invoker.invoke("fails", '"B"', "Event")
        await invoker.drain()  # B's first attempt at +60; its second waits for +120
        first, second = invoker.pending()  # delayed events, by next attempt
        assert (first.request_id, second.request_id) == (b.request_id, a.request_id)
        assert first.next_attempt_at == pytest.approx(T0 + 120)
        assert second.next_attempt_at == pytest.approx(T0 + 180)
        for _ in range(6):
            clock.advance(30)
            await invoker.drain()
        assert invoker.pending() == []
        stats = invoker.statistics()
    assert attempts == [
        ("A", 0.0),
        ("A", pytest.approx(60)),
        ("B", pytest.approx(60)),
        ("B", pytest.approx(120)),
        ("A", pytest.approx(180)),
        ("B", pytest.approx(240)),
    ]
    assert stats.event_age_max == pytest.approx(180)  # A's third attempt started 180 s late
    assert (stats.events_retried, stats.events_dropped) == (4, 2)


async def test_retries_on_the_real_clock() -> None:
    stamps: list[float] = []
    successes: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(on_success=successes.append)
    async def third_time(event: Any) -> int:
        stamps.append(time.monotonic())
        if len(stamps) < 3:
            raise ValueError("not yet")
        return len(stamps)

    async with faaslib.Invoker(registry, retry_delays=(0.05, 0.1)) as invoker:
        await invoker.invoke("third_time", b"{}", "Event")
        with anyio.fail_after(5):
            await invoker.drain()  # a real clock: drain waits through the delays
        stats = invoker.statistics()
    assert len(stamps) == 3
    assert stamps[1] - stamps[0] >= 0.04
    assert stamps[2] - stamps[1] >= 0.09
    assert successes[0]["requestContext"]["approximateInvokeCount"] == 3
    assert successes[0]["responsePayload"] == 3
    assert stats.event_age_max >= 0.14


async def test_retry_of_an_event_the_updated_handler_rejects_is_a_function_error() -> None:
    clock = faaslib.VirtualClock(START)
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=1, on_failure=failures.append)
    async def evolving(event: Any) -> None:
        raise ValueError("first version fails")

    async def typed(job: Job) -> None:
        return None  # pragma: no cover - the old event does not fit

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        accepted = await invoker.invoke("evolving", {"old": "shape"}, "Event")
        await invoker.drain()
        registry.update("evolving", handler=typed)
        clock.advance(60)
        await invoker.drain()
        stats = invoker.statistics()
    [record] = failures
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    payload = record["responsePayload"]
    assert payload["errorType"] == "Runtime.UnmarshalError"
    assert payload["requestId"] == accepted.request_id
    assert "job_id" in payload["errorMessage"]
    assert stats.errors == 2


async def test_custom_retry_delay_is_used_for_every_retry() -> None:
    clock = faaslib.VirtualClock(START)
    failing = AlwaysFails(clock)
    attempts = failing.attempts

    async with faaslib.Invoker(failing.registry, clock=clock, retry_delays=(5,)) as invoker:
        await invoker.invoke("fails", b"{}", "Event")
        await invoker.drain()
        assert invoker.pending()[0].next_attempt_at == T0 + 5
        clock.advance(4.9)
        await invoker.drain()
        assert len(attempts) == 1
        clock.advance(0.1)
        await invoker.drain()
        assert len(attempts) == 2
        assert invoker.pending()[0].next_attempt_at == pytest.approx(T0 + 10)
        clock.advance(4.9)
        await invoker.drain()
        assert len(attempts) == 2
        clock.advance(0.1)
        await invoker.drain()
        assert invoker.pending() == []
    assert attempts == pytest.approx([T0, T0 + 5, T0 + 10])


async def test_zero_retry_delay_retries_without_moving_the_clock() -> None:
    clock = faaslib.VirtualClock(START)
    failing = AlwaysFails(clock, on_failure=None, dead_letter=lambda event: None)
    attempts = failing.attempts

    async with faaslib.Invoker(failing.registry, clock=clock, retry_delays=[0]) as invoker:
        await invoker.invoke("fails", b"{}", "Event")
        with anyio.fail_after(5):
            await invoker.drain()  # a due retry is not "waiting for the clock"
        assert invoker.pending() == []
        stats = invoker.statistics()
    assert attempts == [T0, T0, T0]
    assert (stats.events_retried, stats.events_dropped) == (2, 1)


# -- 2. event age and throttling ----------------------------------------------------------------


async def test_max_event_age_gives_up_instead_of_retrying() -> None:
    clock = faaslib.VirtualClock(START)
    failing = AlwaysFails(clock, max_event_age=60)
    attempts, failures = failing.attempts, failing.failures

    async with faaslib.Invoker(failing.registry, clock=clock) as invoker:
        accepted = await invoker.invoke("fails", {"k": 1}, "Event")
        await invoker.drain()
        assert invoker.pending()[0].next_attempt_at == T0 + 60
        clock.advance(60)
        with anyio.fail_after(5):
            await invoker.drain()
        assert invoker.pending() == []
        stats = invoker.statistics()
    assert attempts == [T0]  # no second attempt: the event is 60 s old
    [record] = failures
    assert record["requestContext"] == {
        "requestId": accepted.request_id,
        "functionArn": arn("fails") + ":" + LATEST,
        "condition": "EventAgeExceeded",
        "approximateInvokeCount": 1,
    }
    assert record["timestamp"] == "2026-01-02T03:05:05.678Z"
    assert record["responsePayload"]["errorMessage"] == "bad"
    assert (stats.events_dropped, stats.events_retried, stats.invocations) == (1, 1, 1)


async def test_max_event_age_caps_the_retry_delay() -> None:
    clock = faaslib.VirtualClock(START)
    failing = AlwaysFails(clock, max_event_age=90)
    attempts, failures = failing.attempts, failing.failures

    async with faaslib.Invoker(failing.registry, clock=clock) as invoker:
        await invoker.invoke("fails", b"{}", "Event")
        await invoker.drain()
        clock.advance(60)
        await invoker.drain()
        assert attempts == [T0, T0 + 60]
        # The next retry would be at +180; the event expires at +90, so it is looked at then.
        assert invoker.pending()[0].next_attempt_at == T0 + 90
        clock.advance(30)
        await invoker.drain()
        assert invoker.pending() == []
    assert attempts == [T0, T0 + 60]
    [record] = failures
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["timestamp"] == "2026-01-02T03:05:35.678Z"


async def test_event_expiring_before_any_attempt_has_no_response() -> None:
    clock = faaslib.VirtualClock(START)
    release = anyio.Event()
    blocking = anyio.Event()
    ran: list[Any] = []
    failures: list[dict[str, Any]] = []
    dead: list[Any] = []
    registry = faaslib.Registry()

    @registry.function
    async def blocker(event: Any) -> None:
        blocking.set()
        await release.wait()

    @registry.function(max_event_age=60, on_failure=failures.append, dead_letter=dead.append)
    async def late(event: Any) -> None:
        ran.append(event)  # pragma: no cover - never runs

    async with faaslib.Invoker(registry, clock=clock, event_workers=1) as invoker:
        await invoker.invoke("blocker", b"{}", "Event")
        await blocking.wait()  # the only worker is busy
        accepted = await invoker.invoke("late", {"order": "o-9"}, "Event")
        clock.advance(60)
        release.set()
        await invoker.drain()
        stats = invoker.statistics()
    assert ran == []
    assert failures == [
        {
            "version": "1.0",
            "timestamp": "2026-01-02T03:05:05.678Z",
            "requestContext": {
                "requestId": accepted.request_id,
                "functionArn": arn("late") + ":" + LATEST,
                "condition": "EventAgeExceeded",
                "approximateInvokeCount": 0,
            },
            "requestPayload": {"order": "o-9"},
        }
    ]
    assert dead == [{"order": "o-9"}]
    assert (stats.invocations, stats.events_dropped, stats.events_succeeded) == (1, 1, 1)


async def test_throttled_event_is_not_an_attempt_and_runs_when_the_slot_frees() -> None:
    clock = faaslib.VirtualClock(START)
    order: list[str] = []
    successes: list[dict[str, Any]] = []
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

    @registry.function(on_success=successes.append)
    async def queued(event: Any) -> None:
        order.append("event")

    async with faaslib.Invoker(registry, clock=clock, concurrency_limit=1) as invoker:
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "slow", b"{}")
            await slow_started.wait()
            accepted = await invoker.invoke("queued", b"{}", "Event")
            await anyio.wait_all_tasks_blocked()  # a worker took it, found no slot, parked it
            stats = invoker.statistics()
            assert (stats.events_queued, stats.events_running) == (1, 0)
            assert (stats.concurrent_executions, stats.invocations, stats.throttles) == (1, 1, 0)
            assert invoker.pending() == [
                faaslib.PendingEvent(
                    request_id=accepted.request_id,
                    function_name="queued",
                    state="queued",
                    attempts=0,
                    received_at=T0,
                )
            ]
            assert order == ["slow start"]
            release.set()
        with anyio.fail_after(5):
            await invoker.drain()
        stats = invoker.statistics()
    assert order == ["slow start", "slow end", "event"]
    [record] = successes
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert (stats.throttles, stats.events_retried, stats.events_succeeded) == (0, 0, 1)
    assert stats.events_queued == 0


async def test_event_expiring_while_throttled_is_given_up_without_an_attempt() -> None:
    clock = faaslib.VirtualClock(START)
    failures: list[dict[str, Any]] = []
    slow_started = anyio.Event()
    release = anyio.Event()
    registry = faaslib.Registry()

    @registry.function
    async def slow(event: Any) -> None:
        slow_started.set()
        await release.wait()

    @registry.function(max_event_age=60, on_failure=failures.append)
    async def throttled(event: Any) -> None:
        raise AssertionError("must not run")  # pragma: no cover

    async with faaslib.Invoker(registry, clock=clock, concurrency_limit=1) as invoker:
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "slow", b"{}")
            await slow_started.wait()
            await invoker.invoke("throttled", {"n": 1}, "Event")
            await anyio.wait_all_tasks_blocked()
            clock.advance(61)
            release.set()
        await invoker.drain()
        stats = invoker.statistics()
    [record] = failures
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record
    assert record["timestamp"] == "2026-01-02T03:05:06.678Z"
    assert (stats.invocations, stats.events_dropped, stats.throttles) == (1, 1, 0)


# -- 3. destination records ---------------------------------------------------------------------


async def test_failure_record_has_lambdas_exact_shape() -> None:
    clock = faaslib.VirtualClock(START)
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=1, on_failure=failures.append)
    async def place_order(order: Order) -> Receipt:
        raise ValueError(f"cannot place {order.order_id}")

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        accepted = await invoker.invoke(
            "place_order", {"order_id": "o-1", "items": [1, 2]}, "Event"
        )
        await invoker.drain()
        clock.advance(60)
        await invoker.drain()
    [record] = failures
    stack = record["responsePayload"]["stackTrace"]
    assert isinstance(stack, list)
    assert stack
    assert all(isinstance(frame, str) for frame in stack)
    assert "in place_order" in stack[-1]
    assert 'raise ValueError(f"cannot place {order.order_id}")' in stack[-1]
    assert all(frame.startswith(f'  File "{__file__}",') for frame in stack)  # user frames only
    assert record == {
        "version": "1.0",
        "timestamp": "2026-01-02T03:05:05.678Z",
        "requestContext": {
            "requestId": accepted.request_id,
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:place_order:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 2,
        },
        "requestPayload": {"order_id": "o-1", "items": [1, 2]},
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {
            "errorMessage": "cannot place o-1",
            "errorType": "ValueError",
            "requestId": accepted.request_id,
            "stackTrace": stack,
        },
    }


async def test_success_record_has_lambdas_exact_shape() -> None:
    clock = faaslib.VirtualClock(START)
    successes: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(on_success=successes.append)
    def place_order(order: Order) -> Receipt:
        return Receipt(order_id=order.order_id, total=sum(order.items))

    @registry.function(on_success=successes.append)
    async def returns_nothing(event: Any) -> None:
        return None

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        clock.advance(1.5)
        first = await invoker.invoke("place_order", b'{"order_id":"o-2","items":[3,4]}', "Event")
        await invoker.drain()
        second = await invoker.invoke("returns_nothing", [1, "two"], "Event")
        await invoker.drain()
    assert successes == [
        {
            "version": "1.0",
            "timestamp": "2026-01-02T03:04:07.178Z",
            "requestContext": {
                "requestId": first.request_id,
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:place_order:$LATEST",
                "condition": "Success",
                "approximateInvokeCount": 1,
            },
            "requestPayload": {"order_id": "o-2", "items": [3, 4]},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "responsePayload": {"order_id": "o-2", "total": 7},
        },
        {
            "version": "1.0",
            "timestamp": "2026-01-02T03:04:07.178Z",
            "requestContext": {
                "requestId": second.request_id,
                "functionArn": (
                    "arn:aws:lambda:us-east-1:123456789012:function:returns_nothing:$LATEST"
                ),
                "condition": "Success",
                "approximateInvokeCount": 1,
            },
            "requestPayload": [1, "two"],
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "responsePayload": None,
        },
    ]


async def test_every_kind_of_destination_receives_the_record() -> None:
    clock = faaslib.VirtualClock(START)
    sink_events: list[tuple[Any, str, str]] = []
    async_target = AsyncTarget()
    sync_target = SyncTarget()
    plain: list[Any] = []
    from_coroutine_function: list[Any] = []
    registry = faaslib.Registry()

    async def collect(record: Any) -> None:
        await anyio.lowlevel.checkpoint()
        from_coroutine_function.append(record)

    @registry.function
    async def sink(record: dict[str, Any], context: faaslib.Context) -> None:
        sink_events.append((record, context.aws_request_id, context.invoked_function_arn))

    destinations: dict[str, Any] = {
        "to_name": "sink",
        "to_arn": arn("sink"),
        "to_async_send": async_target,
        "to_sync_send": sync_target,
        "to_callable": plain.append,
        "to_coroutine_function": collect,
    }
    for name, destination in destinations.items():

        async def handler(event: Any) -> str:
            return "ok"

        registry.function(name=name, on_success=destination)(handler)

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        accepted = {
            name: (await invoker.invoke(name, {"source": name}, "Event")).request_id
            for name in destinations
        }
        await invoker.drain()
        stats = invoker.statistics()

    def expected(name: str) -> dict[str, Any]:
        return {
            "version": "1.0",
            "timestamp": "2026-01-02T03:04:05.678Z",
            "requestContext": {
                "requestId": accepted[name],
                "functionArn": arn(name) + ":$LATEST",
                "condition": "Success",
                "approximateInvokeCount": 1,
            },
            "requestPayload": {"source": name},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
            "responsePayload": "ok",
        }

    assert async_target.records == [expected("to_async_send")]
    assert sync_target.records == [expected("to_sync_send")]
    assert plain == [expected("to_callable")]
    assert from_coroutine_function == [expected("to_coroutine_function")]
    # The destination function gets the record as its event, through an Event invocation of
    # its own (a new request id), invoked by the reference the destination names.
    by_source = {
        event["requestPayload"]["source"]: (event, rid, invoked)
        for event, rid, invoked in sink_events
    }
    assert len(sink_events) == 2
    assert by_source["to_name"][0] == expected("to_name")
    assert by_source["to_arn"][0] == expected("to_arn")
    assert by_source["to_name"][2] == arn("sink")
    assert by_source["to_arn"][2] == arn("sink")
    assert by_source["to_name"][1] not in accepted.values()
    assert by_source["to_arn"][1] not in accepted.values()
    assert stats.events_received == 8  # six sources and two records to the sink
    assert stats.events_succeeded == 8
    assert (stats.destination_deliveries, stats.destination_delivery_failures) == (6, 0)


async def test_failure_record_to_a_destination_function() -> None:
    clock = faaslib.VirtualClock(START)
    received: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function
    def failure_sink(record: dict[str, Any]) -> None:
        received.append(record)

    @registry.function(max_retry_attempts=0, on_failure="failure_sink")
    async def fails(event: Any) -> None:
        raise KeyError("missing")

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        accepted = await invoker.invoke("fails", {"a": 1}, "Event")
        await invoker.drain()
    [record] = received
    assert record["requestContext"]["requestId"] == accepted.request_id
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "KeyError"
    assert record["responsePayload"]["errorMessage"] == "'missing'"
    assert record["requestPayload"] == {"a": 1}


async def test_region_and_account_of_the_invoker_are_in_the_records(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = faaslib.VirtualClock(START)
    region, account = "eu-west-1", "111122223333"
    records: list[dict[str, Any]] = []
    sink_events: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function
    async def sink(record: dict[str, Any]) -> None:
        sink_events.append(record)

    @registry.function(on_success=records.append)
    async def local(event: Any) -> int:
        return 1

    @registry.function(on_success=arn("sink", region, account))
    async def to_own_region(event: Any) -> int:
        return 2

    @registry.function
    async def to_other_region(event: Any) -> int:
        return 3

    caplog.set_level(logging.ERROR, logger="faaslib")
    async with faaslib.Invoker(registry, clock=clock, region=region, account_id=account) as inv:
        for name in ("local", "to_own_region", "to_other_region"):
            await inv.invoke(name, b"{}", "Event")
        # us-east-1: not this invoker's region (set once the events are accepted: an invoker
        # refuses to open, or invoke, with a destination that does not resolve)
        registry.update("to_other_region", on_success=arn("sink"))
        await inv.drain()
        stats = inv.statistics()
    assert [r["requestContext"]["functionArn"] for r in records] == [
        "arn:aws:lambda:eu-west-1:111122223333:function:local:$LATEST"
    ]
    assert [e["requestContext"]["functionArn"] for e in sink_events] == [
        "arn:aws:lambda:eu-west-1:111122223333:function:to_own_region:$LATEST"
    ]
    assert stats.destination_delivery_failures == 1
    [error] = [m for m in faaslib_records(caplog, logging.ERROR) if "is invalid" not in m]
    assert "to_other_region" in error
    assert "ResourceNotFoundException" in error


async def test_failed_deliveries_are_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = faaslib.VirtualClock(START)
    broken = BrokenTarget()
    picky_ran: list[Any] = []
    registry = faaslib.Registry()

    def sync_raises(record: Any) -> None:
        raise ValueError("sync destination failed")

    @registry.function
    async def picky(job: Job) -> None:
        picky_ran.append(job)  # pragma: no cover - a record is not a Job

    @registry.function(on_success=broken)
    async def to_broken(event: Any) -> None:
        return None

    @registry.function  # on_success="no_such_function" once the event is accepted
    async def to_missing(event: Any) -> None:
        return None

    @registry.function(on_success="picky")
    async def to_picky(event: Any) -> None:
        return None

    @registry.function(max_retry_attempts=0, on_failure=sync_raises)
    async def failing_to_sync_raises(event: Any) -> None:
        raise RuntimeError("handler failed")

    caplog.set_level(logging.ERROR, logger="faaslib")
    names = ("to_broken", "to_missing", "to_picky", "failing_to_sync_raises")
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        accepted = {name: (await invoker.invoke(name, b"{}", "Event")).request_id for name in names}
        registry.update("to_missing", on_success="no_such_function")
        with anyio.fail_after(5):
            await invoker.drain()
        assert invoker.pending() == []
        stats = invoker.statistics()
        registry.update("to_missing", on_success=None)
    assert broken.calls == 1
    assert picky_ran == []
    assert stats.destination_delivery_failures == 4
    assert stats.destination_deliveries == 0
    assert stats.events_received == 4  # the picky function's record was never accepted
    assert (stats.events_succeeded, stats.events_dropped) == (3, 1)
    errors = [m for m in faaslib_records(caplog, logging.ERROR) if "is invalid" not in m]
    assert len(errors) == 4
    expectations = {
        "to_broken": "ConnectionError: queue is down",
        "to_missing": "ResourceNotFoundException",
        "to_picky": "InvalidRequestContentException",
        "failing_to_sync_raises": "ValueError: sync destination failed",
    }
    for name, fragment in expectations.items():
        [message] = [m for m in errors if accepted[name] in m]
        assert f"function {name} " in message
        assert fragment in message


# -- 4. dead-letter targets ---------------------------------------------------------------------


async def test_dead_letter_receives_the_original_event_after_the_last_retry() -> None:
    clock = faaslib.VirtualClock(START)
    dead: list[Any] = []
    registry = faaslib.Registry()

    @registry.function(dead_letter=dead.append)
    async def fails(job: Job) -> None:
        raise ValueError("no")

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("fails", Job(job_id=7), "Event")
        await invoker.drain()
        assert dead == []
        clock.advance(60)
        await invoker.drain()
        assert dead == []  # two attempts, one retry left
        clock.advance(120)
        await invoker.drain()
        stats = invoker.statistics()
    assert dead == [{"job_id": 7}]  # the original event, as decoded JSON, not a record
    assert (stats.events_dropped, stats.dead_letter_errors) == (1, 0)
    assert stats.destination_deliveries == 0  # a dead letter is not a destination record


class DeadLetterQueue:
    """A target whose ``send`` takes message attributes, as an SQS queue's would."""

    def __init__(self) -> None:
        self.messages: list[tuple[Any, dict[str, dict[str, str]]]] = []

    async def send(self, body: Any, *, attributes: dict[str, dict[str, str]]) -> None:
        self.messages.append((body, attributes))


async def test_dead_letter_message_attributes_reach_a_target_that_takes_them() -> None:
    clock = faaslib.VirtualClock(START)
    dlq = DeadLetterQueue()
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=0, dead_letter=dlq)
    async def fails(job: Job) -> None:
        raise ValueError("x" * 2000)

    @registry.function(max_event_age=60, dead_letter=dlq)
    async def never_runs(job: Job) -> None:
        raise AssertionError("expired before it ran")

    async with faaslib.Invoker(registry, clock=clock, concurrency_limit=1) as invoker:
        failed = await invoker.invoke("fails", Job(job_id=1), "Event")
        await invoker.drain()
        # An event too old before any attempt: no response, so only its request id.
        gate = anyio.Event()

        @registry.function
        async def hold(event: Any) -> None:
            await gate.wait()

        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "hold")
            await anyio.wait_all_tasks_blocked()
            expired = await invoker.invoke("never_runs", Job(job_id=2), "Event")
            await anyio.wait_all_tasks_blocked()
            clock.advance(60)
            gate.set()
        await invoker.drain()
    (body, attributes), (expired_body, expired_attributes) = dlq.messages
    assert body == {"job_id": 1}
    assert attributes == {
        "RequestID": {"DataType": "String", "StringValue": failed.request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": "x" * 1024},
    }
    assert expired_body == {"job_id": 2}
    assert expired_attributes == {
        "RequestID": {"DataType": "String", "StringValue": expired.request_id}
    }


async def test_dead_letter_and_on_failure_both_receive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = faaslib.VirtualClock(START)
    dead = SyncTarget()
    failures = AsyncTarget()
    dlq_function: list[Any] = []
    registry = faaslib.Registry()

    @registry.function
    def dlq(event: dict[str, Any]) -> None:
        dlq_function.append(event)

    @registry.function(max_retry_attempts=0, dead_letter=dead, on_failure=failures)
    async def fails(event: Any) -> None:
        raise ValueError("no")

    @registry.function(max_retry_attempts=0, dead_letter="dlq")
    async def fails_to_function(event: Any) -> None:
        raise ValueError("no")

    caplog.set_level(logging.WARNING, logger="faaslib")
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        accepted = await invoker.invoke("fails", {"x": [1, 2]}, "Event")
        await invoker.invoke("fails_to_function", {"y": None}, "Event")
        await invoker.drain()
        stats = invoker.statistics()
    assert dead.records == [{"x": [1, 2]}]
    [record] = failures.records
    assert record["requestContext"]["requestId"] == accepted.request_id
    assert record["requestPayload"] == {"x": [1, 2]}
    assert dlq_function == [{"y": None}]
    assert (stats.events_dropped, stats.dead_letter_errors) == (2, 0)
    assert faaslib_records(caplog, logging.WARNING) == []  # handed over, so not "dropped" logs


async def test_failing_dead_letter_target_is_counted(caplog: pytest.LogCaptureFixture) -> None:
    clock = faaslib.VirtualClock(START)
    broken = BrokenTarget()
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=0, dead_letter=broken, on_failure=failures.append)
    async def fails(event: Any) -> None:
        raise ValueError("no")

    @registry.function(max_retry_attempts=0)  # dead_letter="no_such_dlq" once accepted
    async def fails_to_missing(event: Any) -> None:
        raise ValueError("no")

    caplog.set_level(logging.ERROR, logger="faaslib")
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        first = await invoker.invoke("fails", b"{}", "Event")
        second = await invoker.invoke("fails_to_missing", b"{}", "Event")
        registry.update("fails_to_missing", dead_letter="no_such_dlq")
        with anyio.fail_after(5):
            await invoker.drain()
        assert invoker.pending() == []
        stats = invoker.statistics()
        registry.update("fails_to_missing", dead_letter=None)
    assert broken.calls == 1
    assert len(failures) == 1  # the destination still got its record
    assert stats.dead_letter_errors == 2
    assert stats.destination_delivery_failures == 0
    assert stats.events_dropped == 2
    errors = [m for m in faaslib_records(caplog, logging.ERROR) if "is invalid" not in m]
    assert len(errors) == 2
    assert any(first.request_id in m and "ConnectionError" in m for m in errors)
    assert any(second.request_id in m and "ResourceNotFoundException" in m for m in errors)


async def test_event_dropped_without_destination_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = faaslib.VirtualClock(START)
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=1)
    async def fails(event: Any) -> None:
        raise LookupError("gone")

    caplog.set_level(logging.WARNING, logger="faaslib")
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        accepted = await invoker.invoke("fails", b"{}", "Event")
        await invoker.drain()
        assert faaslib_records(caplog, logging.WARNING) == []  # a retry is left
        clock.advance(60)
        await invoker.drain()
        stats = invoker.statistics()
    [warning] = faaslib_records(caplog, logging.WARNING)
    assert accepted.request_id in warning
    assert "fails" in warning
    assert "RetriesExhausted after 2 attempts" in warning
    assert "LookupError: gone" in warning
    assert stats.events_dropped == 1


# -- 5. configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ({"max_retry_attempts": -1}, "maximumRetryAttempts"),
        ({"max_retry_attempts": 3}, "maximumRetryAttempts"),
        ({"max_retry_attempts": 1.5}, "maximumRetryAttempts"),
        ({"max_retry_attempts": True}, "maximumRetryAttempts"),
        ({"max_retry_attempts": "1"}, "maximumRetryAttempts"),
        ({"max_event_age": 59}, "maximumEventAgeInSeconds"),
        ({"max_event_age": 21601}, "maximumEventAgeInSeconds"),
        ({"max_event_age": 60.5}, "maximumEventAgeInSeconds"),
        ({"max_event_age": math.nan}, "maximumEventAgeInSeconds"),
        ({"on_success": 42}, "destinationConfig.onSuccess.destination"),
        ({"on_success": "not a function name!"}, "destinationConfig.onSuccess.destination"),
        ({"on_failure": 42}, "destinationConfig.onFailure.destination"),
        ({"on_failure": object()}, "destinationConfig.onFailure.destination"),
        ({"dead_letter": 42}, "deadLetterConfig.targetArn"),
        ({"dead_letter": ""}, "deadLetterConfig.targetArn"),
    ],
)
def test_invalid_async_settings_name_lambdas_field(setting: dict[str, Any], field: str) -> None:
    registry = faaslib.Registry()

    def handler(event: Any) -> None:
        return None

    with pytest.raises(faaslib.ValidationException) as info:
        registry.function(**setting)(handler)
    assert info.value.field == field
    assert f"at '{field}' failed to satisfy constraint" in str(info.value)
    assert len(registry) == 0

    # The same check guards an update of a registered function, which keeps its settings.
    registry.function(handler)
    before = registry.get("handler")
    with pytest.raises(faaslib.ValidationException) as info:
        registry.update("handler", **setting)
    assert info.value.field == field
    assert registry.get("handler") is before


def test_valid_async_settings_at_the_bounds() -> None:
    registry = faaslib.Registry()

    def handler(event: Any) -> None:
        return None

    for n, (retries, age) in enumerate([(0, 60), (2, 21600), (1, 3600)]):
        registry.function(
            name=f"f{n}",
            max_retry_attempts=retries,
            max_event_age=age,
            on_success=arn("other"),
            on_failure="other:$LATEST",
            dead_letter=SyncTarget(),
        )(handler)
        spec = registry.get(f"f{n}")
        assert (spec.max_retry_attempts, spec.max_event_age) == (retries, age)


async def test_update_applies_to_a_queued_event() -> None:
    clock = faaslib.VirtualClock(START)
    release = anyio.Event()
    blocking = anyio.Event()
    attempts: list[float] = []
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function
    async def blocker(event: Any) -> None:
        blocking.set()
        await release.wait()

    @registry.function  # default: two retries, no destination
    async def fails(event: Any) -> None:
        attempts.append(clock.time())
        raise ValueError("no")

    async with faaslib.Invoker(registry, clock=clock, event_workers=1) as invoker:
        await invoker.invoke("blocker", b"{}", "Event")
        await blocking.wait()
        accepted = await invoker.invoke("fails", b"{}", "Event")
        assert [p.state for p in invoker.pending()] == ["running", "queued"]
        registry.update("fails", max_retry_attempts=0, on_failure=failures.append)
        release.set()
        await invoker.drain()
        assert invoker.pending() == []  # nothing delayed: no retry under the new setting
    assert attempts == [T0]
    [record] = failures
    assert record["requestContext"]["requestId"] == accepted.request_id
    assert record["requestContext"]["approximateInvokeCount"] == 1


async def test_update_applies_to_a_delayed_event() -> None:
    clock = faaslib.VirtualClock(START)
    attempts: list[float] = []
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function  # default: two retries, no destination
    async def fails(event: Any) -> None:
        attempts.append(clock.time())
        raise ValueError("no")

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("fails", b"{}", "Event")
        await invoker.drain()
        assert invoker.pending()[0].state == "delayed"
        registry.update("fails", max_retry_attempts=1, on_failure=failures.append)
        clock.advance(60)
        await invoker.drain()
        assert invoker.pending() == []  # without the update, a third attempt would wait
    assert attempts == [T0, T0 + 60]
    [record] = failures
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["condition"] == "RetriesExhausted"


async def test_updated_handler_serves_the_retry() -> None:
    clock = faaslib.VirtualClock(START)
    successes: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(on_success=successes.append)
    async def deploy(event: Any) -> str:
        raise ValueError("bug in version one")

    async def fixed(event: Any) -> str:
        return "fixed"

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("deploy", b"{}", "Event")
        await invoker.drain()
        registry.update("deploy", handler=fixed)
        clock.advance(60)
        await invoker.drain()
    [record] = successes
    assert record["responsePayload"] == "fixed"
    assert record["requestContext"]["approximateInvokeCount"] == 2


async def test_update_to_zero_retries_stops_an_already_delayed_event() -> None:
    clock = faaslib.VirtualClock(START)
    attempts: list[float] = []
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function
    async def fails(event: Any) -> None:
        attempts.append(clock.time())
        raise ValueError("no")

    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("fails", b"{}", "Event")
        await invoker.drain()
        registry.update("fails", max_retry_attempts=0, on_failure=failures.append)
        clock.advance(60)
        await invoker.drain()
    assert attempts == [T0]  # one attempt already made, zero retries allowed
    [record] = failures
    assert record["requestContext"]["approximateInvokeCount"] == 1


def test_update_errors() -> None:
    registry = faaslib.Registry()

    @registry.function
    def handler(event: Any) -> None:
        return None

    before = registry.get("handler")
    with pytest.raises(faaslib.InvalidParameterValueException, match="retries"):
        registry.update("handler", retries=1)
    with pytest.raises(faaslib.ResourceNotFoundException) as missing:
        registry.update("nobody", max_retry_attempts=0)
    assert missing.value.status_code == 404
    assert registry.get("handler") is before


def test_update_of_the_name_field_is_invalid_parameter_value() -> None:
    registry = faaslib.Registry()

    @registry.function
    def handler(event: Any) -> None:
        return None

    with pytest.raises(faaslib.InvalidParameterValueException, match="name"):
        registry.update("handler", name="renamed")
    assert "renamed" not in registry


@pytest.mark.parametrize(
    "options",
    [
        {"on_queue_full": "drop"},
        {"on_queue_full": None},
        {"on_exit": "abort"},
        {"on_exit": "DRAIN"},
        {"retry_delays": ()},
        {"retry_delays": []},
        {"retry_delays": (-1,)},
        {"retry_delays": (60, math.inf)},
        {"retry_delays": (math.nan,)},
        {"retry_delays": ("60",)},
        {"retry_delays": (True,)},
        {"retry_delays": 60},
        {"retry_delays": "60"},
        {"event_queue_size": 0},
        {"event_workers": 0},
    ],
)
def test_invalid_invoker_options(options: dict[str, Any]) -> None:
    with pytest.raises(faaslib.InvalidParameterValueException) as info:
        faaslib.Invoker(faaslib.Registry(), **options)
    assert next(iter(options)) in str(info.value)


# -- 6. back-pressure ---------------------------------------------------------------------------


def blocked_registry(
    ran: list[int], started: anyio.Event, release: anyio.Event
) -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    async def blocked(event: int) -> None:
        started.set()
        await release.wait()
        ran.append(event)

    return registry


async def test_full_queue_raises_when_asked_to() -> None:
    ran: list[int] = []
    started, release = anyio.Event(), anyio.Event()
    registry = blocked_registry(ran, started, release)
    options: dict[str, Any] = {"event_queue_size": 3, "event_workers": 1, "on_queue_full": "raise"}
    async with faaslib.Invoker(registry, **options) as invoker:
        await invoker.invoke("blocked", 0, "Event")
        await started.wait()  # the worker holds event 0
        accepted = [(await invoker.invoke("blocked", n, "Event")).status_code for n in (1, 2, 3)]
        assert accepted == [202, 202, 202]
        with pytest.raises(faaslib.TooManyRequestsException) as info:
            await invoker.invoke("blocked", 4, "Event")
        stats = invoker.statistics()
        assert (stats.events_received, stats.events_queued, stats.throttles) == (4, 3, 1)
        release.set()
        await invoker.drain()
        # Room again: accepted.
        assert (await invoker.invoke("blocked", 5, "Event")).status_code == 202
        await invoker.drain()
        stats = invoker.statistics()
    error = info.value
    assert error.status_code == 429
    assert error.reason == "CallerRateLimitExceeded"
    assert error.function_name == "blocked"
    assert error.to_dict()["Reason"] == "CallerRateLimitExceeded"
    assert ran == [0, 1, 2, 3, 5]  # one worker: in order, each once; the refused one never
    assert (stats.events_received, stats.events_succeeded, stats.events_dropped) == (5, 5, 0)


async def test_full_queue_waits_by_default() -> None:
    ran: list[int] = []
    started, release = anyio.Event(), anyio.Event()
    registry = blocked_registry(ran, started, release)
    async with faaslib.Invoker(registry, event_queue_size=3, event_workers=1) as invoker:
        await invoker.invoke("blocked", 0, "Event")
        await started.wait()
        for n in (1, 2, 3):
            await invoker.invoke("blocked", n, "Event")
        returned = anyio.Event()
        results: list[faaslib.InvocationResult] = []

        async def invoke_extra() -> None:
            results.append(await invoker.invoke("blocked", 4, "Event"))
            returned.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(invoke_extra)
            await anyio.wait_all_tasks_blocked()
            assert not returned.is_set()  # waiting for room
            stats = invoker.statistics()
            assert (stats.events_received, stats.events_queued, stats.throttles) == (4, 3, 0)
            release.set()
            with anyio.fail_after(5):
                await returned.wait()
        await invoker.drain()
        stats = invoker.statistics()
    assert [r.status_code for r in results] == [202]
    assert ran == [0, 1, 2, 3, 4]
    assert collections.Counter(ran) == collections.Counter(range(5))
    assert (stats.events_received, stats.events_succeeded, stats.throttles) == (5, 5, 0)


async def test_destination_function_is_accepted_even_when_the_queue_is_full() -> None:
    ran: list[str] = []
    started, release = anyio.Event(), anyio.Event()
    registry = faaslib.Registry()

    @registry.function
    async def sink(record: dict[str, Any]) -> None:
        ran.append(f"sink-{record['requestPayload']}")

    @registry.function(on_success="sink")
    async def source(event: int) -> None:
        if event == 0:
            started.set()
            await release.wait()
        ran.append(f"source-{event}")

    options: dict[str, Any] = {"event_queue_size": 1, "event_workers": 1, "on_queue_full": "raise"}
    async with faaslib.Invoker(registry, **options) as invoker:
        await invoker.invoke("source", 0, "Event")
        await started.wait()
        await invoker.invoke("source", 1, "Event")  # the queue (1) is full
        with pytest.raises(faaslib.TooManyRequestsException):
            await invoker.invoke("source", 2, "Event")
        release.set()  # source-0's record goes to the sink while source-1 fills the queue
        await invoker.drain()
        stats = invoker.statistics()
    assert ran == ["source-0", "source-1", "sink-0", "sink-1"]
    assert (stats.destination_deliveries, stats.destination_delivery_failures) == (2, 0)
    assert (stats.events_received, stats.events_succeeded, stats.throttles) == (4, 4, 1)


async def test_invoke_waiting_for_room_fails_when_the_invoker_is_cancelled() -> None:
    ran: list[int] = []
    started, release = anyio.Event(), anyio.Event()
    registry = blocked_registry(ran, started, release)
    outcome: list[object] = []

    async def invoke_extra(invoker: faaslib.Invoker) -> None:
        try:
            outcome.append(await invoker.invoke("blocked", 9, "Event"))
        except faaslib.InvokerClosed as exc:
            outcome.append(exc)

    options: dict[str, Any] = {"event_queue_size": 1, "event_workers": 1, "on_exit": "cancel"}
    with anyio.move_on_after(0.5) as hung:
        async with (
            anyio.create_task_group() as tg,
            faaslib.Invoker(registry, **options) as invoker,
        ):
            await invoker.invoke("blocked", 0, "Event")
            await started.wait()
            await invoker.invoke("blocked", 1, "Event")  # the queue (1) is full
            tg.start_soon(invoke_extra, invoker)
            await anyio.wait_all_tasks_blocked()
            assert outcome == []  # waiting for room
        # the invoker closed first: the task group then waits for the caller, which must end
    assert not hung.cancelled_caught
    assert len(outcome) == 1
    assert isinstance(outcome[0], faaslib.InvokerClosed)


# -- 7. shutdown --------------------------------------------------------------------------------


async def test_exit_drains_events_accepted_by_destinations_while_draining() -> None:
    done: list[str] = []
    registry = faaslib.Registry()

    @registry.function
    async def second(record: dict[str, Any]) -> None:
        await anyio.sleep(0.01)
        done.append(f"second-{record['requestPayload']}")

    @registry.function(on_success="second")
    async def first(event: int) -> None:
        await anyio.sleep(0.01)
        done.append(f"first-{event}")

    async with faaslib.Invoker(registry) as invoker:
        for i in range(3):
            await invoker.invoke("first", i, "Event")
        # leave at once: nothing has run yet
    assert sorted(done) == sorted(
        [f"first-{i}" for i in range(3)] + [f"second-{i}" for i in range(3)]
    )
    stats = invoker.statistics()
    assert (stats.events_received, stats.events_succeeded, stats.events_dropped) == (6, 6, 0)
    assert stats.destination_deliveries == 3


async def test_on_exit_cancel_stops_at_once(caplog: pytest.LogCaptureFixture) -> None:
    started: list[int] = []
    cancelled: list[int] = []
    both_started = anyio.Event()
    registry = faaslib.Registry()

    @registry.function
    async def sleeper(event: int) -> None:
        started.append(event)
        if len(started) == 2:
            both_started.set()
        try:
            await anyio.sleep(60)
        except anyio.get_cancelled_exc_class():
            cancelled.append(event)
            raise

    caplog.set_level(logging.WARNING, logger="faaslib")
    async with faaslib.Invoker(registry, event_workers=2, on_exit="cancel") as invoker:
        for i in range(5):
            await invoker.invoke("sleeper", i, "Event")
        await both_started.wait()
        leaving = time.monotonic()
    assert time.monotonic() - leaving < 1
    assert sorted(started) == [0, 1]
    assert sorted(cancelled) == [0, 1]
    stats = invoker.statistics()
    assert (stats.events_dropped, stats.events_succeeded) == (5, 0)
    [warning] = faaslib_records(caplog, logging.WARNING)
    assert "cancelled with 5 accepted Event invocations unfinished" in warning
    with pytest.raises(faaslib.InvokerClosed):
        await invoker.invoke("sleeper", 9, "Event")


async def test_exit_on_a_virtual_clock_drops_a_delayed_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = faaslib.VirtualClock(START)
    attempts: list[float] = []
    registry = faaslib.Registry()

    @registry.function
    async def fails(event: Any) -> None:
        attempts.append(clock.time())
        raise ValueError("no")

    caplog.set_level(logging.WARNING, logger="faaslib")
    with anyio.fail_after(5):
        async with faaslib.Invoker(registry, clock=clock) as invoker:
            await invoker.invoke("fails", b"{}", "Event")
            await invoker.drain()
            assert invoker.pending()[0].state == "delayed"
    assert attempts == [T0]
    stats = invoker.statistics()
    assert (stats.events_dropped, stats.events_delayed) == (1, 1)
    [warning] = faaslib_records(caplog, logging.WARNING)
    assert "closed with 1 accepted Event invocation unfinished; it is dropped" in warning


async def test_a_long_queue_holds_payloads_and_decodes_them_when_run() -> None:
    # Past 1,024 queued events the queue keeps payload bytes only; each is decoded when it runs.
    gate = anyio.Event()
    seen: list[tuple[type, int]] = []
    registry = faaslib.Registry()

    @registry.function
    async def work(job: Job) -> None:
        await gate.wait()
        seen.append((type(job), job.job_id))

    async with faaslib.Invoker(registry, event_workers=1) as invoker:
        for i in range(1500):
            await invoker.invoke("work", {"job_id": i}, "Event")
        assert invoker.statistics().events_queued >= 1499
        gate.set()
        await invoker.drain()
        stats = invoker.statistics()
    assert seen == [(Job, i) for i in range(1500)]
    assert (stats.events_succeeded, stats.errors) == (1500, 0)


async def test_update_applies_to_request_response_and_keeps_the_counters() -> None:
    registry = faaslib.Registry()

    @registry.function(timeout=5)
    async def version(event: Any, context: faaslib.Context) -> str:
        return f"one, {context.memory_limit_in_mb} MB"

    async def two(event: Any, context: faaslib.Context) -> str:
        return f"two, {context.memory_limit_in_mb} MB"

    async with faaslib.Invoker(registry) as invoker:
        assert (await invoker.invoke("version")).json() == "one, 128 MB"
        registry.update("version", handler=two, memory_size=512)
        assert (await invoker.invoke("version")).json() == "two, 512 MB"
        by_arn = await invoker.invoke(arn("version"))
        assert by_arn.json() == "two, 512 MB"
        assert invoker.statistics().invocations == 3
