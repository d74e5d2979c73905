"""The dead-letter store: every rejected inbound message, with its reason and topic.

Bounded twice: the in-memory buffer holds at most one batch worth before it is written
(in the batch's transaction), and the table keeps the newest ``max_rows`` (older rows are
deleted when it grows past 110 % of that). Logging is limited to one line a minute per
device, so a broken device cannot flood the log.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter
from typing import Any

from hub.storage.database import Database

logger = logging.getLogger(__name__)

PAYLOAD_KEEP = 1024
LOG_EVERY_S = 60.0


class DeadLetters:
    """Collects rejected messages and writes them with the batch."""

    def __init__(self, db: Database, *, max_rows: int = 10000) -> None:
        self._db = db
        self._max_rows = max_rows
        self._pending: list[tuple[float, str | None, str, str, bytes]] = []
        self._last_logged: dict[str, float] = {}
        self._since_trim = 0
        self.total = 0
        self.by_kind: Counter[str] = Counter()

    def add(self, household: str | None, topic: str, reason: str, payload: bytes) -> None:
        """Record one rejected message (written at the next :meth:`write`)."""
        now = time.time()
        self._pending.append((now, household, topic[:512], reason[:300], payload[:PAYLOAD_KEEP]))
        self.total += 1
        self.by_kind[reason_kind(reason)] += 1
        if len(self._pending) > 10 * self._max_rows:
            del self._pending[: len(self._pending) - self._max_rows]
        key = topic  # one device topic: one log line a minute at most
        last = self._last_logged.get(key, 0.0)
        if now - last >= LOG_EVERY_S:
            if len(self._last_logged) > 10000:
                self._last_logged.clear()
            self._last_logged[key] = now
            logger.warning("rejected message on %s: %s", topic[:200], reason[:200])

    def write(self, conn: sqlite3.Connection) -> int:
        """Write pending rows on the caller's transaction; trim the table when due."""
        rows, self._pending = self._pending, []
        if not rows:
            return 0
        conn.executemany(
            "INSERT INTO dead_letters (received_at, household, topic, reason, payload) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        self._since_trim += len(rows)
        if self._since_trim > self._max_rows // 10:
            self._since_trim = 0
            conn.execute(
                "DELETE FROM dead_letters WHERE id <= (SELECT MAX(id) FROM dead_letters) - ?",
                (self._max_rows,),
            )
        return len(rows)

    def recent(self, limit: int = 100, household: str | None = None) -> list[dict[str, Any]]:
        """The newest dead letters, newest first (payload shown as text, cut)."""
        if household is None:
            rows = self._db.query("SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._db.query(
                "SELECT * FROM dead_letters WHERE household = ? ORDER BY id DESC LIMIT ?", (household, limit)
            )
        return [
            {
                "id": r["id"],
                "received_at": r["received_at"],
                "household": r["household"],
                "topic": r["topic"],
                "reason": r["reason"],
                "payload": bytes(r["payload"] or b"")[:200].decode("utf-8", "replace"),
            }
            for r in rows
        ]


_KINDS = ("malformed json", "unknown topic", "crc", "nested", "utf-8", "future", "limit", "over 256",
          "not a number", "not a boolean", "household", "no handler", "rate")


def reason_kind(reason: str) -> str:
    """A low-cardinality label for a reason, for metrics (``malformed JSON: line 1`` -> ``malformed_json``)."""
    text = reason.lower()[:80]
    for word in _KINDS:
        if word in text:
            return word.replace(" ", "_").replace("-", "")
    return "other"
