"""Provider feeds: what a provider may see of a household's request, and nothing more.

Each message goes to ``providers/<provider>/feed/<request-id>`` through the outbox and
carries an ``id`` (its message id), the request id, a ``type`` (``request``, ``update``,
``claimed``, ``taken``, ``cancelled``, ``claim-rejected``) and only the fields the
household consented to share with that provider for that purpose: ``items``, ``slot``,
``address`` (street level). Raw telemetry is never part of a request, so it cannot leak.
A provider that no consent covers gets nothing.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from hub.offers.consent import FEED_SIGNALS, FIELD_SIGNALS, purpose_of
from hub.offers.context import Context
from hub.offers.directory import household as load_household
from hub.offers.directory import provider as load_provider
from hub.offers.uow import dumps, loads
from hub.storage.outbox import new_message_id

logger = logging.getLogger(__name__)


def feed_topic(provider: str, request_id: str) -> str:
    """The provider's feed topic for one request."""
    return f"providers/{provider}/feed/{request_id}"


class Feeds:
    """Consent-filtered messages to providers about requests."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db

    def allowed_fields(self, household: str, provider: str, kind: str) -> list[str]:
        """The feed fields this household lets this provider see for a ``kind`` request."""
        prov = load_provider(self._db, provider)
        purpose = purpose_of(kind)
        return [f for f, signal in FIELD_SIGNALS.items()
                if self._ctx.consent.allowed(household, provider, prov.kinds, purpose, signal)]

    def body(self, offer: sqlite3.Row, fields: list[str], kind: str) -> dict[str, Any]:
        data = loads(offer["data"])
        body: dict[str, Any] = {"type": kind, "request": offer["id"], "kind": offer["kind"]}
        if "items" in fields:
            body["items"] = [{"name": i.get("name"), "qty": i.get("qty"), "unit": i.get("unit")}
                             for i in data.get("items", []) if isinstance(i, dict)]
        if "slot" in fields:
            body["slot"] = {"start": offer["starts_at"], "end": offer["ends_at"]}
        if "address" in fields:
            home = load_household(self._db, offer["household"])
            body["address"] = {"street": home.street}
        return body

    def _send(self, conn: sqlite3.Connection, offer: sqlite3.Row, provider: str,
              body: dict[str, Any]) -> str:
        mid = new_message_id()
        self._ctx.uow.outbox.add(conn, feed_topic(provider, offer["id"]), {"id": mid, **body},
                                 message_id=mid)
        conn.execute(
            "INSERT INTO offer_feed_messages (message_id, offer, provider, household, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (mid, offer["id"], provider, offer["household"], self._ctx.uow.now()),
        )
        self._ctx.push(f"provider:{provider}", {"id": mid, **body})
        return mid

    def publish_request(self, conn: sqlite3.Connection, offer: sqlite3.Row,
                        providers: list[str]) -> list[str]:
        """Send a new request to each provider a consent covers; return those reached."""
        reached = []
        for provider in providers:
            fields = self.allowed_fields(offer["household"], provider, offer["kind"])
            if not fields:
                logger.info("request %s not sent to %s: no consent", offer["id"], provider)
                continue
            conn.execute(
                "INSERT INTO offer_recipients (offer, provider, fields, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (offer, provider) DO NOTHING",
                (offer["id"], provider, dumps(fields), self._ctx.uow.now()),
            )
            self._send(conn, offer, provider, self.body(offer, fields, "request"))
            reached.append(provider)
        return reached

    def publish_update(self, conn: sqlite3.Connection, offer: sqlite3.Row,
                       providers: list[str], kind: str) -> list[str]:
        """Tell providers about a change (``update``, ``claimed``, ``cancelled``).

        Consent is checked again now: a revoked consent stops the flow at once.
        """
        reached = []
        for provider in providers:
            fields = self.allowed_fields(offer["household"], provider, offer["kind"])
            if not fields:
                continue
            self._send(conn, offer, provider, self.body(offer, fields, kind))
            reached.append(provider)
        return reached

    def publish_bare(self, conn: sqlite3.Connection, offer: sqlite3.Row, provider: str,
                     kind: str, reason: str) -> str:
        """A message with no household data (``taken``, ``claim-rejected``)."""
        return self._send(conn, offer, provider,
                          {"type": kind, "request": offer["id"], "kind": offer["kind"],
                           "reason": reason})

    def recipients(self, conn: sqlite3.Connection, offer_id: str) -> list[str]:
        """Providers a request was sent to."""
        return [r[0] for r in conn.execute(
            "SELECT provider FROM offer_recipients WHERE offer = ? ORDER BY provider",
            (offer_id,)).fetchall()]

    def revoke(self, household: str, provider: str) -> int:
        """A consent was revoked: apply :meth:`drop_unsent` in a transaction of its own."""
        with self._ctx.uow.tx() as conn:
            return self.drop_unsent(conn, household, [provider])

    def drop_unsent(self, conn: sqlite3.Connection, household: str,
                    providers: list[str] | None = None) -> int:
        """Re-check consent for the household's feed messages still waiting in the outbox.

        Run it inside the revoking transaction (the identity package's ``on_revoke``
        hook), after the revoked grant stopped counting. A waiting message that carries a
        field no longer allowed is deleted; when other fields are still allowed, a copy
        with only those replaces it. Open requests stop being offered to a provider that
        may see nothing any more. Returns the number of messages deleted.
        """
        sql = ("SELECT m.message_id, m.offer, m.provider, o.payload FROM offer_feed_messages m"
               " JOIN outbox o ON o.id = m.message_id WHERE o.sent_at IS NULL"
               " AND m.household = ?")
        args: list[Any] = [household]
        if providers is not None:
            sql += f" AND m.provider IN ({', '.join('?' for _ in providers)})"
            args += providers
        dropped = 0
        # An empty provider list matches no message (``IN ()`` is an error on PostgreSQL).
        waiting = conn.execute(sql, args).fetchall() if providers != [] else []
        for row in waiting:
            offer = conn.execute("SELECT * FROM offers WHERE id = ?", (row["offer"],)).fetchone()
            if offer is None:
                continue
            body = loads(bytes(row["payload"]))
            carried = {f for f in FEED_SIGNALS if f in body}
            allowed = self.allowed_fields(household, row["provider"], offer["kind"])
            if carried <= set(allowed):
                continue
            conn.execute("DELETE FROM outbox WHERE id = ?", (row["message_id"],))
            dropped += 1
            if allowed and carried:
                self._send(conn, offer, row["provider"], self.body(offer, allowed, body["type"]))
        for provider in providers or [r[0] for r in conn.execute(
                "SELECT DISTINCT provider FROM offer_recipients")]:
            for offer in conn.execute(
                "SELECT * FROM offers WHERE household = ? AND state = 'accepted' AND id IN"
                " (SELECT offer FROM offer_recipients WHERE provider = ?)",
                (household, provider)).fetchall():
                if not self.allowed_fields(household, provider, offer["kind"]):
                    conn.execute("DELETE FROM offer_recipients WHERE offer = ? AND provider = ?",
                                 (offer["id"], provider))
        if dropped:
            logger.info("consent re-checked for %s: %d waiting feed messages dropped",
                        household, dropped)
        return dropped

    def provider_view(self, offer: sqlite3.Row, provider: str) -> dict[str, Any] | None:
        """What ``provider`` may see of a request now, or None when no consent covers it."""
        fields = self.allowed_fields(offer["household"], provider, offer["kind"])
        if not fields:
            return None
        view = self.body(offer, fields, "request")
        del view["type"]
        view["state"] = offer["state"]
        view["claimed_by_you"] = offer["provider"] == provider
        view["created_at"] = offer["created_at"]
        return view
