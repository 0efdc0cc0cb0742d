"""Faults of handlers and of the targets their records go to (issue 16, item 3): the invoker
survives each one, reports it as Lambda would, and loses no other accepted event.

Real worker processes and real SQLite journals; the misbehaving handlers that run in worker
processes are in tests/faults_workers.py.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import faults_workers as workers
import pytest
from journal_helpers import reopen
from proc_helpers import children, script_env

import faaslib

NOFILE_RUN = Path(__file__).parent / "faults_nofile_run.py"

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="worker processes, /proc and signals of Linux"
)


def noted(log: Path) -> Counter[str]:
    """``<tag> <id>`` lines the handlers wrote, counted."""
    return Counter(log.read_text().splitlines()) if log.exists() else Counter()


def faaslib_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "faaslib" and r.levelno >= logging.ERROR
    ]


# -- an async handler that ignores its cancellation ---------------------------------------------


async def test_an_async_handler_swallowing_its_cancellation_is_answered_at_the_deadline(
    tmp_path: Path,
) -> None:
    # asyncio cancels once (trio at every checkpoint): a handler that catches the deadline's
    # cancellation and suspends again is closed, and answered at the deadline all the same.
    registry = faaslib.Registry()
    registry.function(workers.swallows_cancellation, name="swallows", timeout=1)

    @registry.function
    async def quick(event: Any) -> str:
        return "quick"

    log = tmp_path / "log"
    async with faaslib.Invoker(registry) as invoker:
        started = time.monotonic()
        with anyio.fail_after(10):
            result = await invoker.invoke("swallows", {"log": str(log), "id": 1, "more": 1.5})
        elapsed = time.monotonic() - started
        assert result.json() == {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after "
            "1.00 seconds",
        }
        assert (await invoker.invoke("quick")).json() == "quick"
        assert invoker.statistics().concurrent_executions == 0
    assert noted(log) == {"swallow 1": 1}
    assert elapsed < 1.8, f"answered {elapsed:.2f} s after the invoke, not at the 1 s deadline"


# -- sync handlers stuck past their deadline: threads leak, the invoker does not -------------------


async def test_a_burst_of_stuck_sync_handlers_leaks_threads_not_the_invoker() -> None:
    """Twenty sync handlers that ignore their deadline: each caller is answered at it (its
    thread abandoned, running on), the concurrency slots are free again, and the invoker keeps
    answering at once, while the leaked threads still run."""
    release = threading.Event()
    registry = faaslib.Registry()

    running: set[int] = set()  # the threads of the stuck handlers still running

    @registry.function(timeout=1)
    def stuck(event: Any) -> str:
        running.add(threading.get_ident())
        release.wait(30)
        running.discard(threading.get_ident())
        return "unreachable"

    @registry.function
    def quick(event: Any) -> str:
        return "quick"

    results: list[tuple[faaslib.InvocationResult, float]] = []
    try:
        async with faaslib.Invoker(registry, concurrency_limit=25) as invoker:

            async def call() -> None:
                started = time.monotonic()
                result = await invoker.invoke("stuck")
                results.append((result, time.monotonic() - started))

            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    for _ in range(20):
                        tg.start_soon(call)
            assert len(running) == 20  # abandoned, still running
            assert invoker.statistics().concurrent_executions == 0
            started = time.monotonic()
            assert (await invoker.invoke("quick")).json() == "quick"
            assert time.monotonic() - started < 0.5
    finally:
        release.set()
    assert len(results) == 20
    for result, elapsed in results:
        assert result.json()["errorType"] == "Sandbox.Timedout"
        assert elapsed < 2.5


# -- handlers that kill, starve or outlive their worker process ---------------------------------


@linux_only
@pytest.mark.timeout(60)
async def test_process_handlers_that_crash_hog_memory_or_linger_lose_no_event(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Event invocations (journaled) of process-isolated handlers that ``os._exit``, SIGKILL
    themselves, go over their memory size, swallow their cancellation, or leave a thread that
    keeps their worker from exiting: each failure is Lambda's error document, sent to
    ``on_failure``; every other event runs; no worker process outlives the invoker."""
    log = tmp_path / "log"
    journal = tmp_path / "events.db"
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()
    for handler, name, timeout in [
        (workers.exits, "exits", 3.0),
        (workers.kills_itself, "kills_itself", 3.0),
        (workers.hogs_memory, "hogs", 30.0),  # stopped by its memory, not its timeout
        (workers.swallows_cancellation, "swallows", 1.0),
    ]:
        registry.function(
            handler,
            name=name,
            timeout=timeout,
            memory_size=128,
            isolation="process",
            max_retry_attempts=0,
            on_failure=failures.append,
        )
    registry.function(workers.leaks_a_thread, name="leaks", isolation="process")
    registry.function(
        workers.well_behaved, name="good", isolation="process", reserved_concurrency=1
    )
    expected = {
        "exits": ("Runtime.ExitError", "Runtime exited with error: exit status 9"),
        "kills_itself": ("Runtime.ExitError", "Runtime exited with error: signal: killed"),
        "hogs": ("Runtime.OutOfMemory", "Runtime exited with error: signal: killed"),
        "swallows": ("Sandbox.Timedout", "Task timed out after 1.00 seconds"),
    }
    caplog.set_level(logging.ERROR, logger="faaslib")
    before = children()
    with anyio.fail_after(45):
        async with faaslib.Invoker(registry, journal=journal) as invoker:
            accepted: dict[str, str] = {}
            for n in range(6):
                await invoker.invoke("good", {"log": str(log), "id": n}, "Event")
            for name in expected:
                event = {"log": str(log), "id": name, "mb": 400, "more": 5}
                accepted[name] = (await invoker.invoke(name, event, "Event")).request_id
            leaked = await invoker.invoke("leaks", {"log": str(log), "id": "leak"})
            for n in range(6, 12):
                await invoker.invoke("good", {"log": str(log), "id": n}, "Event")
            await invoker.drain()
            stats = invoker.statistics()
            # The invoker still serves: a fresh worker for a function whose worker died.
            again = await invoker.invoke("exits", {"log": str(log), "id": "again"})
            assert again.json()["errorType"] == "Runtime.ExitError"
        closed = time.monotonic()
    # The worker kept alive by its leaked thread was killed after the shutdown cap (2 s).
    assert children() - before == set()
    assert leaked.function_error is None
    assert leaked.json() not in children()
    assert time.monotonic() - closed < 1  # reaped as the block was left, not later

    ran = noted(log)
    assert all(ran[f"done {n}"] == 1 for n in range(12)), ran
    assert ran["leak leak"] == 1
    for name, tag in [("exits", "exit"), ("kills_itself", "sigkill"), ("hogs", "hog")]:
        assert ran[f"{tag} {name}"] == 1, (name, ran)
    assert ran["swallow swallows"] == 1
    by_request = {f["requestContext"]["requestId"]: f for f in failures}
    assert set(by_request) == set(accepted.values())
    for name, (error_type, message) in expected.items():
        record = by_request[accepted[name]]
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 1
        assert record["responsePayload"]["errorType"] == error_type, name
        assert record["responsePayload"]["errorMessage"].endswith(message), name
    assert (stats.events_succeeded, stats.events_dropped) == (12, 4)
    assert await reopen(journal) == []  # every accepted event finished: none left to replay


@linux_only
async def test_a_worker_process_that_cannot_be_started_fails_its_invocation_not_the_invoker(
    tmp_path: Path, anyio_backend_name: str
) -> None:
    """No descriptor left for a new worker's pipes (``RLIMIT_NOFILE``): the invocation that
    needed it fails as a failed cold start (``Runtime.Unknown``), an Event one is retried and
    given up to ``on_failure``, and the invoker runs on, and starts workers again once it can.

    In a fresh interpreter (tests/faults_nofile_run.py): in this one, other tests' threads
    and files could free descriptors under the limit, and let a worker start."""
    log = tmp_path / "log"
    with anyio.fail_after(30):
        done = await anyio.run_process(
            [sys.executable, str(NOFILE_RUN), str(log), anyio_backend_name],
            env=script_env(),
            check=False,
        )
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    function_error, request_id, document = report["sync"]
    assert function_error == "Unhandled"
    assert document["errorType"] == "Runtime.Unknown"
    assert document["errorMessage"].startswith(f"RequestId: {request_id} Error: ")
    assert "Too many open files" in document["errorMessage"]
    [record] = report["failures"]
    assert record["requestContext"]["requestId"] == report["event"], report
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"]["errorType"] == "Runtime.Unknown"
    assert report["after"] is None
    assert noted(log) == {"done 3": 1}


# -- destinations and dead-letter targets that fail ---------------------------------------------


async def test_failing_destinations_and_dead_letter_targets_are_reported_not_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A function destination whose handler fails, a Queue that refuses the record (a FIFO
    queue without a message group, a record over SQS's 1 MiB) and a dead-letter Queue that
    refuses the event: each is a failed delivery, counted and logged with the request id;
    the event itself has finished (it is not run again, nor left in the journal), and every
    other event runs."""
    journal = tmp_path / "events.db"
    fifo = faaslib.Queue("records.fifo")
    big_records = faaslib.Queue("records")
    ran: list[int] = []
    audited: list[str] = []
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=0)
    async def audit(record: dict[str, Any]) -> None:
        audited.append(record["requestContext"]["requestId"])
        raise RuntimeError("the audit store is down")

    @registry.function(on_success="audit")
    async def to_failing_function(event: Any) -> str:
        return "ok"

    @registry.function(on_success=big_records)
    async def to_refusing_queue(event: Any) -> str:
        return "x" * 1_048_576  # the record's responsePayload alone is SQS's limit

    @registry.function(max_retry_attempts=0, on_failure=fifo, dead_letter=fifo)
    async def fails_to_fifo(event: Any) -> None:
        raise ValueError("declined")

    @registry.function
    async def good(event: int) -> None:
        ran.append(event)

    caplog.set_level(logging.ERROR, logger="faaslib")
    async with faaslib.Invoker(registry, journal=journal) as invoker:
        accepted = {}
        for i in range(30):
            await invoker.invoke("good", i, "Event")
            if i == 10:
                for name in ("to_failing_function", "to_refusing_queue", "fails_to_fifo"):
                    accepted[name] = (await invoker.invoke(name, {"n": i}, "Event")).request_id
        with anyio.fail_after(10):
            await invoker.drain()
        stats = invoker.statistics()
        assert invoker.pending() == []
    assert sorted(ran) == list(range(30))
    assert audited == [accepted["to_failing_function"]]  # delivered once, failed on its own
    assert len(fifo) == len(big_records) == 0
    assert stats.destination_delivery_failures == 2  # the two queues
    assert stats.destination_deliveries == 1  # the record accepted by the audit function
    assert stats.dead_letter_errors == 1
    assert stats.events_dropped == 2  # fails_to_fifo, and the audit function's own event
    errors = faaslib_errors(caplog)
    for name, fragment in [
        ("to_refusing_queue", "Message must be shorter"),
        ("fails_to_fifo", "MessageGroupId"),
    ]:
        assert any(accepted[name] in m and fragment in m for m in errors), (name, errors)
    assert sum(accepted["fails_to_fifo"] in m and "dead-letter" in m for m in errors) == 1
    assert await reopen(journal) == []  # finished, failed deliveries and all


# -- faaslib's own failure while running an event --------------------------------------------


async def test_an_internal_failure_running_an_event_is_a_failed_attempt(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Fault injection into faaslib itself (not the handler): the runner raising is a failed
    # attempt, logged with its traceback, retried and then sent on; the invoker serves on and
    # no other accepted event is lost.
    from faaslib._environments import Runner

    failing = {"poisoned"}
    original = Runner.run

    async def run(self: Runner, fn: Any, *rest: Any) -> faaslib.InvocationResult:
        if fn.name in failing:
            raise RuntimeError("the runner broke")
        return await original(self, fn, *rest)

    monkeypatch.setattr(Runner, "run", run)
    registry = faaslib.Registry()
    ran: list[Any] = []
    records: list[Any] = []

    @registry.function(max_retry_attempts=1, on_failure="report")
    def poisoned(event: Any) -> None:
        ran.append(event)

    @registry.function
    def report(record: dict[str, Any]) -> None:
        records.append(record)

    @registry.function
    def fine(event: Any) -> Any:
        ran.append(event)
        return event

    async with faaslib.Invoker(registry, retry_delays=(0,)) as invoker:
        with caplog.at_level(logging.ERROR, logger="faaslib"):
            await invoker.invoke("poisoned", {"n": 1}, "Event")
            for n in range(5):
                await invoker.invoke("fine", {"n": n}, "Event")
            await invoker.drain()
        assert (await invoker.invoke("fine", {"n": 9})).json() == {"n": 9}
    assert sorted(e["n"] for e in ran) == [0, 1, 2, 3, 4, 9]
    [record] = records
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"]["errorType"] == "Runtime.Unknown"
    assert "the runner broke" in caplog.text
    assert "Traceback" in caplog.text
