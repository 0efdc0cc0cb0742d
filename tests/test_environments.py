"""Execution environments: init once per environment, warm reuse, scale-out, retirement."""

from __future__ import annotations

import base64
import logging
import math
import re
import threading
from typing import Any

import anyio
import pytest

import faaslib

REPORT = re.compile(
    r"REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d{2}) ms\t"
    r"Billed Duration: (?P<billed>\d+) ms\tMemory Size: (?P<memory>\d+) MB\t"
    r"Max Memory Used: (?P<used>\d+) MB(\tInit Duration: (?P<init>\d+\.\d{2}) ms)?"
    r"(\tStatus: (?P<status>\w+))?"
)


class Counter:
    """An init hook that counts its runs and returns the run number."""

    def __init__(self) -> None:
        self.runs = 0
        self.lock = threading.Lock()

    def __call__(self) -> int:
        with self.lock:
            self.runs += 1
            return self.runs


def registry_with(init: Any, **config: Any) -> tuple[faaslib.Registry, list[Any]]:
    seen: list[Any] = []
    registry = faaslib.Registry()

    @registry.function(init=init, **config)
    async def handler(event: Any, context: faaslib.Context) -> Any:
        seen.append(context.init_result)
        if event == "sleep":
            await anyio.sleep(5)
        return context.init_result

    return registry, seen


async def test_init_runs_once_then_the_environment_is_reused() -> None:
    init = Counter()
    registry, seen = registry_with(init)
    async with faaslib.Invoker(registry) as invoker:
        for _ in range(3):
            result = await invoker.invoke("handler")
            assert result.json() == 1
        metrics = invoker.metrics().functions["handler"]
    assert init.runs == 1
    assert seen == [1, 1, 1]
    assert (metrics.cold_starts, metrics.environments, metrics.invocations) == (1, 1, 3)


async def test_async_init_result_reaches_the_handler() -> None:
    async def connect() -> dict[str, str]:
        await anyio.lowlevel.checkpoint()
        return {"db": "connected"}

    registry, seen = registry_with(connect)
    async with faaslib.Invoker(registry) as invoker:
        assert (await invoker.invoke("handler")).json() == {"db": "connected"}
    assert seen == [{"db": "connected"}]


async def test_no_init_hook_gives_none() -> None:
    registry, seen = registry_with(None)
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("handler")
    assert seen == [None]


async def test_concurrent_invocations_scale_out_then_reuse() -> None:
    init = Counter()
    release = anyio.Event()
    registry = faaslib.Registry()
    running = 0
    all_in = anyio.Event()

    @registry.function(init=init)
    async def hold(event: Any, context: faaslib.Context) -> int:
        nonlocal running
        running += 1
        if running == 4:
            all_in.set()
        await release.wait()
        return context.init_result  # type: ignore[no-any-return]

    async with faaslib.Invoker(registry) as invoker:
        results: list[int] = []

        async def call() -> None:
            results.append((await invoker.invoke("hold")).json())

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(call)
            await all_in.wait()
            assert invoker.metrics().functions["hold"].environments == 4
            release.set()
        assert sorted(results) == [1, 2, 3, 4]  # four environments, each initialised once
        for _ in range(5):  # sequential calls reuse the warm ones: no more init
            await invoker.invoke("hold")
        metrics = invoker.metrics().functions["hold"]
    assert init.runs == 4
    assert (metrics.cold_starts, metrics.environments, metrics.max_concurrent_executions) == (
        4,
        4,
        4,
    )


async def test_idle_environments_retire_on_the_invokers_clock() -> None:
    init = Counter()
    clock = faaslib.VirtualClock(1_700_000_000)
    registry, seen = registry_with(init)
    async with faaslib.Invoker(registry, clock=clock, idle_timeout=300) as invoker:
        await invoker.invoke("handler")
        clock.advance(299)
        await invoker.invoke("handler")  # still warm
        clock.advance(301)
        await invoker.invoke("handler")  # retired: a cold start
        metrics = invoker.metrics().functions["handler"]
    assert seen == [1, 1, 2]
    assert (metrics.cold_starts, metrics.environments) == (2, 1)


async def test_provisioned_environments_are_ready_at_start_and_stay() -> None:
    init = Counter()
    clock = faaslib.VirtualClock(1_700_000_000)
    registry, seen = registry_with(init, provisioned_concurrency=2)
    async with faaslib.Invoker(registry, clock=clock, idle_timeout=60) as invoker:
        assert init.runs == 2  # initialised when the invoker opened
        await invoker.invoke("handler")
        clock.advance(3600)
        await invoker.invoke("handler")  # provisioned: never retired, no cold start
        metrics = invoker.metrics().functions["handler"]
    assert init.runs == 2
    assert metrics.cold_starts == 0
    assert seen == [2, 2]  # the warmest (most recently made) environment serves


async def test_provisioned_concurrency_on_an_alias() -> None:
    init = Counter()
    registry, _ = registry_with(init)
    registry.publish_version("handler")
    registry.create_alias("handler", "live", "1", provisioned_concurrency=3)
    async with faaslib.Invoker(registry) as invoker:
        assert init.runs == 3
        result = await invoker.invoke("handler:live")
        assert result.executed_version == "1"
        assert invoker.metrics().functions["handler"].cold_starts == 0


async def test_a_timed_out_environment_is_discarded() -> None:
    init = Counter()
    registry, seen = registry_with(init, timeout=1)
    async with faaslib.Invoker(registry) as invoker:
        await invoker.invoke("handler")
        timed_out = await invoker.invoke("handler", b'"sleep"')
        assert timed_out.json()["errorType"] == "Sandbox.Timedout"
        await invoker.invoke("handler")  # a new environment
        metrics = invoker.metrics().functions["handler"]
    assert init.runs == 2
    assert seen == [1, 1, 2]
    assert (metrics.cold_starts, metrics.environments, metrics.timeouts) == (2, 1, 1)


async def test_a_failing_init_is_the_invocations_error_and_is_retried() -> None:
    attempts = 0

    def flaky_init() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("database unreachable")
        return "ready"

    registry, seen = registry_with(flaky_init)
    async with faaslib.Invoker(registry) as invoker:
        failed = await invoker.invoke("handler")
        ok = await invoker.invoke("handler")
        metrics = invoker.metrics().functions["handler"]
    assert failed.function_error == "Unhandled"
    document = failed.json()
    assert document["errorType"] == "ConnectionError"
    assert document["errorMessage"] == "database unreachable"
    assert document["requestId"] == failed.request_id
    assert any("flaky_init" in frame for frame in document["stackTrace"])
    assert ok.json() == "ready"
    assert seen == ["ready"]  # the handler never ran without its init
    assert (metrics.cold_starts, metrics.errors, metrics.environments) == (2, 1, 1)


async def test_report_lines_go_through_logging(caplog: pytest.LogCaptureFixture) -> None:
    registry, _ = registry_with(Counter(), memory_size=256)
    caplog.set_level(logging.INFO, logger="faaslib")
    async with faaslib.Invoker(registry) as invoker:
        cold = await invoker.invoke("handler")
        warm = await invoker.invoke("handler")
    lines = [r.getMessage() for r in caplog.records if r.name == "faaslib"]
    for result in (cold, warm):
        rid = result.request_id
        mine = [line for line in lines if rid in line]
        assert mine[0] == f"START RequestId: {rid} Version: $LATEST"
        assert mine[1] == f"END RequestId: {rid}"
        match = REPORT.fullmatch(mine[2])
        assert match is not None, mine[2]
        assert match["memory"] == "256"
        assert int(match["used"]) > 0
        duration = float(match["duration"])
        init = float(match["init"] or 0)
        # Billed: the duration with the init, rounded up (from the printed, rounded values).
        assert math.ceil(duration + init - 0.01) <= int(match["billed"])
        assert int(match["billed"]) <= math.ceil(duration + init + 0.01)
        assert (match["init"] is not None) == (result is cold)


async def test_tail_report_has_the_init_duration_of_a_cold_start() -> None:
    registry, _ = registry_with(Counter())
    async with faaslib.Invoker(registry) as invoker:
        cold = await invoker.invoke("handler", log_type="Tail")
        warm = await invoker.invoke("handler", log_type="Tail")

    def report(result: faaslib.InvocationResult) -> re.Match[str]:
        assert result.log_result is not None
        last = base64.b64decode(result.log_result).decode().splitlines()[-1]
        match = REPORT.fullmatch(last)
        assert match is not None, last
        return match

    assert report(cold)["init"] is not None
    assert report(warm)["init"] is None


async def test_event_invocations_use_environments_too() -> None:
    init = Counter()
    registry, seen = registry_with(init)
    async with faaslib.Invoker(registry, event_workers=1) as invoker:
        for _ in range(5):
            await invoker.invoke("handler", {}, "Event")
        await invoker.drain()
        metrics = invoker.metrics().functions["handler"]
    assert seen == [1] * 5
    assert (metrics.cold_starts, metrics.invocations) == (1, 5)


@pytest.mark.parametrize("value", [-1, 0.0, float("inf"), True])
def test_idle_timeout_must_be_positive(value: Any) -> None:
    with pytest.raises(faaslib.InvalidParameterValueException, match="idle_timeout"):
        faaslib.Invoker(faaslib.Registry(), idle_timeout=value)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"init": 42}, "init"),
        ({"isolation": "vm"}, "isolation"),
        ({"reserved_concurrency": -1}, "reservedConcurrentExecutions"),
        ({"provisioned_concurrency": -2}, "provisionedConcurrentExecutions"),
        ({"provisioned_concurrency": 1.5}, "provisionedConcurrentExecutions"),
    ],
)
def test_environment_configuration_is_checked(config: dict[str, Any], field: str) -> None:
    registry = faaslib.Registry()
    with pytest.raises(faaslib.ValidationException, match=field):
        registry.function(name="h", **config)(lambda event: None)


class _Disguised(Exception):
    """A handler's own error whose type name is the platform's timeout or exit type."""


@pytest.mark.parametrize("type_name", ["Sandbox.Timedout", "Runtime.ExitError"])
async def test_a_handler_error_named_like_a_platform_error_keeps_its_environment(
    type_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Whether an invocation timed out or ended its runtime is what happened to it, never
    # what its error document says: an error type the handler chose keeps the environment.
    disguised = type(type_name, (_Disguised,), {})
    disguised.__name__ = type_name
    init = Counter()
    registry = faaslib.Registry()

    @registry.function(init=init)
    def handler(event: Any) -> None:
        raise disguised("not the platform's")

    caplog.set_level(logging.INFO, logger="faaslib")
    async with faaslib.Invoker(registry) as invoker:
        first = await invoker.invoke("handler")
        second = await invoker.invoke("handler", log_type="Tail")
        metrics = invoker.metrics().functions["handler"]
    assert first.json()["errorType"] == second.json()["errorType"] == type_name
    assert init.runs == 1
    assert (metrics.cold_starts, metrics.timeouts) == (1, 0)
    tail = base64.b64decode(second.log_result or "").decode()
    assert "Status:" not in tail
    assert not [r for r in caplog.records if "Status:" in r.getMessage()]
