"""Faults of the journal (issue 16, item 3): a file damaged before an invoker opens it, and a
disk that fills up while the invoker runs. Nothing answered 202 is lost or run by surprise:
a journal too damaged to read is refused and left as it was, a damaged row is reported and
kept, and an Event invocation the journal cannot commit is refused with ``ServiceException``
while RequestResponse invocations carry on.

Real SQLite files, real processes, and real full disks: ``RLIMIT_FSIZE`` (writes fail with
EFBIG) everywhere on Linux, and a small tmpfs (ENOSPC) where unprivileged user and mount
namespaces are allowed (``unshare -rm``).
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import pytest
from journal_helpers import reopen, running
from proc_helpers import script_env

import faaslib
from faaslib._journal import JournalEntry

RUN = Path(__file__).parent / "faults_journal_run.py"
EVENTS = 60


def registry(ran: list[int], gate: anyio.Event | None = None) -> faaslib.Registry:
    functions = faaslib.Registry()

    @functions.function(timeout=60)
    async def work(event: dict[str, Any]) -> None:
        if gate is not None:
            await gate.wait()
        ran.append(event["n"])

    return functions


async def unfinished_journal(path: Path) -> None:
    """A journal left holding ``EVENTS`` accepted events (about 20 pages)."""
    held = anyio.Event()  # never set: every event is running or queued when the block is left
    async with faaslib.Invoker(registry([], held), journal=path, on_exit="cancel") as invoker:
        for n in range(EVENTS):
            await invoker.invoke("work", {"n": n, "pad": "p" * 1000}, "Event")


def has_wal(path: Path) -> bool:
    return os.path.lexists(f"{path}-wal")


def damage(data: bytes, how: str) -> bytes:
    if how == "cut-in-the-header":
        return data[:50]
    if how == "zeroed-header":
        return bytes(100) + data[100:]
    if how == "garbage-page":
        return data[: 4096 * 5] + os.urandom(4096) + data[4096 * 6 :]
    assert how == "last-page-cut"
    return data[:-4096]


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("cut-in-the-header", "is damaged"),
        ("zeroed-header", "is not a faaslib journal"),
        ("garbage-page", "is damaged"),
        ("last-page-cut", "is damaged"),
    ],
)
async def test_a_journal_damaged_before_it_opens_is_refused_and_left_as_it_was(
    tmp_path: Path, how: str, says: str
) -> None:
    path = tmp_path / "journal.db"
    await unfinished_journal(path)
    assert not has_wal(path)  # all in the main file: the damage hits it
    whole = path.read_bytes()
    damaged = damage(whole, how)
    path.write_bytes(damaged)
    ran: list[int] = []
    with pytest.raises(faaslib.InvalidParameterValueException) as info:
        async with faaslib.Invoker(registry(ran), journal=path):
            pytest.fail("an invoker opened a damaged journal")  # pragma: no cover
    assert str(path) in str(info.value)
    assert says in str(info.value)
    assert info.value.status_code == 400
    assert ran == []
    assert path.read_bytes() == damaged  # left for the user to repair or move away
    assert not has_wal(path)
    # Refusing lost nothing: the file put back, every accepted event runs.
    path.write_bytes(whole)
    async with faaslib.Invoker(registry(ran), journal=path) as invoker:
        pass
    assert sorted(ran) == list(range(EVENTS))
    assert invoker.statistics().events_replayed == EVENTS


async def test_a_journal_cut_inside_its_last_page_reports_the_rows_it_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite reads the missing end of a page as zeros: the rows there are damaged, reported
    with their rowid and request id, kept and not run; every other event replays."""
    path = tmp_path / "journal.db"
    await unfinished_journal(path)
    os.truncate(path, path.stat().st_size - 1000)
    ran: list[int] = []
    caplog.set_level(logging.ERROR, logger="faaslib")
    async with faaslib.Invoker(registry(ran), journal=path) as invoker:
        pass
    errors = [
        r.getMessage() for r in caplog.records if r.name == "faaslib" and r.levelno >= logging.ERROR
    ]
    assert errors, "rows cut short were dropped without a word"
    assert all(str(path) in e and "damaged" in e for e in errors)
    lost = EVENTS - len(ran)
    assert 1 <= lost == len(errors)
    assert len(set(ran)) == len(ran)
    assert set(ran) <= set(range(EVENTS))
    assert invoker.statistics().events_replayed == len(ran)
    caplog.clear()
    ran.clear()
    async with faaslib.Invoker(registry(ran), journal=path):  # still there, still said
        pass
    assert ran == []
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == lost


# -- a disk that fills up while the invoker runs --------------------------------------------------


def _unshare_works() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return False
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d; rmdir $d"
    try:
        done = subprocess.run(
            [unshare, "-rm", "sh", "-c", probe], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _run_and_replay(tmp_path: Path, fault: str, ending: str, backend: str) -> list[Any]:
    """The script's two runs on one journal; their JSON lines and the first run's status."""
    python = shlex.quote(sys.executable)
    script = shlex.quote(str(RUN))
    if fault == "fsize":
        directory = tmp_path
        prefix = ""
    else:  # a 512 KB file system of its own, seen by both runs (in one mount namespace)
        directory = tmp_path / "small"
        directory.mkdir()
        prefix = f"mount -t tmpfs -o size=512k tmpfs {shlex.quote(str(directory))} && "
    journal = shlex.quote(str(directory / "journal.db"))
    other = "trio" if backend == "asyncio" else "asyncio"
    shell = (
        f"{prefix}{python} {script} run {journal} {fault} {ending} {backend}; echo $?; "
        f"{python} {script} replay {journal} {other}"
    )
    command = ["sh", "-c", shell] if fault == "fsize" else ["unshare", "-rm", "sh", "-c", shell]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=script_env(), check=False
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert len(lines) == 3, (done.stdout, done.stderr)
    return [json.loads(line) for line in lines]


FAULTS = [
    pytest.param("fsize", "recover", "asyncio", id="fsize-recover"),
    pytest.param("fsize", "die", "trio", id="fsize-die"),
    pytest.param("enospc", "recover", "trio", id="enospc-recover"),
    pytest.param("enospc", "die", "asyncio", id="enospc-die"),
]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE and tmpfs")
@pytest.mark.timeout(90)
@pytest.mark.parametrize(("fault", "ending", "backend"), FAULTS)
def test_a_full_disk_refuses_events_with_service_exception_and_loses_none(
    tmp_path: Path, fault: str, ending: str, backend: str
) -> None:
    if fault == "enospc" and not _unshare_works():
        pytest.skip("no unprivileged user and mount namespaces here (unshare -rm)")
    first, status, second = _run_and_replay(tmp_path, fault, ending, backend)
    # While the disk was full: Event invocations refused with Lambda's 500, never a 202.
    assert sorted(map(int, first["refused"])) == [5, 6, 7, 8, 9]
    for error_type, status_code, message in first["refused"].values():
        assert (error_type, status_code) == ("ServiceException", 500)
        assert "journal.db" in message
        assert "commit failed" in message
    assert first["sync"] == 100  # RequestResponse carried on
    accepted = set(first["accepted"])
    if ending == "recover":
        assert status == 0
        assert accepted == {0, 1, 2, 3, 4, 10, 11, 12, 13, 14}
    else:
        assert status == 128 + 9  # killed by SIGKILL
        assert accepted == {0, 1, 2, 3, 4}
    ran_first, ran_second = first["ran"], second["ran"]
    assert sorted(ran_first) == sorted(accepted | {100})  # all ran while the first lived
    ran_first.remove(100)
    # Refused events never run; what ran is what was accepted, at least once.
    assert set(ran_first) | set(ran_second) == accepted
    assert second["replayed"] == len(ran_second)
    if ending == "die":
        # Events 0-4 finished while their deletes could not be committed: they run again.
        assert sorted(ran_second) == [0, 1, 2, 3, 4]
    else:
        # Once the disk had room again, the deletes that had failed were committed.
        assert ran_second == []


# -- a journal whose writes fail: what the writer keeps, and what it refuses at open ---------------

FULL = [
    f"CREATE TRIGGER full_{verb} BEFORE {verb} ON events "
    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    for verb in ("INSERT", "UPDATE", "DELETE")
]


def make_full(path: Path, full: bool) -> None:
    """Make every write of the journal fail as on a full disk (SQLite's own error), or not."""
    with closing(sqlite3.connect(path)) as conn, conn:
        for create in FULL:
            conn.execute(create if full else f"DROP TRIGGER {create.split()[2]}")


def entry(name: str) -> JournalEntry:
    return JournalEntry(name, "work", "arn:aws:lambda:us-east-1:1:function:work", b"{}", 1.0, 0)


async def test_a_delete_that_failed_is_committed_once_writes_work_again(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    finished, refused, later = entry("finished"), entry("refused"), entry("later")
    async with running(path) as journal:
        await journal.add(finished)
        make_full(path, True)
        with pytest.raises(faaslib.ServiceException, match="disk is full"):
            await journal.add(refused)
        journal.remove(refused.request_id)  # as the invoker does for an add that failed
        journal.remove(finished.request_id)  # it ran while the disk was full
        await anyio.sleep(0.1)  # the writer tries, and fails
        make_full(path, False)
        with anyio.fail_after(5):
            await journal.add(later)  # this transaction deletes ``finished`` too
    assert await reopen(path) == [later]


async def test_a_journal_still_full_at_close_fails_only_for_what_it_could_not_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.db"
    async with running(path) as journal:
        make_full(path, True)
        with pytest.raises(faaslib.ServiceException):
            await journal.add(entry("refused"))
        journal.remove("refused")  # nothing to delete: closing has nothing to write
    make_full(path, False)
    kept = entry("kept")

    async def finish_while_full() -> None:
        async with running(path) as journal:
            await journal.add(kept)
            make_full(path, True)
            journal.remove(kept.request_id)  # finished, but the delete cannot be written

    with pytest.raises(faaslib.ServiceException, match="journal.db.*disk is full"):
        await finish_while_full()
    make_full(path, False)
    assert await reopen(path) == [kept]  # it will run again: at least once


_OPEN = """
import sys, anyio, faaslib

async def main() -> None:
    registry = faaslib.Registry()
    registry.function(lambda event: None, name="work")
    try:
        async with faaslib.Invoker(registry, journal=sys.argv[1]):
            print("opened")
    except faaslib.FaaslibError as exc:
        print(type(exc).__name__, exc)

anyio.run(main)
"""


def _as_nobody() -> list[str] | None:
    setpriv = shutil.which("setpriv")
    if setpriv is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="setpriv, unshare and tmpfs")
@pytest.mark.parametrize("how", ["read-only-file", "read-only-file-system"])
def test_a_journal_that_cannot_be_written_is_refused_at_open(tmp_path: Path, how: str) -> None:
    python = [sys.executable, "-c", _OPEN]
    if how == "read-only-file":
        nobody = _as_nobody()
        if nobody is None:
            pytest.skip("needs root and setpriv to run as another user")
        tmp_path.chmod(0o777)
        journal = tmp_path / "journal.db"
        anyio.run(unfinished_journal, journal)
        Path(f"{journal}.lock").chmod(0o666)  # the lock can be taken: only the file is read-only
        journal.chmod(0o444)
        before = journal.read_bytes()
        done = subprocess.run(
            [*nobody, *python, str(journal)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert journal.read_bytes() == before
    else:
        if not _unshare_works():
            pytest.skip("no unprivileged user and mount namespaces here (unshare -rm)")
        small = tmp_path / "small"
        small.mkdir()
        journal = small / "journal.db"
        q = shlex.quote
        command = " ".join(map(q, [*python, str(journal)]))
        shell = (
            f"mount -t tmpfs -o size=1m tmpfs {q(str(small))} && {command} && "
            f"mount -o remount,ro {q(str(small))} && {command}"
        )
        done = subprocess.run(
            ["unshare", "-rm", "sh", "-c", shell],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert lines[-1].startswith("InvalidParameterValueException Cannot open journal"), lines
    assert str(journal) in lines[-1]
