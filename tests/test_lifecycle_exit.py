"""Issue 12: leaving an Invoker's block by an exception stops at once; a normal exit says what it waits for."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio import wait_all_tasks_blocked

import faaslib

pytestmark = pytest.mark.anyio


# -- leaving the block -----------------------------------------------------------------------------


def _failing_once_registry(attempted: anyio.Event) -> faaslib.Registry:
    registry = faaslib.Registry()
    calls: list[int] = []

    @registry.function(max_retry_attempts=1)
    async def flaky(event: Any) -> str:
        calls.append(1)
        attempted.set()
        if len(calls) == 1:
            raise ValueError("first attempt fails")
        return "ok"

    return registry


async def test_leaving_the_block_by_an_exception_stops_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempted = anyio.Event()
    registry = _failing_once_registry(attempted)
    with pytest.raises(KeyError, match="body failed"):  # noqa: PT012 - the block raises
        async with faaslib.Invoker(registry) as invoker:  # the real clock: a retry in 60 s
            await invoker.invoke("flaky", {}, "Event")
            await attempted.wait()
            await wait_all_tasks_blocked()
            assert [p.state for p in invoker.pending()] == ["delayed"]
            raise KeyError("body failed")
    stats = invoker.statistics()
    assert stats.events_dropped == 1
    assert stats.events_delayed == 1
    assert any(
        r.levelno == logging.WARNING and "1 accepted Event invocation unfinished" in r.message
        for r in caplog.records
    )


async def test_leaving_the_block_by_an_exception_keeps_events_in_the_journal(
    tmp_path: Path,
) -> None:
    attempted = anyio.Event()
    registry = _failing_once_registry(attempted)
    path = tmp_path / "events.db"
    with pytest.raises(RuntimeError):  # noqa: PT012 - the block raises
        async with faaslib.Invoker(registry, journal=path) as invoker:
            await invoker.invoke("flaky", {}, "Event")
            await attempted.wait()
            await wait_all_tasks_blocked()
            raise RuntimeError("stop")
    assert invoker.statistics().events_dropped == 0
    clock = faaslib.VirtualClock()
    async with faaslib.Invoker(registry, journal=path, clock=clock) as again:
        [pending] = again.pending()
        assert (pending.state, pending.attempts) == ("delayed", 1)
        clock.advance(60)
        await again.drain()
    assert again.statistics().events_succeeded == 1


class _Seen(logging.Handler):
    """Sets ``event`` when a WARNING record of the ``faaslib`` logger matches ``text``."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.WARNING)
        self.text = text
        self.event = anyio.Event()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.records.append(record)
            self.event.set()


@pytest.mark.parametrize("first_attempt", ["before leaving", "while leaving"])
async def test_a_normal_exit_waiting_for_a_retry_says_so(first_attempt: str) -> None:
    attempted = anyio.Event()
    registry = _failing_once_registry(attempted)
    seen = _Seen("waits for")
    logger = logging.getLogger("faaslib")
    logger.addHandler(seen)
    try:
        async with anyio.create_task_group() as tg:
            with anyio.CancelScope() as scope:

                async def stop_once_warned() -> None:
                    await seen.event.wait()
                    scope.cancel()  # do not wait the minute

                tg.start_soon(stop_once_warned)
                async with faaslib.Invoker(registry) as invoker:
                    result = await invoker.invoke("flaky", {}, "Event")
                    if first_attempt == "before leaving":
                        await attempted.wait()
                        await wait_all_tasks_blocked()
    finally:
        logger.removeHandler(seen)
    [record] = seen.records
    message = record.getMessage()
    assert "flaky" in message
    assert result.request_id in message
    assert "T" in message.split(" due at ")[1]  # an ISO time
    assert invoker.statistics().events_dropped == 1


async def test_a_normal_exit_with_a_soon_retry_or_a_virtual_clock_is_quiet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempted = anyio.Event()
    async with faaslib.Invoker(_failing_once_registry(attempted), retry_delays=(0.01,)) as a:
        await a.invoke("flaky", {}, "Event")
        await attempted.wait()
    assert a.statistics().events_succeeded == 1
    clock = faaslib.VirtualClock()
    async with faaslib.Invoker(_failing_once_registry(anyio.Event()), clock=clock) as b:
        await b.invoke("flaky", {}, "Event")
    assert b.statistics().events_delayed == 1
    assert not [r for r in caplog.records if "waits for" in r.getMessage()]
