"""The share leases and the worker registry in the database (tables of ``0095_worker_leases``).

Every statement is portable SQL with ``?`` placeholders. A claim is one conditional UPDATE
(``WHERE share = ? AND expires_at < ?``): on PostgreSQL the second of two concurrent claims
waits on the row lock, re-reads the row after the first commits and matches nothing, so a
share has one holder however many workers race for it. Times are the workers' wall clocks
(``time.time()``): the workers of one hub must keep their clocks in step (NTP) to well under
the lease's time to live.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.errors import ConfigError
from hub.storage.database import Database


@dataclass(frozen=True, slots=True)
class Lease:
    """One share's row: who holds it and until when."""

    share: int
    worker: str
    expires_at: float
    acquired_at: float


class Leases:
    """The lease table of one hub, as a worker uses it."""

    def __init__(self, db: Database, shares: int) -> None:
        self._db = db
        self.shares = shares

    def seed(self) -> None:
        """Create the share rows (once per database); refuse a database split differently."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT COUNT(*), MAX(share) FROM worker_leases").fetchone()
            count, top = int(row[0]), row[1]
            if count and (top is None or int(top) + 1 != self.shares or count != self.shares):
                raise ConfigError(
                    f"HUB_SHARES={self.shares}, but this database's households are split into "
                    f"{count} shares: start every worker with HUB_SHARES={count}")
            conn.executemany(
                "INSERT INTO worker_leases (share, worker, expires_at, heartbeat_at, acquired_at)"
                " VALUES (?, '', 0, 0, 0) ON CONFLICT (share) DO NOTHING",
                [(k,) for k in range(self.shares)],
            )

    def beat(self, worker: str, api: str, now: float, ttl: float) -> set[int]:
        """Renew the worker's row and its leases; return the shares it still holds."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO workers (id, api, started_at, heartbeat_at, expires_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET api = excluded.api, heartbeat_at = excluded.heartbeat_at,"
                " expires_at = excluded.expires_at",
                (worker, api, now, now, now + ttl),
            )
            # Only leases not yet expired are renewed: one that lapsed may be another's now.
            conn.execute(
                "UPDATE worker_leases SET expires_at = ?, heartbeat_at = ? WHERE worker = ? AND expires_at >= ?",
                (now + ttl, now, worker, now),
            )
            rows = conn.execute(
                "SELECT share FROM worker_leases WHERE worker = ? AND expires_at > ?", (worker, now)
            ).fetchall()
        return {int(r[0]) for r in rows}

    def live_workers(self, now: float) -> int:
        """How many workers renewed their row within its time to live."""
        row = self._db.query_one("SELECT COUNT(*) FROM workers WHERE expires_at > ?", (now,))
        return int(row[0]) if row else 0

    def free(self, now: float) -> list[int]:
        """The shares no worker holds now (never held, released, or lapsed)."""
        return [int(r[0]) for r in self._db.query(
            "SELECT share FROM worker_leases WHERE expires_at < ? ORDER BY share", (now,))]

    def claim(self, worker: str, share: int, now: float, ttl: float) -> bool:
        """Take ``share`` if it is free; True when this worker won it."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE worker_leases SET worker = ?, expires_at = ?, heartbeat_at = ?, acquired_at = ?"
                " WHERE share = ? AND expires_at < ?",
                (worker, now + ttl, now, now, share, now),
            )
            return cur.rowcount == 1

    def release(self, worker: str, share: int) -> None:
        """Give ``share`` up at once (its holder stopped consuming it first)."""
        self._db.execute(
            "UPDATE worker_leases SET expires_at = 0 WHERE share = ? AND worker = ?", (share, worker))

    def retire(self, worker: str) -> None:
        """A clean stop: release every share and leave the registry."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE worker_leases SET expires_at = 0 WHERE worker = ?", (worker,))
            conn.execute("DELETE FROM workers WHERE id = ?", (worker,))

    def table(self) -> list[Lease]:
        """Every share's row, in share order (``hub status``)."""
        return [Lease(int(r["share"]), r["worker"], float(r["expires_at"]), float(r["acquired_at"]))
                for r in self._db.query(
                    "SELECT share, worker, expires_at, acquired_at FROM worker_leases ORDER BY share")]

    def workers(self, now: float) -> list[dict[str, object]]:
        """The workers alive now with their API address."""
        return [{"id": r["id"], "api": r["api"], "started_at": float(r["started_at"])}
                for r in self._db.query(
                    "SELECT id, api, started_at FROM workers WHERE expires_at > ? ORDER BY id", (now,))]
