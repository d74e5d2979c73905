"""One-tap action links: signed, single use, expiring, and good for exactly one action.

A link is ``<id>.<signature>``: the id names a stored row (household, action, target,
expiry); the signature is an HMAC-SHA256 over all of them with a secret made on first use and
kept in the store, so a link cannot be forged or re-pointed at another action or target.
Redeeming marks the row used in the same statement that checks it is unused, so two taps
racing each other act once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from hub.clock import Clock
from hub.i18n.messages import N_
from hub.storage.database import Database

#: The actions a link may carry (the caller performs them; the link only authorises).
ACTIONS = frozenset({"accept_suggestion", "confirm_hours", "claim_giveaway"})
DEFAULT_TTL_S = 48 * 3600.0


class LinkRefused(Exception):
    """The link does not authorise this: ``status`` 404 (unknown or forged), 409 (another
    action), 410 (used or expired)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Link:
    """What a redeemed link authorises."""

    id: str
    household: str
    action: str
    target: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ActionLinks:
    """Issue and redeem one-tap links, stored in ``action_links``."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._secret: bytes | None = None

    def _key(self) -> bytes:
        if self._secret is None:
            self._db.execute(
                "INSERT INTO notify_secrets (name, value, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                ("action-links", _b64(secrets.token_bytes(32)), self._clock.timestamp()))
            row = self._db.query_one("SELECT value FROM notify_secrets WHERE name = ?", ("action-links",))
            assert row is not None
            self._secret = str(row["value"]).encode()
        return self._secret

    def _sign(self, row: Any) -> str:
        message = "\x1f".join([row["id"], row["household"], row["action"], row["target"],
                               repr(float(row["expires_at"]))]).encode()
        return _b64(hmac.new(self._key(), message, hashlib.sha256).digest())

    def issue(self, household: str, action: str, target: str, *, ttl_s: float = DEFAULT_TTL_S) -> str:
        """A new link letting ``household`` do ``action`` on ``target`` once, until ``ttl_s``."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; one of {sorted(ACTIONS)}")
        if not household or not target or ttl_s <= 0:
            raise ValueError("a link needs a household, a target and a positive lifetime")
        now = self._clock.timestamp()
        row = {"id": _b64(secrets.token_bytes(16)), "household": household, "action": action,
               "target": target, "expires_at": now + ttl_s}
        self._db.execute(
            "INSERT INTO action_links (id, household, action, target, expires_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (row["id"], household, action, target, row["expires_at"], now))
        return f"{row['id']}.{self._sign(row)}"

    def check(self, token: str, action: str) -> Link:
        """What ``token`` authorises for ``action``, without using it (for a confirm page)."""
        row = self._row(token)
        self._usable(row, action)
        return Link(row["id"], row["household"], row["action"], row["target"])

    def redeem(self, token: str, action: str) -> Link:
        """Use the link for ``action``: valid once, never again, never after it expires."""
        link = self.check(token, action)
        with self._db.transaction() as conn:
            used = conn.execute(
                "UPDATE action_links SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?",
                (self._clock.timestamp(), link.id, self._clock.timestamp()))
            if used.rowcount != 1:
                raise LinkRefused(410, N_("this link was already used"))
        return link

    def _row(self, token: str) -> Any:
        ident, _, signature = (token or "")[:200].partition(".")
        row = self._db.query_one(
            "SELECT id, household, action, target, expires_at, used_at FROM action_links WHERE id = ?",
            (ident,)) if ident and signature else None
        if row is None or not hmac.compare_digest(self._sign(row), signature):
            raise LinkRefused(404, N_("no such link"))
        return row

    def _usable(self, row: Any, action: str) -> None:
        if row["action"] != action:
            raise LinkRefused(409, N_("this link is for another action"))
        if row["used_at"] is not None:
            raise LinkRefused(410, N_("this link was already used"))
        if float(row["expires_at"]) <= self._clock.timestamp():
            raise LinkRefused(410, N_("this link has expired"))
