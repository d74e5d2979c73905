"""Device links: MQTT logins a household makes itself, one per device or home broker.

The "Add a device or a home broker" wizard calls :meth:`Links.create`: a fresh login
``ln-<random>`` with the household's device role (writes ``home/<h>/#`` but not the hub's
subtrees, reads ``home/<h>/hub/#``) and, for Home Assistant and a bridged home broker,
the household's Home Assistant role. The secret is random, shown once, and kept only by the
broker (dynamic security hashes it). Rotating sets a new secret and kicks the old sessions;
revoking deletes the login, so the broker refuses it from then on. Every step goes to
``link_audit`` (the admin's view).

Which household a message belongs to still comes from its topic, never from the login: a
link can write nowhere but its household's tree, so that is the same thing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hub.errors import NotFound
from hub.i18n.words import N_
from hub.identity import acl, names
from hub.identity.accounts import new_id, new_secret
from hub.identity.errors import InvalidInput
from hub.storage.database import Database

logger = logging.getLogger(__name__)

#: What a household can link, with the label the wizard shows.
KINDS: dict[str, str] = {
    "zigbee2mqtt": "Zigbee2MQTT",
    "tasmota": "Tasmota",
    "shelly": "Shelly",
    "esphome": "ESPHome",
    "homeassistant": "Home Assistant",
    "dsmr": N_("DSMR reader (smart meter)"),
    "mosquitto": N_("Home Mosquitto (bridge)"),
}
#: Kinds that read the hub's Home Assistant discovery configs too.
READS_DISCOVERY = frozenset({"homeassistant", "mosquitto"})
MAX_LABEL = 80


@dataclass(frozen=True, slots=True)
class Link:
    """One link of a household (no secret)."""

    id: str
    household: str
    kind: str
    label: str
    mqtt_username: str
    created_at: float
    rotated_at: float | None
    revoked_at: float | None
    first_message_at: float | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def marshal(self) -> dict[str, Any]:
        return {
            "id": self.id, "household": self.household, "kind": self.kind,
            "kind_label": KINDS.get(self.kind, self.kind), "label": self.label,
            "mqtt_username": self.mqtt_username, "created_at": self.created_at,
            "rotated_at": self.rotated_at, "revoked_at": self.revoked_at,
            "first_message_at": self.first_message_at, "active": self.active,
        }


class Links:
    """Create, rotate, revoke and list a household's device links.

    Args:
        db: the hub's database (migration ``0080_device_links.sql``).
        identity: the identity service; its ``dynsec`` makes the broker logins.
        now: epoch seconds.
    """

    def __init__(self, db: Database, identity: Any, now: Callable[[], float]) -> None:
        self.db = db
        self.identity = identity
        self.now = now

    def create(self, household: str, kind: str, label: str, *, actor: str) -> tuple[Link, str]:
        """A new link and its secret (shown once)."""
        names.check_id(household, what="household id")
        if kind not in KINDS:
            raise InvalidInput(f"kind {kind[:40]!r} unknown: choose one of {', '.join(KINDS)}")
        label = " ".join(label.split())[:MAX_LABEL] or KINDS[kind]
        if self.identity.dynsec is None:
            raise NotFound("this hub manages no broker logins")
        if self.db.query_one("SELECT 1 FROM households WHERE id = ?", (household,)) is None:
            raise NotFound(f"no household {household}")
        link_id = new_id()
        username = names.LINK_PREFIX + secrets.token_hex(8)
        secret = new_secret()
        now = self.now()
        roles = [acl.household_role(household)]
        if kind in READS_DISCOVERY:
            roles.append(acl.homeassistant_role(household))
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO device_links (id, household, kind, label, mqtt_username, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (link_id, household, kind, label, username, now),
            )
            self._audit(conn, household, link_id, "created", actor, f"{kind}: {label} ({username})")
            # Inside the transaction: a refused broker call rolls the row back.
            self.identity.mqtt_login(username, secret, roles, f"{kind} link of {household}")
        logger.info("link %s (%s) created for household %s", username, kind, household)
        return self.get(household, link_id), secret

    def rotate(self, household: str, link_id: str, *, actor: str) -> tuple[Link, str]:
        """A new secret for an active link; sessions with the old one are kicked."""
        link = self._active(household, link_id)
        secret = new_secret()
        with self.db.transaction() as conn:
            conn.execute("UPDATE device_links SET rotated_at = ? WHERE id = ?", (self.now(), link.id))
            self._audit(conn, household, link.id, "rotated", actor, link.mqtt_username)
            self.identity.dynsec.set_client_password(link.mqtt_username, secret)
            # Disabling and enabling disconnects the sessions that logged in with the old secret.
            self.identity.dynsec.disable_client(link.mqtt_username)
            self.identity.dynsec.enable_client(link.mqtt_username)
        logger.info("link %s rotated", link.mqtt_username)
        return self.get(household, link.id), secret

    def revoke(self, household: str, link_id: str, *, actor: str) -> Link:
        """Delete the link's broker login (kicked now, refused from then on)."""
        link = self._active(household, link_id)
        with self.db.transaction() as conn:
            conn.execute("UPDATE device_links SET revoked_at = ? WHERE id = ?", (self.now(), link.id))
            self._audit(conn, household, link.id, "revoked", actor, link.mqtt_username)
            try:
                self.identity.dynsec.delete_client(link.mqtt_username)
            except NotFound:
                logger.warning("MQTT login %s was already gone", link.mqtt_username)
        logger.info("link %s revoked", link.mqtt_username)
        return self.get(household, link.id)

    def mark_first_message(self, household: str, link_id: str, at: float) -> None:
        """Record when the link's first device reported (once)."""
        with self.db.transaction() as conn:
            changed = conn.execute(
                "UPDATE device_links SET first_message_at = ? WHERE id = ? AND household = ?"
                " AND first_message_at IS NULL", (at, link_id, household),
            ).rowcount
            if changed:
                self._audit(conn, household, link_id, "first message", "hub", "")

    def get(self, household: str, link_id: str) -> Link:
        """One link of ``household`` (another household's is not found)."""
        row = self.db.query_one(
            "SELECT * FROM device_links WHERE id = ? AND household = ?", (link_id[:64], household)
        )
        if row is None:
            raise NotFound("no such link")
        return _link(row)

    def of_household(self, household: str) -> list[Link]:
        """The household's links, newest first."""
        rows = self.db.query(
            "SELECT * FROM device_links WHERE household = ? ORDER BY created_at DESC, id", (household,)
        )
        return [_link(r) for r in rows]

    def audit(self, *, household: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Every link step, newest first (the admin's audit), optionally of one household."""
        if household is None:
            rows = self.db.query("SELECT * FROM link_audit ORDER BY at DESC, id DESC LIMIT ?", (limit,))
        else:
            rows = self.db.query(
                "SELECT * FROM link_audit WHERE household = ? ORDER BY at DESC, id DESC LIMIT ?",
                (household, limit),
            )
        return [dict(r) for r in rows]

    def record(self, household: str, action: str, actor: str, detail: str = "") -> None:
        """Audit a household's device change that is not a link (rename, removal)."""
        with self.db.transaction() as conn:
            self._audit(conn, household, None, action, actor, detail)

    def _active(self, household: str, link_id: str) -> Link:
        link = self.get(household, link_id)
        if not link.active:
            raise NotFound("this link was revoked")
        if self.identity.dynsec is None:
            raise NotFound("this hub manages no broker logins")
        return link

    def _audit(self, conn: Any, household: str, link: str | None, action: str, actor: str,
               detail: str) -> None:
        conn.execute(
            "INSERT INTO link_audit (at, household, link, action, actor, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (self.now(), household, link, action, actor[:64], detail[:200]),
        )


def _link(row: Any) -> Link:
    return Link(row["id"], row["household"], row["kind"], row["label"], row["mqtt_username"],
                row["created_at"], row["rotated_at"], row["revoked_at"], row["first_message_at"])
