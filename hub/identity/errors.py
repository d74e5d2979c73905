"""Errors of the identity package, placed in the hub's error tree.

::

    HubError
    ├── ConfigError
    │   └── BrokerConfigError      the broker config or dynsec file cannot be built
    ├── TransportError
    │   └── DynSecError            the dynamic security plugin refused or did not answer
    └── DomainError
        ├── InvalidName            a username or id outside [a-z0-9_-]{1,64} (422)
        ├── InvalidInput           a value out of range (a password too short) (422)
        ├── AuthFailed             unknown, wrong or expired credentials (401)
        ├── TooManyAttempts        login attempts over the limit (429)
        ├── NotFound / Forbidden   (from hub.errors)
        └── Conflict
            └── AccountExists      the username is taken (409)
"""

from __future__ import annotations

from hub.errors import ConfigError, Conflict, DomainError, TransportError


class BrokerConfigError(ConfigError):
    """The broker configuration or the dynamic security file cannot be built."""


class DynSecError(TransportError):
    """The dynamic security plugin answered with an error, or did not answer in time.

    Attributes:
        command: the dynsec command (``createClient``, ...).
        message: the plugin's error text, or why no answer came.
    """

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"dynsec {command}: {message}")
        self.command = command
        self.message = message


class InvalidName(DomainError):
    """A username or id that is not 1-64 characters of ``[a-z0-9_-]``."""

    status = 422
    code = "invalid-name"


class InvalidInput(DomainError):
    """A value out of its allowed range."""

    status = 422
    code = "invalid-input"


class AuthFailed(DomainError):
    """Unknown, wrong, disabled or expired credentials (never says which)."""

    status = 401
    code = "unauthenticated"


class TooManyAttempts(DomainError):
    """Too many failed logins for this username or address; retry after ``retry_after`` s."""

    status = 429
    code = "too-many-attempts"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AccountExists(Conflict):
    """The username or id is already taken."""

    code = "account-exists"
