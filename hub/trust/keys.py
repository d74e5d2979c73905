"""The hub's Ed25519 signing keys, kept with ids (``kid``) across rotations.

The public keys are published as a JWK set (RFC 7517, ``OKP``/``Ed25519`` per RFC 8037) at
``/.well-known/jwks.json`` and printed by ``hub trust key``. Rotation adds a key and marks
the previous one retired: it no longer signs, but stays in the set so that exports it
signed still verify. The private keys live in the hub's store (PKCS#8 PEM), so a backup of
the store carries them; protect it like the store itself.
"""

from __future__ import annotations

import base64
from datetime import UTC
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.clock import Clock, SystemClock
from hub.storage.database import Database


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url`; raises ValueError on bad input."""
    if not isinstance(text, str) or any(c not in _B64URL for c in text):
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:
        # Unused low bits in the last character: two spellings of the same bytes. Only the
        # canonical one is accepted, so that no altered byte can go unnoticed.
        raise ValueError("not canonical base64url")
    return data


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def public_jwk(kid: str, raw: bytes, *, retired: bool = False) -> dict[str, Any]:
    """A public key as a JWK."""
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": kid, "alg": "EdDSA",
           "use": "sig"}
    if retired:
        jwk["status"] = "retired"
    return jwk


def key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey:
    """The public key of a JWK; raises ValueError for anything but an Ed25519 OKP key."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError("only OKP Ed25519 keys are accepted")
    raw = b64url_decode(str(jwk.get("x", "")))
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


class KeyRing:
    """The signing keys of one hub's store."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def _now(self) -> str:
        return self.clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def current(self) -> tuple[str, Ed25519PrivateKey]:
        """The signing key (made on first use)."""
        row = self.db.query_one("SELECT kid, private_key FROM trust_keys WHERE retired_at IS NULL"
                                " ORDER BY seq DESC LIMIT 1")
        if row is None:
            return self.rotate()
        key = serialization.load_pem_private_key(row["private_key"].encode(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        return str(row["kid"]), key

    def rotate(self) -> tuple[str, Ed25519PrivateKey]:
        """Make a new signing key; the previous ones retire but stay published."""
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
        now = self._now()
        kid = f"hub-{now[:10]}-{b64url(raw)[:8]}"
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        with self.db.transaction() as conn:
            conn.execute("UPDATE trust_keys SET retired_at = ? WHERE retired_at IS NULL", (now,))
            seq = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM trust_keys").fetchone()[0]
            conn.execute("INSERT INTO trust_keys (kid, seq, public_key, private_key, created_at)"
                         " VALUES (?, ?, ?, ?, ?)", (kid, seq, b64url(raw), pem, now))
        return kid, key

    def jwks(self) -> dict[str, Any]:
        """Every public key, newest first, as a JWK set."""
        if self.db.query_one("SELECT 1 FROM trust_keys LIMIT 1") is None:
            self.current()
        rows = self.db.query("SELECT kid, public_key, retired_at FROM trust_keys"
                             " ORDER BY seq DESC")
        return {"keys": [public_jwk(r["kid"], b64url_decode(r["public_key"]),
                                    retired=r["retired_at"] is not None) for r in rows]}
