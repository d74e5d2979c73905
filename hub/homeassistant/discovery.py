"""The Home Assistant MQTT discovery entities of one household (pure: no I/O).

One HA device per household ("Community hub"), grouping:

- ``sensor/suggestions``: open suggestions (count; titles in the attributes), and per open
  suggestion a ``button`` to accept and one to decline it (no accept button for a
  gathering: accepting one means creating it, with a title, a time and guests, which a
  button cannot say);
- ``sensor/notices``: active notices for the home (count; headlines in the attributes);
- ``sensor/next_booking``: the next booking (a timestamp; title in the attributes) and
  ``sensor/bookings`` (count);
- ``sensor/timebank_balance``: the time-bank balance in hours, when the time bank is wired;
- ``sensor/loans``: loans asked for, agreed or out (things in the attributes), when sharing is.

Configs are under the household's discovery prefix; states, attributes and the
availability topic (the hub publishes ``online`` there, retained) are in the hub's own
subtree ``home/<h>/hub/homeassistant/``, which only the hub may write. Buttons publish
their ``payload_press`` (``{"action", "suggestion"}``)
to the household's one command topic, where :mod:`hub.homeassistant.commands` reads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_OBJECT_SAFE = re.compile(r"[^a-zA-Z0-9_-]+")
MAX_LISTED = 20
NO_ACCEPT_BUTTON = frozenset({"gathering"})
"""Suggestion kinds whose accept needs more than a press (the offers service refuses it)."""


@dataclass(frozen=True, slots=True)
class Entity:
    """One discovery entity: its retained config and, for sensors, its retained state."""

    component: str
    object_id: str
    config: dict[str, Any]
    state: str | None = None
    attributes: dict[str, Any] | None = None


def prefix(household: str) -> str:
    """The household's discovery prefix on the hub's broker."""
    return f"home/{household}/homeassistant"


def state_prefix(household: str) -> str:
    """States and availability go in the hub's own subtree: only the hub writes there."""
    return f"home/{household}/hub/homeassistant"


def availability_topic(household: str) -> str:
    return f"{state_prefix(household)}/availability"


def command_topic(household: str) -> str:
    return f"{prefix(household)}/command"


def config_topic(household: str, entity: Entity) -> str:
    return f"{prefix(household)}/{entity.component}/{entity.object_id}/config"


def state_topic(household: str, entity: Entity) -> str:
    return f"{state_prefix(household)}/{entity.component}/{entity.object_id}/state"


def attributes_topic(household: str, entity: Entity) -> str:
    return f"{state_prefix(household)}/{entity.component}/{entity.object_id}/attributes"


def object_id(household: str, name: str) -> str:
    """A unique, HA-safe object id: ``hub_<household>_<name>``."""
    return _OBJECT_SAFE.sub("_", f"hub_{household}_{name}")[:120]


def _device(household: str, display_name: str) -> dict[str, Any]:
    return {"identifiers": [f"community-hub-{household}"], "name": f"Community hub: {display_name}",
            "manufacturer": "Community hub", "model": "household"}


def _base(household: str, display_name: str, name: str, oid: str) -> dict[str, Any]:
    return {"name": name, "unique_id": oid, "object_id": oid, "device": _device(household, display_name),
            "availability_topic": availability_topic(household),
            "payload_available": "online", "payload_not_available": "offline"}


def _sensor(household: str, display_name: str, key: str, name: str, state: Any,
            attributes: dict[str, Any] | None = None, **extra: Any) -> Entity:
    oid = object_id(household, key)
    entity = Entity("sensor", oid, {}, None if state is None else str(state), attributes)
    config = _base(household, display_name, name, oid)
    config["state_topic"] = state_topic(household, entity)
    if attributes is not None:
        config["json_attributes_topic"] = attributes_topic(household, entity)
    config.update(extra)
    return Entity("sensor", oid, config, entity.state, attributes)


def _button(household: str, display_name: str, suggestion: dict[str, Any], action: str) -> Entity:
    sid = str(suggestion["id"])
    oid = object_id(household, f"{action}_{sid}")
    title = str(suggestion.get("title") or suggestion.get("kind") or "suggestion")[:80]
    config = _base(household, display_name, f"{action.title()}: {title}", oid)
    config["command_topic"] = command_topic(household)
    config["payload_press"] = json.dumps({"action": action, "suggestion": sid}, separators=(",", ":"))
    config["icon"] = "mdi:check" if action == "accept" else "mdi:close"
    return Entity("button", oid, config)


def household_entities(household: str, display_name: str, *, suggestions: Sequence[dict[str, Any]],
                       notices: Sequence[dict[str, Any]], bookings: Sequence[dict[str, Any]],
                       balance_hours: float | None,
                       loans: Sequence[dict[str, Any]] | None = None) -> list[Entity]:
    """Every entity of one household, in a stable order."""
    out = [
        _sensor(household, display_name, "suggestions", "Open suggestions", len(suggestions),
                {"titles": [str(s.get("title") or s.get("kind")) for s in suggestions[:MAX_LISTED]]},
                icon="mdi:lightbulb-on-outline"),
        _sensor(household, display_name, "notices", "Active notices", len(notices),
                {"headlines": [str(n.get("headline") or n.get("event") or n.get("id")) for n in notices[:MAX_LISTED]]},
                icon="mdi:alert-outline"),
        _sensor(household, display_name, "bookings", "Bookings", len(bookings), icon="mdi:calendar"),
    ]
    upcoming = sorted(bookings, key=lambda b: str(b.get("starts_at", "")))
    nxt = upcoming[0] if upcoming else None
    out.append(_sensor(household, display_name, "next_booking", "Next booking",
                       nxt.get("starts_at") if nxt else "None",
                       {"title": str(nxt.get("title", "")) if nxt else ""}, device_class="timestamp"))
    if balance_hours is not None:
        out.append(_sensor(household, display_name, "timebank_balance", "Time-bank balance", balance_hours,
                           unit_of_measurement="h", state_class="measurement", icon="mdi:clock-outline"))
    if loans is not None:
        # Loans the household is part of that are not over: asked for, agreed, or lent out.
        live = [x for x in loans if x.get("status") in {"requested", "accepted", "out"}]
        out.append(_sensor(household, display_name, "loans", "Loans", len(live),
                           {"loans": [{"thing": (x.get("thing") or {}).get("title", ""), "status": x.get("status"),
                                       "role": x.get("role"), "end": x.get("end"), "overdue": bool(x.get("overdue"))}
                                      for x in live[:MAX_LISTED]]},
                           icon="mdi:handshake-outline"))
    for s in suggestions[:MAX_LISTED]:
        if s.get("kind") not in NO_ACCEPT_BUTTON:
            out.append(_button(household, display_name, s, "accept"))
        out.append(_button(household, display_name, s, "decline"))
    return out
