"""Accounts: who someone is (a :class:`Principal`) and the secrets handed out once.

Passwords are hashed with argon2id (argon2-cffi's defaults: 64 MiB, 3 passes). Every
secret the hub generates is 32 random bytes in URL-safe base64, shown once in
:class:`Credentials` and never stored in clear.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("admin", "household", "provider", "device", "bridge")


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The authenticated caller of an API route.

    Attributes:
        account_id: the account's id.
        username: its login name.
        role: ``admin``, ``household``, ``provider``, ``device`` or ``bridge``.
        household: the household it belongs to (household people, bridges, devices).
        provider: the provider it speaks for (providers).
        community: the community of that household or provider, when known.
    """

    account_id: str
    username: str
    role: str
    household: str | None = None
    provider: str | None = None
    community: str | None = None

    def marshal(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "username": self.username,
            "role": self.role,
            "household": self.household,
            "provider": self.provider,
            "community": self.community,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """Secrets created by provisioning: returned once, stored only hashed.

    ``repr`` hides every secret so that a stray log line cannot leak one.
    """

    account_id: str
    username: str
    role: str
    password: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    mqtt_username: str | None = None
    mqtt_password: str | None = field(default=None, repr=False)

    def marshal(self) -> dict[str, Any]:
        """The shape of ``var/demo/credentials.json`` entries (CONTRACTS.md)."""
        data: dict[str, Any] = {"username": self.username, "password": self.password}
        if self.api_token is not None:
            data["api_token"] = self.api_token
        if self.mqtt_username is not None:
            data["mqtt"] = {"username": self.mqtt_username, "password": self.mqtt_password}
        return data


def new_secret() -> str:
    """A fresh secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_id() -> str:
    """A fresh account or grant id (not guessable, not sequential)."""
    return secrets.token_hex(12)


class Passwords:
    """argon2id hashing; pass cheaper parameters in unit tests only."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy = self._hasher.hash(new_secret())

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Check a password; an account without one costs the same time and fails."""
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False
