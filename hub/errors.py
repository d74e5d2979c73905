"""Errors raised by the hub.

Every error the hub raises on purpose derives from :class:`HubError`::

    HubError
    ├── ConfigError          settings or files that cannot be used
    ├── PayloadRejected      an inbound message refused, with the reason
    ├── TransportError       the MQTT connection failed or a publish was refused
    ├── StorageError         the database could not be opened, migrated or written
    │   └── StorageFull      the disk under the store is full, or PostgreSQL out of
    │                        resources (HTTP 503, retry later)
    ├── BrokerError          the managed Mosquitto did not start or died
    ├── RuleError            a rule pack is invalid (file, line, rule id)
    ├── NoticeRejected       a notice document was refused (hostile, malformed)
    └── DomainError          a request that breaks a business rule
        ├── NotFound         no such object, or not yours
        ├── Forbidden        your role may not do this
        └── Conflict         already claimed, full, clashing, stale state

Library errors are translated where they are caught (``raise X(...) from exc``) so that
callers only need to know this tree.
"""

from __future__ import annotations


class HubError(Exception):
    """Root of every error the hub raises on purpose."""


class ConfigError(HubError):
    """Settings or configuration files that cannot be used."""


class PayloadRejected(HubError):
    """An inbound payload was refused.

    Attributes:
        reason: why, in a few words a user can act on.
        topic: the topic it arrived on, when known.
    """

    def __init__(self, reason: str, *, topic: str | None = None) -> None:
        super().__init__(reason if topic is None else f"{topic}: {reason}")
        self.reason = reason
        self.topic = topic


class TransportError(HubError):
    """The MQTT connection failed, or the broker refused an operation."""


class StorageError(HubError):
    """The database could not be opened, migrated or written."""


class StorageFull(StorageError):
    """A write failed because the disk (or the store's size cap) is full; nothing was committed.

    The hub keeps running and serves reads; writes succeed again by themselves once space
    returns. The API answers 503 with ``Retry-After``; PostgreSQL's other out-of-resources
    errors (SQLSTATE class 53) are this error too.

    Attributes:
        public: what the API tells the caller (the message itself may name paths).
    """

    DISK_FULL = "the hub's disk is full: the write was not saved; try again later"

    def __init__(self, message: str, *, public: str = DISK_FULL) -> None:
        super().__init__(message)
        self.public = public


class BrokerError(HubError):
    """The managed Mosquitto process could not be started or stopped."""


class RuleError(HubError):
    """A rule pack failed validation.

    Attributes:
        file: the pack's path.
        line: 1-based line of the offending node, when known.
        rule_id: the rule's id, when known.
        message: what is wrong.
    """

    def __init__(self, message: str, *, file: str = "", line: int = 0, rule_id: str = "") -> None:
        super().__init__(f"{file}:{line}: rule {rule_id or '-'}: {message}")
        self.file = file
        self.line = line
        self.rule_id = rule_id
        self.message = message


class NoticeRejected(HubError):
    """A notice document (CAP, feed, outage JSON) was refused, with the reason."""


class DomainError(HubError):
    """A request that breaks a business rule; maps to a 4xx problem response."""

    status: int = 400
    code: str = "invalid"


class NotFound(DomainError):
    """No such object, or it belongs to someone else (never say which)."""

    status = 404
    code = "not-found"


class Forbidden(DomainError):
    """The caller's role may not do this."""

    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """The object is in a state that does not allow this (claimed, full, clashing)."""

    status = 409
    code = "conflict"
