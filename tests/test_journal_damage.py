"""A damaged journal: hand-edited rows, emptied or deleted files, a lost WAL.

Real SQLite files edited with :mod:`sqlite3` between two openers, files truncated or deleted
as an operator or a crash would leave them, real invokers; no mocks.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import pytest
from journal_helpers import reopen, running

import faaslib
from faaslib._journal import Journal, JournalEntry

ARN = "arn:aws:lambda:us-east-1:123456789012:function:work"
RECEIVED = 1_700_000_000.25


def entry(n: int = 0) -> JournalEntry:
    return JournalEntry(
        request_id=str(uuid.uuid4()),
        function="work",
        invoked_arn=ARN,
        payload=b'{"n": %d}' % n,
        received_at=RECEIVED + n,
        attempts=0,
    )


async def journal_of(path: Path, entries: list[JournalEntry]) -> None:
    async with running(path) as journal:
        for e in entries:
            await journal.add(e)


def edit(path: Path, sql: str, *args: object) -> None:
    """Change the journal by hand, as an operator with the sqlite3 shell would."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(sql, args)


def row_count(path: Path) -> int:
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM events WHERE seq <> 0").fetchone()[0])


def logged(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "faaslib" and r.levelno == level]


def crash_image(path: Path, directory: Path) -> Path:
    """Copy the files of an open journal as a crash (a SIGKILL) would leave them on disk.

    Taken between two commits, the copy is what the disk holds: the main file, the WAL with
    the commits not checkpointed yet, and ``<path>.lock``.
    """
    directory.mkdir()
    copy = directory / path.name
    for suffix in ("", "-wal", ".lock"):
        if os.path.exists(f"{path}{suffix}"):
            shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
    return copy


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path: str, data: bytes, *, truncate: bool = True) -> None:
    """Write ``data`` at the start of the file (created if missing), keeping the rest unless
    ``truncate``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if truncate else 0), 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


# -- the path ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["jour\0nal.db", "", b"journal.db"])
def test_a_path_that_cannot_name_a_file_is_refused(tmp_path: Path, bad: Any) -> None:
    path = bad if bad == "" or isinstance(bad, bytes) else str(tmp_path / bad)
    with pytest.raises(faaslib.InvalidParameterValueException, match="journal"):
        Journal(path)
    with pytest.raises(faaslib.InvalidParameterValueException, match="journal"):
        faaslib.Invoker(faaslib.Registry(), journal=path)


# -- damaged rows ------------------------------------------------------------------------------

DAMAGE = [
    pytest.param("due", "soon", "due", id="due-text"),
    pytest.param("due", float("inf"), "due", id="due-infinite"),
    pytest.param("due", RECEIVED + 1 + 6 * 3600 + 1, "due", id="due-after-the-greatest-age"),
    pytest.param("received_at", "yesterday", "received_at", id="received_at-text"),
    pytest.param("received_at", float("-inf"), "received_at", id="received_at-infinite"),
    pytest.param("received_at", b"\x01", "received_at", id="received_at-blob"),
    pytest.param("attempts", -1, "attempts", id="attempts-negative"),
    pytest.param("attempts", 1.5, "attempts", id="attempts-fraction"),
    pytest.param("attempts", "two", "attempts", id="attempts-text"),
    pytest.param("payload", '{"n": 1}', "payload", id="payload-text"),
    pytest.param("payload", b"\x00\xff not json", "payload", id="payload-not-json"),
    pytest.param("payload", 7, "payload", id="payload-number"),
    pytest.param("request_id", b"\x00\x01", "request_id", id="request_id-blob"),
    pytest.param("function", b"work", "function", id="function-blob"),
    pytest.param("invoked_arn", b"arn", "invoked_arn", id="invoked_arn-blob"),
    pytest.param("invoked_arn", "", "invoked_arn", id="invoked_arn-empty"),
    pytest.param("function", "", "function", id="function-empty"),
]


@pytest.mark.parametrize(("column", "value", "named"), DAMAGE)
async def test_a_damaged_row_is_kept_reported_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, column: str, value: object, named: str
) -> None:
    path = tmp_path / "journal.db"
    first, damaged, last = entry(0), entry(1), entry(2)
    await journal_of(path, [first, damaged, last])
    edit(path, f"UPDATE events SET {column} = ? WHERE request_id = ?", value, damaged.request_id)
    caplog.set_level(logging.INFO, logger="faaslib")

    assert await reopen(path) == [first, last]
    [error] = logged(caplog, logging.ERROR)
    assert str(path) in error
    assert "row 2" in error  # its rowid
    if column != "request_id":
        assert damaged.request_id in error
    assert named in error
    assert row_count(path) == 3  # kept in the file, not deleted

    caplog.clear()  # and reported again by the next open, until someone repairs it
    assert await reopen(path) == [first, last]
    assert len(logged(caplog, logging.ERROR)) == 1
    edit(path, f"UPDATE events SET {column} = ? WHERE rowid = 2", getattr(damaged, column))
    assert await reopen(path) == [first, damaged, last]


async def test_right_values_in_sqlite_s_other_storage_classes_are_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    e = entry(0)
    await journal_of(path, [e])
    # Column affinity turns numeric text into numbers; an integral time is a float.
    edit(path, "UPDATE events SET received_at = '1700000000', attempts = '2', due = 3")
    caplog.set_level(logging.INFO, logger="faaslib")
    [found] = await reopen(path)
    assert (found.received_at, found.attempts, found.due) == (1_700_000_000.0, 2, 3.0)
    assert (type(found.received_at), type(found.attempts), type(found.due)) == (float, int, float)
    assert logged(caplog, logging.ERROR) == []


async def test_many_damaged_rows_are_summed_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    entries = [entry(n) for n in range(40)]
    await journal_of(path, entries)
    edit(path, "UPDATE events SET due = 'later' WHERE rowid > 5")
    caplog.set_level(logging.INFO, logger="faaslib")
    assert await reopen(path) == entries[:5]
    errors = logged(caplog, logging.ERROR)
    assert len(errors) <= 11  # a few rows named one by one, then a count
    assert "35 damaged rows" in errors[-1]
    assert row_count(path) == 40


async def test_a_duplicated_request_id_runs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    first, second = entry(0), entry(1)
    await journal_of(path, [first, second])
    with closing(sqlite3.connect(path)) as conn, conn:  # the table rebuilt without UNIQUE
        conn.executescript(
            "ALTER TABLE events RENAME TO old;"
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL, "
            "function TEXT NOT NULL, invoked_arn TEXT NOT NULL, payload BLOB NOT NULL, "
            "received_at REAL NOT NULL, attempts INTEGER NOT NULL, due REAL NOT NULL DEFAULT 0);"
            "INSERT INTO events SELECT * FROM old; DROP TABLE old;"
        )
        conn.execute(
            "INSERT INTO events (request_id, function, invoked_arn, payload, received_at, "
            "attempts, due) SELECT request_id, function, invoked_arn, payload, received_at, "
            "attempts, due FROM events WHERE seq = 1"
        )
    caplog.set_level(logging.INFO, logger="faaslib")
    assert await reopen(path) == [first, second]
    [error] = logged(caplog, logging.ERROR)
    assert "row 3" in error
    assert first.request_id in error
    assert "row 1" in error


# -- a journal too damaged to open -------------------------------------------------------------


async def test_a_journal_without_its_events_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    await journal_of(path, [entry(0)])
    edit(path, "DROP TABLE events")
    with pytest.raises(faaslib.InvalidParameterValueException, match="journal.db.*events"):
        await reopen(path)
    with closing(sqlite3.connect(path)) as conn:  # not re-created behind the user's back
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master")]
    assert "events" not in names


async def test_a_journal_missing_a_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    await journal_of(path, [entry(0)])
    edit(path, "ALTER TABLE events DROP COLUMN due")
    with pytest.raises(faaslib.InvalidParameterValueException, match="journal.db.*due"):
        await reopen(path)


async def test_a_journal_with_broken_pages_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    await journal_of(path, [entry(n) for n in range(2000)])
    size = path.stat().st_size
    os.truncate(path, size // 2)  # a copy cut short: pages of the table are missing
    with pytest.raises(faaslib.InvalidParameterValueException, match="journal.db.*damaged"):
        await reopen(path)
    assert path.stat().st_size == size // 2  # left as it was, for the user to look at


# -- emptied, deleted and out-of-date files ----------------------------------------------------


@pytest.mark.parametrize("how", ["truncated", "deleted"])
async def test_a_main_file_emptied_or_deleted_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    path = tmp_path / "journal.db"
    await journal_of(path, [entry(n) for n in range(3)])
    if how == "truncated":
        os.truncate(path, 0)
    else:
        path.unlink()
    caplog.set_level(logging.INFO, logger="faaslib")
    assert await reopen(path) == []  # a new journal: the entries are gone
    [error] = logged(caplog, logging.ERROR)
    assert str(path) in error
    assert "3 unfinished" in error
    caplog.clear()
    assert await reopen(path) == []  # the new journal is the one in use: said once
    assert logged(caplog, logging.ERROR) == []


async def test_an_emptied_journal_that_held_nothing_is_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    e = entry(0)
    async with running(path) as journal:
        await journal.add(e)
        journal.remove(e.request_id)
    path.unlink()  # a reset, after a clean close that left nothing to do
    caplog.set_level(logging.INFO, logger="faaslib")
    assert await reopen(path) == []
    assert logged(caplog, logging.ERROR) == []
    assert logged(caplog, logging.WARNING) == []


async def test_an_emptied_main_file_with_its_wal_left_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    async with running(path) as journal:
        for n in range(3):
            await journal.add(entry(n))
        image = crash_image(path, tmp_path / "crash")
    os.truncate(image, 0)
    wal = read_bytes(f"{image}-wal")
    assert wal
    with pytest.raises(faaslib.InvalidParameterValueException, match="crash.*journal.db.*WAL"):
        await reopen(image)
    assert read_bytes(f"{image}-wal") == wal  # SQLite would have discarded it


@pytest.mark.parametrize("how", ["deleted", "truncated", "overwritten"])
async def test_a_lost_wal_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    path = tmp_path / "journal.db"
    kept = [entry(n) for n in range(3)]
    await journal_of(path, kept)  # closed: checkpointed into the main file
    async with running(path) as journal:
        for n in range(3, 10):
            await journal.add(entry(n))  # seven commits, in the WAL only
        image = crash_image(path, tmp_path / "crash")
    wal = f"{image}-wal"
    if how == "deleted":
        os.unlink(wal)
    elif how == "truncated":
        os.truncate(wal, 32 + 4096 + 24)  # the WAL header and its first frame (of page 1)
    else:
        write_bytes(wal, b"\0" * 64, truncate=False)
    caplog.set_level(logging.INFO, logger="faaslib")
    found = await reopen(image)
    assert found[:3] == kept
    [error] = logged(caplog, logging.ERROR)
    assert str(image) in error
    assert "WAL" in error
    lost = 10 - len(found)
    assert lost > 0
    assert f"up to {lost} accepted" in error
    caplog.clear()
    assert await reopen(image) == found  # reported once: the journal goes on from here
    assert logged(caplog, logging.ERROR) == []


async def test_a_crash_image_with_its_wal_opens_without_a_word(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    entries = [entry(n) for n in range(10)]
    async with running(path) as journal:
        for e in entries:
            await journal.add(e)
        image = crash_image(path, tmp_path / "crash")
    caplog.set_level(logging.INFO, logger="faaslib")
    assert await reopen(image) == entries
    assert logged(caplog, logging.ERROR) == []
    assert logged(caplog, logging.WARNING) == []


async def test_a_journal_written_before_the_marker_opens_without_a_word(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A journal of the first schema (no marker row, an empty lock file) is read as it was."""
    path = tmp_path / "journal.db"
    e = entry(0)
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, "
            "function TEXT NOT NULL, invoked_arn TEXT NOT NULL, payload BLOB NOT NULL, "
            "received_at REAL NOT NULL, attempts INTEGER NOT NULL, due REAL NOT NULL DEFAULT 0)"
        )
        conn.execute("PRAGMA application_id=1180787018")
        conn.execute("PRAGMA user_version=1")
        conn.execute(
            "INSERT INTO events (request_id, function, invoked_arn, payload, received_at, "
            "attempts) VALUES (?, ?, ?, ?, ?, ?)",
            (e.request_id, e.function, e.invoked_arn, e.payload, e.received_at, e.attempts),
        )
    write_bytes(f"{path}.lock", b"")
    caplog.set_level(logging.INFO, logger="faaslib")
    assert await reopen(path) == [e]
    with closing(sqlite3.connect(path)) as conn:  # upgraded: its marker row added
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM events WHERE seq = 0").fetchone() == (1,)
    assert await reopen(path) == [e]
    assert logged(caplog, logging.ERROR) == []
    assert logged(caplog, logging.WARNING) == []


async def test_a_journal_of_a_later_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    await journal_of(path, [entry(0)])
    edit(path, "PRAGMA user_version=3")
    with pytest.raises(faaslib.InvalidParameterValueException, match="schema version 3"):
        await reopen(path)


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE events SET attempts = 'many' WHERE seq = 0",
        "UPDATE events SET due = 0.5 WHERE seq = 0",
        "UPDATE events SET due = 9e999 WHERE seq = 0",
        "UPDATE events SET invoked_arn = 'x' WHERE seq = 0",
        "DELETE FROM events WHERE seq = 0",
    ],
)
async def test_a_damaged_marker_is_a_warning_and_written_anew(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    path = tmp_path / "journal.db"
    e = entry(0)
    await journal_of(path, [e])
    edit(path, damage)
    caplog.set_level(logging.INFO, logger="faaslib")
    assert await reopen(path) == [e]
    assert logged(caplog, logging.ERROR) == []
    caplog.clear()
    assert await reopen(path) == [e]
    assert logged(caplog, logging.WARNING) == []


async def test_a_journal_replaced_by_another_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, other = tmp_path / "journal.db", tmp_path / "other.db"
    await journal_of(path, [entry(0), entry(1)])
    replacement = entry(2)
    await journal_of(other, [replacement])
    shutil.copyfile(other, path)  # both closed: checkpointed, no WAL file
    caplog.set_level(logging.INFO, logger="faaslib")
    assert await reopen(path) == [replacement]
    [error] = logged(caplog, logging.ERROR)
    assert str(path) in error
    assert "not the journal last used" in error
    assert "2 unfinished" in error


async def test_rows_deleted_by_hand_are_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    kept, deleted = entry(0), entry(1)
    await journal_of(path, [kept, deleted])
    edit(path, "DELETE FROM events WHERE request_id = ?", deleted.request_id)
    caplog.set_level(logging.INFO, logger="faaslib")
    assert await reopen(path) == [kept]
    [warning] = logged(caplog, logging.WARNING)
    assert "holds 1 entry where its last commit left 2" in warning
    assert logged(caplog, logging.ERROR) == []


async def test_an_unreadable_lock_file_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    e = entry(0)
    await journal_of(path, [e])
    write_bytes(f"{path}.lock", b"\x00garbage\n")
    caplog.set_level(logging.INFO, logger="faaslib")
    assert await reopen(path) == [e]
    [warning] = logged(caplog, logging.WARNING)
    assert f"{path}.lock" in warning
    caplog.clear()
    assert await reopen(path) == [e]  # rewritten
    assert logged(caplog, logging.WARNING) == []


# -- through the invoker, on both backends -----------------------------------------------------


def make_registry(*, block: bool, seen: list[str]) -> faaslib.Registry:
    registry = faaslib.Registry()

    @registry.function(timeout=60)
    async def work(event: Any, context: faaslib.Context) -> None:
        if block:
            await anyio.sleep_forever()
        seen.append(context.aws_request_id)

    return registry


async def accept_unfinished(path: Path, count: int) -> list[str]:
    """Request ids of ``count`` events an invoker accepted and left unfinished in ``path``."""
    async with faaslib.Invoker(
        make_registry(block=True, seen=[]), journal=path, on_exit="cancel"
    ) as invoker:
        return [(await invoker.invoke("work", {"n": n}, "Event")).request_id for n in range(count)]


@pytest.mark.parametrize(
    ("column", "value"),
    [("due", "soon"), ("received_at", "yesterday"), ("attempts", -2), ("payload", b"\xff")],
)
async def test_an_invoker_replays_the_rest_of_a_journal_with_a_damaged_row(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, column: str, value: object
) -> None:
    path = tmp_path / "journal.db"
    ids = await accept_unfinished(path, 3)
    edit(path, f"UPDATE events SET {column} = ? WHERE request_id = ?", value, ids[1])
    seen: list[str] = []
    caplog.set_level(logging.INFO, logger="faaslib")
    with anyio.fail_after(10):
        async with faaslib.Invoker(make_registry(block=False, seen=seen), journal=path) as second:
            pass
    assert seen == [ids[0], ids[2]]
    assert second.statistics().events_replayed == 2
    [error] = logged(caplog, logging.ERROR)
    assert str(path) in error
    assert ids[1] in error
    assert column in error
    with closing(sqlite3.connect(path)) as conn:  # the damaged row stays, for repair
        rows = conn.execute("SELECT request_id FROM events WHERE seq <> 0").fetchall()
    assert rows == [(ids[1],)]


async def test_an_invoker_reports_a_journal_emptied_since_the_last(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    await accept_unfinished(path, 4)
    os.truncate(path, 0)
    caplog.set_level(logging.INFO, logger="faaslib")
    async with faaslib.Invoker(make_registry(block=False, seen=[]), journal=path) as second:
        assert (await second.invoke("work", {}, "Event")).status_code == 202  # usable
    [error] = logged(caplog, logging.ERROR)
    assert str(path) in error
    assert "4 unfinished" in error


async def test_an_invoker_reports_a_lost_wal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.db"
    async with faaslib.Invoker(
        make_registry(block=True, seen=[]), journal=path, on_exit="cancel"
    ) as first:
        for n in range(5):
            await first.invoke("work", {"n": n}, "Event")
        image = crash_image(path, tmp_path / "crash")
    os.unlink(f"{image}-wal")
    seen: list[str] = []
    caplog.set_level(logging.INFO, logger="faaslib")
    async with faaslib.Invoker(make_registry(block=False, seen=seen), journal=image) as second:
        pass
    [error] = logged(caplog, logging.ERROR)
    assert str(image) in error
    assert "WAL" in error
    assert "up to 5 accepted" in error
    assert second.statistics().events_replayed == len(seen) == 0


async def test_an_invoker_refuses_a_journal_without_its_table(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    await accept_unfinished(path, 1)
    edit(path, "DROP TABLE events")
    with pytest.raises(faaslib.InvalidParameterValueException, match="journal.db"):
        async with faaslib.Invoker(make_registry(block=False, seen=[]), journal=path):
            pytest.fail("entered")  # pragma: no cover


async def test_a_failed_commit_is_a_service_exception(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    async with faaslib.Invoker(make_registry(block=False, seen=[]), journal=path) as invoker:
        edit(
            path,
            "CREATE TRIGGER full BEFORE INSERT ON events "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
        )
        with pytest.raises(faaslib.ServiceException, match="disk is full") as info:
            await invoker.invoke("work", {}, "Event")
        assert info.value.status_code == 500
        assert str(path) in str(info.value)
        edit(path, "DROP TRIGGER full")
        assert (await invoker.invoke("work", {}, "Event")).status_code == 202
