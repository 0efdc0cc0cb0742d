"""Issue 12: a throttled Event invocation is given up once older than its max_event_age."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio import wait_all_tasks_blocked

import faaslib

pytestmark = pytest.mark.anyio


# -- a throttled Event invocation is given up once too old ---------------------------------------


def _holding_registry(
    failures: list[dict[str, Any]], given_up: anyio.Event, release: anyio.Event
) -> tuple[faaslib.Registry, anyio.Event]:
    """``busy`` has one slot; an event ``{"hold": true}`` keeps it until ``release``."""
    registry = faaslib.Registry()
    started = anyio.Event()

    def on_failure(record: dict[str, Any]) -> None:
        failures.append(record)
        given_up.set()

    @registry.function(reserved_concurrency=1, max_event_age=60, on_failure=on_failure, timeout=120)
    async def busy(event: dict[str, Any]) -> str:
        if event.get("hold"):
            started.set()
            await release.wait()
        return "done"

    return registry, started


async def test_a_throttled_event_older_than_its_max_age_is_given_up() -> None:
    clock = faaslib.VirtualClock()
    failures: list[dict[str, Any]] = []
    given_up, release = anyio.Event(), anyio.Event()
    registry, started = _holding_registry(failures, given_up, release)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("busy", {"hold": True}, "Event")
        await started.wait()
        await invoker.invoke("busy", {"n": 2}, "Event")
        await wait_all_tasks_blocked()  # the second waits for the slot
        assert invoker.metrics().functions["busy"].throttles == 1
        assert [p.state for p in invoker.pending()] == ["running", "queued"]
        clock.advance(59)
        await wait_all_tasks_blocked()
        assert not failures  # not yet too old
        clock.advance(1)  # the slot still held
        await given_up.wait()
        stats = invoker.statistics()
        assert [p.state for p in invoker.pending()] == ["running"], invoker.pending()
        release.set()
        await invoker.drain()
    [record] = failures
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["requestPayload"] == {"n": 2}
    assert "responsePayload" not in record
    assert stats.events_dropped == 1
    assert invoker.statistics().events_succeeded == 1


async def test_a_throttled_event_of_the_unreserved_pool_is_given_up_too() -> None:
    clock = faaslib.VirtualClock()
    release = anyio.Event()
    started = anyio.Event()
    dropped: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function
    async def hog(event: Any) -> None:
        started.set()
        await release.wait()

    @registry.function(max_event_age=120, dead_letter=dropped.append)
    async def later(event: Any) -> None:
        pass

    async with faaslib.Invoker(
        registry, clock=clock, concurrency_limit=1, unreserved_minimum=1
    ) as invoker:
        await invoker.invoke("hog", {}, "Event")
        await started.wait()
        await invoker.invoke("later", {"n": 1}, "Event")
        await wait_all_tasks_blocked()
        clock.advance(121)
        while not dropped:
            await wait_all_tasks_blocked()
        release.set()
        await invoker.drain()
    assert dropped == [{"n": 1}]
    assert invoker.statistics().events_dropped == 1


async def test_a_raised_max_event_age_keeps_a_throttled_event_waiting() -> None:
    clock = faaslib.VirtualClock()
    failures: list[dict[str, Any]] = []
    given_up, release = anyio.Event(), anyio.Event()
    registry, started = _holding_registry(failures, given_up, release)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("busy", {"hold": True}, "Event")
        await started.wait()
        await invoker.invoke("busy", {"n": 2}, "Event")
        await wait_all_tasks_blocked()
        registry.update("busy", max_event_age=600)
        await invoker.invoke("busy", {}, "DryRun")  # takes the change up
        clock.advance(60)
        await wait_all_tasks_blocked()
        assert not failures
        assert [p.state for p in invoker.pending()] == ["running", "queued"]
        release.set()
        await invoker.drain()
    assert not failures
    assert invoker.statistics().events_succeeded == 2


async def test_a_lowered_max_event_age_gives_a_throttled_event_up_sooner() -> None:
    clock = faaslib.VirtualClock()
    failures: list[dict[str, Any]] = []
    given_up, release = anyio.Event(), anyio.Event()
    registry, started = _holding_registry(failures, given_up, release)
    registry.update("busy", max_event_age=3600)
    async with faaslib.Invoker(registry, clock=clock) as invoker:
        await invoker.invoke("busy", {"hold": True}, "Event")
        await started.wait()
        await invoker.invoke("busy", {"n": 2}, "Event")
        await wait_all_tasks_blocked()
        clock.advance(100)
        registry.update("busy", max_event_age=60)
        await invoker.invoke("busy", {}, "DryRun")  # takes the change up: now too old
        await given_up.wait()
        release.set()
    assert failures[0]["requestContext"]["condition"] == "EventAgeExceeded"


async def test_a_throttled_event_grows_too_old_on_the_real_clock(tmp_path: Path) -> None:
    """Two events left in a journal 59 s ago: replayed on the real clock, the first holds
    the slot and the second grows too old while it waits."""
    path = tmp_path / "events.db"
    failures: list[dict[str, Any]] = []
    given_up, release = anyio.Event(), anyio.Event()
    registry, started = _holding_registry(failures, given_up, release)
    past = faaslib.VirtualClock(time.time() - 59)
    async with faaslib.Invoker(registry, clock=past, journal=path, on_exit="cancel") as first:
        await first.invoke("busy", {"hold": True}, "Event")
        await started.wait()
        await first.invoke("busy", {"n": 2}, "Event")
        await wait_all_tasks_blocked()  # left unfinished: the first runs, the second waits
    registry, started = _holding_registry(failures, given_up, release)
    async with faaslib.Invoker(registry, journal=path) as second:
        await started.wait()
        await given_up.wait()  # within about a second
        release.set()
    [record] = failures
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestPayload"] == {"n": 2}
    assert second.statistics().events_dropped == 1
    assert second.statistics().events_succeeded == 1
