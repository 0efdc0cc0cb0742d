"""Event invocations kept in a journal: finished ones leave it, unfinished ones run again.

Real SQLite files, real processes (``tests/crash_worker.py``), no mocks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import BaseModel

import faaslib

ROOT = Path(__file__).resolve().parents[1]  # the checkout, importable by a subprocess
WORKER = Path(__file__).resolve().with_name("crash_worker.py")
START = 1_700_000_000.0  # the virtual clocks' start


class Job(BaseModel):
    job_id: int


def journal_rows(path: Path) -> list[tuple[str, str, bytes, int]]:
    """(request id, function, payload, attempts) of every entry, in acceptance order (row 0
    is the journal's marker, not an entry).

    Read with a read-only connection of its own, as another process would.
    """
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT request_id, function, payload, attempts FROM events WHERE seq <> 0 ORDER BY seq"
        ).fetchall()
    return [(str(r), str(f), bytes(p), int(a)) for r, f, p, a in rows]


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "faaslib" and r.levelno == level]


# -- in one process ----------------------------------------------------------------------------


async def test_accepted_is_journaled_and_finished_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    release = anyio.Event()
    ran: list[str] = []
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(timeout=60)
    async def work(job: Job, context: faaslib.Context) -> None:
        await release.wait()
        ran.append(context.aws_request_id)

    @registry.function(max_retry_attempts=0, on_failure=failures.append)
    async def fail(event: Any) -> None:
        raise ValueError("given up, which finishes it too")

    async with faaslib.Invoker(registry, journal=path) as invoker:
        accepted = [await invoker.invoke("work", {"job_id": n}, "Event") for n in range(3)]
        # The 202 means committed: another connection sees the entries, in acceptance order.
        assert journal_rows(path) == [
            (a.request_id, "work", b'{"job_id":%d}' % n, 0) for n, a in enumerate(accepted)
        ]
        release.set()
        accepted += [await invoker.invoke("work", {"job_id": n}, "Event") for n in range(3, 50)]
        given_up = await invoker.invoke("fail", {}, "Event")
        await invoker.drain()
        stats = invoker.statistics()
    assert sorted(ran) == sorted(a.request_id for a in accepted)
    assert [f["requestContext"]["requestId"] for f in failures] == [given_up.request_id]
    assert (stats.events_succeeded, stats.events_dropped, stats.events_replayed) == (50, 1, 0)
    assert journal_rows(path) == []
    journal = faaslib._journal.Journal(path)  # its own reader agrees
    try:
        assert await journal.open() == []
    finally:
        await journal.close()


async def test_cancel_keeps_unfinished_events_for_the_next_invoker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    blocking = True
    started: list[int] = []
    two_started = anyio.Event()
    seen: list[tuple[int, str]] = []
    registry = faaslib.Registry()

    @registry.function(timeout=60)
    async def work(job: Job, context: faaslib.Context) -> None:
        if blocking:
            started.append(job.job_id)
            if len(started) == 2:
                two_started.set()
            await anyio.sleep_forever()
        seen.append((job.job_id, context.aws_request_id))

    @registry.function
    async def quick(event: Any) -> None:
        pass

    caplog.set_level(logging.INFO, logger="faaslib")
    async with faaslib.Invoker(registry, journal=path, on_exit="cancel", event_workers=2) as first:
        for _ in range(3):
            await first.invoke("quick", {}, "Event")
        accepted = [await first.invoke("work", {"job_id": n}, "Event") for n in range(5)]
        with anyio.fail_after(10):
            await two_started.wait()  # two running, three queued
    assert first.statistics().events_succeeded == 3
    assert first.statistics().events_dropped == 0  # kept, not dropped
    [warning] = messages(caplog, logging.WARNING)
    assert str(path) in warning
    assert "5 accepted Event invocations unfinished" in warning
    ids = [a.request_id for a in accepted]
    # The running ones were cancelled, not counted as attempts; the quick ones are gone.
    assert journal_rows(path) == [(i, "work", b'{"job_id":%d}' % n, 0) for n, i in enumerate(ids)]

    blocking = False
    caplog.clear()
    async with faaslib.Invoker(registry, journal=path, event_workers=1) as second:
        assert second.statistics().events_replayed == 5
    stats = second.statistics()
    # The same events, with the request ids the first invoker's 202 results carried, in order.
    assert seen == list(enumerate(ids))
    assert (stats.events_replayed, stats.events_received, stats.events_succeeded) == (5, 0, 5)
    assert stats.invocations == 5
    assert any("Replaying 5" in m for m in messages(caplog, logging.INFO))
    assert messages(caplog, logging.WARNING) == []
    assert journal_rows(path) == []


async def test_a_replayed_event_left_unfinished_again_stays(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    seen: list[str] = []
    blocking = True
    started: list[str] = []
    all_started = anyio.Event()
    registry = faaslib.Registry()

    @registry.function(timeout=60)
    async def work(event: Any, context: faaslib.Context) -> None:
        if blocking:
            started.append(context.aws_request_id)
            if len(started) == 3:
                all_started.set()
            await anyio.sleep_forever()
        seen.append(context.aws_request_id)

    async def wait_running(invoker: faaslib.Invoker) -> None:
        nonlocal all_started
        with anyio.fail_after(10):
            await all_started.wait()
        assert invoker.statistics().events_running == 3
        started.clear()
        all_started = anyio.Event()

    async with faaslib.Invoker(registry, journal=path, on_exit="cancel") as first:
        accepted = [(await first.invoke("work", n, "Event")).request_id for n in range(3)]
        await wait_running(first)
    assert [row[0] for row in journal_rows(path)] == accepted

    # Replayed, started, cancelled again: still there, still at attempt 0.
    async with faaslib.Invoker(registry, journal=path, on_exit="cancel") as second:
        assert second.statistics().events_replayed == 3
        await wait_running(second)
    assert [(row[0], row[3]) for row in journal_rows(path)] == [(i, 0) for i in accepted]

    blocking = False
    async with faaslib.Invoker(registry, journal=path) as third:
        pass
    assert third.statistics().events_replayed == 3
    assert sorted(seen) == sorted(accepted)
    assert journal_rows(path) == []


@pytest.mark.parametrize("first_exit", ["drain", "cancel"])
async def test_a_replayed_event_keeps_its_attempt_count(
    tmp_path: Path, first_exit: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    calls: list[tuple[str, str]] = []
    failures: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(max_retry_attempts=2, on_failure=failures.append)
    async def flaky(event: Any, context: faaslib.Context) -> None:
        calls.append((phase, context.aws_request_id))
        raise RuntimeError(f"fails in {phase}")

    phase = "first"
    caplog.set_level(logging.WARNING, logger="faaslib")
    async with faaslib.Invoker(
        registry,
        journal=path,
        clock=faaslib.VirtualClock(START),
        on_exit="drain" if first_exit == "drain" else "cancel",
    ) as first:
        accepted = await first.invoke("flaky", {"k": 1}, "Event")
        await first.drain()  # one attempt failed; the retry waits for the virtual clock
        [pending] = first.pending()
        assert (pending.state, pending.attempts) == ("delayed", 1)
    # Leaving the block with a retry still waiting (on_exit="drain" stops waiting for a time
    # the virtual clock has not reached) keeps the event, its one attempt recorded.
    assert any(str(path) in m for m in messages(caplog, logging.WARNING))
    assert journal_rows(path) == [(accepted.request_id, "flaky", b'{"k":1}', 1)]
    assert failures == []

    phase = "second"
    clock = faaslib.VirtualClock(START + 10)
    async with faaslib.Invoker(registry, journal=path, clock=clock) as second:
        assert second.statistics().events_replayed == 1
        await second.drain()
        # The replayed retry keeps its time: 60 s after the first attempt, not at once.
        [pending] = second.pending()
        assert (pending.state, pending.next_attempt_at) == ("delayed", START + 60)
        assert [c for c in calls if c[0] == "second"] == []
        clock.advance(49.9)
        await second.drain()
        assert [c for c in calls if c[0] == "second"] == []
        clock.advance(0.1)
        await second.drain()
        assert len([c for c in calls if c[0] == "second"]) == 1
        clock.advance(120)
        await second.drain()
        stats = second.statistics()
    assert calls == [("first", accepted.request_id)] + [("second", accepted.request_id)] * 2
    [record] = failures
    assert record["requestContext"] == {
        "requestId": accepted.request_id,
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:flaky:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,  # in all, not three more
    }
    assert record["requestPayload"] == {"k": 1}
    assert (stats.events_replayed, stats.events_dropped, stats.invocations) == (1, 1, 2)
    assert journal_rows(path) == []


async def test_destination_events_are_journaled_too(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    blocking = True
    audit_started = anyio.Event()
    records: list[dict[str, Any]] = []
    registry = faaslib.Registry()

    @registry.function(on_success="audit")
    async def work(event: Any) -> str:
        return "done"

    @registry.function(timeout=60)
    async def audit(record: dict[str, Any]) -> None:
        if blocking:
            audit_started.set()
            await anyio.sleep_forever()
        records.append(record)

    async with faaslib.Invoker(registry, journal=path, on_exit="cancel") as first:
        accepted = await first.invoke("work", {"n": 1}, "Event")
        with anyio.fail_after(10):
            await audit_started.wait()
    [(record_id, function, _, _)] = journal_rows(path)  # the record's event, not work's
    assert function == "audit"
    assert record_id != accepted.request_id

    blocking = False
    async with faaslib.Invoker(registry, journal=path) as second:
        pass
    assert second.statistics().events_replayed == 1
    [record] = records
    assert record["requestContext"]["requestId"] == accepted.request_id
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == "done"
    assert journal_rows(path) == []


async def test_an_entry_of_an_unregistered_function_is_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    seen: list[tuple[str, str]] = []

    def make_registry(*names: str, block: bool) -> faaslib.Registry:
        registry = faaslib.Registry()
        for name in names:

            async def handler(event: Any, context: faaslib.Context) -> None:
                if block:
                    await anyio.sleep_forever()
                seen.append((context.function_name, context.aws_request_id))

            registry.add(faaslib.FunctionSpec(name, handler, timeout=60))
        return registry

    async with faaslib.Invoker(
        make_registry("kept", "gone", block=True), journal=path, on_exit="cancel"
    ) as first:
        gone = (await first.invoke("gone", {"n": 1}, "Event")).request_id
        kept = (await first.invoke("kept", {"n": 2}, "Event")).request_id

    caplog.set_level(logging.INFO, logger="faaslib")
    async with faaslib.Invoker(make_registry("kept", block=False), journal=path) as second:
        pass
    assert seen == [("kept", kept)]
    assert second.statistics().events_replayed == 1
    [error] = messages(caplog, logging.ERROR)
    assert gone in error
    assert "function:gone" in error
    assert "kept" in error
    assert journal_rows(path) == [(gone, "gone", b'{"n":1}', 0)]  # not run, not lost

    # Registered again, it runs, with its request id.
    async with faaslib.Invoker(make_registry("kept", "gone", block=False), journal=path) as third:
        pass
    assert seen == [("kept", kept), ("gone", gone)]
    assert third.statistics().events_replayed == 1
    assert journal_rows(path) == []


async def test_a_journal_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    registry = faaslib.Registry()

    @registry.function
    async def work(event: Any) -> None:
        pass

    path = tmp_path / "missing" / "journal.db"
    invoker = faaslib.Invoker(registry, journal=path)
    with pytest.raises(faaslib.InvalidParameterValueException, match="missing"):
        async with invoker:
            pytest.fail("entered")  # pragma: no cover
    assert not path.parent.exists()
    with pytest.raises(faaslib.InvokerClosed):
        await invoker.invoke("work", {}, "Event")
    with pytest.raises(faaslib.InvokerClosed):
        async with invoker:
            pytest.fail("entered")  # pragma: no cover


async def test_a_directory_or_a_foreign_file_is_refused(tmp_path: Path) -> None:
    registry = faaslib.Registry()
    with pytest.raises(faaslib.InvalidParameterValueException):
        async with faaslib.Invoker(registry, journal=tmp_path):
            pytest.fail("entered")  # pragma: no cover
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"not a journal\n" * 500)
    with pytest.raises(faaslib.InvalidParameterValueException, match="not a faaslib journal"):
        async with faaslib.Invoker(registry, journal=notes):
            pytest.fail("entered")  # pragma: no cover
    assert notes.read_bytes() == b"not a journal\n" * 500


async def test_an_event_invoke_cancelled_before_its_202_leaves_no_entry(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    ran: list[str] = []
    registry = faaslib.Registry()

    @registry.function
    async def work(event: Any, context: faaslib.Context) -> None:
        ran.append(context.aws_request_id)

    async with faaslib.Invoker(registry, journal=path) as invoker:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await invoker.invoke("work", {"n": 1}, "Event")  # cancelled waiting for its commit
        assert scope.cancelled_caught
        stats = invoker.statistics()
    assert (stats.events_received, stats.events_succeeded) == (0, 0)
    assert ran == []
    # The block was left cleanly: drained, nothing reported unfinished.
    assert journal_rows(path) == [], (
        "an entry this invoker neither ran nor reported; the next invoker to open the "
        "journal runs it"
    )


async def test_a_journal_in_use_is_not_replayed_by_a_second_invoker(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    gate = anyio.Event()
    ran: list[str] = []
    registry = faaslib.Registry()

    @registry.function(timeout=60)
    async def slow(event: Any, context: faaslib.Context) -> None:
        await gate.wait()
        ran.append(context.aws_request_id)

    with anyio.fail_after(10):
        async with faaslib.Invoker(registry, journal=path) as first:
            accepted = await first.invoke("slow", 1, "Event")
            await anyio.wait_all_tasks_blocked()  # running in the first invoker
            # Refusing the journal in use would do; so would replaying nothing of it.
            with contextlib.suppress(faaslib.InvalidParameterValueException):
                async with faaslib.Invoker(registry, journal=path):
                    gate.set()
            gate.set()
    assert ran == [accepted.request_id], "one accepted event ran twice, at the same time"


# -- across a SIGKILL --------------------------------------------------------------------------

EVENTS = 3000
KILL_AFTER = 1000  # accepted events seen before the kill
WORKER_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


def read_lines(fd: int, pending: bytearray, wanted: int, deadline: float) -> list[str]:
    """Complete lines read from ``fd``: at least ``wanted`` of them, or all until EOF."""
    lines: list[str] = []
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while len(lines) < wanted:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(lines)} lines read, {wanted} wanted")
            if not selector.select(remaining):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break  # EOF; an unterminated last line is dropped
            pending += chunk
            *complete, rest = pending.split(b"\n")
            pending[:] = rest
            lines += [line.decode() for line in complete]
    return lines


def side_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def worker_command(tmp_path: Path, backend: str, mode: str) -> list[str]:
    """The crash worker over ``tmp_path``'s journal and side file, in ``mode``."""
    journal, side = tmp_path / "journal.db", tmp_path / "side.txt"
    return [sys.executable, str(WORKER), str(journal), str(side), str(EVENTS), backend, mode]


def produce_then_kill(tmp_path: Path, backend: str) -> list[str]:
    """Run a producer, SIGKILL it once it has accepted KILL_AFTER events, and return every
    request id it reported accepted (what it wrote before dying included)."""
    errors = tmp_path / "produce.err"
    with errors.open("wb") as stderr:
        producer = subprocess.Popen(
            worker_command(tmp_path, backend, "produce"),
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=WORKER_ENV,
        )
    assert producer.stdout is not None
    fd = producer.stdout.fileno()
    pending = bytearray()
    try:
        accepted = read_lines(fd, pending, KILL_AFTER, time.monotonic() + 30)
        if len(accepted) < KILL_AFTER:
            pytest.fail(f"producer ended early: {errors.read_text()}")
        producer.kill()
        assert producer.wait(timeout=10) == -signal.SIGKILL
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.wait()
    accepted += read_lines(fd, pending, EVENTS, time.monotonic() + 10)
    producer.stdout.close()
    assert "drained" not in accepted, "the kill came after the producer had finished"
    return accepted


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_events_accepted_before_a_crash_run_after_it(tmp_path: Path, backend: str) -> None:
    journal = tmp_path / "journal.db"
    side = tmp_path / "side.txt"

    def worker(mode: str) -> list[str]:
        return worker_command(tmp_path, backend, mode)

    accepted = produce_then_kill(tmp_path, backend)
    assert len(accepted) < EVENTS
    assert len(set(accepted)) == len(accepted)
    processed_before = side_lines(side)
    backlog = set(accepted) - set(processed_before)
    # Otherwise the kill proves nothing: some accepted events must not have run yet.
    assert len(backlog) >= 50, (
        f"kill landed too late: {len(accepted)} accepted, {len(backlog)} not processed"
    )

    resumed = subprocess.run(
        worker("resume"), capture_output=True, env=WORKER_ENV, timeout=60, check=False
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    word, replayed, succeeded = resumed.stdout.decode().split()
    assert word == "resumed"

    processed = side_lines(side)
    for line in processed:
        uuid.UUID(line)  # every line whole: no torn writes
    missing = set(accepted) - set(processed)
    duplicates = len(processed) - len(set(processed))
    summary = (
        f"{backend}: {len(accepted)} accepted, {len(backlog)} not processed at the kill, "
        f"{replayed} replayed, {len(missing)} lost, {duplicates} run twice"
    )
    print(summary)  # noqa: T201 - shown with -s, or on failure
    assert not missing, summary
    # The resumed process ran every replayed event exactly once, and only those.
    by_resume = processed[len(processed_before) :]
    assert int(replayed) == int(succeeded) == len(by_resume) == len(set(by_resume)), summary
    assert backlog <= set(by_resume), summary
    # A duplicate is an event that had run but whose removal the kill lost: twice at most.
    assert len(set(processed_before)) == len(processed_before), summary
    assert journal_rows(journal) == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_events_lost_with_the_wal_after_a_crash_are_reported(tmp_path: Path, backend: str) -> None:
    """The WAL file deleted after a SIGKILL takes the commits not checkpointed yet with it:
    the next invoker says how many accepted events that can be, never fewer than were lost."""
    journal = tmp_path / "journal.db"
    side = tmp_path / "side.txt"

    def worker(mode: str) -> list[str]:
        return worker_command(tmp_path, backend, mode)

    accepted = produce_then_kill(tmp_path, backend)
    os.unlink(f"{journal}-wal")

    resumed = subprocess.run(
        worker("resume"), capture_output=True, env=WORKER_ENV, timeout=60, check=False
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    missing = set(accepted) - set(side_lines(side))
    assert missing, "nothing lost: the WAL held no commit"
    # No logging configured in the worker: Python's last-resort handler prints the ERROR.
    report = resumed.stderr.decode()
    assert str(journal) in report
    assert "WAL" in report
    words = report.split("up to ", 1)[1].split()
    assert words[1:3] == ["accepted", "Event"], report
    assert len(missing) <= int(words[0]), report
