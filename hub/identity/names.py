"""Names that end up in MQTT topics, usernames and ACLs.

A username or id containing ``+``, ``#`` or ``/`` would widen an ACL pattern or escape its
topic tree, so every name the identity package accepts is 1-64 characters of
``[a-z0-9_-]`` and nothing else (checked with ``fullmatch``: ``$`` would let a trailing
newline through).
"""

from __future__ import annotations

import re

from hub.identity.errors import InvalidName

NAME_RE = re.compile(r"[a-z0-9_-]{1,64}")
#: Household and provider ids get a 3-character prefix in their MQTT usernames.
ID_MAX = 61

GATEWAY_PREFIX = "gw-"
MEMBER_PREFIX = "hm-"
PROVIDER_PREFIX = "pv-"
PURGE_PREFIX = "purge-"
#: The core broker login of an edge broker's bridge (hub.identity.bridge).
BRIDGE_PREFIX = "br-"
HUB_USERNAME = "hub"
ADMIN_USERNAME = "hub-admin"
RESERVED = frozenset({HUB_USERNAME, ADMIN_USERNAME, "admin", "root", "anonymous"})


def check_name(value: object, *, what: str = "username", max_len: int = 64) -> str:
    """Return ``value`` if it is a valid name, else raise :class:`InvalidName` saying why."""
    if not isinstance(value, str):
        raise InvalidName(f"{what} must be a string")
    if not NAME_RE.fullmatch(value) or len(value) > max_len:
        shown = value[:80].encode("unicode_escape").decode("ascii")
        raise InvalidName(
            f"{what} {shown!r} refused: use 1-{max_len} characters of a-z, 0-9, '_' and '-'"
        )
    return value


def check_account_name(value: object) -> str:
    """Validate an API login name: a name, not reserved, not in an MQTT login's namespace."""
    name = check_name(value)
    prefixes = (GATEWAY_PREFIX, MEMBER_PREFIX, PROVIDER_PREFIX, PURGE_PREFIX, BRIDGE_PREFIX)
    if name in RESERVED or name.startswith(prefixes):
        raise InvalidName(f"username {name!r} is reserved (or starts gw-, hm-, pv-, purge-, br-)")
    return name


def check_id(value: object, *, what: str = "id") -> str:
    """Validate a household, provider or community id (room left for a username prefix)."""
    return check_name(value, what=what, max_len=ID_MAX)


def gateway_username(household: str) -> str:
    """MQTT username of a household's device gateway."""
    return GATEWAY_PREFIX + check_id(household, what="household id")


def member_username(household: str) -> str:
    """MQTT username of a household's people (the app's optional MQTT login)."""
    return MEMBER_PREFIX + check_id(household, what="household id")


def provider_username(provider: str) -> str:
    """MQTT username of a provider."""
    return PROVIDER_PREFIX + check_id(provider, what="provider id")


def bridge_username(edge: str) -> str:
    """MQTT username (and client id) of an edge broker's bridge on the core broker."""
    return BRIDGE_PREFIX + check_id(edge, what="edge id")
