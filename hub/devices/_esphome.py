"""ESPHome over MQTT: node discovery, birth/will, and state topics.

ESPHome announces its entities through Home Assistant discovery
(``homeassistant/<component>/<node>/<object_id>/config``, read by ``_homeassistant``), after
which its state topics (``<node>/sensor/<object_id>/state``) are read with the declared
unit and device class. What this module adds:

- ``esphome/discover/<node>``: the node's own announcement (``name``, ``friendly_name``,
  ``version``, ``mac``, ``platform``, ``board``) -> a ``device`` registration.
- ``<node>/status`` ``online``/``offline`` before any discovery config names it -> ``online``.
- a state topic no discovery config declares is rejected with that reason: a bare number
  without its unit and device class cannot be given a canonical metric.
"""

from __future__ import annotations

from hub.errors import PayloadRejected
from hub.events import Normalized, Registration

from ._payload import loads_object, text
from ._reading import reading

COMPONENTS = frozenset({"sensor", "binary_sensor", "switch", "light", "text_sensor", "cover",
                        "climate", "fan", "number", "select", "button", "lock", "valve"})


def discover(parts: list[str], topic: str, payload: bytes) -> Normalized:
    """``esphome/discover/<node>``: the node announcement."""
    if len(parts) != 3 or parts[1] != "discover":
        raise PayloadRejected("unknown esphome topic (expected esphome/discover/<node>)",
                              topic=topic)
    obj = loads_object(payload, topic)
    name = obj.get("name") if type(obj.get("name")) is str else parts[2]
    extra = {k: obj[k] for k in ("mac", "version", "ip", "platform", "board")
             if type(obj.get(k)) is str}
    friendly = obj.get("friendly_name")
    board = obj.get("board")
    return Normalized(registrations=(Registration(
        kind="device", device=str(name), model=board if type(board) is str else None,
        manufacturer="ESPHome", name=friendly if type(friendly) is str else str(name),
        extra=extra),))


def status(parts: list[str], topic: str, payload: bytes) -> Normalized | None:
    """``<node>/status`` birth/will; None when the payload is not ESPHome's."""
    value = text(payload, topic).strip()
    if value not in ("online", "offline"):
        return None
    return Normalized(readings=(reading(parts[0], "online", value == "online", None, None,
                                        None),))


def undeclared_state(topic: str) -> PayloadRejected:
    """The rejection for a state topic that no discovery config has declared."""
    return PayloadRejected("ESPHome state topic that no discovery config declares: unit and"
                           " metric unknown (enable discovery in the node's mqtt: block)",
                           topic=topic)
