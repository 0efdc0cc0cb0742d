"""faaslib's daemon worker threads: results, errors, context, abandonment, reuse, from_thread."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from typing import Any, NoReturn

import anyio
import anyio.from_thread
import anyio.lowlevel
import pytest
import sniffio

from faaslib import _threads
from faaslib._threads import run_sync

request: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="none")


def wait_for(flag: threading.Event) -> None:
    """A callable that blocks its thread until ``flag`` is set (at most 10 s)."""
    assert flag.wait(10)


async def eventually(condition: Callable[[], bool], seconds: float = 5) -> bool:
    """Whether ``condition()`` comes true within ``seconds``."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return True
        await anyio.sleep(0.01)
    return condition()


async def served_by(ident: int, *, tries: int = 50) -> bool:
    """Whether a call is served by the thread ``ident`` within a few tries."""
    for _ in range(tries):
        if await run_sync(threading.get_ident) == ident:
            return True
        await anyio.sleep(0.01)
    return False


async def test_returns_the_result_from_a_daemon_worker_thread() -> None:
    def work(a: int, b: int) -> tuple[int, threading.Thread]:
        return a + b, threading.current_thread()

    total, thread = await run_sync(work, 2, 3)
    assert total == 5
    assert thread is not threading.main_thread()
    assert thread.daemon
    assert thread.name == "faaslib worker"


async def test_an_exception_is_raised_in_the_caller_unchanged() -> None:
    error = ValueError("boom")

    def fail() -> None:
        raise error

    with pytest.raises(ValueError, match="boom") as caught:
        await run_sync(fail)
    assert caught.value is error


@pytest.mark.parametrize(
    "error",
    [SystemExit(3), KeyboardInterrupt(), GeneratorExit(), StopAsyncIteration()],
    ids=lambda error: type(error).__name__,
)
async def test_base_exceptions_reach_the_caller_and_the_thread_lives_on(
    error: BaseException,
) -> None:
    idents: list[int] = []

    def fail() -> NoReturn:
        idents.append(threading.get_ident())
        raise error

    with pytest.raises(type(error)) as caught:
        await run_sync(fail)
    assert caught.value is error
    assert await served_by(idents[0])  # the pool thread survived


async def test_stop_iteration_arrives_as_runtime_error_like_any_coroutine() -> None:
    def fail() -> NoReturn:
        raise StopIteration(1)

    with pytest.raises(RuntimeError) as caught:
        await run_sync(fail)
    assert isinstance(caught.value.__cause__, StopIteration)


async def test_the_call_runs_in_a_copy_of_the_callers_context() -> None:
    request.set("abc")

    def read_and_write() -> str:
        seen = request.get()
        request.set("changed in the thread")
        return seen

    assert await run_sync(read_and_write) == "abc"
    assert request.get() == "abc"


async def test_no_event_loop_is_seen_in_the_thread(anyio_backend_name: str) -> None:
    token = sniffio.current_async_library_cvar.set(anyio_backend_name)
    try:
        with pytest.raises(sniffio.AsyncLibraryNotFoundError):
            await run_sync(sniffio.current_async_library)
    finally:
        sniffio.current_async_library_cvar.reset(token)


async def test_cancelled_caller_returns_at_once_and_abandons_the_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = threading.Event()
    finished = threading.Event()
    idents: list[int] = []

    def stuck() -> str:
        idents.append(threading.get_ident())
        wait_for(release)
        finished.set()
        raise ValueError("too late: dropped")

    start = time.monotonic()
    with anyio.move_on_after(0.05) as scope:
        await run_sync(stuck)
    assert scope.cancelled_caught
    assert time.monotonic() - start < 0.5
    assert not finished.is_set()  # still running, abandoned
    release.set()
    assert await eventually(finished.is_set)
    # The thread finished without trouble and is back in the pool.
    assert await served_by(idents[0])
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_cancelled_task_group_abandons_its_threads() -> None:
    release = threading.Event()
    started = threading.Event()

    def stuck() -> None:
        started.set()
        wait_for(release)

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(run_sync, stuck)
            group.start_soon(run_sync, stuck)
            assert await eventually(started.is_set)
            group.cancel_scope.cancel()
    finally:
        release.set()


async def test_an_already_cancelled_caller_does_not_start_the_call() -> None:
    ran: list[bool] = []
    with anyio.CancelScope() as scope:
        scope.cancel()
        await run_sync(ran.append, True)
    assert scope.cancelled_caught
    await anyio.sleep(0.05)
    assert ran == []


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_result_after_the_event_loop_ended_is_dropped_quietly(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_errors: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", thread_errors.append)
    release = threading.Event()
    finished = threading.Event()
    idents: list[int] = []

    def stuck() -> None:
        idents.append(threading.get_ident())
        wait_for(release)
        finished.set()
        raise ValueError("nobody is waiting")

    async def abandon() -> None:
        with anyio.move_on_after(0.05):
            await run_sync(stuck)

    anyio.run(abandon, backend=backend)
    release.set()
    assert finished.wait(5)

    async def reused() -> bool:
        return await served_by(idents[0])

    assert anyio.run(reused, backend=backend)
    assert thread_errors == []


async def test_idle_threads_are_reused() -> None:
    first = await run_sync(threading.get_ident)
    assert await run_sync(threading.get_ident) == first


async def test_a_burst_gets_a_thread_each_and_idle_threads_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_threads, "IDLE_SECONDS", 0.1)
    burst = 12
    barrier = threading.Barrier(burst, timeout=10)
    threads: list[threading.Thread] = []

    def meet() -> None:
        threads.append(threading.current_thread())
        barrier.wait()  # all of the burst at once: no cap on the pool

    async with anyio.create_task_group() as group:
        for _ in range(burst):
            group.start_soon(run_sync, meet)
    assert len(set(threads)) == burst
    assert await eventually(lambda: not any(thread.is_alive() for thread in threads))


async def test_from_thread_reaches_the_callers_loop() -> None:
    loop_thread = threading.get_ident()

    async def double(x: int) -> tuple[int, int]:
        await anyio.lowlevel.checkpoint()
        return 2 * x, threading.get_ident()

    def work() -> tuple[tuple[int, int], int]:
        anyio.from_thread.check_cancelled()  # not cancelled: returns
        return anyio.from_thread.run(double, 21), anyio.from_thread.run_sync(threading.get_ident)

    (doubled, ran_in), ran_sync_in = await run_sync(work)
    assert doubled == 42
    assert ran_in == loop_thread
    assert ran_sync_in == loop_thread


async def test_check_cancelled_raises_once_the_call_is_abandoned() -> None:
    release = threading.Event()
    finished = threading.Event()
    raised: list[BaseException] = []

    def stuck() -> None:
        wait_for(release)
        try:
            anyio.from_thread.check_cancelled()
        except BaseException as exc:  # noqa: BLE001 - the point of the test
            raised.append(exc)
        finally:
            finished.set()

    with anyio.move_on_after(0.05):
        await run_sync(stuck)
    release.set()
    assert await eventually(finished.is_set)
    assert len(raised) == 1
    assert isinstance(raised[0], anyio.get_cancelled_exc_class())


async def test_from_thread_without_a_worker_thread_still_fails_as_in_anyio() -> None:
    result: list[BaseException] = []

    def outside() -> None:
        try:
            anyio.from_thread.run_sync(int)
        except BaseException as exc:  # noqa: BLE001 - the point of the test
            result.append(exc)

    def start_own_thread() -> None:
        thread = threading.Thread(target=outside)
        thread.start()
        thread.join()

    await run_sync(start_own_thread)
    assert isinstance(result[0], anyio.NoEventLoopError)


def test_a_thread_runs_without_an_event_loop() -> None:
    def uses_asyncio() -> Callable[[], Any]:
        return asyncio.get_running_loop

    async def main() -> None:
        get_loop = await run_sync(uses_asyncio)
        with pytest.raises(RuntimeError):
            await run_sync(get_loop)

    anyio.run(main)


# The defect this module fixes: on asyncio, anyio's worker threads are not daemons, so a
# program whose sync handler (or init) timed out and spins on could never exit.
_SPINNING = textwrap.dedent(
    """
    import sys

    import anyio

    import faaslib
    from faaslib import _environments

    _environments.INIT_TIMEOUT = 0.5
    registry = faaslib.Registry()

    def spin():
        while True:
            pass

    if sys.argv[2] == "handler":
        @registry.function(timeout=1)
        def stuck(event):
            spin()
    else:
        @registry.function(timeout=1, init=spin)
        def stuck(event):
            return "unreachable"

    async def main():
        async with faaslib.Invoker(registry) as invoker:
            result = await invoker.invoke("stuck", b"{}")
        print(result.json()["errorType"], flush=True)

    anyio.run(main, backend=sys.argv[1])
    """
)


@pytest.mark.parametrize("stuck", ["handler", "init"])
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_program_exits_after_a_sync_handler_timed_out(backend: str, stuck: str) -> None:
    start = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _SPINNING, backend, stuck],
            capture_output=True,
            check=False,
            timeout=10,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the program did not exit; its output: {exc.stdout!r} {exc.stderr!r}")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"Sandbox.Timedout\n"
    assert time.monotonic() - start < 8


async def test_a_sync_handler_finds_an_event_loop_as_on_lambdas_main_thread() -> None:
    # Lambda's runtime calls the handler on its main thread, where asyncio.get_event_loop()
    # answers (code such as Mangum relies on it). faaslib's worker threads each have one.
    def handler() -> tuple[bool, bool]:
        loop = asyncio.get_event_loop()
        result = loop.run_until_complete(asyncio.sleep(0, result=True))
        return result, loop is asyncio.get_event_loop()

    assert await run_sync(handler) == (True, True)
    assert await run_sync(handler) == (True, True)  # the thread's loop, reused
