"""``Journal``: a durable record of accepted Event invocations, in SQLite, off the event loop."""

from __future__ import annotations

import enum
import logging
import math
import os
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Literal

try:
    import fcntl
except ImportError:  # Windows: no advisory lock, one invoker per journal is up to the user
    fcntl = None  # type: ignore[assignment]

import anyio
import pydantic_core
from anyio import CancelScope, CapacityLimiter, to_thread

from ._errors import InvalidParameterValueException, InvokerClosed, ServiceException
from ._spec import MAX_EVENT_AGE

__all__ = ["Journal", "JournalEntry"]

logger = logging.getLogger("faaslib")

#: ``PRAGMA application_id`` of a faaslib journal ("FaaJ"), and its schema version: 2 adds
#: the marker row to version 1, which is upgraded when opened.
_APPLICATION_ID = 0x4661614A
_SCHEMA_VERSION = 2
# ``seq`` (an alias of the rowid, kept by VACUUM) is the acceptance order.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL "
    "UNIQUE, function TEXT NOT NULL, invoked_arn TEXT NOT NULL, payload BLOB NOT NULL, "
    "received_at REAL NOT NULL, attempts INTEGER NOT NULL, due REAL NOT NULL DEFAULT 0)"
)
# The marker: row 0 of ``events`` (no entry has seq 0 or an empty request id) names the
# journal (``invoked_arn``: a random id) and counts its commits (``attempts``) and inserted
# entries (``due``). Each transaction updates it, and ``<path>.lock`` repeats it after each
# commit: an open that finds fewer commits in the database than in the lock file knows that
# commits were lost. A row of its own table would cost each commit a page more in the WAL;
# row 0 shares the first leaf page with the oldest entries, whose deletion writes it anyway.
_MARKER_INSERT = (
    "INSERT INTO events (seq, request_id, function, invoked_arn, payload, received_at, "
    "attempts, due) VALUES (0, '', '', ?, x'', 0, 0, 0)"
)
_MARKER_SELECT = "SELECT invoked_arn, attempts, due FROM events WHERE seq = 0"
_INSERT = (
    "INSERT OR IGNORE INTO events (request_id, function, invoked_arn, payload, received_at, "
    "attempts, due) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT seq, request_id, function, invoked_arn, payload, received_at, attempts, due "
    "FROM events WHERE seq <> 0 ORDER BY seq"
)
_COUNT = "UPDATE events SET attempts = ?, due = ? WHERE seq = 0"
#: Damaged rows logged one by one at an open; more are summed up in one message.
_DAMAGED_LOGGED = 10


@dataclass(frozen=True, slots=True)
class _Mark:
    """The marker as ``<path>.lock`` holds it, with the entries left by the last commit."""

    journal: str
    commits: int
    inserts: int
    pending: int

    def encode(self) -> bytes:
        """Fixed-width text, so that each write overwrites the last one whole."""
        return b"faaslib journal %s %020d %020d %020d\n" % (
            self.journal.encode(),
            self.commits,
            self.inserts,
            self.pending,
        )

    @classmethod
    def decode(cls, data: bytes) -> _Mark:
        """:raises ValueError: not a mark"""
        words = data.split(b" ")
        if len(words) != 6 or words[:2] != [b"faaslib", b"journal"] or data[-1:] != b"\n":
            raise ValueError(data)
        journal = words[2].decode("ascii")
        counts = [int(w) for w in words[3:]]
        if not _is_journal_id(journal) or min(counts) < 0:
            raise ValueError(data)
        return cls(journal, *counts)


def _checked_marker(found: list[tuple[object, ...]], rows: int) -> _Mark | None:
    """The marker the database holds; None if it is damaged or missing."""
    if len(found) == 1:
        journal, commits, inserts = found[0]  # inserts: a REAL column, exact up to 2**53
        if (
            isinstance(journal, str)
            and _is_journal_id(journal)
            and isinstance(commits, int)
            and isinstance(inserts, (int, float))
            and min(commits, inserts) >= 0
            and math.isfinite(inserts)
            and inserts == int(inserts)
        ):
            return _Mark(journal, commits, int(inserts), rows)
    return None


def _is_journal_id(value: str) -> bool:
    return len(value) == 32 and not value.strip("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One accepted Event invocation, as journaled."""

    request_id: str
    function: str
    invoked_arn: str
    #: The event's JSON bytes as accepted.
    payload: bytes
    #: Seconds since the epoch (the invoker's clock) when accepted.
    received_at: float
    #: Handler attempts made so far (0 when accepted).
    attempts: int
    #: When the next attempt is due (the invoker's clock); 0 for at once.
    due: float = 0.0


#: Where the marker of an opened journal comes from: written with the new journal's schema,
#: found, or added to a version 1 journal.
_Marker = Literal["created", "found", "added"]


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class _Batch:
    """The ``add()`` callers of one transaction: woken together when it ends."""

    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.error: BaseException | None = None


class Journal:
    """Durable store of accepted Event invocations: SQLite in WAL mode, off the event loop.

    :meth:`add` returns once its entry is committed. Commits use ``synchronous=NORMAL``: they
    survive a crash or kill of the process (SIGKILL included), not necessarily a power loss
    or an operating-system crash. All SQLite calls run one at a time in a worker thread;
    :meth:`run` commits whatever is pending in one transaction (group commit), so adds made
    while a commit runs share the next one. :meth:`set_attempts` and :meth:`remove` do not
    wait: they are written with the next transaction (inserts, then updates, then deletes).

    ``<path>.lock`` is locked while the journal is open (one invoker per journal), and holds
    the journal's identity and commit count as of its last commit: :meth:`open` compares them
    with the database to tell a file emptied, deleted or replaced, or commits lost with the
    WAL file (``<path>-wal``), and says so.

    Use: ``await open()``, start :meth:`run` as a task, ``await close()`` when done.

    :param path: the database file; its directory must exist
    :raises ~faaslib.InvalidParameterValueException: ``path`` cannot name a file (empty,
        holding a NUL character, or not text)
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            name = os.fspath(path)
        except TypeError:
            name = path  # type: ignore[assignment]
        if not isinstance(name, str) or not name or "\0" in name:
            raise InvalidParameterValueException(
                f"The journal must be the path of a file, got {path!r}"
            )
        #: The database file.
        self.path: str = name
        self._state = _State.NEW
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None  # held while open: one invoker per journal
        self._limiter = CapacityLimiter(1)
        self._inserts: list[JournalEntry] = []
        self._attempts: dict[str, tuple[int, float]] = {}
        self._removes: list[str] = []
        self._batch: _Batch | None = None  # waiters of the pending inserts
        self._committing: _Batch | None = None  # the transaction running now
        self._wakeup: anyio.Event | None = None  # set when run() waits for work
        self._closed: anyio.Event | None = None
        self._commits = 0  # transactions committed by this instance (for tests)
        # The marker, as of the last commit: written to the database and to <path>.lock.
        self._mark = _Mark("", 0, 0, 0)
        self._mark_failed = False

    async def open(self) -> list[JournalEntry]:
        """Open the journal, creating it if the file is new or empty.

        A damaged row (a value of the wrong type or out of range, a payload that is not
        JSON, a request id seen before) stays in the file, is logged at ERROR level with its
        rowid and request id, and is not returned. A file emptied, deleted or replaced since
        the last commit, and commits lost with the WAL file, are logged at ERROR level.

        :return: the unfinished entries (added, not removed), in acceptance order
        :raises ~faaslib.InvalidParameterValueException: the directory does not exist, the
            file is not a faaslib journal, or it is too damaged to be read (its table gone,
            pages broken, the main file empty while its WAL file is not)
        :raises ~faaslib.InvokerClosed: the journal was opened before
        """
        if self._state is not _State.NEW:
            raise InvokerClosed("A Journal can be opened only once; create a new one")
        with CancelScope(shield=True):  # a connection opened in the thread is never lost
            self._conn, entries = await to_thread.run_sync(self._connect, limiter=self._limiter)
        self._batch = _Batch()
        self._state = _State.OPEN
        return entries

    def _connect(self) -> tuple[sqlite3.Connection, list[JournalEntry]]:
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise InvalidParameterValueException(
                f"Cannot open journal {self.path!r}: directory {directory!r} does not exist"
            )
        self._lock()
        try:
            last = self._read_mark()
            conn, marker = self._connect_locked(journal_header=self._read_header())
            try:
                entries = self._read(conn, last, marker)
            except BaseException:
                conn.close()
                raise
            self._write_mark(truncate=True)
        except BaseException:
            self._unlock()
            raise
        return conn, entries

    def _lock(self) -> None:
        """Open ``<path>.lock`` and take it: a second invoker would run its events twice."""
        try:
            fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InvalidParameterValueException(
                f"Cannot open journal {self.path!r}: {exc}"
            ) from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise InvalidParameterValueException(
                    f"Journal {self.path!r} is in use by another invoker"
                ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the lock
            self._lock_fd = None

    def _read_mark(self) -> _Mark | None:
        """The mark the last commit left in ``<path>.lock``; None if there is none."""
        assert self._lock_fd is not None
        try:
            os.lseek(self._lock_fd, 0, os.SEEK_SET)
            data = os.read(self._lock_fd, 4096)
        except OSError as exc:
            logger.warning(
                "Journal %r: cannot read %r (%s); commits lost before this open cannot be detected",
                self.path,
                self.path + ".lock",
                exc,
            )
            return None
        if not data:  # a new lock file, or one of a journal written before the marker
            return None
        try:
            return _Mark.decode(data)
        except ValueError:
            logger.warning(
                "Journal %r: %r does not hold a faaslib journal's marker; it is written anew, "
                "and commits lost before this open cannot be detected",
                self.path,
                self.path + ".lock",
            )
            return None

    def _read_header(self) -> bool:
        """Whether the file starts with a faaslib journal's header (SQLite's, with our
        application id), read before SQLite parses the rest.

        :raises ~faaslib.InvalidParameterValueException: the file is empty or missing while
            its WAL file is not: opening it would discard the commits the WAL holds
        """
        try:
            with open(self.path, "rb") as file:
                header = file.read(72)
        except FileNotFoundError:
            header = b""
        except OSError:
            return False  # a directory, no permission: SQLite says what is wrong
        if not header:
            wal = self.path + "-wal"
            try:
                wal_size = os.stat(wal).st_size
            except OSError:
                wal_size = 0
            if wal_size:
                raise InvalidParameterValueException(
                    f"Journal {self.path!r} is damaged: the file is empty or missing while its "
                    f"WAL file {wal!r} holds {wal_size} bytes of commits, which opening it "
                    "would discard. Restore the file, or move both away to start a new journal"
                )
        return header[:16] == b"SQLite format 3\0" and header[68:72] == _APPLICATION_ID.to_bytes(
            4, "big"
        )

    def _damaged(self, detail: object) -> InvalidParameterValueException:
        return InvalidParameterValueException(
            f"Journal {self.path!r} is damaged ({detail}); it is left as it is. Repair it "
            "with the sqlite3 shell (.recover), or move it away to start a new journal"
        )

    def _connect_locked(self, *, journal_header: bool) -> tuple[sqlite3.Connection, _Marker]:
        """Connect, check what the file is, and create the schema it lacks; return the
        connection and where its marker comes from."""
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise InvalidParameterValueException(
                f"Cannot open journal {self.path!r}: {exc}"
            ) from None
        try:
            try:
                app_id = conn.execute("PRAGMA application_id").fetchone()[0]
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
            except sqlite3.DatabaseError as exc:
                if journal_header:  # a journal whose pages are broken
                    raise self._damaged(exc) from None
                raise InvalidParameterValueException(
                    f"{self.path!r} is not a faaslib journal: {exc}"
                ) from None
            if app_id == _APPLICATION_ID and version not in (1, _SCHEMA_VERSION):
                raise InvalidParameterValueException(
                    f"Journal {self.path!r} has schema version {version}, this faaslib "
                    f"reads version {_SCHEMA_VERSION}"
                )
            if app_id != _APPLICATION_ID and (app_id or tables):
                raise InvalidParameterValueException(
                    f"{self.path!r} is not a faaslib journal: it is another application's "
                    "SQLite database"
                )
            if app_id and "events" not in tables:  # creation is one transaction: by hand
                raise self._damaged("its events table is gone")
            try:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode != "wal":
                    raise InvalidParameterValueException(
                        f"Cannot open journal {self.path!r}: WAL mode unavailable ({mode})"
                    )
                conn.execute("PRAGMA synchronous=NORMAL")
                if app_id:
                    problems = [p for (p,) in conn.execute("PRAGMA quick_check(5)")]
                    if problems != ["ok"]:
                        raise self._damaged("; ".join(map(str, problems)))
                marker: _Marker = (
                    "created" if not tables else "found" if version == _SCHEMA_VERSION else "added"
                )
                if marker != "found":  # a new journal, or a version 1 one
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(_SCHEMA)
                    conn.execute(_MARKER_INSERT, (uuid.uuid4().hex,))
                    conn.execute(f"PRAGMA application_id={_APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                    # Into the main file: a WAL file lost later takes entries, not the schema.
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.DatabaseError as exc:
                if type(exc) is sqlite3.DatabaseError:  # SQLite's corrupt or not-a-database
                    raise self._damaged(exc) from None
                raise InvalidParameterValueException(
                    f"Cannot open journal {self.path!r}: {exc}"
                ) from None
            except sqlite3.Error as exc:
                raise InvalidParameterValueException(
                    f"Cannot open journal {self.path!r}: {exc}"
                ) from None
        except BaseException:
            conn.close()
            raise
        return conn, marker

    def _read(
        self, conn: sqlite3.Connection, last: _Mark | None, marker: _Marker
    ) -> list[JournalEntry]:
        """The valid entries; damaged rows and lost commits are logged."""
        try:
            found = conn.execute(_MARKER_SELECT).fetchall()
            rows = conn.execute(_SELECT).fetchall()
        except sqlite3.Error as exc:  # a column gone, pages broken
            raise self._damaged(exc) from None
        mark = _checked_marker(found, len(rows))
        trusted = mark is not None and (marker != "added" or last is None)
        if not trusted:  # a marker deleted by hand (the lock file has one) hides lost commits
            logger.warning(
                "Journal %r: its marker row is damaged or gone and is written anew; commits "
                "lost before this open cannot be detected",
                self.path,
            )
        if mark is None:
            mark = self._mark = _Mark(uuid.uuid4().hex, 0, 0, len(rows))
            self._rewrite_marker(conn)
        self._mark = mark
        if trusted and last is not None:
            self._compare(last, created=marker == "created")
        entries: list[JournalEntry] = []
        seen: dict[object, int] = {}
        damaged = 0
        for row in rows:
            checked = _check_row(row)
            if isinstance(checked, JournalEntry):
                first = seen.setdefault(checked.request_id, row[0])
                if first == row[0]:
                    entries.append(checked)
                    continue
                checked = f"row {first} has the same request id"
            damaged += 1
            if damaged <= _DAMAGED_LOGGED:
                logger.error(
                    "Journal %r: row %d (request id %r) is damaged: %s. It stays in the "
                    "journal and is not run; repair or delete it with the sqlite3 shell",
                    self.path,
                    row[0],
                    row[1],
                    checked,
                )
        if damaged > _DAMAGED_LOGGED:
            logger.error(
                "Journal %r: %d damaged rows in all stay in the journal and are not run",
                self.path,
                damaged,
            )
        return entries

    def _rewrite_marker(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM events WHERE seq = 0")
            conn.execute(_MARKER_INSERT, (self._mark.journal,))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise InvalidParameterValueException(
                f"Cannot open journal {self.path!r}: {exc}"
            ) from None

    def _compare(self, last: _Mark, *, created: bool) -> None:
        """Log what the mark in ``<path>.lock`` shows was lost since the last commit."""
        mark = self._mark
        if last.journal != mark.journal:
            if last.pending and created:
                logger.error(
                    "Journal %r was emptied or deleted since its last use: it held %d "
                    "unfinished Event invocations at its last commit (as %r shows), which "
                    "are lost. A new, empty journal starts",
                    self.path,
                    last.pending,
                    self.path + ".lock",
                )
            elif last.pending:
                logger.error(
                    "Journal %r is not the journal last used at this path: that one held %d "
                    "unfinished Event invocations at its last commit (as %r shows), and they "
                    "are not in this file. They are lost unless that file is put back",
                    self.path,
                    last.pending,
                    self.path + ".lock",
                )
        elif mark.commits < last.commits:
            lost = last.inserts - mark.inserts
            logger.error(
                "Journal %r lacks its last %d commits (its WAL file %r was deleted or "
                "truncated, or the file was restored from a copy): %s, and invocations "
                "finished in them may run again",
                self.path,
                last.commits - mark.commits,
                self.path + "-wal",
                f"up to {lost} accepted Event invocations are lost"
                if lost
                else "no accepted Event invocation is lost",
            )
        elif mark.commits == last.commits and mark.pending != last.pending:
            logger.warning(
                "Journal %r holds %d entries where its last commit left %d: it was changed "
                "outside faaslib",
                self.path,
                mark.pending,
                last.pending,
            )

    def _write_mark(self, *, truncate: bool = False) -> None:
        """Write the mark to ``<path>.lock`` (no fsync: as durable as a commit)."""
        if self._lock_fd is None or self._mark_failed:
            return
        data = self._mark.encode()
        try:
            if _pwrite is not None:
                _pwrite(self._lock_fd, data, 0)
            else:  # pragma: no cover - Windows
                os.lseek(self._lock_fd, 0, os.SEEK_SET)
                os.write(self._lock_fd, data)
            if truncate:
                os.ftruncate(self._lock_fd, len(data))
        except OSError as exc:
            self._mark_failed = True
            logger.warning(
                "Journal %r: cannot write %r (%s); commits lost later cannot be detected",
                self.path,
                self.path + ".lock",
                exc,
            )

    async def run(self) -> None:
        """Commit pending work as it comes, until cancelled or the journal is closed.

        A failed transaction (e.g. disk full) fails the :meth:`add` calls of its batch, is
        logged, and does not stop the writer.
        """
        if self._state is _State.NEW:
            raise InvokerClosed("Journal is not open: call open() first")
        while self._state is _State.OPEN:
            if self._inserts or self._attempts or self._removes:
                await self._commit()
            else:
                self._wakeup = anyio.Event()
                await self._wakeup.wait()

    async def add(self, entry: JournalEntry) -> None:
        """Journal an accepted invocation; return once it is committed.

        If the call is cancelled while waiting, the entry may still be committed. An entry
        whose request id is already in the journal is ignored.

        :raises ~faaslib.ServiceException: the transaction failed (a full or read-only disk)
        :raises ~faaslib.InvokerClosed: the journal is not open
        """
        if self._state is not _State.OPEN:
            raise InvokerClosed(
                "Invoker is closed" if self._state is _State.CLOSED else "Journal is not open"
            )
        batch = self._batch
        assert batch is not None
        self._inserts.append(entry)
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = None
        await batch.done.wait()
        if batch.error is not None:
            raise ServiceException(
                f"Journal {self.path!r}: commit failed: {batch.error}"
            ) from batch.error

    def set_attempts(self, request_id: str, attempts: int, due: float = 0.0) -> None:
        """Record the handler attempts of an entry and when the next is due, with the next
        transaction."""
        if self._state is _State.OPEN:  # once closed, the entry stays as last written
            self._attempts[request_id] = (attempts, due)
            if self._wakeup is not None:
                self._wakeup.set()
                self._wakeup = None

    def remove(self, request_id: str) -> None:
        """Delete a finished entry, with the next transaction."""
        if self._state is _State.OPEN:  # once closed, the entry stays unfinished
            self._removes.append(request_id)
            if self._wakeup is not None:
                self._wakeup.set()
                self._wakeup = None

    async def close(self) -> None:
        """Commit everything pending and close the database; idempotent.

        It completes even if the caller is cancelled meanwhile.

        :raises ~faaslib.ServiceException: the last transaction failed
        """
        if self._closed is not None:
            with CancelScope(shield=True):
                await self._closed.wait()
            return
        self._closed = anyio.Event()
        self._state = _State.CLOSED
        error: BaseException | None = None
        with CancelScope(shield=True):
            try:
                while self._committing is not None:  # run()'s transaction goes first
                    await self._committing.done.wait()
                if self._conn is not None:
                    if self._inserts or self._attempts or self._removes:
                        error = await self._commit()
                    await to_thread.run_sync(self._conn.close, limiter=self._limiter)
            finally:
                self._conn = None
                self._unlock()
                if self._wakeup is not None:  # run() returns
                    self._wakeup.set()
                    self._wakeup = None
                self._closed.set()
        if error is not None:
            raise ServiceException(f"Journal {self.path!r}: commit failed: {error}") from error

    async def _commit(self) -> BaseException | None:
        """Write what is pending in one transaction; wake its adders; return its error."""
        assert self._conn is not None
        assert self._batch is not None
        batch, inserts, attempts, removes = (
            self._batch,
            self._inserts,
            self._attempts,
            self._removes,
        )
        self._batch, self._inserts, self._attempts, self._removes = _Batch(), [], {}, []
        self._committing = batch
        try:
            with CancelScope(shield=True):
                await to_thread.run_sync(
                    self._write, self._conn, inserts, attempts, removes, limiter=self._limiter
                )
            self._commits += 1
        except sqlite3.Error as exc:  # e.g. disk full
            batch.error = exc
            logger.error(
                "Journal %r: commit of %d inserts, %d updates, %d deletes failed: %s",
                self.path,
                len(inserts),
                len(attempts),
                len(removes),
                exc,
            )
        except BaseException as exc:  # not SQLite's: a bug, which stops the writer
            batch.error = exc
            raise
        finally:
            self._committing = None
            batch.done.set()
        return batch.error

    def _write(
        self,
        conn: sqlite3.Connection,
        inserts: list[JournalEntry],
        attempts: dict[str, tuple[int, float]],
        removes: list[str],
    ) -> None:
        """One transaction, in the worker thread; then the mark in ``<path>.lock``."""
        mark = self._mark
        inserted = removed = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            if inserts:
                inserted = conn.executemany(
                    _INSERT,
                    (
                        (
                            e.request_id,
                            e.function,
                            e.invoked_arn,
                            e.payload,
                            e.received_at,
                            e.attempts,
                            e.due,
                        )
                        for e in inserts
                    ),
                ).rowcount
            if attempts:
                conn.executemany(
                    "UPDATE events SET attempts = ?, due = ? WHERE request_id = ?",
                    ((n, due, request_id) for request_id, (n, due) in attempts.items()),
                )
            if removes:
                removed = conn.executemany(
                    "DELETE FROM events WHERE request_id = ?",
                    ((request_id,) for request_id in removes),
                ).rowcount
            conn.execute(_COUNT, (mark.commits + 1, mark.inserts + inserted))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._mark = _Mark(
            mark.journal,
            mark.commits + 1,
            mark.inserts + inserted,
            mark.pending + inserted - removed,
        )
        self._write_mark()


_pwrite = getattr(os, "pwrite", None)
_parse_json = pydantic_core.from_json


def _describe(value: object) -> str:
    """A column's value with its SQLite storage class, for a log message."""
    if value is None:
        return "NULL"
    kind = {str: "text", bytes: "a BLOB", int: "an integer", float: "a real"}[type(value)]
    shown = repr(value)
    return f"{kind} {shown[:40]}{'...' if len(shown) > 40 else ''}"


def _check_row(row: tuple[object, ...]) -> JournalEntry | str:
    """The entry a row of ``_SELECT`` holds, or what is wrong with it."""
    _, request_id, function, invoked_arn, payload, received_at, attempts, due = row
    if (  # the rows faaslib writes, checked at the cost of a few comparisons
        type(request_id) is str
        and type(function) is str
        and type(invoked_arn) is str
        and request_id
        and function
        and invoked_arn
        and type(payload) is bytes
        and type(received_at) is float
        and type(due) is float
        and type(attempts) is int
        and attempts >= 0
        and -math.inf < received_at < math.inf
        and -math.inf < due <= received_at + MAX_EVENT_AGE
    ):
        try:
            _parse_json(payload)
        except ValueError as exc:
            return f"payload is not JSON ({exc})"
        return JournalEntry(request_id, function, invoked_arn, payload, received_at, attempts, due)
    return _row_problem(request_id, function, invoked_arn, payload, received_at, attempts, due)


def _row_problem(
    request_id: object,
    function: object,
    invoked_arn: object,
    payload: object,
    received_at: object,
    attempts: object,
    due: object,
) -> JournalEntry | str:
    """What is wrong with a row the quick check of :func:`_check_row` did not pass; or its
    entry, if only a number's storage class differs (an integral time stored as an integer)."""
    if not isinstance(request_id, str) or not request_id:
        return f"request_id is {_describe(request_id)}, not non-empty text"
    if not isinstance(function, str) or not function:
        return f"function is {_describe(function)}, not non-empty text"
    if not isinstance(invoked_arn, str) or not invoked_arn:
        return f"invoked_arn is {_describe(invoked_arn)}, not non-empty text"
    if not isinstance(payload, bytes):
        return f"payload is {_describe(payload)}, not a BLOB"
    if not isinstance(received_at, (int, float)) or not math.isfinite(received_at):
        return f"received_at is {_describe(received_at)}, not a finite number"
    if not isinstance(due, (int, float)) or not math.isfinite(due):
        return f"due is {_describe(due)}, not a finite number"
    if not isinstance(attempts, int) or attempts < 0:
        return f"attempts is {_describe(attempts)}, not a whole number >= 0"
    if due > received_at + MAX_EVENT_AGE:  # the invoker never writes a retry after expiry
        return (
            f"due is {due!r}, more than {MAX_EVENT_AGE} s (the greatest maximum event age) "
            f"after received_at {received_at!r}"
        )
    try:
        _parse_json(payload)
    except ValueError as exc:
        return f"payload is not JSON ({exc})"
    return JournalEntry(
        request_id, function, invoked_arn, payload, float(received_at), attempts, float(due)
    )
