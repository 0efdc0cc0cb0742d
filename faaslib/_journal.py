"""``Journal``: a durable record of accepted Event invocations, in SQLite, off the event loop."""

from __future__ import annotations

import enum
import logging
import os
import sqlite3

import anyio
from anyio import CancelScope, CapacityLimiter, to_thread

from ._errors import InvokerClosed, ServiceException
from ._journal_file import COUNT, INSERT, JournalEntry, JournalFile, Mark
from ._stats import counted

__all__ = ["Journal", "JournalEntry"]

logger = logging.getLogger("faaslib")

#: After a failed transaction the writer waits for new work, or this many seconds, before it
#: tries the failed transaction's updates and deletes again (a full disk is not hammered).
RETRY_AFTER = 1.0


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
        self._file = JournalFile(path)
        #: The database file.
        self.path: str = self._file.path
        self._state = _State.NEW
        self._conn: sqlite3.Connection | None = None
        self._limiter = CapacityLimiter(1)
        self._inserts: list[JournalEntry] = []
        self._attempts: dict[str, tuple[int, float]] = {}
        self._removes: list[str] = []
        self._batch: _Batch | None = None  # waiters of the pending inserts
        self._committing: _Batch | None = None  # the transaction running now
        self._wakeup: anyio.Event | None = None  # set when run() waits for work
        self._closed: anyio.Event | None = None
        self._commits = 0  # transactions committed by this instance (for tests)
        #: Request ids whose insert a failed transaction rolled back, until their adder's
        #: :meth:`remove`, which has nothing to delete (on a full disk it would fail too).
        self._refused: set[str] = set()

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
            self._conn, entries = await to_thread.run_sync(
                self._file.connect, limiter=self._limiter
            )
        self._batch = _Batch()
        self._state = _State.OPEN
        return entries

    async def run(self) -> None:
        """Commit pending work as it comes, until cancelled or the journal is closed.

        A failed transaction (e.g. disk full) fails the :meth:`add` calls of its batch, is
        logged, and does not stop the writer; its updates and deletes are written with the
        next transaction (tried with the next work, or after :data:`RETRY_AFTER` seconds), so
        that an event finished while the disk was full is not run again once it has room.
        """
        if self._state is _State.NEW:
            raise InvokerClosed("Journal is not open: call open() first")
        while self._state is _State.OPEN:
            if self._inserts or self._attempts or self._removes:
                if await self._commit() is not None:
                    self._wakeup = anyio.Event()
                    with anyio.move_on_after(RETRY_AFTER):
                        await self._wakeup.wait()
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
        if request_id in self._refused:  # its insert failed: there is nothing to delete
            self._refused.discard(request_id)
            return
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
                self._file.unlock()
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
            # The adders are refused (no 202), but updates and deletes are kept for the next
            # transaction, later ones first: an event finished now must not run again.
            self._attempts = {**attempts, **self._attempts}
            self._removes = removes + self._removes
            self._refused.update(e.request_id for e in inserts)
            logger.error(
                "Journal %r: commit of %s, %s, %s failed: %s",
                self.path,
                counted(len(inserts), "insert"),
                counted(len(attempts), "update"),
                counted(len(removes), "delete"),
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
        mark = self._file.mark
        inserted = removed = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            if inserts:
                inserted = conn.executemany(
                    INSERT,
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
            conn.execute(COUNT, (mark.commits + 1, mark.inserts + inserted))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self._file.mark = Mark(
            mark.journal,
            mark.commits + 1,
            mark.inserts + inserted,
            mark.pending + inserted - removed,
        )
        self._file.write_mark()
