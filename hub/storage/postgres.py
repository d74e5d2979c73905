"""The storage port's PostgreSQL adapter (``HUB_DATABASE_URL=postgresql://…``).

Same interface as the SQLite :class:`~hub.storage.database.Database` (it subclasses it, so
the domain's ``Database`` annotations and ``isinstance`` checks hold): ``transaction()``,
``query``, ``query_one``, ``execute``, ``after_commit``, ``in_transaction``, ``migrate``,
``close``. Connections come from a ``psycopg_pool`` pool; each thread's outermost
transaction borrows one for its duration, nested ones join it, reads outside a transaction
borrow one per statement. After a PostgreSQL restart the hub reconnects by itself: a read or
a ``BEGIN`` that meets a dead connection drops it and runs on the next (the pool opens fresh
ones), a transaction cut mid-way fails (nothing of it was committed) and its caller answers
with an error.

Domain code stays as it is, through a thin connection wrapper:

- ``?`` placeholders are rewritten to psycopg's ``%s`` (a literal ``%`` is doubled);
  ``?`` inside a quoted string is left alone. Parameters are bound client-side (as SQLite
  binds them: PostgreSQL types a literal by where it stands, so ``? IS NULL`` works).
- Rows read by name and by index (``row["id"]``, ``row[0]``, ``dict(row)``) like
  ``sqlite3.Row``. ``numeric`` results (``SUM`` of integers) load as ``int`` when whole,
  else ``float``, as SQLite answers. Python ``bool`` parameters are bound as 0/1, since
  flags are ``INTEGER`` columns. Text with a NUL character (PostgreSQL cannot store it) is
  refused with :class:`TextRejected`, a 422 problem on HTTP.
- psycopg errors are raised as ``sqlite3``'s DB-API classes (:class:`PgIntegrityError` is a
  ``sqlite3.IntegrityError``), so the domain's ``except`` clauses catch them on both stores.

Migrations: one set of files (``hub/storage/migrations/*.sql``) serves both stores. They are
written in the portable subset and this runner translates the few type names whose meaning
differs (see :func:`translate_ddl`). Rules for new tables (sharing, time bank, ...):

- Types: ``TEXT``, ``INTEGER`` (becomes ``BIGINT``: SQLite integers are 64-bit), ``REAL``
  (becomes ``DOUBLE PRECISION``: PostgreSQL's ``REAL`` is 4 bytes), ``BLOB`` (``BYTEA``).
  Flags are ``INTEGER`` 0/1, times ISO text or epoch ``REAL``, JSON is ``TEXT``.
- A generated key is ``id INTEGER PRIMARY KEY AUTOINCREMENT`` (becomes an identity column);
  never read ``rowid``.
- Upserts with ``ON CONFLICT (…) DO NOTHING | DO UPDATE SET x = excluded.x``; no
  ``INSERT OR``, no two-argument ``min()``/``max()`` (use ``CASE``), no ``strftime``/
  ``json_extract``; ``substr``, ``COALESCE``, ``||``, ``LIKE`` with ``%`` are fine.
- Every selected column of a ``GROUP BY`` query is grouped or aggregated; compare columns
  with parameters of their own type (PostgreSQL does not coerce ``'5'`` to 5 in a
  comparison with a bound integer).
- The only trigger form is the abort guard,
  ``CREATE TRIGGER t BEFORE UPDATE|DELETE ON tbl BEGIN SELECT RAISE(ABORT, 'why'); END;``,
  translated to a PL/pgSQL function and trigger raising an integrity error (as SQLite's
  ``RAISE(ABORT)`` does).
- Capacity checks and claims are race-free on both stores when written as one conditional
  statement (``UPDATE … SET taken = taken + 1 WHERE id = ? AND taken < capacity`` and read
  ``rowcount``) or guarded by a unique constraint; a read-then-write check first locks the row
  it decides on with :func:`hub.storage.locks.lock_row` (``SELECT … FOR UPDATE``; SQLite's
  writer lock is already held): later reads of the same transaction see the committed state of
  whoever held the lock before.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql as pgsql
from psycopg.adapt import Loader
from psycopg_pool import ConnectionPool, PoolTimeout

from hub.errors import DomainError, StorageError, StorageFull
from hub.storage.database import Database, Params, _split_sql
from hub.storage.schema import check_not_newer

logger = logging.getLogger(__name__)

MIGRATION_LOCK = 0x4855_4221  # pg_advisory_xact_lock key: one migrator at a time


class PgIntegrityError(sqlite3.IntegrityError):
    """A PostgreSQL constraint violation, as the DB-API class the domain catches."""


class PgOperationalError(sqlite3.OperationalError):
    """A PostgreSQL connection or server failure (restart, deadlock, timeout)."""


class PgDatabaseError(sqlite3.DatabaseError):
    """Any other PostgreSQL error (a guard trigger's RAISE, a type mismatch, ...)."""


#: SQLSTATE class 53, "insufficient resources": disk_full (53100), out_of_memory (53200),
#: too_many_connections (53300), configuration_limit_exceeded (53400).
RESOURCES_CLASS = "53"


def _translate_error(exc: psycopg.Error) -> sqlite3.Error | StorageFull:
    """The error the domain catches for a psycopg one.

    A server out of resources (class 53, a full disk first of all) is :class:`StorageFull`,
    as SQLite's ``SQLITE_FULL`` is: nothing was written, the API answers 503 with
    ``Retry-After``, and the hub goes on once the server has room again.
    """
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate.startswith(RESOURCES_CLASS):
        if sqlstate == "53100":
            return StorageFull(f"the disk under PostgreSQL is full ({sqlstate}: {text}): nothing was written")
        return StorageFull(f"PostgreSQL is out of resources ({sqlstate}: {text}): nothing was written",
                           public="the hub's database is out of resources: the write was not saved;"
                           " try again later")
    if isinstance(exc, psycopg.IntegrityError):
        return PgIntegrityError(text)
    if isinstance(exc, psycopg.OperationalError | psycopg.errors.TransactionRollback):
        return PgOperationalError(text)
    return PgDatabaseError(text)


# -- SQL translation --------------------------------------------------------------------


@lru_cache(maxsize=4096)
def to_pg(sql: str, named: bool = False) -> str:
    """Rewrite ``?`` (or, with ``named``, ``:name``) placeholders for psycopg; escape ``%``.

    Quoted strings are left alone; ``::`` casts are not placeholders.
    """
    out: list[str] = []
    quote: str | None = None
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if quote:
            out.append("%%" if ch == "%" else ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        elif named and ch == ":" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_") and (
            i == 0 or sql[i - 1] != ":"
        ):
            j = i + 1
            while j < n and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1:j]})s")
            i = j
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


_GUARD = re.compile(
    r"CREATE\s+TRIGGER\s+(\w+)\s+BEFORE\s+(UPDATE|DELETE)\s+ON\s+(\w+)\s+BEGIN\s+"
    r"SELECT\s+RAISE\s*\(\s*ABORT\s*,\s*'([^']*)'\s*\)\s*;\s*END\s*;?",
    re.IGNORECASE | re.DOTALL,
)
_TYPES = [
    (
        re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b", re.I),
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
]


def translate_ddl(statement: str) -> list[str]:
    """The PostgreSQL statements for one portable migration statement.

    Types whose width differs are widened (``INTEGER`` → ``BIGINT``, ``REAL`` → ``DOUBLE
    PRECISION``), ``BLOB`` becomes ``BYTEA``, ``AUTOINCREMENT`` keys identity columns, and
    the abort-guard trigger becomes a function and a trigger.
    """
    guard = _GUARD.fullmatch(statement.strip())
    if guard:
        name, event, table, why = guard.groups()
        fn = f"{name}_fn"
        return [
            f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN RAISE EXCEPTION '{why}' USING ERRCODE = 'integrity_constraint_violation'; END $$",
            f"CREATE TRIGGER {name} BEFORE {event.upper()} ON {table} FOR EACH ROW EXECUTE FUNCTION {fn}()",
        ]
    for pattern, replacement in _TYPES:
        statement = pattern.sub(replacement, statement)
    return [statement]


# -- rows and connections ------------------------------------------------------------------


class Row:
    """A result row read by column name or index, like ``sqlite3.Row``."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            try:
                return self._values[self._index[key]]
            except KeyError:
                raise IndexError(f"no such column: {key}") from None
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return tuple(self._values) == tuple(other._values) and self._index == other._index
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._values))

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values, strict=True))!r})"


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    index = {d.name: i for i, d in enumerate(cursor.description or ())}
    return lambda values: Row(values, index)


class _NumericLoader(Loader):
    """``numeric`` as ``int`` when whole, else ``float`` (SQLite's answers for SUM, AVG)."""

    def load(self, data: Any) -> int | float:
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


class TextRejected(DomainError):
    """Text with a NUL character, which PostgreSQL cannot store: refused as bad input (422)."""

    status = 422
    code = "invalid-text"


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and "\x00" in value:
        raise TextRejected("text may not contain NUL (\\u0000) characters")
    return value


def _params(params: Params) -> Params:
    if isinstance(params, dict):
        return {k: _param(v) for k, v in params.items()}
    return tuple(_param(v) for v in params)


class Connection:
    """The part of ``sqlite3.Connection`` the domain uses, over a psycopg connection."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Params = ()) -> psycopg.Cursor[Any]:
        """Run one statement; the cursor has ``fetchone``, ``fetchall``, ``rowcount``."""
        try:
            return self.raw.execute(to_pg(sql, isinstance(params, dict)), _params(params))
        except psycopg.Error as exc:
            raise _translate_error(exc) from exc

    def executemany(self, sql: str, seq: Sequence[Params] | Iterator[Params]) -> psycopg.Cursor[Any]:
        """Run one statement for each parameter set (pipelined)."""
        # Server-side binding here: psycopg pipelines the rows (one round trip, not one per
        # row). executemany is for INSERT/UPDATE rows, whose parameters take the column's type.
        cur = psycopg.Cursor(self.raw)
        try:
            rows = [_params(p) for p in seq]
            cur.executemany(to_pg(sql, bool(rows) and isinstance(rows[0], dict)), rows)
        except psycopg.Error as exc:
            raise _translate_error(exc) from exc
        return cur


def redact(url: str) -> str:
    """The URL without its password, for logs and error lines."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class _Local(threading.local):
    conn: psycopg.Connection[Any] | None = None
    depth: int = 0
    callbacks: list[Callable[[], None]]

    def __init__(self) -> None:
        self.callbacks = []


class PostgresDatabase(Database):
    """The hub's store on PostgreSQL, with the SQLite adapter's interface.

    Args:
        url: ``postgresql://user:password@host:port/dbname`` (libpq syntax; ``?host=/dir``
            for a unix socket).
        pool_size: most connections this process holds.
        connect_timeout: seconds to wait for the server at start and per connection.
    """

    def __init__(self, url: str, *, pool_size: int = 10, connect_timeout: float = 10.0) -> None:
        self.url = url
        self.path = redact(url)
        self._check_reachable(connect_timeout)
        self._pool_size = pool_size
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(connect_timeout))},
            configure=self._configure,
            timeout=30.0,
            reconnect_timeout=300.0,
            open=False,
            name="hub-pg",
        )
        self._pool.open(wait=True, timeout=connect_timeout)
        self._local = _Local()
        self.migrate()

    def _check_reachable(self, timeout: float) -> None:
        """Fail at once, in one line, when the server is away or refuses the login."""
        try:
            with psycopg.connect(self.url, connect_timeout=max(1, int(timeout))):
                pass
        except psycopg.Error as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise StorageError(f"cannot connect to PostgreSQL at {self.path}: {reason}") from exc

    @staticmethod
    def _configure(conn: psycopg.Connection[Any]) -> None:
        # Client-side binding, like SQLite's: parameters become literals, so PostgreSQL infers
        # their type from where they stand (a NULL in "? IS NULL", text against a number).
        conn.cursor_factory = psycopg.ClientCursor
        conn.row_factory = _row_factory
        conn.adapters.register_loader("numeric", _NumericLoader)

    # -- schema -----------------------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply every migration not applied yet (one migrator at a time); return their names."""
        folder = resources.files("hub.storage") / "migrations"
        entries = sorted((e for e in folder.iterdir() if e.name.endswith(".sql")), key=lambda e: e.name)
        applied: list[str] = []
        with self._transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations").fetchall()}
            check_not_newer(done, [e.name for e in entries])
            for entry in entries:
                if entry.name in done:
                    continue
                try:
                    for statement in _split_sql(entry.read_text(encoding="utf-8")):
                        for pg_statement in translate_ddl(statement):
                            conn.raw.execute(pg_statement.rstrip().rstrip(";"))
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (?)", (entry.name,))
                except psycopg.Error as exc:
                    raise StorageError(f"migration {entry.name} failed: {exc}") from exc
                logger.info("applied migration %s", entry.name)
                applied.append(entry.name)
        return applied

    # -- access -----------------------------------------------------------------------

    def _begin(self) -> psycopg.Connection[Any]:
        """A pooled connection with a transaction open.

        A connection that died while idle in the pool (the server restarted) fails at
        ``BEGIN``, before anything was done: it is dropped and the next one tried, up to one
        more than the pool holds, so that a restart costs no request (cheaper than checking
        every connection on checkout).
        """
        attempts = self._pool_size + 1
        for attempt in range(1, attempts + 1):
            try:
                conn = self._pool.getconn()
            except PoolTimeout as exc:
                raise PgOperationalError(f"no PostgreSQL connection: {exc}") from exc
            try:
                conn.execute("BEGIN")
                return conn
            except psycopg.OperationalError as exc:
                self._pool.putconn(conn)
                if attempt == attempts:
                    raise _translate_error(exc) from exc
                logger.warning("PostgreSQL connection lost, retrying on a fresh one: %s", exc)
        raise AssertionError("unreachable")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A transaction on this thread's connection; nested calls join the outer one."""
        with self._transaction() as conn:
            yield conn  # type: ignore[misc]

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        local = self._local
        if local.depth:
            assert local.conn is not None
            local.depth += 1
            try:
                yield Connection(local.conn)
            finally:
                local.depth -= 1
            return
        raw = self._begin()
        local.conn, local.depth = raw, 1
        try:
            try:
                yield Connection(raw)
            except BaseException:
                local.callbacks.clear()
                if not raw.closed and not raw.broken:
                    try:
                        raw.execute("ROLLBACK")
                    except psycopg.Error:
                        logger.warning("rollback failed; the connection is dropped")
                raise
            try:
                raw.execute("COMMIT")
            except psycopg.Error as exc:
                local.callbacks.clear()
                raise _translate_error(exc) from exc
        finally:
            local.conn, local.depth = None, 0
            self._pool.putconn(raw)
        callbacks, local.callbacks = local.callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("after-commit callback failed")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Several reads in one transaction (PostgreSQL's readers never wait for writers, so
        unlike SQLite's this needs no separate reader connection); joins an open one."""
        with self.transaction() as conn:
            yield conn

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this thread's outermost transaction commits (dropped on rollback)."""
        if self._local.depth:
            self._local.callbacks.append(callback)
            return
        callback()

    @property
    def in_transaction(self) -> bool:
        """True while this thread's code is inside :meth:`transaction`."""
        return self._local.depth > 0

    def _read(self, sql: str, params: Params, one: bool) -> Any:
        local = self._local
        if local.depth:
            assert local.conn is not None
            cur = Connection(local.conn).execute(sql, params)
            return cur.fetchone() if one else cur.fetchall()
        attempts = self._pool_size + 1
        for attempt in range(1, attempts + 1):
            try:
                with self._pool.connection() as raw:
                    cur = Connection(raw).execute(sql, params)
                    return cur.fetchone() if one else cur.fetchall()
            except PgOperationalError:
                if attempt == attempts:
                    raise
                logger.warning("PostgreSQL connection lost during a read; retrying once")
            except PoolTimeout as exc:
                raise PgOperationalError(f"no PostgreSQL connection: {exc}") from exc
        raise AssertionError("unreachable")

    def query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows."""
        rows: list[sqlite3.Row] = self._read(sql, params, one=False)
        return rows

    def query_as_writer(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """The same as :meth:`query` here: the server shares one buffer cache."""
        return self.query(sql, params)

    def query_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        """Run a read query and return the first row, or None."""
        row: sqlite3.Row | None = self._read(sql, params, one=True)
        return row

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        """Run one statement in its own transaction (or the current one)."""
        with self.transaction() as conn:
            return conn.execute(sql, params)

    def integrity_check(self) -> str:
        """``"ok"`` when the server answers and the schema is in place."""
        row = self.query_one("SELECT COUNT(*) FROM schema_migrations")
        return "ok" if row and row[0] else "no schema"

    def start_checkpointer(self) -> None:
        """Nothing to do: PostgreSQL's own checkpointer process does this work."""
        return None

    @property
    def checkpointer(self) -> None:
        return None

    def close(self) -> None:
        self._pool.close()


def create_database(admin_url: str, name: str, *, template: str | None = None) -> None:
    """``CREATE DATABASE name [TEMPLATE template]`` (tests and the benchmark)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        query = pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name))
        if template:
            query = pgsql.SQL("{} TEMPLATE {}").format(query, pgsql.Identifier(template))
        conn.execute(query)
