"""The notice book: which notices are active, for whom, and what changed.

Lifecycle rules (CAP 1.2 §3.2.1 msgType and references):

* an ``alert`` becomes active (already expired on arrival: kept as expired, no change);
* an ``update`` replaces the notices it references; a ``cancel`` retracts them. A
  reference to a notice already replaced is followed to its current replacement;
* the same id twice in one community is ignored (no change);
* an update or cancel whose referenced notices are all unknown is kept ``pending`` and
  applied, in ``sent`` order, when one of them arrives; pending ones are dropped after
  :data:`PENDING_MAX_AGE` or when they expire;
* :meth:`NoticeBook.expire` retires active notices past their ``expires``.

Publishing (through the outbox, so state and messages commit together), all QoS 1:

* ``community/<community>/notices/<topic-id>``, RETAINED: :meth:`Notice.marshal` plus
  ``community``, ``thread`` and ``households`` (the number of households targeted, never
  their ids); cleared with an empty retained payload on update, cancel and expiry.
* ``home/<household>/hub/notices/<topic-id>``, RETAINED too, so a household that comes
  online later still finds its current notices: the notice in the household's language
  (its best ``<info>`` variant) plus ``community`` and ``thread``; cleared the same way.

``<topic-id>`` is the notice id percent-encoded (:func:`topic_id`) so that ``/``, ``+``
and ``#`` in CAP identifiers cannot change the topic's shape.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson

from hub.clock import Clock
from hub.notices.geo import Household, households_for
from hub.notices.model import Notice
from hub.notices.parse import DEFAULT_MAX_BYTES, parse_document
from hub.storage.database import Database
from hub.storage.outbox import Outbox, new_message_id

logger = logging.getLogger(__name__)

PENDING_MAX_AGE = timedelta(days=7)
"""How long an update or cancel waits for its original before it is dropped."""


def topic_id(notice_id: str) -> str:
    """The notice id as one safe MQTT topic level (percent-encoded, RFC 3986 style)."""
    return quote(notice_id, safe="-_.~@:,")


def community_topic(community: str, notice_id: str) -> str:
    """``community/<community>/notices/<topic-id>`` (retained)."""
    return f"community/{community}/notices/{topic_id(notice_id)}"


def household_topic(household: str, notice_id: str) -> str:
    """``home/<household>/hub/notices/<topic-id>`` (retained)."""
    return f"home/{household}/hub/notices/{topic_id(notice_id)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeChange:
    """One change to the active notices, for rules and the admin view.

    Attributes:
        action: ``arrived``, ``updated``, ``cancelled`` or ``expired``.
        notice: the notice concerned: the new one for ``arrived``/``updated``, the
            retracted or expired one for ``cancelled``/``expired``.
        households: the households it was delivered to (or withdrawn from).
        previous: for ``updated``, the id of the notice replaced; else None.
        thread: id of the first notice of its update chain (stable across updates, so a
            rule can key what it caused on it).
        cause: for ``cancelled``, the cancel message; else None.
    """

    action: str
    notice: Notice
    households: frozenset[str] = field(default_factory=frozenset)
    previous: str | None = None
    thread: str = ""
    cause: Notice | None = None

    def marshal(self) -> dict[str, Any]:
        """JSON form (households as a sorted list)."""
        return {
            "action": self.action,
            "notice": self.notice.marshal(),
            "community": self.notice.community,
            "households": sorted(self.households),
            "previous": self.previous,
            "thread": self.thread,
            "cause": None if self.cause is None else self.cause.id,
        }


class NoticeBook:
    """Active notices per community, their targeting, lifecycle and publication.

    Args:
        db: the hub database (tables from ``0020_notices.sql``; households from core).
        outbox: where the retained notices and their clearing go.
        clock: the time source (expiry, receive times).
        max_bytes: size limit for :meth:`ingest_bytes`.
    """

    def __init__(
        self, db: Database, outbox: Outbox, clock: Clock, *, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._clock = clock
        self._max_bytes = max_bytes

    # -- intake -------------------------------------------------------------------------

    def ingest_bytes(
        self, data: bytes, community: str, source: str, *, language: str | None = None
    ) -> list[NoticeChange]:
        """Parse a document (CAP, index feed, outage JSON) and ingest every notice in it.

        This is what the MQTT intake (:class:`hub.notices.intake.NoticeIntake`, topic
        ``publishers/<publisher>/notices/<community>``) calls for an authorised publisher's
        message, and what the API calls for a posted CAP document. ``source`` is recorded
        with the notice (``mqtt:<publisher>``, ``api:<admin>``, ``feed:<url>``).

        Raises:
            NoticeRejected: the document was refused; nothing changed.
        """
        notices = parse_document(data, language=language, max_bytes=self._max_bytes)
        changes: list[NoticeChange] = []
        for notice in notices:
            changes += self.ingest(notice, community=community, source=source)
        return changes

    def ingest(self, notice: Notice, *, community: str, source: str = "") -> list[NoticeChange]:
        """Record one notice for ``community`` and apply it; return what changed.

        Returns an empty list for a duplicate id, a pending update or cancel, a stale
        one, or an alert that has already expired.
        """
        notice = notice.with_community(community)
        with self._db.transaction() as conn:
            if self._row(conn, community, notice.id) is not None:
                logger.info("notice %s/%s: duplicate ignored", community, notice.id)
                return []
            changes = self._apply(conn, notice, source)
        self._outbox.notify()
        for change in changes:
            logger.info(
                "notice %s/%s: %s (%d households)",
                community,
                change.notice.id,
                change.action,
                len(change.households),
            )
        return changes

    def expire(self, now: datetime | None = None) -> list[NoticeChange]:
        """Retire active notices whose ``expires`` is past; drop stale pending ones."""
        now = now or self._clock.now()
        ts = now.timestamp()
        changes: list[NoticeChange] = []
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT * FROM notices WHERE state = 'active' AND expires_at IS NOT NULL"
                " AND expires_at <= ? ORDER BY expires_at",
                (ts,),
            ).fetchall()
            for row in rows:
                households = self._withdraw(conn, row, "expired")
                changes.append(
                    NoticeChange(
                        action="expired",
                        notice=_notice(row),
                        households=households,
                        thread=row["thread"],
                    )
                )
            conn.execute(
                "UPDATE notices SET state = 'expired' WHERE state = 'pending'"
                " AND ((expires_at IS NOT NULL AND expires_at <= ?) OR received_at <= ?)",
                (ts, ts - PENDING_MAX_AGE.total_seconds()),
            )
        if changes:
            self._outbox.notify()
        for change in changes:
            logger.info("notice %s/%s: expired", change.notice.community, change.notice.id)
        return changes

    # -- queries ------------------------------------------------------------------------

    def active(self, community: str | None = None, household: str | None = None) -> list[Notice]:
        """Active notices, optionally of one community and/or delivered to one household."""
        sql = "SELECT n.* FROM notices n"
        where = ["n.state = 'active'"]
        params: list[Any] = []
        if household is not None:
            sql += (
                " JOIN notice_households h ON h.community = n.community"
                " AND h.notice_id = n.id AND h.household = ?"
            )
            params.append(household)
        if community is not None:
            where.append("n.community = ?")
            params.append(community)
        sql += " WHERE " + " AND ".join(where) + " ORDER BY n.received_at, n.id"
        return [_notice(r) for r in self._db.query(sql, params)]

    def get(self, notice_id: str, community: str | None = None) -> Notice | None:
        """The notice with this id in any state (the first community's, if not given)."""
        row = self._find(notice_id, community)
        return None if row is None else _notice(row)

    def state(self, notice_id: str, community: str | None = None) -> str | None:
        """``active``, ``superseded``, ``cancelled``, ``expired``, ``pending``, ``applied``,
        ``stale``, or None when unknown."""
        row = self._find(notice_id, community)
        return None if row is None else str(row["state"])

    def households_of(self, notice_id: str, community: str) -> frozenset[str]:
        """The households an active notice is delivered to."""
        rows = self._db.query(
            "SELECT household FROM notice_households WHERE community = ? AND notice_id = ?",
            (community, notice_id),
        )
        return frozenset(r["household"] for r in rows)

    # -- internals ----------------------------------------------------------------------

    def _find(self, notice_id: str, community: str | None) -> sqlite3.Row | None:
        if community is None:
            return self._db.query_one(
                "SELECT * FROM notices WHERE id = ? ORDER BY received_at LIMIT 1", (notice_id,)
            )
        return self._db.query_one(
            "SELECT * FROM notices WHERE community = ? AND id = ?", (community, notice_id)
        )

    @staticmethod
    def _row(conn: sqlite3.Connection, community: str, notice_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM notices WHERE community = ? AND id = ?", (community, notice_id)
        ).fetchone()
        return row

    def _insert(
        self, conn: sqlite3.Connection, notice: Notice, *, state: str, thread: str, source: str
    ) -> None:
        conn.execute(
            "INSERT INTO notices (community, id, msg_type, state, thread, sent_at, expires_at,"
            " received_at, source, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                notice.community,
                notice.id,
                notice.msg_type,
                state,
                thread,
                None if notice.sent is None else notice.sent.timestamp(),
                None if notice.expires is None else notice.expires.timestamp(),
                self._clock.timestamp(),
                source,
                orjson.dumps(notice.to_record()).decode(),
            ),
        )

    def _apply(self, conn: sqlite3.Connection, notice: Notice, source: str) -> list[NoticeChange]:
        community = str(notice.community)
        if notice.msg_type == "alert":
            if notice.expires is not None and notice.expires <= self._clock.now():
                self._insert(conn, notice, state="expired", thread=notice.id, source=source)
                return []
            households = self._publish(conn, notice, thread=notice.id, source=source)
            changes = [
                NoticeChange(
                    action="arrived", notice=notice, households=households, thread=notice.id
                )
            ]
            return changes + self._release(conn, community, notice.id)
        known = [r for r in (self._head(conn, community, ref) for ref in notice.references) if r]
        active = {r["id"]: r for r in known if r["state"] == "active"}
        if not active and all(r["state"] == "pending" for r in known):
            # Nothing it refers to has arrived yet (or only other early updates have).
            self._insert(conn, notice, state="pending", thread=notice.id, source=source)
            conn.executemany(
                "INSERT INTO notice_refs (community, notice_id, ref_id) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [(community, notice.id, ref) for ref in notice.references],
            )
            logger.info("notice %s/%s: %s kept pending", community, notice.id, notice.msg_type)
            return []
        if not active:
            self._insert(conn, notice, state="stale", thread=known[0]["thread"], source=source)
            logger.info("notice %s/%s: refers to no active notice", community, notice.id)
            return []
        if notice.msg_type == "cancel":
            return self._cancel(conn, notice, list(active.values()), source)
        return self._update(conn, notice, list(active.values()), source)

    def _update(
        self, conn: sqlite3.Connection, notice: Notice, olds: list[sqlite3.Row], source: str
    ) -> list[NoticeChange]:
        thread = str(olds[0]["thread"])
        for old in olds:
            self._withdraw(conn, old, "superseded", replaced_by=notice.id)
        households = self._publish(conn, notice, thread=thread, source=source)
        changes = [
            NoticeChange(
                action="updated",
                notice=notice,
                households=households,
                previous=str(olds[0]["id"]),
                thread=thread,
            )
        ]
        return changes + self._release(conn, str(notice.community), notice.id)

    def _cancel(
        self, conn: sqlite3.Connection, notice: Notice, olds: list[sqlite3.Row], source: str
    ) -> list[NoticeChange]:
        changes = []
        for old in olds:
            households = self._withdraw(conn, old, "cancelled", replaced_by=notice.id)
            changes.append(
                NoticeChange(
                    action="cancelled",
                    notice=_notice(old),
                    households=households,
                    thread=old["thread"],
                    cause=notice,
                )
            )
        self._insert(conn, notice, state="applied", thread=olds[0]["thread"], source=source)
        return changes

    def _head(self, conn: sqlite3.Connection, community: str, notice_id: str) -> sqlite3.Row | None:
        """The notice, or its current replacement when it was updated."""
        row = self._row(conn, community, notice_id)
        seen = set()
        while row is not None and row["state"] == "superseded" and row["replaced_by"]:
            if row["id"] in seen:  # a reference cycle from a confused sender
                break
            seen.add(row["id"])
            row = self._row(conn, community, row["replaced_by"]) or row
        return row

    def _release(
        self, conn: sqlite3.Connection, community: str, arrived: str
    ) -> list[NoticeChange]:
        """Apply pending updates and cancels that refer to a notice that just arrived."""
        rows = conn.execute(
            "SELECT n.* FROM notices n JOIN notice_refs r ON r.community = n.community"
            " AND r.notice_id = n.id WHERE r.community = ? AND r.ref_id = ?"
            " AND n.state = 'pending' ORDER BY n.sent_at, n.received_at",
            (community, arrived),
        ).fetchall()
        changes: list[NoticeChange] = []
        for row in rows:
            current = self._row(conn, community, row["id"])
            if current is None or current["state"] != "pending":
                continue  # applied already by an earlier step of this release
            conn.execute(
                "DELETE FROM notice_refs WHERE community = ? AND notice_id = ?",
                (community, row["id"]),
            )
            conn.execute(
                "DELETE FROM notices WHERE community = ? AND id = ?", (community, row["id"])
            )
            logger.info("notice %s/%s: pending %s applied", community, row["id"], row["msg_type"])
            changes += self._apply(conn, _notice(row), str(row["source"]))
        return changes

    def _members(self, conn: sqlite3.Connection, community: str) -> list[Household]:
        rows = conn.execute(
            "SELECT id, community, lat, lon, street, language, area_codes FROM households"
            " WHERE community = ?",
            (community,),
        ).fetchall()
        return [Household.of(r) for r in rows]

    def _publish(
        self, conn: sqlite3.Connection, notice: Notice, *, thread: str, source: str
    ) -> frozenset[str]:
        community = str(notice.community)
        members = self._members(conn, community)
        targets = households_for(notice, members)
        self._insert(conn, notice, state="active", thread=thread, source=source)
        conn.executemany(
            "INSERT INTO notice_households (community, notice_id, household) VALUES (?, ?, ?)",
            [(community, notice.id, h) for h in sorted(targets)],
        )
        body = notice.marshal() | {
            "community": community,
            "thread": thread,
            "households": len(targets),
        }
        self._outbox.add(
            conn,
            community_topic(community, notice.id),
            body,
            retain=True,
            message_id=new_message_id(),
        )
        for member in members:
            if member.id in targets:
                copy = notice.in_language(member.language or None).marshal()
                self._outbox.add(
                    conn,
                    household_topic(member.id, notice.id),
                    copy | {"community": community, "thread": thread},
                    retain=True,
                    message_id=new_message_id(),
                )
        return frozenset(targets)

    def _withdraw(
        self,
        conn: sqlite3.Connection,
        row: sqlite3.Row,
        state: str,
        *,
        replaced_by: str | None = None,
    ) -> frozenset[str]:
        """Set an active notice's new state and clear its retained messages."""
        community, nid = str(row["community"]), str(row["id"])
        conn.execute(
            "UPDATE notices SET state = ?, replaced_by = ? WHERE community = ? AND id = ?",
            (state, replaced_by, community, nid),
        )
        households = frozenset(
            r["household"]
            for r in conn.execute(
                "SELECT household FROM notice_households WHERE community = ? AND notice_id = ?",
                (community, nid),
            )
        )
        # An empty retained payload deletes the retained message (MQTT 5 §3.3.1.3).
        self._outbox.add(
            conn, community_topic(community, nid), b"", retain=True, message_id=new_message_id()
        )
        for household in sorted(households):
            self._outbox.add(
                conn,
                household_topic(household, nid),
                b"",
                retain=True,
                message_id=new_message_id(),
            )
        conn.execute(
            "DELETE FROM notice_households WHERE community = ? AND notice_id = ?", (community, nid)
        )
        return households


def _notice(row: sqlite3.Row) -> Notice:
    return Notice.from_record(orjson.loads(row["record"]))


def changes_marshal(changes: Iterable[NoticeChange]) -> list[dict[str, Any]]:
    """JSON form of several changes."""
    return [c.marshal() for c in changes]
