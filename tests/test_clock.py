"""Clocks: the virtual one a test moves by hand, and the real one."""

from __future__ import annotations

import datetime
import math
import time

import anyio
import pytest

import faaslib

UTC = datetime.timezone.utc
START = datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


# -- VirtualClock -------------------------------------------------------------------------------


def test_virtual_clock_starts_at_a_float() -> None:
    clock = faaslib.VirtualClock(1_000.25)
    assert clock.time() == 1_000.25
    assert isinstance(faaslib.VirtualClock(7).time(), float)
    assert faaslib.VirtualClock(7).time() == 7.0


def test_virtual_clock_starts_at_an_aware_datetime() -> None:
    clock = faaslib.VirtualClock(START)
    assert clock.time() == START.timestamp() == 1_767_323_045.678
    assert repr(clock) == "<VirtualClock 2026-01-02T03:04:05.678000+00:00>"
    # Any time zone: the same instant is the same epoch time.
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    assert faaslib.VirtualClock(START.astimezone(plus_two)).time() == START.timestamp()


def test_virtual_clock_defaults_to_now() -> None:
    before = time.time()
    clock = faaslib.VirtualClock()
    after = time.time()
    assert before <= clock.time() <= after


def test_virtual_clock_rejects_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        faaslib.VirtualClock(datetime.datetime(2026, 1, 2, 3, 4, 5))


@pytest.mark.parametrize("seconds", [-1.0, -1e-9, math.inf, -math.inf, math.nan])
def test_virtual_clock_rejects_bad_advances(seconds: float) -> None:
    clock = faaslib.VirtualClock(100.0)
    with pytest.raises(ValueError, match="finite, non-negative"):
        clock.advance(seconds)
    assert clock.time() == 100.0  # unchanged


def test_virtual_clock_advances_by_exactly_what_it_is_told() -> None:
    clock = faaslib.VirtualClock(100.0)
    clock.advance(0)
    assert clock.time() == 100.0
    clock.advance(2.5)
    assert clock.time() == 102.5
    clock.advance(60)
    assert clock.time() == 162.5


async def test_virtual_clock_never_moves_on_its_own() -> None:
    clock = faaslib.VirtualClock(START)
    first = clock.time()
    await anyio.sleep(0.05)
    time.sleep(0.01)  # noqa: ASYNC251 - real time passing, on purpose
    assert clock.time() == first == START.timestamp()


async def test_sleep_until_wakes_when_advanced_to_the_deadline_in_order() -> None:
    clock = faaslib.VirtualClock(1_000.0)
    woken: list[tuple[str, float]] = []

    async def sleeper(name: str, deadline: float) -> None:
        await clock.sleep_until(deadline)
        woken.append((name, clock.time()))

    async with anyio.create_task_group() as tg:
        # Started out of deadline order; they wake in deadline order.
        tg.start_soon(sleeper, "ten", 1_010.0)
        tg.start_soon(sleeper, "five", 1_005.0)
        tg.start_soon(sleeper, "twenty", 1_020.0)
        tg.start_soon(sleeper, "also-twenty", 1_020.0)
        await anyio.wait_all_tasks_blocked()
        assert clock.next_wakeup() == 1_005.0

        clock.advance(4.999)
        await anyio.wait_all_tasks_blocked()
        assert woken == []
        assert clock.next_wakeup() == 1_005.0

        clock.advance(0.001)  # exactly the first deadline
        await anyio.wait_all_tasks_blocked()
        assert woken == [("five", 1_005.0)]
        assert clock.next_wakeup() == 1_010.0

        clock.advance(7)  # past the second deadline, before the third
        await anyio.wait_all_tasks_blocked()
        assert woken == [("five", 1_005.0), ("ten", 1_012.0)]
        assert clock.next_wakeup() == 1_020.0

        clock.advance(100)  # past both remaining ones at once
    assert woken[:2] == [("five", 1_005.0), ("ten", 1_012.0)]
    assert sorted(woken[2:]) == [("also-twenty", 1_112.0), ("twenty", 1_112.0)]
    assert clock.next_wakeup() is None


async def test_sleep_until_a_past_or_present_deadline_returns_at_once() -> None:
    clock = faaslib.VirtualClock(50.0)
    with anyio.fail_after(1):
        await clock.sleep_until(50.0)
        await clock.sleep_until(-1e9)
    assert clock.next_wakeup() is None
    assert clock.time() == 50.0


async def test_sleep_until_is_a_checkpoint_even_when_due() -> None:
    clock = faaslib.VirtualClock(50.0)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await clock.sleep_until(10.0)
        pytest.fail("a cancelled scope must stop at the checkpoint")  # pragma: no cover
    assert scope.cancelled_caught


async def test_cancelled_sleepers_do_not_hold_next_wakeup() -> None:
    clock = faaslib.VirtualClock(0.0)
    woken: list[float] = []

    async def sleeper(deadline: float) -> None:
        await clock.sleep_until(deadline)
        woken.append(deadline)

    async with anyio.create_task_group() as tg:
        inner = anyio.create_task_group()
        async with inner:
            inner.start_soon(sleeper, 5.0)
            inner.start_soon(sleeper, 7.0)
            await anyio.wait_all_tasks_blocked()
            assert clock.next_wakeup() == 5.0
            inner.cancel_scope.cancel()
        assert clock.next_wakeup() is None  # both cancelled: nothing waits

        tg.start_soon(sleeper, 9.0)
        inner = anyio.create_task_group()
        async with inner:
            inner.start_soon(sleeper, 3.0)
            await anyio.wait_all_tasks_blocked()
            assert clock.next_wakeup() == 3.0
            inner.cancel_scope.cancel()
        assert clock.next_wakeup() == 9.0  # the cancelled earlier one is skipped

        clock.advance(3.0)  # the cancelled sleeper's time: nothing to wake
        await anyio.wait_all_tasks_blocked()
        assert woken == []
        clock.advance(6.0)
    assert woken == [9.0]
    assert clock.next_wakeup() is None


# -- SystemClock --------------------------------------------------------------------------------


def test_system_clock_reads_the_epoch() -> None:
    clock = faaslib.SystemClock()
    assert abs(clock.time() - time.time()) < 0.5
    assert repr(clock) == "<SystemClock>"


def test_system_clock_never_goes_backwards() -> None:
    clock = faaslib.SystemClock()
    readings = [clock.time() for _ in range(10_000)]
    assert readings == sorted(readings)
    assert readings[-1] >= readings[0]


async def test_system_clock_sleeps_until_a_near_deadline() -> None:
    clock = faaslib.SystemClock()
    deadline = clock.time() + 0.05
    start = time.monotonic()
    with anyio.fail_after(5):
        await clock.sleep_until(deadline)
    assert clock.time() >= deadline
    assert 0.04 <= time.monotonic() - start < 2


async def test_system_clock_never_wakes_before_the_deadline() -> None:
    clock = faaslib.SystemClock()
    for n in range(40):
        deadline = clock.time() + 0.0005 * (n % 4)
        await clock.sleep_until(deadline)
        assert clock.time() >= deadline


async def test_system_clock_past_deadline_returns_at_once() -> None:
    clock = faaslib.SystemClock()
    with anyio.fail_after(5):  # not 10 s (the distance to the deadline) nor forever
        await clock.sleep_until(clock.time() - 10)
