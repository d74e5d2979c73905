"""The store a test runs on: SQLite files (default) or fresh PostgreSQL databases.

``pytest --store=postgresql`` (or ``HUB_TEST_STORE=postgresql``) starts one throwaway
PostgreSQL for the session (``tests/pg_server.py``); then every test gets a fresh database
in ``HUB_DATABASE_URL`` (so hubs built from settings, and ``hub`` subprocesses, use it) and
:func:`open_db` maps each file path a test names to a database of its own (the same path
reopens the same database, as a file would).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hub.storage import Database

if TYPE_CHECKING:
    from tests.pg_server import PgServer


class _State:
    server: PgServer | None = None
    by_path: dict[str, str] = {}  # noqa: RUF012 - process-wide registry by design
    opened: list[Database] = []  # noqa: RUF012


def use_server(server: PgServer | None) -> None:
    _State.server = server


def on_postgresql() -> bool:
    """True when this run's store is PostgreSQL."""
    return _State.server is not None


def location(path: str | Path) -> str:
    """What to hand a subprocess for the database at ``path``: the path, or its URL."""
    server = _State.server
    key = str(path)
    if server is None:
        return key
    if key == ":memory:" or key not in _State.by_path:
        _State.by_path[key] = server.new_database()
    return _State.by_path[key]


def open_location(where: str) -> Database:
    """Open what :func:`location` gave (subprocess workers use this)."""
    if where.startswith("postgresql://"):
        from hub.storage.postgres import PostgresDatabase

        return PostgresDatabase(where, pool_size=4)
    return Database(where)


def open_db(path: str | Path) -> Database:
    """The test's database at ``path``: that SQLite file, or its PostgreSQL stand-in."""
    if _State.server is None:
        return Database(path)
    db = open_location(location(path))
    _State.opened.append(db)
    return db


def mark() -> int:
    """How many databases are open now (a test closes those it opened after this)."""
    return len(_State.opened)


def close_opened(since: int = 0) -> None:
    """Close the PostgreSQL databases :func:`open_db` handed out after ``since``."""
    while len(_State.opened) > since:
        _State.opened.pop().close()


def store_env(data_dir: str | Path) -> dict[str, str]:
    """Settings that make a ``hub`` subprocess use the store of ``data_dir`` (its
    ``hub.sqlite3``, or on PostgreSQL the database standing in for that file)."""
    env = {"HUB_DATA_DIR": str(data_dir)}
    if _State.server is not None:
        env["HUB_DATABASE_URL"] = location(Path(data_dir) / "hub.sqlite3")
    return env
