"""Bearer tokens: opaque random strings, stored as HMAC-SHA256 under the hub's secret.

Why opaque rather than signed (JWT-like) tokens: every request must see a logout, a
disabled account or a revoked provider token at once, so a lookup is needed anyway (the
identity service keeps resolved tokens for a moment in a
:class:`~hub.identity.token_cache.TokenCache` that every revocation empties). Opaque tokens also need no key
rotation story and reveal nothing. Keying the hash with the secret from the settings
means a stolen database alone cannot be used to check guessed tokens.

Session tokens (from a login) expire after ``session_ttl``; API tokens (providers,
bridges) live until revoked, or until their optional expiry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from hub.clock import Clock
from hub.errors import ConfigError
from hub.storage.database import Database

TOKEN_PREFIX = "hub_"


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What a presented token resolves to."""

    account_id: str
    kind: str
    expires_at: float | None


class TokenStore:
    """Issue, resolve and revoke bearer tokens."""

    def __init__(
        self,
        db: Database,
        secret: str | bytes,
        clock: Clock,
        *,
        on_revoke: Callable[[], None] = lambda: None,
    ) -> None:
        """``on_revoke`` runs once a revocation has committed (caches drop what they hold)."""
        if len(secret) < 16:
            raise ConfigError("the hub's secret must hold at least 16 characters (settings)")
        self._db = db
        self._key = secret.encode("utf-8") if isinstance(secret, str) else secret
        self._clock = clock
        self._on_revoke = on_revoke

    def digest(self, token: str) -> str:
        """The stored form of a token."""
        return hmac.new(self._key, token.encode("utf-8"), hashlib.sha256).hexdigest()

    def issue(
        self,
        conn: sqlite3.Connection,
        account_id: str,
        *,
        kind: str,
        ttl_s: float | None,
        label: str = "",
    ) -> str:
        """Create a token inside the caller's transaction; return it (shown once)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self._clock.timestamp()
        conn.execute(
            "INSERT INTO api_tokens (token_hash, account, kind, label, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                self.digest(token),
                account_id,
                kind,
                label,
                now,
                None if ttl_s is None else now + ttl_s,
            ),
        )
        return token

    def resolve(self, token: str) -> TokenRecord | None:
        """The live token's record, or None (unknown, revoked or expired)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        row = self._db.query_one(
            "SELECT account, kind, expires_at, revoked_at FROM api_tokens WHERE token_hash = ?",
            (self.digest(token),),
        )
        if row is None or row["revoked_at"] is not None:
            return None
        if row["expires_at"] is not None and row["expires_at"] <= self._clock.timestamp():
            return None
        return TokenRecord(row["account"], row["kind"], row["expires_at"])

    def revoke(self, token: str) -> bool:
        """Revoke one token; True if it was live."""
        cur = self._db.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
            (self._clock.timestamp(), self.digest(token)),
        )
        self._db.after_commit(self._on_revoke)  # at once, unless inside a caller's transaction
        return cur.rowcount > 0

    def revoke_all(self, conn: sqlite3.Connection, account_id: str) -> int:
        """Revoke every token of an account inside the caller's transaction."""
        self._db.after_commit(self._on_revoke)
        cur = conn.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE account = ? AND revoked_at IS NULL",
            (self._clock.timestamp(), account_id),
        )
        return cur.rowcount

    def purge_expired(self) -> int:
        """Delete tokens expired or revoked more than a day ago."""
        cut = self._clock.timestamp() - 86400
        cur = self._db.execute(
            "DELETE FROM api_tokens WHERE (expires_at IS NOT NULL AND expires_at < ?)"
            " OR (revoked_at IS NOT NULL AND revoked_at < ?)",
            (cut, cut),
        )
        return cur.rowcount
