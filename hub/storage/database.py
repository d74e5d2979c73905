"""The storage port's SQLite adapter.

SQLite in WAL mode is the embedded default for everything that must survive a restart.
Writes go through one connection under one lock (SQLite has one writer anyway); reads
outside a transaction go through a connection of the calling thread's own, so that the
API's readers never queue behind that lock or behind each other: in WAL mode a reader sees
the last committed state and never waits for the writer. A read inside a transaction uses
the writer's connection (it must see the transaction's own writes).

Migrations are numbered ``.sql`` files in ``hub/storage/migrations`` (``0001_core.sql``,
``0010_rules.sql``, ...), applied in order, each in its own transaction, and recorded in
``schema_migrations``. Keep the SQL portable (no SQLite-only types or ``INSERT OR``
clauses where ``ON CONFLICT`` does the job) so that a PostgreSQL adapter can serve a
multi-node deployment.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from hub.errors import StorageError, StorageFull
from hub.storage.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from hub.storage.schema import check_not_newer

logger = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]


class Database:
    """A SQLite database opened in WAL mode with the hub's schema applied.

    Args:
        path: file path, or ``":memory:"`` for a private in-memory database (unit tests).
        synchronous: ``NORMAL`` survives process crashes; ``FULL`` also power loss.
    """

    def __init__(self, path: str | Path, *, synchronous: str = "NORMAL") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {self.path}: {exc}") from exc
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        self._writer_thread: int | None = None
        self._readers = threading.local()
        # Weak: a reader goes (and closes) with its thread; close() closes those left.
        self._reader_conns: weakref.WeakSet[_Reader] = weakref.WeakSet()
        self._readers_lock = threading.Lock()
        self._closed = False
        self._after_commit: list[Callable[[], None]] = []
        self._checkpointer: WalCheckpointer | None = None
        if synchronous not in {"NORMAL", "FULL"}:
            raise StorageError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        for pragma in (
            "journal_mode=WAL",
            f"synchronous={synchronous}",
            "foreign_keys=ON",
            "busy_timeout=10000",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        self.migrate()

    # -- schema -----------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply every migration not applied yet; return the names applied."""
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
        )
        done = {r[0] for r in self._conn.execute("SELECT name FROM schema_migrations")}
        applied = []
        folder = resources.files("hub.storage") / "migrations"
        check_not_newer(done, (e.name for e in folder.iterdir()))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".sql") or entry.name in done:
                continue
            sql = entry.read_text(encoding="utf-8")
            try:
                with self.transaction() as conn:
                    for statement in _split_sql(sql):
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (?)", (entry.name,))
            except sqlite3.Error as exc:
                raise StorageError(f"migration {entry.name} failed: {exc}") from exc
            logger.info("applied migration %s", entry.name)
            applied.append(entry.name)
        return applied

    def start_checkpointer(self) -> WalCheckpointer | None:
        """Checkpoint the write-ahead log on a thread of its own from now on (hub.storage.checkpoint).

        For a long-running process that commits on a latency-sensitive thread (the hub's
        event loop); tools keep SQLite's own checkpoints. None for an in-memory database.
        """
        if self.path == ":memory:":
            return None
        if self._checkpointer is None:
            with self._lock:
                self._conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            self._checkpointer = WalCheckpointer(self.path)
            self._checkpointer.start()
        return self._checkpointer

    @property
    def checkpointer(self) -> WalCheckpointer | None:
        """The background checkpointer, once started."""
        return self._checkpointer

    # -- access -----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            self._writer_thread = threading.get_ident()
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                self._depth = 0
                self._writer_thread = None
                self._after_commit.clear()
                if self._conn.in_transaction:  # SQLite may have rolled back already (disk full)
                    self._conn.execute("ROLLBACK")
                if _disk_full(exc):
                    raise StorageFull(f"the disk under {self.path} is full: nothing was written") from exc
                raise
            self._depth = 0
            self._writer_thread = None
            callbacks, self._after_commit = self._after_commit, []
            if self._checkpointer is not None:
                self._checkpointer.committed()
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("after-commit callback failed")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read-only transaction: several reads that see one committed state.

        It takes no write lock, so readers never queue behind writers (nor writers behind
        them). Inside this thread's own :meth:`transaction` it joins that transaction
        instead (and so sees its writes). A write through the yielded connection fails.
        """
        reader = self._reader()
        if reader is None:
            with self._lock:
                yield self._conn
            return
        if reader.in_transaction:  # a snapshot inside a snapshot: the outer one holds
            yield reader
            return
        reader.execute("BEGIN")
        try:
            yield reader
        finally:
            reader.execute("COMMIT")

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the current outermost transaction commits (dropped on rollback).

        Outside a transaction it runs at once. Callbacks run on the committing thread,
        after the database lock is released.
        """
        with self._lock:
            if self._depth:
                self._after_commit.append(callback)
                return
        callback()

    @property
    def in_transaction(self) -> bool:
        """True while this thread's code is inside :meth:`transaction`."""
        return self._depth > 0

    def query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows (the last committed state, or the current
        transaction's when called inside one)."""
        reader = self._reader()
        if reader is None:
            with self._lock:
                return self._conn.execute(sql, params).fetchall()
        cur = reader.execute(sql, params)
        try:
            return cur.fetchall()
        finally:
            cur.close()

    def query_as_writer(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run a read query on the writer's own connection and return all rows.

        For the committing thread's reads of what it has just written (the outbox relay,
        after each ingest batch): a reader connection finds the database changed since its
        last read and drops its page cache first, every time; the writer's cache already
        holds those pages. It queues behind a write transaction of another thread.
        """
        with self._lock:
            cur = self._conn.execute(sql, params)
            try:
                return cur.fetchall()
            finally:
                cur.close()

    def query_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """Run a read query and return the first row, or None."""
        reader = self._reader()
        if reader is None:
            with self._lock:
                row: sqlite3.Row | None = self._conn.execute(sql, params).fetchone()
                return row
        cur = reader.execute(sql, params)
        try:
            found: sqlite3.Row | None = cur.fetchone()
        finally:
            cur.close()  # ends the statement, so that its snapshot is not held
        return found

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's read connection; None when the read must use the writer's
        (inside this thread's transaction, or an in-memory database, which is private to
        its one connection)."""
        if self._writer_thread == threading.get_ident() or self.path == ":memory:":
            return None
        held: _Reader | None = getattr(self._readers, "reader", None)
        if held is not None:
            return held.conn
        with self._readers_lock:
            if self._closed:
                raise StorageError(f"database {self.path} is closed")
            try:
                conn = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False, timeout=10.0
                )
                conn.row_factory = sqlite3.Row
                conn.execute("PRAGMA busy_timeout=10000")
                conn.execute("PRAGMA query_only=ON")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open a reader on {self.path}: {exc}") from exc
            held = _Reader(conn)
            self._reader_conns.add(held)
        self._readers.reader = held
        return conn

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """Run one statement in its own transaction (or the current one)."""
        with self.transaction() as conn:
            return conn.execute(sql, params)

    def integrity_check(self) -> str:
        """Return SQLite's ``PRAGMA integrity_check`` verdict (``"ok"`` when sound)."""
        row = self.query_one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    def close(self) -> None:
        """Close the writer and every thread's reader (and stop the checkpointer)."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        with self._readers_lock:
            self._closed = True
            readers = list(self._reader_conns)
            self._reader_conns.clear()
        for reader in readers:
            reader.conn.close()
        with self._lock:
            self._conn.close()


class _Reader:
    """One thread's read connection, closed when its thread ends (the thread-local that
    holds it goes) or when the database closes."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()


def _disk_full(exc: BaseException) -> bool:
    """True for SQLite's "database or disk is full" (SQLITE_FULL), whatever the statement."""
    return isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def _split_sql(sql: str) -> list[str]:
    """Split a migration file into statements (``;`` at the end of a line ends one)."""
    statements, current = [], []
    for line in sql.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            text = "\n".join(current).strip()
            if text.rstrip(";").strip():
                statements.append(text)
            current = []
    tail = "\n".join(current).strip()
    if tail:
        statements.append(tail)
    return statements
