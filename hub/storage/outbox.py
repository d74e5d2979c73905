"""The transactional outbox.

A state change and the messages it causes commit in one transaction: callers add
messages with :meth:`Outbox.add` on the connection of their open transaction. After the
commit a relay (``hub.transport.relay``) publishes what is pending and marks each message
sent once the broker acknowledged it, so a crash anywhere between commit and publish
loses nothing: the relay resends on start. Every message carries its id in the payload
(``"id"``), so a consumer that sees it twice can drop the copy.

A *tap* (:meth:`Outbox.tap`) sees every message added under a topic prefix, on the adding
transaction's connection: what it writes commits or rolls back with the message (the
notifications of :mod:`hub.notify` follow the households' MQTT messages this way).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from hub.storage.database import Database

#: A tap: ``(conn, topic, payload, message_id)``, called inside the adding transaction.
Tap = Callable[[sqlite3.Connection, str, "dict[str, Any] | bytes", str], None]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message waiting to be published."""

    id: str
    topic: str
    payload: bytes
    qos: int
    retain: bool
    seq: int = 0


def new_message_id() -> str:
    """A fresh, globally unique message id."""
    return uuid.uuid4().hex


class Outbox:
    """Messages committed with the state change that caused them, waiting for the relay."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._listeners: list[Callable[[], None]] = []
        self._taps: list[tuple[str, Tap]] = []
        self._added = False

    def tap(self, prefix: str, listener: Tap) -> None:
        """Call ``listener`` for each message added under ``prefix``, in its transaction.

        A listener that raises rolls the caller's transaction back, like any failed write
        of it: a listener must only write rows of its own and catch what it can survive.
        """
        self._taps.append((prefix, listener))

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after :meth:`notify` (the relay wakes up on it)."""
        self._listeners.append(listener)

    def notify(self) -> None:
        """Tell the relay that new messages were committed (no-op when none were added)."""
        if not self._added:
            return
        self._added = False
        for listener in self._listeners:
            listener()

    def add(
        self,
        conn: sqlite3.Connection,
        topic: str,
        payload: dict[str, Any] | bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        message_id: str | None = None,
    ) -> str:
        """Queue a message inside the caller's open transaction; return its id.

        A dict payload gets the message id as its ``"id"`` key, unless it has one. A bytes
        payload is sent as it is (an empty retained payload clears a retained topic).
        A message id that is already queued is ignored, so that replays stay single.
        """
        if isinstance(payload, dict):
            mid = message_id or str(payload.get("id") or new_message_id())
            body = orjson.dumps(payload if "id" in payload else {"id": mid, **payload})
        else:
            mid = message_id or new_message_id()
            body = payload
        self._added = True
        conn.execute(
            "INSERT INTO outbox (id, topic, payload, qos, retain, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (mid, topic, body, qos, int(retain), time.time()),
        )
        for prefix, listener in self._taps:
            if topic.startswith(prefix):
                listener(conn, topic, payload, mid)
        return mid

    def added(self) -> None:
        """Record that the caller wrote outbox rows itself (bulk inserts), so notify() relays."""
        self._added = True

    def pending(self, limit: int = 500, *, after_seq: int = 0) -> list[OutboxMessage]:
        """Messages committed but not yet acknowledged by the broker, in commit order.

        ``after_seq`` skips those up to a sequence number the caller already dispatched.
        Read on the writer's connection: the relay reads right after each commit.
        """
        rows = self._db.query_as_writer(
            "SELECT seq, id, topic, payload, qos, retain FROM outbox"
            " WHERE sent_at IS NULL AND seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [
            OutboxMessage(
                r["id"], r["topic"], bytes(r["payload"]), r["qos"], bool(r["retain"]), r["seq"]
            )
            for r in rows
        ]

    def unsent_count(self) -> int:
        """How many committed messages the broker has not acknowledged yet."""
        row = self._db.query_one("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
        return int(row[0]) if row else 0

    def discard(self, conn: sqlite3.Connection, topic_prefix: str) -> int:
        """Drop unsent messages under ``topic_prefix`` (a revoked consent stops its flow)."""
        cur = conn.execute(
            "DELETE FROM outbox WHERE sent_at IS NULL AND substr(topic, 1, ?) = ?",
            (len(topic_prefix), topic_prefix),
        )
        return cur.rowcount

    def mark_sent(self, ids: Iterable[str]) -> None:
        """Record that the broker acknowledged these messages."""
        now = time.time()
        with self._db.transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
                [(now, i) for i in ids],
            )

    def purge_sent(self, older_than_s: float = 86400.0) -> int:
        """Delete messages sent more than ``older_than_s`` seconds ago."""
        cut = time.time() - older_than_s
        cur = self._db.execute(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (cut,)
        )
        return cur.rowcount
