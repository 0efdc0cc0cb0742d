"""Reserved concurrency, the invoker-wide concurrency limit, throttling of RequestResponse and
Event invocations, and the invoker's metrics (counts, concurrency, cold starts, durations,
billing and cost). Real registries and invokers; handlers held on ``anyio.Event``; no mocks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest

import faaslib
from faaslib import InvalidParameterValueException, TooManyRequestsException

LATEST = "$LATEST"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT = "ConcurrentInvocationLimitExceeded"


class Gate:
    """Holds handlers until :meth:`open`; counts the runs that entered and the ones left."""

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.entered = 0
        self.left = 0

    async def hold(self) -> None:
        self.entered += 1
        try:
            await self.event.wait()
        finally:
            self.left += 1

    def open(self) -> None:
        self.event.set()

    @property
    def held(self) -> int:
        return self.entered - self.left


def held_function(registry: faaslib.Registry, name: str, gate: Gate, **config: Any) -> list[Any]:
    """Register ``name``: it records its event, then waits on ``gate`` if the event says
    ``{"hold": true}``."""
    ran: list[Any] = []
    config.setdefault("timeout", 30)

    async def handler(event: Any, context: faaslib.Context) -> str:
        ran.append(event)
        if isinstance(event, dict) and event.get("hold"):
            await gate.hold()
        return context.function_version

    registry.function(name=name, **config)(handler)
    return ran


async def wait_until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll ``predicate`` until it holds (the invoker's counters have no events to wait on)."""
    with anyio.fail_after(seconds):
        while not predicate():  # noqa: ASYNC110
            await anyio.sleep(0.001)


HOLD = {"hold": True}


# -- reserved concurrency 0: the function is disabled --------------------------------------------


async def test_reserved_zero_throttles_request_response() -> None:
    registry = faaslib.Registry()
    ran = held_function(registry, "off", Gate(), reserved_concurrency=0)
    async with faaslib.Invoker(registry) as invoker:
        with pytest.raises(TooManyRequestsException) as info:
            await invoker.invoke("off", {})
        stats = invoker.statistics()
        metrics = invoker.metrics()
    error = info.value
    assert error.reason == RESERVED
    assert error.status_code == 429
    assert error.error_type == "TooManyRequestsException"
    assert error.function_name == "off"
    assert error.to_dict() == {"Reason": RESERVED, "Type": "User", "message": "Rate Exceeded."}
    assert ran == []
    assert (stats.throttles, stats.invocations) == (1, 0)
    assert metrics.functions["off"].throttles == 1
    assert metrics.functions["off"].invocations == 0
    assert metrics.throttles == 1


async def test_reserved_zero_event_goes_straight_to_on_failure() -> None:
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()
    ran = held_function(registry, "off", Gate(), reserved_concurrency=0, on_failure=failures.append)
    async with faaslib.Invoker(registry) as invoker:
        accepted = await invoker.invoke("off", {"order": 1}, "Event")
        assert accepted.status_code == 202
        with anyio.fail_after(5):
            await invoker.drain()
        stats = invoker.statistics()
    assert ran == []
    [record] = failures
    assert record["requestContext"] == {
        "requestId": accepted.request_id,
        "functionArn": f"{ARN}off:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 0,
    }
    assert record["requestPayload"] == {"order": 1}
    assert "responseContext" not in record
    assert "responsePayload" not in record
    assert (stats.invocations, stats.events_dropped, stats.events_queued) == (0, 1, 0)


# -- reserved concurrency N ---------------------------------------------------------------------


async def test_reserved_two_runs_two_and_throttles_the_third() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    held_function(registry, "two", gate, reserved_concurrency=2)
    other = held_function(registry, "other", gate)
    async with faaslib.Invoker(registry) as invoker, anyio.create_task_group() as tg:
        tg.start_soon(invoker.invoke, "two", HOLD)
        tg.start_soon(invoker.invoke, "two", HOLD)
        await wait_until(lambda: gate.held == 2)
        with pytest.raises(TooManyRequestsException) as info:
            await invoker.invoke("two", {})
        assert info.value.reason == RESERVED
        assert info.value.status_code == 429
        # Other functions still run meanwhile.
        assert (await invoker.invoke("other", {"n": 1})).json() == LATEST
        assert other == [{"n": 1}]
        assert invoker.statistics().concurrent_executions == 2
        assert invoker.metrics().functions["two"].concurrent_executions == 2
        gate.open()
    assert gate.left == 2


async def test_reserved_slot_is_free_again_after_a_run() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    held_function(registry, "one", gate, reserved_concurrency=1)
    async with faaslib.Invoker(registry) as invoker:
        for _ in range(5):  # sequential runs never throttle
            await invoker.invoke("one", {})
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "one", HOLD)
            await wait_until(lambda: gate.held == 1)
            with pytest.raises(TooManyRequestsException):
                await invoker.invoke("one", {})
            gate.open()
        await invoker.invoke("one", {})
        metrics = invoker.metrics().functions["one"]
    assert (metrics.invocations, metrics.throttles) == (7, 1)
    assert metrics.max_concurrent_executions == 1


async def test_reserved_concurrency_counts_all_versions_together() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    held_function(registry, "f", gate, reserved_concurrency=2)
    registry.publish_version("f")
    registry.create_alias("f", "live", "1")
    async with faaslib.Invoker(registry) as invoker, anyio.create_task_group() as tg:
        tg.start_soon(invoker.invoke, "f:1", HOLD)
        tg.start_soon(invoker.invoke, "f:live", HOLD)
        await wait_until(lambda: gate.held == 2)
        with pytest.raises(TooManyRequestsException) as info:
            await invoker.invoke("f", {})
        assert info.value.reason == RESERVED
        metrics = invoker.metrics().functions["f"]
        assert (metrics.concurrent_executions, metrics.throttles) == (2, 1)
        gate.open()


# -- the invoker-wide limit ---------------------------------------------------------------------


async def test_concurrency_limit_throttles_unreserved_functions() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    held_function(registry, "a", gate)
    held_function(registry, "b", gate)
    async with (
        faaslib.Invoker(registry, concurrency_limit=3, unreserved_minimum=0) as invoker,
        anyio.create_task_group() as tg,
    ):
        for name in ("a", "a", "b"):
            tg.start_soon(invoker.invoke, name, HOLD)
        await wait_until(lambda: gate.held == 3)
        for name in ("a", "b"):
            with pytest.raises(TooManyRequestsException) as info:
                await invoker.invoke(name, {})
            assert info.value.reason == ACCOUNT
            assert info.value.status_code == 429
            assert info.value.function_name == name
        stats = invoker.statistics()
        assert (stats.concurrent_executions, stats.throttles) == (3, 2)
        metrics = invoker.metrics()
        assert metrics.concurrent_executions == 3
        assert metrics.functions["a"].concurrent_executions == 2
        assert metrics.functions["a"].throttles == 1
        assert metrics.functions["b"].throttles == 1
        assert metrics.throttles == 2
        gate.open()
    assert gate.left == 3


async def test_reservation_leaves_the_rest_to_unreserved_functions() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    held_function(registry, "reserved", gate, reserved_concurrency=2)
    held_function(registry, "plain", gate)
    held_function(registry, "other", gate)
    async with (
        faaslib.Invoker(registry, concurrency_limit=3, unreserved_minimum=0) as invoker,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(invoker.invoke, "plain", HOLD)
        await wait_until(lambda: gate.held == 1)
        # The unreserved pool (3 - 2 = 1) is used up, though "reserved" has room.
        for name in ("plain", "other"):
            with pytest.raises(TooManyRequestsException) as info:
                await invoker.invoke(name, {})
            assert info.value.reason == ACCOUNT
        tg.start_soon(invoker.invoke, "reserved", HOLD)
        tg.start_soon(invoker.invoke, "reserved", HOLD)
        await wait_until(lambda: gate.held == 3)
        with pytest.raises(TooManyRequestsException) as info:
            await invoker.invoke("reserved", {})
        assert info.value.reason == RESERVED
        assert invoker.statistics().concurrent_executions == 3
        gate.open()


async def test_reserved_functions_do_not_use_the_unreserved_pool() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    held_function(registry, "reserved", gate, reserved_concurrency=2)
    held_function(registry, "plain", gate)
    async with (
        faaslib.Invoker(registry, concurrency_limit=4, unreserved_minimum=0) as invoker,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(invoker.invoke, "reserved", HOLD)
        tg.start_soon(invoker.invoke, "reserved", HOLD)
        tg.start_soon(invoker.invoke, "plain", HOLD)
        tg.start_soon(invoker.invoke, "plain", HOLD)
        await wait_until(lambda: gate.held == 4)
        assert invoker.statistics().throttles == 0
        gate.open()


@pytest.mark.parametrize(
    ("options", "reservations", "minimum"),
    [
        ({}, [901], 100),
        ({}, [500, 401], 100),
        ({"concurrency_limit": 150}, [51], 100),
        ({"concurrency_limit": 10}, [1], 10),  # the minimum is clamped to the limit
        ({"concurrency_limit": 10, "unreserved_minimum": 5}, [6], 5),
        ({"concurrency_limit": 3, "unreserved_minimum": 0}, [2, 2], 0),
    ],
)
async def test_over_reservation_is_refused_on_open(
    options: dict[str, Any], reservations: list[int], minimum: int
) -> None:
    registry = faaslib.Registry()
    for i, reserved in enumerate(reservations):
        held_function(registry, f"f{i}", Gate(), reserved_concurrency=reserved)
    invoker = faaslib.Invoker(registry, **options)
    with pytest.raises(InvalidParameterValueException) as info:
        async with invoker:
            pass
    assert info.value.message == (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
    )
    assert info.value.status_code == 400
    with pytest.raises(faaslib.InvokerClosed):
        await invoker.invoke("f0", {})


@pytest.mark.parametrize(
    ("options", "reservations"),
    [
        ({}, [900]),
        ({}, [450, 450, 0]),
        ({"concurrency_limit": 150}, [50]),
        ({"concurrency_limit": 10}, [0, 0]),
        ({"concurrency_limit": 10, "unreserved_minimum": 5}, [5]),
        ({"concurrency_limit": 3, "unreserved_minimum": 0}, [1, 2]),
    ],
)
async def test_reservation_within_the_limit_opens(
    options: dict[str, Any], reservations: list[int]
) -> None:
    registry = faaslib.Registry()
    for i, reserved in enumerate(reservations):
        held_function(registry, f"f{i}", Gate(), reserved_concurrency=reserved)
    async with faaslib.Invoker(registry, **options) as invoker:
        if reservations[0]:
            assert (await invoker.invoke("f0", {})).status_code == 200


@pytest.mark.parametrize("value", [-1, 1.5, True, "100"])
def test_unreserved_minimum_must_be_a_whole_number(value: Any) -> None:
    with pytest.raises(InvalidParameterValueException):
        faaslib.Invoker(faaslib.Registry(), unreserved_minimum=value)


async def test_update_over_reserving_is_refused_at_the_next_invocation() -> None:
    registry = faaslib.Registry()
    held_function(registry, "f", Gate())
    async with faaslib.Invoker(registry, concurrency_limit=10, unreserved_minimum=5) as invoker:
        registry.update("f", reserved_concurrency=6)
        with pytest.raises(InvalidParameterValueException, match=r"minimum value of \[5\]"):
            await invoker.invoke("f", {})
        registry.update("f", reserved_concurrency=5)
        assert (await invoker.invoke("f", {})).status_code == 200


async def test_update_reserved_concurrency_applies_to_later_invocations() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    held_function(registry, "f", gate)
    async with faaslib.Invoker(registry, concurrency_limit=10, unreserved_minimum=0) as invoker:
        registry.update("f", reserved_concurrency=0)
        with pytest.raises(TooManyRequestsException) as info:
            await invoker.invoke("f", {})
        assert info.value.reason == RESERVED
        registry.update("f", reserved_concurrency=1)
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "f", HOLD)
            await wait_until(lambda: gate.held == 1)
            with pytest.raises(TooManyRequestsException):
                await invoker.invoke("f", {})
            gate.open()


# -- reservation changed while runs or events are in flight (bugs) ------------------------------


async def test_reserving_while_running_does_not_leak_an_unreserved_slot() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    held_function(registry, "f", gate)
    held_function(registry, "g", gate)
    async with faaslib.Invoker(registry, concurrency_limit=3, unreserved_minimum=0) as invoker:
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "f", HOLD)
            await wait_until(lambda: gate.held == 1)
            registry.update("f", reserved_concurrency=1)
            await invoker.invoke("g", {}, "DryRun")  # any invocation takes the update
            gate.open()
        assert invoker.statistics().concurrent_executions == 0
        gate.event = anyio.Event()
        # Nothing runs; the unreserved pool is 3 - 1 = 2: one held run of g and another fit.
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "g", HOLD)
            await wait_until(lambda: gate.held == 1)
            try:
                await invoker.invoke("g", {})
            except TooManyRequestsException as exc:
                throttled: str | None = exc.reason
            else:
                throttled = None
            gate.open()
    assert throttled is None


async def test_unreserving_while_running_keeps_the_limit() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    held_function(registry, "f", gate, reserved_concurrency=1)
    held_function(registry, "g", gate)
    async with faaslib.Invoker(registry, concurrency_limit=2, unreserved_minimum=0) as invoker:
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "f", HOLD)
            await wait_until(lambda: gate.held == 1)
            registry.update("f", reserved_concurrency=None)
            await invoker.invoke("g", {}, "DryRun")  # any invocation takes the update
            gate.open()
        gate.event = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "g", HOLD)
            tg.start_soon(invoker.invoke, "g", HOLD)
            await wait_until(lambda: gate.held == 2)
            try:
                await invoker.invoke("g", {})  # a third run is over the limit
            except TooManyRequestsException as exc:
                throttled: str | None = exc.reason
            else:
                throttled = None
            gate.open()
    assert throttled == ACCOUNT


async def test_disabling_a_function_sends_all_its_parked_events_on() -> None:
    gate = Gate()
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()
    held_function(registry, "f", gate, reserved_concurrency=1, on_failure=failures.append)
    async with faaslib.Invoker(registry, on_exit="cancel") as invoker:
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "f", HOLD)
            await wait_until(lambda: gate.held == 1)
            for i in range(3):
                await invoker.invoke("f", {"i": i}, "Event")
            await wait_until(lambda: invoker.metrics().functions["f"].throttles == 3)
            registry.update("f", reserved_concurrency=0)
            gate.open()
        with anyio.fail_after(1):
            await invoker.drain()
    assert [r["requestContext"]["condition"] for r in failures] == ["RetriesExhausted"] * 3


async def test_unreserving_releases_the_parked_events() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    ran = held_function(registry, "f", gate, reserved_concurrency=1)
    async with faaslib.Invoker(registry, on_exit="cancel") as invoker:
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "f", HOLD)
            await wait_until(lambda: gate.held == 1)
            for i in range(2):
                await invoker.invoke("f", {"i": i}, "Event")
            await wait_until(lambda: invoker.metrics().functions["f"].throttles == 2)
            registry.update("f", reserved_concurrency=None)
            await invoker.invoke("f", {}, "DryRun")  # any invocation takes the update
            gate.open()
        with anyio.fail_after(1):
            await invoker.drain()
    assert ran == [HOLD, {"i": 0}, {"i": 1}]


async def test_raising_the_reservation_runs_the_parked_events() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    ran = held_function(registry, "f", gate, reserved_concurrency=1)
    async with faaslib.Invoker(registry) as invoker, anyio.create_task_group() as tg:
        tg.start_soon(invoker.invoke, "f", HOLD)
        await wait_until(lambda: gate.held == 1)
        for i in range(2):
            await invoker.invoke("f", {"i": i}, "Event")
        await wait_until(lambda: invoker.metrics().functions["f"].throttles == 2)
        registry.update("f", reserved_concurrency=3)
        await invoker.invoke("f", {}, "DryRun")  # any invocation takes the update
        await wait_until(lambda: len(ran) == 3)  # both parked events started, HOLD still held
        ran_while_held = list(ran)
        gate.open()
    assert ran_while_held == [HOLD, {"i": 0}, {"i": 1}]


async def test_function_added_while_open_has_its_reservation_counted() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    held_function(registry, "plain", gate)
    async with faaslib.Invoker(registry, concurrency_limit=3, unreserved_minimum=0) as invoker:
        held_function(registry, "added", gate, reserved_concurrency=3)
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(invoker.invoke, "added", HOLD)
            await wait_until(lambda: gate.held == 3)
            try:
                await invoker.invoke("plain", {})  # the unreserved pool is 3 - 3 = 0
            except TooManyRequestsException as exc:
                throttled: str | None = exc.reason
            else:
                throttled = None
            gate.open()
    assert throttled == ACCOUNT


# -- Event invocations and throttling -----------------------------------------------------------


async def test_event_throttled_by_reservation_waits_for_a_slot_of_that_function() -> None:
    gate = Gate()
    records: list[dict[str, Any]] = []
    registry = faaslib.Registry()
    ran = held_function(registry, "f", gate, reserved_concurrency=1, on_success=records.append)
    held_function(registry, "g", gate, reserved_concurrency=1)
    held_function(registry, "u", gate)
    async with faaslib.Invoker(registry, concurrency_limit=200) as invoker:
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "f", HOLD)
            await wait_until(lambda: gate.held == 1)
            accepted = [(await invoker.invoke("f", {"i": i}, "Event")) for i in range(2)]
            assert [a.status_code for a in accepted] == [202, 202]
            await wait_until(lambda: invoker.statistics().events_queued == 2)
            await anyio.sleep(0.05)
            # Parked, not attempted: nothing ran, nothing failed.
            assert ran == [HOLD]
            assert {(p.state, p.attempts) for p in invoker.pending()} == {("queued", 0)}
            stats = invoker.statistics()
            assert (stats.events_queued, stats.events_running, stats.events_delayed) == (2, 0, 0)
            assert stats.throttles == 0  # no TooManyRequestsException was raised
            assert invoker.metrics().functions["f"].throttles == 2

            # Slots of other functions free up: f's events keep waiting.
            await invoker.invoke("g", {})
            await invoker.invoke("u", {})
            await anyio.sleep(0.05)
            assert invoker.statistics().events_queued == 2
            assert ran == [HOLD]

            gate.open()  # f's slot frees: its events run, one at a time, in order
        with anyio.fail_after(5):
            await invoker.drain()
        stats = invoker.statistics()
        metrics = invoker.metrics().functions["f"]
    assert ran == [HOLD, {"i": 0}, {"i": 1}]
    assert [r["requestContext"]["approximateInvokeCount"] for r in records] == [1, 1]
    assert [r["requestContext"]["requestId"] for r in records] == [a.request_id for a in accepted]
    assert (stats.events_queued, stats.events_succeeded, stats.events_dropped) == (0, 2, 0)
    assert metrics.max_concurrent_executions == 1
    assert (metrics.invocations, metrics.throttles) == (3, 2)


async def test_event_throttled_by_the_limit_waits_for_an_unreserved_slot() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    held_function(registry, "busy", gate)
    ran = held_function(registry, "later", gate)
    async with faaslib.Invoker(registry, concurrency_limit=1, unreserved_minimum=0) as invoker:
        async with anyio.create_task_group() as tg:
            tg.start_soon(invoker.invoke, "busy", HOLD)
            await wait_until(lambda: gate.held == 1)
            await invoker.invoke("later", {"n": 1}, "Event")
            await wait_until(lambda: invoker.statistics().events_queued == 1)
            await anyio.sleep(0.02)
            assert ran == []
            assert invoker.metrics().functions["later"].throttles == 1
            gate.open()
        with anyio.fail_after(5):
            await invoker.drain()
        stats = invoker.statistics()
    assert ran == [{"n": 1}]
    assert (stats.events_queued, stats.events_succeeded) == (0, 1)


async def test_many_throttled_events_all_run_within_the_reservation() -> None:
    registry = faaslib.Registry()
    running = 0
    peak = 0
    done: list[int] = []

    @registry.function(reserved_concurrency=3)
    async def worker(event: int) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.002)
        running -= 1
        done.append(event)

    async with faaslib.Invoker(registry, event_workers=16) as invoker:
        for i in range(60):
            await invoker.invoke("worker", i, "Event")
        with anyio.fail_after(20):
            await invoker.drain()
        metrics = invoker.metrics().functions["worker"]
    assert sorted(done) == list(range(60))
    assert peak == 3
    assert metrics.max_concurrent_executions == 3
    assert metrics.invocations == 60
    assert metrics.throttles > 0


# -- metrics ------------------------------------------------------------------------------------


class Report:
    """One ``REPORT`` line of the ``faaslib`` logger, its fields parsed."""

    def __init__(self, line: str) -> None:
        fields = dict(part.split(": ", 1) for part in line.split("\t"))
        self.request_id = fields["REPORT RequestId"]
        self.duration = float(fields["Duration"].removesuffix(" ms"))
        self.billed = int(fields["Billed Duration"].removesuffix(" ms"))
        self.memory = int(fields["Memory Size"].removesuffix(" MB"))
        init = fields.get("Init Duration")
        self.init = None if init is None else float(init.removesuffix(" ms"))


def report_lines(caplog: pytest.LogCaptureFixture) -> list[Report]:
    return [
        Report(r.getMessage())
        for r in caplog.records
        if r.name == "faaslib" and r.getMessage().startswith("REPORT ")
    ]


async def test_metrics_counts_errors_and_totals() -> None:
    registry = faaslib.Registry()

    @registry.function
    async def ok(event: Any) -> str:
        return "ok"

    @registry.function
    def fails(event: Any) -> None:
        raise ValueError("no")

    @registry.function(reserved_concurrency=0)
    async def off(event: Any) -> None:
        return None

    async with faaslib.Invoker(registry) as invoker:
        assert invoker.metrics().functions == {}
        for _ in range(3):
            await invoker.invoke("ok", {})
        for _ in range(2):
            result = await invoker.invoke("fails", {})
            assert result.function_error == "Unhandled"
        with pytest.raises(TooManyRequestsException):
            await invoker.invoke("off", {})
        metrics = invoker.metrics()
        stats = invoker.statistics()

    assert set(metrics.functions) == {"ok", "fails", "off"}
    ok_m, fails_m, off_m = (metrics.functions[n] for n in ("ok", "fails", "off"))
    assert (ok_m.invocations, ok_m.errors, ok_m.timeouts, ok_m.throttles) == (3, 0, 0, 0)
    assert (fails_m.invocations, fails_m.errors, fails_m.timeouts) == (2, 2, 0)
    assert (off_m.invocations, off_m.errors, off_m.throttles) == (0, 0, 1)
    assert (off_m.cold_starts, off_m.environments, off_m.billed_duration) == (0, 0, 0)
    assert (off_m.duration_p50, off_m.duration_max, off_m.cost) == (0.0, 0.0, 0.0)
    assert (ok_m.cold_starts, ok_m.environments) == (1, 1)
    assert (fails_m.cold_starts, fails_m.environments) == (1, 1)  # an error keeps it
    assert (metrics.invocations, metrics.errors, metrics.throttles) == (5, 2, 1)
    assert (metrics.cold_starts, metrics.concurrent_executions) == (2, 0)
    assert metrics.cost == pytest.approx(sum(m.cost for m in metrics.functions.values()))
    assert (stats.invocations, stats.errors, stats.throttles) == (5, 2, 1)
    with pytest.raises(TypeError):
        metrics.functions["new"] = ok_m  # type: ignore[index]


async def test_metrics_timeout() -> None:
    registry = faaslib.Registry()

    @registry.function(timeout=1)
    async def slow(event: Any) -> None:
        await anyio.sleep(event)

    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("slow", 5)
        assert result.function_error == "Unhandled"
        assert result.json()["errorType"] == "Sandbox.Timedout"
        timed_out = invoker.metrics().functions["slow"]
        await invoker.invoke("slow", 0)
        after = invoker.metrics().functions["slow"]
        stats = invoker.statistics()
    assert (timed_out.invocations, timed_out.errors, timed_out.timeouts) == (1, 1, 1)
    assert timed_out.environments == 0  # a timed-out environment is not reused
    assert 1000 <= timed_out.duration_max < 4000
    assert timed_out.billed_duration >= 1000
    assert (after.invocations, after.errors, after.timeouts, after.cold_starts) == (2, 1, 1, 2)
    assert (stats.timeouts, stats.errors) == (1, 1)


async def test_metrics_concurrency_cold_starts_and_environments() -> None:
    gate = Gate()
    registry = faaslib.Registry()
    inits: list[int] = []

    def init() -> int:
        inits.append(1)
        return len(inits)

    held_function(registry, "f", gate, init=init)
    async with faaslib.Invoker(registry) as invoker:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(invoker.invoke, "f", HOLD)
            await wait_until(lambda: gate.held == 3)
            during = invoker.metrics()
            stats = invoker.statistics()
            gate.open()
        for _ in range(4):
            await invoker.invoke("f", {})
        after = invoker.metrics().functions["f"]
    f = during.functions["f"]
    assert (f.concurrent_executions, f.max_concurrent_executions) == (3, 3)
    assert (f.cold_starts, f.environments, f.invocations) == (3, 3, 3)
    assert during.concurrent_executions == stats.concurrent_executions == 3
    assert (after.concurrent_executions, after.max_concurrent_executions) == (0, 3)
    assert (after.cold_starts, after.environments, after.invocations) == (3, 3, 7)  # warm
    assert len(inits) == 3


async def test_metrics_durations_percentiles() -> None:
    registry = faaslib.Registry()

    @registry.function
    async def sleeper(ms: int) -> None:
        await anyio.sleep(ms / 1000)

    async with faaslib.Invoker(registry) as invoker:
        for ms in [10] * 9 + [100]:
            await invoker.invoke("sleeper", ms)
        metrics = invoker.metrics().functions["sleeper"]
    assert 10.0 <= metrics.duration_p50 < 60.0
    assert 100.0 <= metrics.duration_p99 < 1000.0
    assert metrics.duration_max == metrics.duration_p99
    assert metrics.billed_duration >= 9 * 10 + 100
    assert metrics.billed_duration < 9 * 10 + 100 + 10 * 500


async def test_metrics_billing_matches_the_report_lines_init_included(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="faaslib")
    registry = faaslib.Registry()

    def init() -> None:
        time.sleep(0.05)

    @registry.function(memory_size=1024, init=init)
    async def quick(event: Any) -> None:
        return None

    async with faaslib.Invoker(registry) as invoker:
        first = await invoker.invoke("quick", {})
        cold = invoker.metrics().functions["quick"]
        for _ in range(19):
            await invoker.invoke("quick", {})
        metrics = invoker.metrics().functions["quick"]

    reports = report_lines(caplog)
    assert len(reports) == 20
    billed = [r.billed for r in reports]
    assert reports[0].request_id == first.request_id
    assert reports[0].init is not None
    assert reports[0].init >= 50.0
    assert all(r.init is None for r in reports[1:])
    assert cold.billed_duration == billed[0] >= 50  # the init phase is billed
    assert all(b >= 1 for b in billed)  # each run rounds up to at least 1 ms
    for r in reports:
        exact = r.duration + (r.init or 0.0)  # printed with 2 decimals
        assert exact - 0.02 <= r.billed <= exact + 1.02
        assert r.memory == 1024
    assert metrics.billed_duration == sum(billed)
    assert metrics.billed_duration >= 50 + 19
    assert metrics.gb_seconds == pytest.approx(sum(billed) / 1000)  # 1024 MB: 1 GB


async def test_metrics_gb_seconds_and_cost(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="faaslib")
    registry = faaslib.Registry()

    @registry.function(memory_size=1024)
    async def f(ms: int) -> None:
        await anyio.sleep(ms / 1000)

    async with faaslib.Invoker(registry) as invoker:
        for _ in range(5):
            await invoker.invoke("f", 20)
        metrics = invoker.metrics()
    m = metrics.functions["f"]
    billed = sum(r.billed for r in report_lines(caplog))
    assert m.billed_duration == billed >= 100
    assert m.gb_seconds == pytest.approx(billed / 1000)
    assert m.cost == pytest.approx(5 * 0.20 / 1e6 + m.gb_seconds * 0.0000166667)
    assert metrics.cost == pytest.approx(m.cost)


async def test_metrics_cost_with_a_custom_price_table() -> None:
    default = faaslib.PriceTable()
    assert default.per_request == pytest.approx(0.0000002)
    assert default.per_gb_second == pytest.approx(0.0000166667)
    assert default.cost(1_000_000, 0.0) == pytest.approx(0.20)
    assert default.cost(0, 1000.0) == pytest.approx(0.0166667)

    prices = faaslib.PriceTable(per_request=0.01, per_gb_second=2.0)
    assert prices.cost(3, 0.5) == pytest.approx(1.03)
    registry = faaslib.Registry()

    @registry.function(memory_size=2048)
    async def f(event: Any) -> None:
        await anyio.sleep(0.005)

    async with faaslib.Invoker(registry, prices=prices) as invoker:
        for _ in range(4):
            await invoker.invoke("f", {})
        metrics = invoker.metrics()
    m = metrics.functions["f"]
    assert m.gb_seconds == pytest.approx(m.billed_duration * 2 / 1000)  # 2 GB
    assert m.cost == pytest.approx(4 * 0.01 + m.gb_seconds * 2.0)
    assert metrics.cost == pytest.approx(m.cost)
    assert m.cost > 4 * 0.01 + 4 * 0.005 * 2 * 2.0 * 0.99


async def test_metrics_aggregate_all_versions(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="faaslib")
    registry = faaslib.Registry()

    async def fails(event: Any) -> None:
        raise RuntimeError("v1")

    async def works(event: Any) -> None:
        await anyio.sleep(0.002)

    registry.function(name="f", memory_size=1024)(fails)
    registry.publish_version("f")
    registry.update("f", handler=works, memory_size=2048)
    registry.publish_version("f")
    registry.create_alias("f", "live", "1", routing={"2": 0.5})

    async with faaslib.Invoker(registry, seed=2) as invoker:
        await invoker.invoke("f")
        await invoker.invoke("f:1")
        await invoker.invoke("f:2")
        routed = [(await invoker.invoke("f:live")).executed_version for _ in range(20)]
        metrics = invoker.metrics()

    assert set(routed) == {"1", "2"}
    assert set(metrics.functions) == {"f"}
    f = metrics.functions["f"]
    errors = 1 + routed.count("1")
    assert (f.invocations, f.errors) == (23, errors)
    assert (f.cold_starts, f.environments) == (3, 3)  # one per version
    reports = report_lines(caplog)
    assert len(reports) == 23
    assert f.billed_duration == sum(r.billed for r in reports)
    assert f.gb_seconds == pytest.approx(sum(r.billed * r.memory for r in reports) / 1024 / 1000)
    assert {r.memory for r in reports} == {1024, 2048}
    assert f.cost == pytest.approx(23 * 0.20 / 1e6 + f.gb_seconds * 0.0000166667)
    assert (metrics.invocations, metrics.errors, metrics.cold_starts) == (23, errors, 3)
