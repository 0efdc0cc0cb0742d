"""The journal of accepted Event invocations: real SQLite files, real processes, no mocks."""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import textwrap
import uuid
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from journal_helpers import reopen, running

from faaslib._errors import InvalidParameterValueException, InvokerClosed, ServiceException
from faaslib._journal import Journal, JournalEntry

ARN = "arn:aws:lambda:us-east-1:123456789012:function:work"
ROOT = Path(__file__).resolve().parents[1]  # the checkout, importable by a subprocess


def entry(n: int = 0, *, attempts: int = 0) -> JournalEntry:
    return JournalEntry(
        request_id=str(uuid.uuid4()),
        function="work",
        invoked_arn=ARN,
        payload=b'{"n": %d}' % n,
        received_at=1_700_000_000.25 + n,
        attempts=attempts,
    )


async def test_open_creates_an_empty_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    assert await reopen(path) == []
    assert path.exists()
    assert await reopen(path) == []  # its own schema is recognised


async def test_added_entry_is_returned_by_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    added = entry(7, attempts=2)
    async with running(path) as journal:
        await journal.add(added)
    [found] = await reopen(path)
    assert found == added
    assert type(found.payload) is bytes
    assert type(found.received_at) is float


async def test_set_attempts_and_remove_persist(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    kept, finished = entry(1), entry(2)
    async with running(path) as journal:
        await journal.add(kept)
        await journal.add(finished)
        journal.set_attempts(kept.request_id, 2)
        journal.remove(finished.request_id)
        journal.set_attempts("unknown", 5)  # harmless
        journal.remove("unknown")
    assert await reopen(path) == [replace(kept, attempts=2)]


async def test_add_then_remove_in_one_batch_ends_removed(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    gone, kept = entry(1), entry(2)
    journal = Journal(path)
    await journal.open()
    async with anyio.create_task_group() as tg:  # no run(): close() writes one batch
        tg.start_soon(journal.add, gone)
        tg.start_soon(journal.add, kept)
        await anyio.wait_all_tasks_blocked()
        journal.remove(gone.request_id)
        journal.set_attempts(gone.request_id, 1)
        journal.set_attempts(kept.request_id, 1)
        journal.set_attempts(kept.request_id, 4)
        await journal.close()
    assert journal._commits == 1
    assert await reopen(path) == [replace(kept, attempts=4)]


async def test_close_writes_pending_updates_without_run(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    first, second = entry(1), entry(2)
    journal = Journal(path)
    await journal.open()
    async with anyio.create_task_group() as tg:
        tg.start_soon(journal.add, first)
        tg.start_soon(journal.add, second)
        await anyio.wait_all_tasks_blocked()
        journal.set_attempts(first.request_id, 3)
        journal.remove(second.request_id)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await journal.close()  # shielded: completes though its caller is cancelled
    # the adds were woken by close()
    assert await reopen(path) == [replace(first, attempts=3)]


async def test_acceptance_order_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    entries = [entry(n) for n in range(50)]
    async with running(path) as journal:
        for e in entries[:10]:
            await journal.add(e)
        for e in entries[:5]:
            journal.remove(e.request_id)
        async with anyio.create_task_group() as tg:
            for e in entries[10:]:
                tg.start_soon(journal.add, e)
                await anyio.lowlevel.checkpoint()
    assert await reopen(path) == entries[5:]


async def test_concurrent_adds_share_transactions(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    entries = [entry(n) for n in range(2000)]

    async def add_some(journal: Journal, some: list[JournalEntry]) -> None:
        for e in some:
            await journal.add(e)

    async with running(path) as journal:
        async with anyio.create_task_group() as tg:
            for k in range(100):
                tg.start_soon(add_some, journal, entries[k::100])
        commits = journal._commits
    assert commits < len(entries) / 10  # group commit: many adds per transaction
    assert sorted(await reopen(path), key=lambda e: e.received_at) == entries


async def test_journal_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    async with running(path) as journal:
        await journal.add(entry())
        with closing(sqlite3.connect(path)) as other:
            assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
            count = "SELECT count(*) FROM events WHERE seq <> 0"  # row 0: the marker
            assert other.execute(count).fetchone() == (1,)


async def test_run_returns_when_closed(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.db")
    await journal.open()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(journal.run)
            await anyio.wait_all_tasks_blocked()
            await journal.close()


async def test_close_is_idempotent_and_add_after_close_fails(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(path)
    await journal.close()  # never opened: nothing to do
    journal = Journal(path)
    await journal.open()
    await journal.close()
    await journal.close()
    with pytest.raises(InvokerClosed, match="^Invoker is closed$"):
        await journal.add(entry())
    journal.remove("x")  # ignored once closed
    journal.set_attempts("x", 1)
    with pytest.raises(InvokerClosed):
        await journal.open()


async def test_add_before_open_fails(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.db")
    with pytest.raises(InvokerClosed, match="not open"):
        await journal.add(entry())
    with pytest.raises(InvokerClosed, match="not open"):
        await journal.run()


async def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the pages you are looking for\n" * 100)
    journal = Journal(path)
    with pytest.raises(InvalidParameterValueException, match="notes.txt.*not a faaslib journal"):
        await journal.open()
    await journal.close()
    assert path.read_bytes() == b"these are not the pages you are looking for\n" * 100


async def test_another_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as other, other:
        other.execute("CREATE TABLE events (id INTEGER)")
    with pytest.raises(InvalidParameterValueException, match="other.db.*not a faaslib journal"):
        await reopen(path)
    with closing(sqlite3.connect(path)) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # untouched


async def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "journal.db"
    with pytest.raises(InvalidParameterValueException, match="missing.*does not exist"):
        await reopen(path)
    assert not path.parent.exists()  # not created


async def test_a_failed_commit_fails_its_adds_and_not_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    kept = entry(2)
    async with running(path) as journal:
        with closing(sqlite3.connect(path)) as other:
            with other:
                other.execute(
                    "CREATE TRIGGER full BEFORE INSERT ON events "
                    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
                )
            failures: list[BaseException] = []

            async def add_failing(e: JournalEntry) -> None:
                with pytest.raises(ServiceException) as info:
                    await journal.add(e)
                failures.append(info.value)

            with anyio.fail_after(5):
                async with anyio.create_task_group() as tg:
                    for n in range(10):
                        tg.start_soon(add_failing, entry(n))
            assert len(failures) == 10
            assert all(type(f) is ServiceException for f in failures)
            assert all(str(path) in str(f) and "disk is full" in str(f) for f in failures)
            assert all(isinstance(f.__cause__, sqlite3.Error) for f in failures)
            with other:
                other.execute("DROP TRIGGER full")
        with anyio.fail_after(5):
            await journal.add(kept)  # the writer still runs
    assert await reopen(path) == [kept]


async def test_a_failed_last_commit_fails_close(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(path)
    await journal.open()
    with closing(sqlite3.connect(path)) as other, other:
        other.execute(
            "CREATE TRIGGER full BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    failures: list[BaseException] = []

    async def add_failing() -> None:
        with pytest.raises(ServiceException) as info:
            await journal.add(entry(1))
        failures.append(info.value)

    async with anyio.create_task_group() as tg:  # no run(): close() writes the batch
        tg.start_soon(add_failing)
        await anyio.wait_all_tasks_blocked()
        with pytest.raises(ServiceException, match="journal.db.*disk is full"):
            await journal.close()
    assert len(failures) == 1  # its add failed the same way


async def test_a_cancelled_add_does_not_break_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    cancelled, later = entry(1), entry(2)
    async with running(path) as journal:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await journal.add(cancelled)
        with anyio.fail_after(5):
            await journal.add(later)
    assert await reopen(path) == [cancelled, later]  # at least once: it was committed anyway


_KILLED_WRITER = """
import sys, time, anyio
from faaslib._journal import Journal, JournalEntry

async def main() -> None:
    journal = Journal(sys.argv[1])
    await journal.open()
    async with anyio.create_task_group() as tg:
        tg.start_soon(journal.run)
        async with anyio.create_task_group() as adders:
            for n in range(int(sys.argv[2])):
                e = JournalEntry(f"id-{n}", "work", "arn", b'{"n": %d}' % n, time.time(), 0)
                adders.start_soon(journal.add, e)
        print("ok", flush=True)
        await anyio.sleep(60)

anyio.run(main, backend="asyncio")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
async def test_added_entries_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(_KILLED_WRITER))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    count = 500
    async with await anyio.open_process(
        [sys.executable, str(script), str(path), str(count)], env=env
    ) as process:
        assert process.stdout is not None
        output = b""
        with anyio.fail_after(30):
            async for chunk in process.stdout:
                output += chunk
                if b"\n" in output:
                    break
            else:  # the writer died: show why
                assert process.stderr is not None
                errors = b"".join([chunk async for chunk in process.stderr])
                pytest.fail(f"writer process failed: {errors.decode()}")
        assert output == b"ok\n"
        process.send_signal(signal.SIGKILL)
        assert await process.wait() == -signal.SIGKILL
    assert (tmp_path / "journal.db-wal").exists()  # not checkpointed away: the kill left the log
    found = await reopen(path)
    assert [e.request_id for e in found] == [f"id-{n}" for n in range(count)]
    assert found[3].payload == b'{"n": 3}'
