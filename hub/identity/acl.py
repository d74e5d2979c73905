"""Who may read and write which MQTT topics: the dynamic security roles.

Every account gets roles built here; the broker enforces them. The plugin's default for
every ACL type is *deny* (set by :func:`hub.identity.broker_config.init_dynsec`), so a role
lists only what it allows, plus explicit denials at a higher priority where an allowed
tree holds a narrower forbidden one.

=====================  ==============================  ===================================
role                   writes                          reads (subscribe + receive)
=====================  ==============================  ===================================
``household-<h>``      ``home/<h>/#`` but not          ``home/<h>/hub/#``
(device gateway)       ``home/<h>/hub/#``
``members-<h>``        nothing                         ``home/<h>/hub/#``
(household people)
``community-<c>``      nothing                         ``community/<c>/notices/#``
``provider-<p>``       ``providers/<p>/claims``,       ``providers/<p>/feed/#``
                       ``publishers/<p>/notices/+``
``hub``                ``community/+/notices/#``,      ``home/+/#``, ``providers/+/claims``
                       ``providers/+/feed/#``,         (and what it writes, for restarts)
                       ``home/+/hub/#``, ``offers/#``
``dynsec-admin``       ``$CONTROL/dynamic-security/#``  its responses, ``$SYS/#``
=====================  ==============================  ===================================

Nobody else has any ACL on ``$CONTROL``: a publish there by anyone but the admin is
dropped by the broker before the plugin sees it as a command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.identity import names

SEND = "publishClientSend"
RECEIVE = "publishClientReceive"
SUBSCRIBE = "subscribePattern"
ACL_TYPES = (
    SEND,
    RECEIVE,
    SUBSCRIBE,
    "subscribeLiteral",
    "unsubscribePattern",
    "unsubscribeLiteral",
)


@dataclass(frozen=True, slots=True)
class Acl:
    """One dynsec ACL entry: allow or deny ``acltype`` on ``topic`` (highest priority first)."""

    acltype: str
    topic: str
    allow: bool = True
    priority: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "acltype": self.acltype,
            "topic": self.topic,
            "allow": self.allow,
            "priority": self.priority,
        }


@dataclass(frozen=True, slots=True)
class Role:
    """A named set of ACLs."""

    rolename: str
    acls: tuple[Acl, ...] = field(default_factory=tuple)
    textname: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rolename": self.rolename, "acls": [a.to_json() for a in self.acls]}
        if self.textname:
            data["textname"] = self.textname
        return data


def _read(topic: str) -> tuple[Acl, ...]:
    """Subscribing to a filter within ``topic`` and receiving what matches it."""
    return (Acl(SUBSCRIBE, topic), Acl(RECEIVE, topic))


def household_role(household: str) -> Role:
    """The device gateway of ``household``: writes its tree, reads what the hub sends it."""
    h = names.check_id(household, what="household id")
    return Role(
        f"household-{h}",
        (
            # A device must not impersonate the hub towards its own household.
            Acl(SEND, f"home/{h}/hub/#", allow=False, priority=10),
            Acl(SEND, f"home/{h}/#"),
            *_read(f"home/{h}/hub/#"),
        ),
        textname=f"devices of household {h}",
    )


def homeassistant_role(household: str) -> Role:
    """A household's Home Assistant (its gateway, or a login the linking wizard made for HA).

    It reads the hub's discovery configs under ``home/<h>/homeassistant/#`` (their states
    and availability are in ``home/<h>/hub/homeassistant/``, which the household role
    reads) and presses buttons on ``home/<h>/homeassistant/command`` with the household
    role, which writes the household's tree.
    """
    h = names.check_id(household, what="household id")
    return Role(
        f"homeassistant-{h}",
        _read(f"home/{h}/homeassistant/#"),
        textname=f"Home Assistant of household {h}",
    )


def members_role(household: str) -> Role:
    """The people of ``household``: read what the hub sends the household."""
    h = names.check_id(household, what="household id")
    return Role(f"members-{h}", _read(f"home/{h}/hub/#"), textname=f"people of household {h}")


def community_role(community: str) -> Role:
    """Members of ``community``: read its notices."""
    c = names.check_id(community, what="community id")
    return Role(f"community-{c}", _read(f"community/{c}/notices/#"), textname=f"community {c}")


def provider_role(provider: str) -> Role:
    """A provider: reads its own feed, writes its claims."""
    p = names.check_id(provider, what="provider id")
    return Role(
        f"provider-{p}",
        (
            *_read(f"providers/{p}/feed/#"),
            Acl(SEND, f"providers/{p}/claims"),
            # Notices a utility sends over MQTT; the hub accepts them only from providers
            # of kind "utility" of that community (hub.wiring.notice_publisher_allowed).
            Acl(SEND, f"publishers/{p}/notices/+"),
        ),
        textname=f"provider {p}",
    )


def hub_role() -> Role:
    """The hub's own MQTT account."""
    writes = ("community/+/notices/#", "providers/+/feed/#", "home/+/hub/#", "offers/#",
              "home/+/homeassistant/#")
    reads = ("home/+/#", "providers/+/claims", "community/+/notices/#", "offers/#", "publishers/+/notices/+")
    shared = tuple(f"$share/+/{t}" for t in ("home/+/#", "providers/+/claims"))
    return Role(
        "hub",
        (
            *(Acl(SEND, t) for t in writes),
            *(a for t in reads for a in _read(t)),
            *(Acl(SUBSCRIBE, t) for t in shared),
        ),
        textname="the hub",
    )


def admin_role() -> Role:
    """The dynamic security administrator: ``$CONTROL`` only, no application topic."""
    control = "$CONTROL/dynamic-security/#"
    return Role(
        "dynsec-admin",
        (
            Acl(SEND, control),
            *_read(control),
            *_read("$SYS/#"),
        ),
        textname="dynamic security administrator",
    )


def split_household(topic: str) -> tuple[str, str] | None:
    """Split ``home/<household>/<rest>`` into ``(household, rest)``; None if not such a topic."""
    parts = topic.split("/", 2)
    if len(parts) < 3 or parts[0] != "home" or not parts[2]:
        return None
    household = parts[1]
    if not names.NAME_RE.fullmatch(household):
        return None
    return household, parts[2]


def topic_belongs_to(username: str, topic: str) -> bool:
    """Whether the MQTT account ``username`` may publish on ``topic``.

    The hub's mirror of the broker's ACLs (for checks in the hub and for tests): identity
    comes from the topic and the login, never from a payload (RELIABILITY row 19).
    A gateway owns ``home/<its household>/...`` except the hub's ``hub/`` subtree; a
    provider owns ``providers/<it>/claims``; the hub owns what its role writes.
    """
    if not isinstance(username, str) or not isinstance(topic, str):
        return False
    if any(c in topic for c in "+#\0"):
        return False
    if username.startswith(names.GATEWAY_PREFIX):
        parts = split_household(topic)
        if parts is None:
            return False
        household, rest = parts
        return household == username[len(names.GATEWAY_PREFIX) :] and not (
            rest == "hub" or rest.startswith("hub/")
        )
    if username.startswith(names.PROVIDER_PREFIX):
        return topic == f"providers/{username[len(names.PROVIDER_PREFIX) :]}/claims"
    if username == names.HUB_USERNAME:
        level = topic.split("/")
        if len(level) >= 3 and level[0] == "community" and level[2] == "notices":
            return True
        if len(level) >= 3 and level[0] == "providers" and level[2] == "feed":
            return True
        if len(level) >= 3 and level[0] == "home" and level[2] == "hub":
            return True
        return level[0] == "offers"
    return False
