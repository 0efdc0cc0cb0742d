"""``Journal``: a durable record of accepted Event invocations, in SQLite, off the event loop."""

from __future__ import annotations

import enum
import logging
import os
import sqlite3
from dataclasses import dataclass

try:
    import fcntl
except ImportError:  # Windows: no advisory lock, one invoker per journal is up to the user
    fcntl = None  # type: ignore[assignment]

import anyio
from anyio import CancelScope, CapacityLimiter, to_thread

from ._errors import FaaslibError, InvalidParameterValueException, InvokerClosed

__all__ = ["Journal", "JournalEntry"]

logger = logging.getLogger("faaslib")

#: ``PRAGMA application_id`` of a faaslib journal ("FaaJ"), and its schema version.
_APPLICATION_ID = 0x4661614A
_SCHEMA_VERSION = 1
# ``seq`` (an alias of the rowid, kept by VACUUM) is the acceptance order.
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL "
    "UNIQUE, function TEXT NOT NULL, invoked_arn TEXT NOT NULL, payload BLOB NOT NULL, "
    "received_at REAL NOT NULL, attempts INTEGER NOT NULL, due REAL NOT NULL DEFAULT 0)"
)
_INSERT = (
    "INSERT OR IGNORE INTO events (request_id, function, invoked_arn, payload, received_at, "
    "attempts, due) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT request_id, function, invoked_arn, payload, received_at, attempts, due FROM events "
    "ORDER BY seq"
)


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

    Use: ``await open()``, start :meth:`run` as a task, ``await close()`` when done.

    :param path: the database file; its directory must exist
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        #: The database file.
        self.path: str = os.fspath(path)
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
        self._commits = 0  # transactions committed (for tests)

    async def open(self) -> list[JournalEntry]:
        """Open the journal, creating it if the file is new or empty.

        :return: the unfinished entries (added, not removed), in acceptance order
        :raises ~faaslib.InvalidParameterValueException: the directory does not exist, or
            the file is not a faaslib journal
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
            return self._connect_locked()
        except BaseException:
            self._unlock()
            raise

    def _lock(self) -> None:
        """Take ``<path>.lock``: a second invoker on the journal would run its events twice."""
        if fcntl is None:
            return
        try:
            fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InvalidParameterValueException(
                f"Cannot open journal {self.path!r}: {exc}"
            ) from None
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

    def _connect_locked(self) -> tuple[sqlite3.Connection, list[JournalEntry]]:
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
                tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                raise InvalidParameterValueException(
                    f"{self.path!r} is not a faaslib journal: {exc}"
                ) from None
            if app_id == _APPLICATION_ID and version != _SCHEMA_VERSION:
                raise InvalidParameterValueException(
                    f"Journal {self.path!r} has schema version {version}, this faaslib "
                    f"reads version {_SCHEMA_VERSION}"
                )
            if app_id != _APPLICATION_ID and (app_id or tables):
                raise InvalidParameterValueException(
                    f"{self.path!r} is not a faaslib journal: it is another application's "
                    "SQLite database"
                )
            try:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if mode != "wal":
                    raise InvalidParameterValueException(
                        f"Cannot open journal {self.path!r}: WAL mode unavailable ({mode})"
                    )
                conn.execute("PRAGMA synchronous=NORMAL")
                if not tables:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(_SCHEMA)
                    conn.execute(f"PRAGMA application_id={_APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                entries = [JournalEntry(*row) for row in conn.execute(_SELECT)]
            except sqlite3.Error as exc:
                raise InvalidParameterValueException(
                    f"Cannot open journal {self.path!r}: {exc}"
                ) from None
        except BaseException:
            conn.close()
            raise
        return conn, entries

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

        :raises ~faaslib.FaaslibError: the transaction failed
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
            raise FaaslibError(
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

        :raises ~faaslib.FaaslibError: the last transaction failed
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
            raise FaaslibError(f"Journal {self.path!r}: commit failed: {error}") from error

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
                    _write, self._conn, inserts, attempts, removes, limiter=self._limiter
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
    conn: sqlite3.Connection,
    inserts: list[JournalEntry],
    attempts: dict[str, tuple[int, float]],
    removes: list[str],
) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
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
        )
        conn.executemany(
            "UPDATE events SET attempts = ?, due = ? WHERE request_id = ?",
            ((n, due, request_id) for request_id, (n, due) in attempts.items()),
        )
        conn.executemany(
            "DELETE FROM events WHERE request_id = ?", ((request_id,) for request_id in removes)
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
