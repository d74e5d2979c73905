"""Schema version checks shared by the SQLite and PostgreSQL adapters."""

from __future__ import annotations

from collections.abc import Iterable

from hub.errors import StorageError


def check_not_newer(done: Iterable[str], known: Iterable[str]) -> None:
    """Refuse a database migrated by a newer hub: it holds migrations this one lacks.

    Running on it would read tables whose meaning this code does not know, so the hub
    stops at start with one line instead.
    """
    unknown = sorted(set(done) - set(known))
    if unknown:
        raise StorageError(
            f"the database schema is newer than this hub (unknown migrations: {', '.join(unknown)});"
            " run the hub version that wrote it"
        )
