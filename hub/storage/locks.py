"""Row locks for read-then-decide checks that must hold under concurrent writers.

A capacity check that counts rows and then inserts (RSVPs against a gathering's capacity,
seats of a ride, accepting a suggestion once) is safe on SQLite, whose ``BEGIN IMMEDIATE``
admits one writer at a time, but not on PostgreSQL, where two workers' transactions run side by
side under ``READ COMMITTED``. :func:`lock_row` takes the row the decision is about with
``SELECT … FOR UPDATE`` first: a second transaction waits there until the first commits, and
its later statements then see what the first wrote. On SQLite it does nothing (the writer lock
is already held).
"""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def lock_row(conn: Any, table: str, key: str, *, column: str = "id") -> None:
    """Lock ``table``'s row where ``column = key`` until the transaction ends (PostgreSQL)."""
    from hub.storage.postgres import Connection  # lazy: SQLite installs need no psycopg

    if not isinstance(conn, Connection):
        return
    if not (_NAME.match(table) and _NAME.match(column)):
        raise ValueError(f"bad table or column name {table}.{column}")
    conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ? FOR UPDATE", (key,))
