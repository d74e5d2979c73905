"""The dead-letter store: every rejected message, kept with its reason, bounded.

Nothing accepted is lost and nothing refused disappears silently: a message the
:class:`~hub.devices.Normalizer` rejects is written here (household, topic, reason, the
payload's first :data:`MAX_STORED` bytes), counted per reason for ``/metrics``, and logged at
most once per :data:`LOG_INTERVAL` seconds per (household, topic) so a broken device cannot
flood the log. The table keeps the newest ``capacity`` rows; older ones are trimmed.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass

from hub.clock import Clock
from hub.storage.database import Database

logger = logging.getLogger(__name__)

MAX_STORED = 16 * 1024
"""Bytes of a rejected payload kept (enough to see what was wrong)."""

LOG_INTERVAL = 60.0
"""Seconds between two log lines about the same household and topic."""

_TRIM_EVERY = 100
_MAX_LOG_KEYS = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """One rejected message."""

    id: int
    received_at: float
    household: str | None
    topic: str
    reason: str
    payload: bytes


def reason_kind(reason: str) -> str:
    """A low-cardinality label for a reason, for metrics (``malformed JSON: line 1`` ->
    ``malformed_json``)."""
    head = reason.split(":", 1)[0].strip().lower()
    for word in ("malformed json", "unknown topic", "crc", "nested", "utf-8", "future",
                 "limit", "not a number", "not a boolean", "household"):
        if word in head or word in reason.lower()[:60]:
            return word.replace(" ", "_").replace("-", "")
    return "other"


class DeadLetterStore:
    """Bounded store of rejected messages in the ``dead_letters`` table.

    Args:
        db: the hub's database.
        capacity: rows kept; the oldest beyond it are deleted.
        clock: the hub's clock (``received_at``); wall time when None.
    """

    def __init__(self, db: Database, *, capacity: int = 10_000, clock: Clock | None = None
                 ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.db = db
        self.capacity = capacity
        self.clock = clock
        self.counts: Counter[str] = Counter()
        """Rejections per :func:`reason_kind` since start (export as a labelled counter)."""
        self.total = 0
        self._since_trim = 0
        self._logged: dict[tuple[str | None, str], float] = {}

    def _now(self) -> float:
        return self.clock.timestamp() if self.clock is not None else time.time()

    def add(self, *, household: str | None, topic: str, reason: str, payload: bytes,
            conn: sqlite3.Connection | None = None) -> None:
        """Store one rejection (inside ``conn``'s transaction when given)."""
        now = self._now()
        row = (now, household, topic[:512], reason[:500], payload[:MAX_STORED])
        sql = ("INSERT INTO dead_letters (received_at, household, topic, reason, payload) "
               "VALUES (?, ?, ?, ?, ?)")
        if conn is not None:
            conn.execute(sql, row)
        else:
            with self.db.transaction() as own:
                own.execute(sql, row)
        self.total += 1
        self.counts[reason_kind(reason)] += 1
        self._since_trim += 1
        if self._since_trim >= _TRIM_EVERY:
            self.trim(conn)
        self._log(household, topic, reason, len(payload), now)

    def _log(self, household: str | None, topic: str, reason: str, size: int, now: float
             ) -> None:
        key = (household, topic)
        last = self._logged.get(key)
        if last is not None and now - last < LOG_INTERVAL:
            return
        if len(self._logged) >= _MAX_LOG_KEYS:
            self._logged.clear()  # forget old keys rather than grow without bound
        self._logged[key] = now
        logger.warning("rejected %d bytes from %s on %s: %s", size, household or "-",
                       topic[:200], reason[:200])

    def trim(self, conn: sqlite3.Connection | None = None) -> None:
        """Delete all but the newest ``capacity`` rows."""
        sql = ("DELETE FROM dead_letters WHERE id <= "
               "(SELECT MAX(id) FROM dead_letters) - ?")
        if conn is not None:
            conn.execute(sql, (self.capacity,))
        else:
            with self.db.transaction() as own:
                own.execute(sql, (self.capacity,))
        self._since_trim = 0

    def recent(self, limit: int = 100, *, household: str | None = None) -> list[DeadLetter]:
        """The newest rejections, newest first (optionally one household's only)."""
        limit = max(1, min(limit, 1000))
        if household is None:
            rows = self.db.query("SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?",
                                 (limit,))
        else:
            rows = self.db.query("SELECT * FROM dead_letters WHERE household = ? "
                                 "ORDER BY id DESC LIMIT ?", (household, limit))
        return [DeadLetter(id=r["id"], received_at=r["received_at"], household=r["household"],
                           topic=r["topic"], reason=r["reason"], payload=bytes(r["payload"] or b""))
                for r in rows]

    def count(self) -> int:
        """Rows currently stored."""
        row = self.db.query_one("SELECT COUNT(*) FROM dead_letters")
        return int(row[0]) if row else 0
