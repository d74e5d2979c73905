"""What the "Add a device or a home broker" wizard reads and writes.

Links (MQTT logins a household makes itself) live in :mod:`hub.identity.links`; here they
meet the twin (which devices reported since a link was made), the history (removing a
device removes its readings) and the snippets the household pastes.
"""

from __future__ import annotations

import time
from typing import Any

from hub.dashboards.access import HOUSEHOLD, PrincipalLike, Unavailable, actor_of, component
from hub.identity.links import KINDS, Link, Links
from hub.identity.snippets import snippet

MAX_NAME = 80


def links_of(hub: Any) -> Links:
    """The hub's links service, or :class:`Unavailable` when the hub manages no logins."""
    identity = component(hub, "identity")
    if identity is None or getattr(identity, "dynsec", None) is None:
        raise Unavailable("this hub makes no device logins (it manages no broker)")
    return Links(hub.db, identity, time.time)


def _household(p: PrincipalLike) -> str:
    if p.role != HOUSEHOLD or not p.household:
        raise Unavailable("only a household links devices")
    return p.household


def broker_address(hub: Any) -> tuple[str, int]:
    """Where a home's devices reach the hub's broker."""
    public = getattr(hub.settings, "mqtt_public_address", None)
    if public:
        host, _, port = public.rpartition(":")
        if host and port.isdigit():
            return host, int(port)
        return public, 1883
    broker = getattr(hub, "broker", None)
    if broker is not None and getattr(broker, "port", None):
        return "127.0.0.1", int(broker.port)
    host, port, _, _ = hub.settings.broker_address()
    return host, port


def kinds() -> list[dict[str, str]]:
    return [{"id": k, "label": v} for k, v in KINDS.items()]


def links(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """The household's links, newest first (empty when the hub makes none)."""
    try:
        service = links_of(hub)
    except Unavailable:
        return []
    return [link.marshal() for link in service.of_household(_household(p))]


def _shown(hub: Any, link: Link, secret: str) -> dict[str, Any]:
    host, port = broker_address(hub)
    where, text = snippet(link.kind, host=host, port=port, username=link.mqtt_username, password=secret,
                          household=link.household, label=link.label)
    return {"link": link.marshal(), "secret": secret, "where": where, "snippet": text,
            "host": host, "port": port}


def create_link(hub: Any, p: PrincipalLike, kind: str, label: str) -> dict[str, Any]:
    """A new link with its secret and snippet (to be shown once)."""
    link, secret = links_of(hub).create(_household(p), kind, label, actor=actor_of(p))
    return _shown(hub, link, secret)


def rotate_link(hub: Any, p: PrincipalLike, link_id: str) -> dict[str, Any]:
    """A new secret for a link, with its snippet (shown once)."""
    link, secret = links_of(hub).rotate(_household(p), link_id, actor=actor_of(p))
    return _shown(hub, link, secret)


def revoke_link(hub: Any, p: PrincipalLike, link_id: str) -> Link:
    return links_of(hub).revoke(_household(p), link_id, actor=actor_of(p))


def link_progress(hub: Any, p: PrincipalLike, link_id: str) -> dict[str, Any]:
    """Whether a link's devices have reported: ``{"linked", "devices": [{"device", "name"}]}``.

    The devices found are those of the household first seen since the link was made (the
    link can write only there); the first one marks the link as linked.
    """
    household = _household(p)
    service = links_of(hub)
    link = service.get(household, link_id)
    found = [t for t in hub.twin.devices(household) if t.first_seen >= link.created_at]
    if found and link.first_message_at is None:
        service.mark_first_message(household, link.id, min(t.first_seen for t in found))
    return {"linked": bool(found), "active": link.active,
            "devices": [{"device": t.device, "name": t.name or t.device,
                         "metrics": len(t.metrics)} for t in found]}


def rename_device(hub: Any, p: PrincipalLike, device: str, name: str) -> str:
    """Give one of the household's devices a name; returns the name."""
    household = _household(p)
    name = " ".join(name.split())[:MAX_NAME]
    if not name:
        raise Unavailable("a device's name cannot be empty")
    if not hub.twin.rename(household, device, name):
        raise Unavailable("no such device in your home")
    _audit(hub, household, "device renamed", p, f"{device[:60]} -> {name}")
    return name


def remove_device(hub: Any, p: PrincipalLike, device: str) -> int:
    """Remove one of the household's devices and its whole history; rows of history removed."""
    household = _household(p)
    if not hub.twin.forget(household, device):
        raise Unavailable("no such device in your home")
    history = component(hub, "history")
    removed = 0
    forget = getattr(history, "forget_device", None)
    if forget is not None:
        removed = int(forget(household, device))
    _audit(hub, household, "device removed", p, f"{device[:60]} ({removed} history rows)")
    return removed


def _audit(hub: Any, household: str, action: str, p: PrincipalLike, detail: str) -> None:
    try:
        service = links_of(hub)
    except Unavailable:
        return
    service.record(household, action, actor_of(p), detail)


def link_audit(hub: Any, p: PrincipalLike, limit: int = 100) -> list[dict[str, Any]]:
    """Every link step of every household (the admin's view)."""
    if p.role != "admin":
        return []
    try:
        return links_of(hub).audit(limit=limit)
    except Unavailable:
        return []
