"""Issue 12: the REPORT line and the metrics of a timed-out invocation bill its timeout."""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path
from typing import Any

import anyio
import process_handlers as handlers
import pytest

import faaslib

pytestmark = pytest.mark.anyio


# -- the REPORT line of a timed-out invocation ------------------------------------------------------


def _report(result: faaslib.InvocationResult) -> str:
    assert result.log_result is not None
    log = base64.b64decode(result.log_result).decode()
    [line] = [line for line in log.splitlines() if line.startswith("REPORT ")]
    return line


async def _slow(event: dict[str, Any]) -> str:
    await anyio.sleep(event["seconds"])
    return "done"


def _slow_sync(event: dict[str, Any]) -> str:
    time.sleep(event["seconds"])
    return "done"


async def _blocking(event: dict[str, Any]) -> str:
    time.sleep(event["seconds"])  # noqa: ASYNC251 - blocks the loop on purpose
    return "done"


@pytest.mark.parametrize("handler", [_slow, _slow_sync, _blocking], ids=["async", "sync", "blocks"])
async def test_a_timed_out_invocation_bills_its_timeout(
    handler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    registry = faaslib.Registry()
    registry.function(handler, name="slow", timeout=1)
    caplog.set_level(logging.INFO, "faaslib")
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("slow", {"seconds": 0})  # a cold start, then warm
        before = invoker.metrics().functions["slow"]
        result = await invoker.invoke("slow", {"seconds": 1.3}, log_type="Tail")
        after = invoker.metrics().functions["slow"]
    assert result.function_error == "Unhandled"
    line = _report(result)
    assert "\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\t" in line
    assert line.endswith("\tStatus: timeout")
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("REPORT ")]
    assert "\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\t" in logged[-1]
    assert after.billed_duration - before.billed_duration == 1000
    assert after.duration_max == 1000.0
    assert after.gb_seconds - before.gb_seconds == pytest.approx(128 / 1024 * 1.0)


async def test_a_cold_start_that_times_out_bills_the_timeout_and_the_init() -> None:
    registry = faaslib.Registry()
    registry.function(_slow, name="slow", timeout=1, init=lambda: time.sleep(0.01))
    async with faaslib.Invoker(registry) as invoker:
        result = await invoker.invoke("slow", {"seconds": 2}, log_type="Tail")
        metrics = invoker.metrics().functions["slow"]
    line = _report(result)
    fields = dict(field.split(": ", 1) for field in line.split("\t")[1:-1])
    assert fields["Duration"] == "1000.00 ms"
    init_ms = float(fields["Init Duration"].removesuffix(" ms"))
    billed = int(fields["Billed Duration"].removesuffix(" ms"))
    assert 1000 + init_ms - 0.01 <= billed <= 1000 + init_ms + 1.01  # rounded up, init in
    assert metrics.billed_duration == billed


@pytest.mark.parametrize(
    "handler",
    [handlers.async_sleep, handlers.sleep_then_write, handlers.blocking_async],
    ids=["async", "sync", "killed"],
)
async def test_a_process_invocation_that_times_out_bills_its_timeout(
    handler: Any, tmp_path: Path
) -> None:
    registry = faaslib.Registry()
    registry.function(handler, name="slow", timeout=1, isolation="process")
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("slow", {"seconds": 0, "path": str(tmp_path / "early")})
        before = invoker.metrics().functions["slow"]
        result = await invoker.invoke(
            "slow", {"seconds": 3, "path": str(tmp_path / "late")}, log_type="Tail"
        )
        after = invoker.metrics().functions["slow"]
    assert "\tDuration: 1000.00 ms\tBilled Duration: 1000 ms\t" in _report(result)
    assert after.billed_duration - before.billed_duration == 1000
