"""Real protocol peers on loopback for the notification tests.

:class:`MailServer`: an ``aiosmtpd`` SMTP server that keeps what it receives (optionally
refusing every recipient, or with a login). :class:`PushEndpoint`: a small HTTP push
service (RFC 8030) holding one browser's subscription keys: it checks the VAPID signature
(RFC 8292) and decrypts each ``aes128gcm`` payload (RFC 8291) with ``http_ece`` and the
subscription's private key, and answers with the status a test chooses.
"""

from __future__ import annotations

import base64
import email
import email.policy
import http.server
import json
import os
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import http_ece
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from hub.broker.supervisor import free_port


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Keeper:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(self, _server: SMTP, _session: Session, envelope: Envelope, address: str,
                          _options: list[str]) -> str:
        if self.server.refuse:
            return f"550 5.1.1 {address}: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.server.cond:
            self.server.received.append((list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
            self.server.cond.notify_all()
        return "250 OK queued"


class MailServer:
    """An SMTP server on 127.0.0.1 (``aiosmtpd``, on its own thread)."""

    def __init__(self, *, login: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse = False
        self.cond = threading.Condition()
        kwargs: dict[str, Any] = {}
        if login is not None:
            def check(_server: SMTP, _session: Session, _envelope: Envelope, mechanism: str,
                      data: Any) -> AuthResult:
                ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == login
                return AuthResult(success=ok, handled=False)
            kwargs = {"authenticator": check, "auth_require_tls": False}
        self._controller = Controller(_Keeper(self), hostname="127.0.0.1", port=self.port, **kwargs)

    def __enter__(self) -> MailServer:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[tuple[list[str], EmailMessage]]:
        """Wait until ``count`` emails arrived; return all received."""
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.received) >= count, timeout), (
                f"{len(self.received)} emails arrived, not {count}")
            return list(self.received)


@dataclass
class Received:
    """One push as the endpoint decrypted it."""

    payload: dict[str, Any]
    headers: dict[str, str]
    vapid_key: str


@dataclass
class PushEndpoint:
    """A push service for one subscription, on 127.0.0.1."""

    status: int = 201
    received: list[Received] = field(default_factory=list)
    attempts: int = 0

    def __post_init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.cond = threading.Condition()
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with endpoint.cond:
                    endpoint.attempts += 1
                    status = endpoint.status
                if status < 300:
                    endpoint._accept(body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/push/sub-1"
        self._thread = threading.Thread(target=self._server.serve_forever, name="push-endpoint", daemon=True)

    def __enter__(self) -> PushEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def subscription(self) -> dict[str, Any]:
        """What the browser's ``PushSubscription.toJSON()`` would give the hub."""
        public = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                             serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.url, "keys": {"p256dh": b64(public), "auth": b64(self.auth)}}

    def _accept(self, body: bytes, headers: dict[str, str]) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        assert lower.get("content-encoding") == "aes128gcm", lower
        vapid_key = _check_vapid(lower.get("authorization", ""), self.url)
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        with self.cond:
            self.received.append(Received(json.loads(plain), lower, vapid_key))
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.received) >= count, timeout), (
                f"{len(self.received)} pushes arrived, not {count}")
            return list(self.received)

    def wait_attempts(self, count: int, timeout: float = 30.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: self.attempts >= count, timeout), f"{self.attempts} attempts"


def _check_vapid(header: str, endpoint: str) -> str:
    """Verify ``vapid t=<jwt>, k=<key>`` (RFC 8292): ES256 by that key, audience the origin."""
    assert header.startswith("vapid "), header
    parts = dict(p.strip().split("=", 1) for p in header[6:].split(","))
    token, key = parts["t"], parts["k"]
    head, claims, sig = token.split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
    raw = unb64(sig)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    aud = json.loads(unb64(claims))["aud"]
    assert endpoint.startswith(aud), (aud, endpoint)
    return key
