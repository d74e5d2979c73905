"""Web Push: the hub's VAPID key pair, the people's browser subscriptions, and sending.

The VAPID key pair (RFC 8292) is made on first use and kept in the store
(``notify_secrets``), never in settings: the browsers' subscriptions are bound to its public
key, so it must survive restarts. Payloads are encrypted for the subscription's keys with
``aes128gcm`` (RFC 8291, by :mod:`pywebpush`): the push service sees only the endpoint and
ciphertext. A push service answering 404 or 410 says the subscription is gone: it is
removed. Other failures are tried again.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from hub.notify.email import SendFailed
from hub.offers.problems import Unprocessable
from hub.storage.database import Database

KEY_NAME = "vapid-private-pem"
#: How long a push service keeps a message for an offline device (seconds).
PUSH_TTL_S = 12 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class Subscription:
    """One browser's push subscription (``PushSubscription.toJSON()``)."""

    id: str
    account: str
    endpoint: str
    p256dh: str
    auth: str

    def info(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class SubscriptionGone(Exception):
    """The push service no longer knows the subscription (404/410)."""


def check_subscription(body: Any) -> tuple[str, str, str]:
    """``(endpoint, p256dh, auth)`` of a posted subscription; Unprocessable says what is wrong."""
    if not isinstance(body, dict):
        raise Unprocessable("post the subscription as JSON: {endpoint, keys: {p256dh, auth}}")
    endpoint, keys = body.get("endpoint"), body.get("keys") or {}
    parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
    loopback = parts is not None and parts.hostname in ("127.0.0.1", "::1", "localhost")
    if (parts is None or not parts.hostname or len(str(endpoint)) > 1000
            or not (parts.scheme == "https" or (parts.scheme == "http" and loopback))):
        raise Unprocessable("endpoint must be the push service's https:// URL")
    try:
        p256dh, auth = _unb64(str(keys.get("p256dh", ""))), _unb64(str(keys.get("auth", "")))
    except (ValueError, TypeError):
        raise Unprocessable("keys.p256dh and keys.auth must be base64url") from None
    if len(p256dh) != 65 or p256dh[0] != 4:
        raise Unprocessable("keys.p256dh must be an uncompressed P-256 public key (65 bytes)")
    if len(auth) != 16:
        raise Unprocessable("keys.auth must be 16 bytes")
    return str(endpoint), _b64(p256dh), _b64(auth)


class Push:
    """VAPID keys, subscriptions (``notify_push_subscriptions``) and sending."""

    def __init__(self, db: Database, clock_timestamp: Any, *, subject: str, timeout_s: float = 15.0) -> None:
        self._db = db
        self._now = clock_timestamp
        self._subject = subject
        self._timeout = timeout_s
        self._vapid: Any = None

    def vapid(self) -> Any:
        """The hub's VAPID key pair, made and stored on first use."""
        if self._vapid is None:
            fresh = Vapid()
            fresh.generate_keys()
            self._db.execute(
                "INSERT INTO notify_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                (KEY_NAME, fresh.private_pem().decode(), self._now()))
            row = self._db.query_one("SELECT value FROM notify_secrets WHERE name = ?", (KEY_NAME,))
            assert row is not None
            self._vapid = Vapid.from_pem(str(row["value"]).encode())
        return self._vapid

    def public_key(self) -> str:
        """The application server key for ``pushManager.subscribe`` (base64url, uncompressed point)."""
        raw = self.vapid().public_key.public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
        return _b64(raw)

    def subscribe(self, account: str, body: Any) -> Subscription:
        """Store a browser's subscription for ``account`` (the same endpoint again: updated)."""
        endpoint, p256dh, auth = check_subscription(body)
        sid = "ps-" + secrets.token_hex(10)
        self._db.execute(
            "INSERT INTO notify_push_subscriptions (id, account, endpoint, p256dh, auth, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (endpoint) DO UPDATE SET account = excluded.account,"
            " p256dh = excluded.p256dh, auth = excluded.auth",
            (sid, account, endpoint, p256dh, auth, self._now()))
        found = self._db.query_one("SELECT * FROM notify_push_subscriptions WHERE endpoint = ?", (endpoint,))
        assert found is not None
        return _sub(found)

    def unsubscribe(self, account: str, endpoint: str) -> bool:
        cur = self._db.execute("DELETE FROM notify_push_subscriptions WHERE account = ? AND endpoint = ?",
                               (account, endpoint))
        return cur.rowcount == 1

    def subscriptions(self, account: str) -> list[Subscription]:
        return [_sub(r) for r in self._db.query(
            "SELECT * FROM notify_push_subscriptions WHERE account = ? ORDER BY created_at, id", (account,))]

    def subscription_ids(self, conn: Any, account: str) -> list[str]:
        """Inside a transaction: the ids of the person's subscriptions."""
        return [r[0] for r in conn.execute(
            "SELECT id FROM notify_push_subscriptions WHERE account = ? ORDER BY id", (account,)).fetchall()]

    def get(self, sid: str) -> Subscription | None:
        r = self._db.query_one("SELECT * FROM notify_push_subscriptions WHERE id = ?", (sid,))
        return None if r is None else _sub(r)

    def remove(self, sid: str) -> None:
        self._db.execute("DELETE FROM notify_push_subscriptions WHERE id = ?", (sid,))

    def send(self, sub: Subscription, payload: dict[str, Any]) -> None:
        """Encrypt and send one push; SubscriptionGone on 404/410, SendFailed otherwise."""
        try:
            webpush(sub.info(), orjson.dumps(payload).decode(), vapid_private_key=self.vapid(),
                    vapid_claims={"sub": self._subject}, content_encoding="aes128gcm",
                    timeout=self._timeout, ttl=PUSH_TTL_S)
        except WebPushException as exc:
            status = exc.status_code
            if status in (404, 410):
                raise SubscriptionGone(f"the push service answered {status}") from exc
            raise SendFailed(f"the push service answered {status}: {exc.message[:200]}",
                             permanent=status in (400, 413)) from exc
        except requests.RequestException as exc:
            raise SendFailed(f"cannot reach the push service {urlsplit(sub.endpoint).netloc}: {exc}") from exc


def _sub(r: Any) -> Subscription:
    return Subscription(r["id"], r["account"], r["endpoint"], r["p256dh"], r["auth"])
