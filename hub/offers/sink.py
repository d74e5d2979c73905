"""The rules engine's action sink: actions become suggestions, notifications and offers.

Whole batches commit in one transaction. ``offer`` actions (the benchmark path) take a
fast lane: one ``executemany`` for the offer rows and one for their outbox messages, with
the offer id derived from (household, rule, key, data) so that a replayed action (a
duplicated MQTT message, a replay after a restart) inserts and publishes nothing twice.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol

import orjson

from hub.offers.context import Context
from hub.offers.grocery import REQUEST_KINDS, Grocery
from hub.offers.slots import free_slots
from hub.offers.suggestions import DEFAULT_TTL, Suggestions

logger = logging.getLogger(__name__)

#: Action kinds that raise a suggestion for the household.
SUGGESTING = frozenset({"suggest", "request", "notify", "reschedule", "cancel"})


class ActionLike(Protocol):
    """What the rules engine's ``Action`` provides (read-only attributes)."""

    @property
    def kind(self) -> str: ...
    @property
    def household(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def pack(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def data(self) -> Any: ...


def offer_id_for(household: str, rule_id: str, key: str, body: bytes = b"") -> str:
    """The stable id of the offer an action raises: same action, same id.

    ``body`` is the canonical JSON of the action's data (which carries the triggering
    reading's ``ts``), so two triggers with one de-dup key still raise two offers while a
    redelivered trigger raises none.
    """
    digest = hashlib.blake2b(f"{household}\x1f{rule_id}\x1f{key}\x1f".encode() + body,
                             digest_size=12)
    return f"act-{digest.hexdigest()}"


def _valid_topic(topic: object) -> bool:
    return (isinstance(topic, str) and 0 < len(topic) <= 256 and "+" not in topic
            and "#" not in topic and "\x00" not in topic and not topic.startswith("$"))


class OffersSink:
    """Implements the rules engine's ``ActionSink``.

    Args:
        ctx: shared collaborators.
        suggestions: the suggestion store.
        grocery: used to list the next free slots in grocery suggestions.
    """

    def __init__(self, ctx: Context, suggestions: Suggestions, grocery: Grocery) -> None:
        self._ctx = ctx
        self._suggestions = suggestions
        self._grocery = grocery

    def submit(self, actions: Sequence[ActionLike]) -> None:
        """Apply a batch of actions in one transaction (safe to replay)."""
        if not actions:
            return
        fast = [a for a in actions if a.kind == "offer"]
        rest = [a for a in actions if a.kind != "offer"]
        with self._ctx.uow.tx() as conn:
            if fast:
                self._offers(conn, fast)
            for action in rest:
                try:
                    with self._ctx.uow.savepoint(conn, "action"):
                        self._apply(conn, action)
                except Exception:
                    # One bad action must not lose the others of its batch.
                    logger.exception("action %s of rule %s failed", action.kind, action.rule_id)

    def _offers(self, conn: sqlite3.Connection, actions: Sequence[ActionLike]) -> None:
        now = self._ctx.uow.now()
        created = self._ctx.uow.clock.timestamp()
        offers: list[tuple[Any, ...]] = []
        messages: list[tuple[Any, ...]] = []
        for a in actions:
            data = a.data if isinstance(a.data, Mapping) else {}
            kind = str(data.get("kind") or "grocery")
            topic = data.get("topic") or f"offers/{kind}/{a.household}"
            if not _valid_topic(topic):
                logger.warning("offer of rule %s dropped: bad topic %r", a.rule_id, topic)
                continue
            body = {k: v for k, v in data.items() if k != "topic"}
            try:
                canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
            except TypeError:
                logger.warning("offer of rule %s dropped: data is not JSON", a.rule_id)
                continue
            oid = offer_id_for(a.household, a.rule_id, a.key, canonical)
            payload = orjson.dumps({"id": oid, **body})
            offers.append((oid, kind, a.household, canonical.decode(), now, now))
            messages.append((oid, topic, payload, created, oid))
        # Outbox first, guarded by "no such offer yet", so a replay publishes nothing.
        self._ctx.uow.outbox.added()
        conn.executemany(
            "INSERT INTO outbox (id, topic, payload, qos, retain, created_at)"
            " SELECT ?, ?, ?, 1, 0, ? WHERE NOT EXISTS (SELECT 1 FROM offers WHERE id = ?)"
            " ON CONFLICT (id) DO NOTHING",
            messages,
        )
        conn.executemany(
            "INSERT INTO offers (id, kind, household, state, data, created_at, updated_at)"
            " VALUES (?, ?, ?, 'proposed', ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            offers,
        )

    def _apply(self, conn: sqlite3.Connection, a: ActionLike) -> None:
        data: dict[str, Any] = dict(a.data) if isinstance(a.data, Mapping) else {}
        if a.kind == "withdraw":
            self._suggestions.withdraw(
                conn, household=a.household or None,
                notice_id=data.get("notice_id"), key=data.get("withdraw_key") or a.key,
                title=a.title, message=a.message, actor=f"rule:{a.rule_id}")
            return
        if a.kind not in SUGGESTING:
            logger.info("action kind %s of rule %s has no effect on offers", a.kind, a.rule_id)
            return
        kind = str(data.get("kind") or a.kind)
        if kind in REQUEST_KINDS and "slots" not in data:
            data["slots"] = self._grocery.next_free_slots(a.household, kind=kind)
        elif kind == "gathering" and isinstance(data.get("place"), str) and "sittings" not in data:
            # A suggested restaurant: list its free sittings so the household can pick one.
            data["sittings"] = [
                {"slot": s.id, "starts_at": s.starts_at, "ends_at": s.ends_at, "free": s.free}
                for s in free_slots(self._ctx.uow.db, "table", [data["place"]],
                                    self._ctx.uow.now(), 6)]
        ttl = timedelta(seconds=float(data["ttl_s"])) if isinstance(
            data.get("ttl_s"), int | float) else DEFAULT_TTL
        self._suggestions.create(
            conn, household=a.household, kind=kind, key=a.key, title=a.title,
            message=a.message, data=data, rule_id=a.rule_id, pack=a.pack,
            notice_id=data.get("notice_id"), ttl=ttl)
