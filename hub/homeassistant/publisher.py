"""Publish each household's Home Assistant entities, retained, through the outbox.

A sync builds the household's entities (:mod:`hub.homeassistant.discovery`) from the
offers, notices and time bank, compares every retained topic's payload digest with what
``ha_published`` says was sent, and in one transaction queues only the changes: new and
changed configs, states and attributes, and an empty retained payload for each topic of an
entity that went away (HA then removes the entity). Runs every few seconds for every
household, and is cheap when nothing changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from hub.homeassistant import discovery
from hub.storage.database import Database
from hub.storage.outbox import Outbox

logger = logging.getLogger(__name__)


def _items(page: Any) -> list[dict[str, Any]]:
    return [dict(i) for i in getattr(page, "items", page)]


class DiscoveryPublisher:
    """Keeps every household's retained discovery topics current.

    Args:
        db: the hub's database (``ha_published``).
        outbox: where the retained messages go.
        offers: the offers service (suggestions, calendar); None publishes none.
        notices: the notice book; None publishes none.
        balance: ``household -> hours`` of the time bank, or None when it is not wired.
        loans: ``household -> its loans`` of the sharing package, or None.
    """

    def __init__(self, db: Database, outbox: Outbox, *, offers: Any = None, notices: Any = None,
                 balance: Callable[[str], float] | None = None,
                 loans: Callable[[str], list[dict[str, Any]]] | None = None) -> None:
        self.db = db
        self.outbox = outbox
        self.offers = offers
        self.notices = notices
        self.balance = balance
        self.loans = loans

    def entities(self, household: str, display_name: str) -> list[discovery.Entity]:
        suggestions = _items(self.offers.suggestions.page(household, state="proposed", limit=50)) if self.offers else []
        bookings = [b for b in _items(self.offers.calendar.page(household, limit=50))
                    if b.get("state") not in {"cancelled", "declined"}] if self.offers else []
        notices = [n.marshal() if hasattr(n, "marshal") else dict(n)
                   for n in self.notices.active(household=household)] if self.notices else []
        hours = None
        if self.balance is not None:
            try:
                hours = float(self.balance(household))
            except Exception:
                logger.exception("time-bank balance failed for %s", household)
        loans = None
        if self.loans is not None:
            try:
                loans = self.loans(household)
            except Exception:
                logger.exception("loans failed for %s", household)
        return discovery.household_entities(household, display_name, suggestions=suggestions,
                                            notices=notices, bookings=bookings, balance_hours=hours,
                                            loans=loans)

    def messages(self, household: str, display_name: str) -> dict[str, bytes]:
        """Every retained topic of the household and its payload."""
        out = {discovery.availability_topic(household): b"online"}
        for e in self.entities(household, display_name):
            out[discovery.config_topic(household, e)] = json.dumps(e.config, sort_keys=True).encode()
            if e.state is not None:
                out[discovery.state_topic(household, e)] = e.state.encode()
            if e.attributes is not None:
                out[discovery.attributes_topic(household, e)] = json.dumps(e.attributes, sort_keys=True).encode()
        return out

    def sync(self, household: str, display_name: str | None = None) -> int:
        """Queue what changed for one household; returns the number of messages queued."""
        if display_name is None:
            row = self.db.query_one("SELECT name FROM households WHERE id = ?", (household,))
            display_name = row["name"] if row is not None and row["name"] else household
        wanted = self.messages(household, display_name)
        digests = {t: hashlib.sha256(p).hexdigest() for t, p in wanted.items()}
        now = time.time()
        queued = 0
        with self.db.transaction() as conn:
            known = {r["topic"]: r["digest"] for r in conn.execute(
                "SELECT topic, digest FROM ha_published WHERE household = ?", (household,)).fetchall()}
            for topic, payload in wanted.items():
                if known.get(topic) == digests[topic]:
                    continue
                self.outbox.add(conn, topic, payload, retain=True)
                conn.execute(
                    "INSERT INTO ha_published (household, topic, digest, updated_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (household, topic) DO UPDATE SET digest = excluded.digest,"
                    " updated_at = excluded.updated_at", (household, topic, digests[topic], now))
                queued += 1
            for topic in known.keys() - wanted.keys():
                # An empty retained payload removes the entity from HA and the broker.
                self.outbox.add(conn, topic, b"", retain=True)
                conn.execute("DELETE FROM ha_published WHERE household = ? AND topic = ?", (household, topic))
                queued += 1
        if queued:
            self.outbox.notify()
        return queued

    def sync_all(self) -> int:
        """Sync every household that has an account (messages queued in all)."""
        rows = self.db.query("SELECT DISTINCT h.id, h.name FROM households h JOIN accounts a"
                             " ON a.household = h.id AND a.role = 'household' ORDER BY h.id")
        total = 0
        for r in rows:
            try:
                total += self.sync(r["id"], r["name"] or r["id"])
            except Exception:
                logger.exception("Home Assistant discovery failed for %s", r["id"])
        return total
