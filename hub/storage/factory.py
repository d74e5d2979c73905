"""Open the hub's store from settings: PostgreSQL when ``HUB_DATABASE_URL`` is set, else SQLite.

Every place that builds a :class:`~hub.storage.database.Database` from settings goes through
:func:`open_database`, so that one setting moves everything the hub keeps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.storage.database import Database

if TYPE_CHECKING:
    from hub.config import Settings


def open_database(settings: Settings, *, sqlite_name: str = "hub.sqlite3", pool_size: int | None = None) -> Database:
    """The store for ``settings``.

    Args:
        sqlite_name: file under ``data_dir`` when on SQLite (the telemetry history has a
            file of its own so its writer never holds the main file's lock; on PostgreSQL
            both live in the one database).
        pool_size: PostgreSQL connections (default ``settings.database_pool_size``).
    """
    if settings.database_url:
        # Imported here so that an SQLite-only install never loads psycopg.
        from hub.storage.postgres import PostgresDatabase

        return PostgresDatabase(settings.database_url, pool_size=pool_size or settings.database_pool_size)
    return Database(settings.data_dir / sqlite_name)
