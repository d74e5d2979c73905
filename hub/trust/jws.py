"""Compact JWS with EdDSA (RFC 7515, RFC 8037): just what the trust export needs.

Only ``alg: EdDSA`` is accepted on verification (never ``none``, never an algorithm the
token itself picks), and the ``kid`` must name a key of the given set.
"""

from __future__ import annotations

from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.trust.keys import b64url, b64url_decode, key_from_jwk

MAX_TOKEN = 20 * 1024 * 1024


class JwsError(ValueError):
    """A token that does not verify, with the reason."""


def sign(payload: dict[str, Any], key: Ed25519PrivateKey, kid: str, typ: str) -> str:
    """``payload`` as a compact JWS signed by ``key``."""
    header = b64url(orjson.dumps({"alg": "EdDSA", "kid": kid, "typ": typ}))
    body = b64url(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))
    signing_input = f"{header}.{body}".encode()
    return f"{header}.{body}.{b64url(key.sign(signing_input))}"


def verify(token: str, jwks: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a compact JWS against a JWK set; return (header, payload).

    Raises:
        JwsError: malformed, unknown key, wrong algorithm or bad signature.
    """
    if len(token) > MAX_TOKEN:
        raise JwsError("the document is too large")
    # Exactly the token, with at most the one newline the export ends with.
    parts = (token[:-1] if token.endswith("\n") else token).split(".")
    if len(parts) != 3:
        raise JwsError("not a compact JWS (three base64url parts joined by dots)")
    try:
        header = orjson.loads(b64url_decode(parts[0]))
        signature = b64url_decode(parts[2])
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise JwsError(f"the JWS header or signature is not valid base64url JSON: {exc}") from exc
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise JwsError("the JWS must be signed with alg EdDSA")
    kid = header.get("kid")
    match = [k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("kid") == kid]
    if not match:
        raise JwsError(f"no key {kid!r} in the issuing hub's key set")
    try:
        key = key_from_jwk(match[0])
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature as exc:
        raise JwsError("the signature does not match the document") from exc
    except ValueError as exc:
        raise JwsError(f"key {kid}: {exc}") from exc
    try:
        payload = orjson.loads(b64url_decode(parts[1]))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise JwsError("the signed payload is not JSON") from exc
    if not isinstance(payload, dict):
        raise JwsError("the signed payload is not a JSON object")
    return header, payload
