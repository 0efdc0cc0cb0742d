"""BlockingInvoker: the invoker from plain synchronous code, on either anyio backend."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Literal

import anyio
import anyio.lowlevel
import pytest
from pydantic import BaseModel

import faaslib

Backend = Literal["asyncio", "trio"]
BACKENDS = pytest.mark.parametrize("backend", ["asyncio", "trio"])


class Greeting(BaseModel):
    name: str


def make_registry(ran: list[Any]) -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function
    async def greet(event: Greeting, context: faaslib.Context) -> dict[str, str]:
        ran.append(("greet", event.name))
        await anyio.lowlevel.checkpoint()
        return {"message": f"Hello, {event.name}!", "request_id": context.aws_request_id}

    @registry.function
    def sync_greet(event: Greeting) -> str:
        ran.append(("sync_greet", event.name))
        return f"Hi, {event.name}"

    @registry.function
    async def slow_event(event: int) -> None:
        await anyio.sleep(0.01)
        ran.append(("slow_event", event))

    @registry.function
    def boom(event: Any) -> None:
        raise ValueError("boom")

    return registry


@BACKENDS
def test_request_response(backend: Backend) -> None:
    ran: list[Any] = []
    stdout = sys.stdout
    with faaslib.BlockingInvoker(make_registry(ran), backend=backend) as invoker:
        result = invoker.invoke("greet", {"name": "Ada"})
        sync_result = invoker.invoke("sync_greet", b'{"name": "Bob"}')
        tail = invoker.invoke("greet", '{"name": "Cy"}', log_type="Tail")
    assert result.status_code == 200
    assert result.json() == {"message": "Hello, Ada!", "request_id": result.request_id}
    assert result.executed_version == "$LATEST"
    assert sync_result.json() == "Hi, Bob"
    assert tail.log_result is not None
    assert sys.stdout is stdout  # the Tail capture is undone on exit
    assert ran == [("greet", "Ada"), ("sync_greet", "Bob"), ("greet", "Cy")]


@BACKENDS
def test_function_error_is_a_result(backend: Backend) -> None:
    with faaslib.BlockingInvoker(make_registry([]), backend=backend) as invoker:
        result = invoker.invoke("boom")
    assert result.function_error == "Unhandled"
    assert result.json()["errorType"] == "ValueError"
    assert result.json()["errorMessage"] == "boom"


@BACKENDS
def test_event_and_drain(backend: Backend) -> None:
    ran: list[Any] = []
    with faaslib.BlockingInvoker(make_registry(ran), backend=backend) as invoker:
        results = [invoker.invoke("slow_event", i, "Event") for i in range(10)]
        invoker.drain()
        assert sorted(ran) == [("slow_event", i) for i in range(10)]
        stats = invoker.statistics()
    assert {r.status_code for r in results} == {202}
    assert all(r.payload == b"" for r in results)
    assert len({r.request_id for r in results}) == 10
    assert stats.events_received == 10
    assert stats.events_succeeded == 10


@BACKENDS
def test_leaving_drains_events(backend: Backend) -> None:
    ran: list[Any] = []
    with faaslib.BlockingInvoker(make_registry(ran), backend=backend) as invoker:
        for i in range(10):
            invoker.invoke("slow_event", i, faaslib.InvocationType.EVENT)
    assert sorted(ran) == [("slow_event", i) for i in range(10)]
    assert invoker.statistics().events_succeeded == 10


@BACKENDS
def test_dry_run(backend: Backend) -> None:
    ran: list[Any] = []
    with faaslib.BlockingInvoker(make_registry(ran), backend=backend) as invoker:
        result = invoker.invoke("greet", {"name": "Ada"}, "DryRun")
        with pytest.raises(faaslib.InvalidRequestContentException):
            invoker.invoke("greet", {"nom": "Ada"}, "DryRun")
    assert result.status_code == 204
    assert result.payload == b""
    assert ran == []


@BACKENDS
def test_statistics(backend: Backend) -> None:
    with faaslib.BlockingInvoker(make_registry([]), backend=backend) as invoker:
        assert invoker.statistics().invocations == 0
        invoker.invoke("greet", {"name": "a"})
        invoker.invoke("boom")
        stats = invoker.statistics()
    assert isinstance(stats, faaslib.InvokerStatistics)
    assert stats.invocations == 2
    assert stats.errors == 1
    assert stats.concurrent_executions == 0


@BACKENDS
def test_errors_are_the_same_exception_classes(backend: Backend) -> None:
    ran: list[Any] = []
    registry = make_registry(ran)
    configured = faaslib.Invoker(registry, max_sync_payload=30, max_async_payload=20)
    with faaslib.BlockingInvoker(configured, backend=backend) as invoker:
        with pytest.raises(faaslib.ResourceNotFoundException) as missing:
            invoker.invoke("missing")
        with pytest.raises(faaslib.ResourceNotFoundException):
            invoker.invoke("greet", qualifier="prod")
        with pytest.raises(faaslib.InvalidParameterValueException):
            invoker.invoke("greet", invocation_type="Later")  # type: ignore[arg-type]
        with pytest.raises(faaslib.InvalidParameterValueException):
            invoker.invoke("greet:$LATEST", qualifier="prod")
        with pytest.raises(faaslib.InvalidRequestContentException) as invalid:
            invoker.invoke("greet", {"nom": "x"})
        with pytest.raises(faaslib.InvalidRequestContentException):
            invoker.invoke("greet", b"{nope")
        with pytest.raises(faaslib.RequestTooLargeException) as too_large:
            invoker.invoke("greet", {"name": "x" * 30})
        with pytest.raises(faaslib.RequestTooLargeException) as event_too_large:
            invoker.invoke("slow_event", "x" * 30, "Event")
        with pytest.raises(faaslib.ValidationException):
            invoker.invoke("not a name")
    assert str(missing.value) == (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:missing"
    )
    assert "name" in str(invalid.value)
    assert str(too_large.value) == (
        "41 byte payload is too large for the RequestResponse invocation type (limit 30 bytes)"
    )
    assert str(event_too_large.value) == (
        "30 byte payload is too large for the Event invocation type (limit 20 bytes)"
    )
    assert ran == []


@BACKENDS
def test_throttle_raised(backend: Backend) -> None:
    release = threading.Event()
    started = threading.Event()
    registry = faaslib.Registry()

    @registry.function
    def hold(event: Any) -> str:
        started.set()
        release.wait(10)
        return "held"

    results: list[faaslib.InvocationResult] = []
    with faaslib.BlockingInvoker(
        faaslib.Invoker(registry, concurrency_limit=1),
        backend=backend,
    ) as invoker:
        caller = threading.Thread(target=lambda: results.append(invoker.invoke("hold")))
        caller.start()
        try:
            assert started.wait(5)
            with pytest.raises(faaslib.TooManyRequestsException) as info:
                invoker.invoke("hold")
        finally:
            release.set()
            caller.join(5)
        stats = invoker.statistics()
    assert info.value.reason == "ConcurrentInvocationLimitExceeded"
    assert results[0].json() == "held"
    assert stats.throttles == 1


@BACKENDS
def test_configured_invoker_options_apply(backend: Backend) -> None:
    registry = faaslib.Registry()

    @registry.function
    def where(event: Any, context: faaslib.Context) -> str:
        return context.invoked_function_arn

    configured = faaslib.Invoker(registry, region="ap-south-1", account_id="444455556666")
    with faaslib.BlockingInvoker(configured, backend=backend) as invoker:
        result = invoker.invoke("where")
    assert result.json() == "arn:aws:lambda:ap-south-1:444455556666:function:where"


@BACKENDS
def test_timeout(backend: Backend) -> None:
    registry = faaslib.Registry()

    @registry.function(timeout=1)
    async def sleeps(event: Any) -> None:
        await anyio.sleep(5)

    with faaslib.BlockingInvoker(registry, backend=backend) as invoker:
        start = time.monotonic()
        result = invoker.invoke("sleeps")
        elapsed = time.monotonic() - start
        assert invoker.statistics().timeouts == 1
    assert 0.9 < elapsed < 2
    assert result.json()["errorType"] == "Sandbox.Timedout"


@BACKENDS
def test_use_outside_with(backend: Backend) -> None:
    ran: list[Any] = []
    invoker = faaslib.BlockingInvoker(make_registry(ran), backend=backend)
    with pytest.raises(faaslib.InvokerClosed):
        invoker.invoke("greet", {"name": "a"})
    with pytest.raises(faaslib.InvokerClosed):
        invoker.drain()
    with invoker:
        invoker.invoke("greet", {"name": "b"})
    with pytest.raises(faaslib.InvokerClosed):
        invoker.invoke("greet", {"name": "c"})
    with pytest.raises(faaslib.InvokerClosed):
        invoker.drain()
    assert ran == [("greet", "b")]
    assert invoker.statistics().invocations == 1


@BACKENDS
def test_cannot_be_entered_twice(backend: Backend) -> None:
    ran: list[Any] = []
    invoker = faaslib.BlockingInvoker(make_registry(ran), backend=backend)
    with invoker:
        with pytest.raises(faaslib.InvokerClosed):
            invoker.__enter__()
        # The failed second entry leaves the open one working.
        invoker.invoke("greet", {"name": "a"})
    with pytest.raises(faaslib.InvokerClosed), invoker:
        pass  # pragma: no cover - never reached
    assert ran == [("greet", "a")]


@BACKENDS
def test_accepts_an_invoker_that_was_already_used(backend: Backend) -> None:
    async def use(invoker: faaslib.Invoker) -> None:
        async with invoker:
            pass

    used = faaslib.Invoker(make_registry([]))
    anyio.run(use, used, backend=backend)
    with pytest.raises(faaslib.InvokerClosed), faaslib.BlockingInvoker(used, backend=backend):
        pass  # pragma: no cover - never reached


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc``, unwrapping exception groups."""
    group: tuple[BaseException, ...] | None = getattr(exc, "exceptions", None)
    if group is None:
        return [exc]
    return [leaf for sub in group for leaf in leaf_exceptions(sub)]


@BACKENDS
def test_exception_in_block_stops_at_once(backend: Backend) -> None:
    ran: list[Any] = []
    caught: BaseException | None = None
    try:
        with faaslib.BlockingInvoker(make_registry(ran), backend=backend) as invoker:
            invoker.invoke("slow_event", 1, "Event")
            raise KeyError("leave")
    except BaseException as exc:  # noqa: BLE001 - inspected below
        caught = exc
    assert caught is not None
    assert [type(e) for e in leaf_exceptions(caught)] == [KeyError]
    # Leaving by an exception stops at once, as on_exit="cancel" does.
    assert invoker.statistics().events_dropped == 1 - len(ran)


@BACKENDS
def test_exception_in_block_propagates_unchanged(backend: Backend) -> None:
    with pytest.raises(KeyError), faaslib.BlockingInvoker(make_registry([]), backend=backend):
        raise KeyError("leave")


@BACKENDS
def test_invoke_error_in_block_propagates_unchanged(backend: Backend) -> None:
    with (
        pytest.raises(faaslib.ResourceNotFoundException),
        faaslib.BlockingInvoker(make_registry([]), backend=backend) as invoker,
    ):
        invoker.invoke("missing")


@BACKENDS
def test_retries_on_a_virtual_clock_advanced_from_sync_code(backend: Backend) -> None:
    attempts: list[float] = []
    failures: list[dict[str, Any]] = []
    clock = faaslib.VirtualClock(1_700_000_000)
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=1, on_failure=failures.append)
    async def flaky(event: Any) -> None:
        attempts.append(clock.time())
        raise ValueError("no")

    invoker = faaslib.Invoker(registry, clock=clock)
    with faaslib.BlockingInvoker(invoker, backend=backend) as blocking:
        blocking.invoke("flaky", {}, "Event")
        blocking.drain()
        [pending] = blocking.pending()
        assert (pending.state, pending.next_attempt_at) == ("delayed", 1_700_000_060)
        blocking.advance(60)
        blocking.drain()
        assert blocking.pending() == []
    assert attempts == [1_700_000_000, 1_700_000_060]
    assert failures[0]["requestContext"]["condition"] == "RetriesExhausted"


@BACKENDS
def test_advance_needs_a_virtual_clock(backend: Backend) -> None:
    with (
        faaslib.BlockingInvoker(faaslib.Registry(), backend=backend) as blocking,
        pytest.raises(faaslib.InvalidParameterValueException, match="VirtualClock"),
    ):
        blocking.advance(1)


@BACKENDS
def test_metrics_from_sync_code(backend: Backend) -> None:
    ran: list[Any] = []
    with faaslib.BlockingInvoker(make_registry(ran), backend=backend) as blocking:
        blocking.invoke("greet", {"name": "Ada"})
        blocking.invoke("greet", {"name": "Bo"})
        metrics = blocking.metrics()
    greet = metrics.functions["greet"]
    assert (greet.invocations, greet.cold_starts, greet.errors) == (2, 1, 0)
    assert metrics.invocations == 2
    assert greet.billed_duration >= 2
