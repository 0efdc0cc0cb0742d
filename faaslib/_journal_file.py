"""A journal's SQLite file: opening it under its lock, checking every row and its marker, and
writing the marker that tells a later open whether commits were lost."""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any, Literal

try:
    import fcntl
except ImportError:  # Windows: no advisory lock, one invoker per journal is up to the user
    fcntl = None  # type: ignore[assignment]

import pydantic_core

from ._errors import InvalidParameterValueException
from ._spec import MAX_EVENT_AGE
from ._stats import counted

__all__ = ["COUNT", "INSERT", "JournalEntry", "JournalFile", "Mark"]

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
INSERT = (
    "INSERT OR IGNORE INTO events (request_id, function, invoked_arn, payload, received_at, "
    "attempts, due) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT seq, request_id, function, invoked_arn, payload, received_at, attempts, due "
    "FROM events WHERE seq <> 0 ORDER BY seq"
)
COUNT = "UPDATE events SET attempts = ?, due = ? WHERE seq = 0"
#: An SQLite file's first bytes, and the size of the header they begin.
_MAGIC = b"SQLite format 3\0"
_HEADER_SIZE = 100
#: Damaged rows logged one by one at an open; more are summed up in one message.
_DAMAGED_LOGGED = 10


@dataclass(frozen=True, slots=True)
class Mark:
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
    def decode(cls, data: bytes) -> Mark:
        """:raises ValueError: not a mark"""
        words = data.split(b" ")
        if len(words) != 6 or words[:2] != [b"faaslib", b"journal"] or data[-1:] != b"\n":
            raise ValueError(data)
        journal = words[2].decode("ascii")
        counts = [int(w) for w in words[3:]]
        if not _is_journal_id(journal) or min(counts) < 0:
            raise ValueError(data)
        return cls(journal, *counts)


def _checked_marker(found: list[tuple[object, ...]], rows: int) -> Mark | None:
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
            return Mark(journal, commits, int(inserts), rows)
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


class JournalFile:
    """The file of a :class:`~faaslib._journal.Journal`: ``<path>``, its WAL and
    ``<path>.lock``, which is locked while the journal is open (one invoker per journal) and
    holds the journal's identity and commit count as of its last commit, so that
    :meth:`connect` can tell a file emptied, deleted or replaced, or commits lost with the
    WAL file.

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
        self._lock_fd: int | None = None  # held while open: one invoker per journal
        #: The marker, as of the last commit: written to the database and to <path>.lock.
        self.mark = Mark("", 0, 0, 0)
        self._mark_failed = False

    def connect(self) -> tuple[sqlite3.Connection, list[JournalEntry]]:
        """Lock the journal, check it, and connect; return the connection and the unfinished
        entries (see :meth:`Journal.open`)."""
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
                self._check_writable(conn)
            except BaseException:
                conn.close()
                raise
            self.write_mark(truncate=True)
        except BaseException:
            self.unlock()
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

    def unlock(self) -> None:
        """Let go of ``<path>.lock`` (another invoker may open the journal)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the lock
            self._lock_fd = None

    def _read_mark(self) -> Mark | None:
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
            return Mark.decode(data)
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
                header = file.read(_HEADER_SIZE)
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
        if 0 < len(header) < _HEADER_SIZE and _MAGIC.startswith(header[: len(_MAGIC)]):
            # A file cut short (a copy or a write interrupted): SQLite would call it "not a
            # database", or malformed, which says nothing of a journal damaged.
            raise self._damaged(
                f"it is {len(header)} bytes long, cut short inside SQLite's "
                f"{_HEADER_SIZE}-byte header"
            )
        return header[:16] == _MAGIC and header[68:72] == _APPLICATION_ID.to_bytes(4, "big")

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
        self, conn: sqlite3.Connection, last: Mark | None, marker: _Marker
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
            mark = self.mark = Mark(uuid.uuid4().hex, 0, 0, len(rows))
            self._rewrite_marker(conn)
        self.mark = mark
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

    def _check_writable(self, conn: sqlite3.Connection) -> None:
        """Rewrite the marker as it is: a journal that cannot be written (a read-only file or
        file system, a full disk) is refused now, not by every Event invocation to come."""
        self._transaction(
            conn, [(COUNT, (self.mark.commits, self.mark.inserts))], "it cannot be written"
        )

    def _rewrite_marker(self, conn: sqlite3.Connection) -> None:
        self._transaction(
            conn,
            [("DELETE FROM events WHERE seq = 0", ()), (_MARKER_INSERT, (self.mark.journal,))],
            None,
        )

    def _transaction(
        self,
        conn: sqlite3.Connection,
        statements: list[tuple[str, tuple[Any, ...]]],
        why: str | None,
    ) -> None:
        """Run ``statements`` in one transaction; a failure refuses the journal (``why``, and
        SQLite's reason)."""
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement, parameters in statements:
                conn.execute(statement, parameters)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            reason = str(exc) if why is None else f"{why} ({exc})"
            raise InvalidParameterValueException(
                f"Cannot open journal {self.path!r}: {reason}"
            ) from None

    def _compare(self, last: Mark, *, created: bool) -> None:
        """Log what the mark in ``<path>.lock`` shows was lost since the last commit."""
        mark = self.mark
        if last.journal != mark.journal:
            if last.pending and created:
                logger.error(
                    "Journal %r was emptied or deleted since its last use: it held %s at its "
                    "last commit (as %r shows), lost now. A new, empty journal starts",
                    self.path,
                    counted(last.pending, "unfinished Event invocation"),
                    self.path + ".lock",
                )
            elif last.pending:
                logger.error(
                    "Journal %r is not the journal last used at this path: that one held %s "
                    "at its last commit (as %r shows), not in this file. They are lost "
                    "unless that file is put back",
                    self.path,
                    counted(last.pending, "unfinished Event invocation"),
                    self.path + ".lock",
                )
        elif mark.commits < last.commits:
            lost = last.inserts - mark.inserts
            logger.error(
                "Journal %r lacks its last %s (its WAL file %r was deleted or "
                "truncated, or the file was restored from a copy): %s, and invocations "
                "finished in them may run again",
                self.path,
                counted(last.commits - mark.commits, "commit"),
                self.path + "-wal",
                f"up to {counted(lost, 'accepted Event invocation')} lost"
                if lost
                else "no accepted Event invocation is lost",
            )
        elif mark.commits == last.commits and mark.pending != last.pending:
            logger.warning(
                "Journal %r holds %s where its last commit left %d: it was changed outside faaslib",
                self.path,
                f"{mark.pending} {'entry' if mark.pending == 1 else 'entries'}",
                last.pending,
            )

    def write_mark(self, *, truncate: bool = False) -> None:
        """Write the mark to ``<path>.lock`` (no fsync: as durable as a commit)."""
        if self._lock_fd is None or self._mark_failed:
            return
        data = self.mark.encode()
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
