"""Tasmota's own discovery (``SetOption19 0``): ``tasmota/discovery/<mac>/config|sensors``.

``config`` (retained) names the device: ``t`` is its MQTT topic (the device id used by the
``tele``/``stat`` adapters), ``dn`` its name, ``md`` the module, ``sw`` the firmware,
``mac``; ``fn`` the friendly names and ``rl`` the relays (1 = relay, 2 = light) tell how
many switch channels it has; ``onln``/``ofln`` the LWT payloads. The topic is remembered per
MAC, so ``sensors`` (``{"sn": <a tele/SENSOR payload>, "ver": 1}``) registers the metrics
the SENSOR message will carry, for the same device.
"""

from __future__ import annotations

from typing import Any

import orjson

from hub.errors import PayloadRejected
from hub.events import MetricSpec, Normalized, Registration

from . import _tasmota
from ._context import Household, bounded_set
from ._payload import loads_object


def handle(h: Household, parts: list[str], topic: str, payload: bytes) -> Normalized:
    """Normalize ``tasmota/discovery/<mac>/<kind>``."""
    if len(parts) != 4 or parts[1] != "discovery" or parts[3] not in ("config", "sensors"):
        raise PayloadRejected("unknown tasmota topic (expected tasmota/discovery/<mac>/"
                              "config or /sensors)", topic=topic)
    mac = parts[2]
    if not payload.strip():
        return Normalized()  # a cleared retained config: the device was removed
    obj = loads_object(payload, topic)
    if parts[3] == "config":
        return _config(h, mac, obj, topic)
    device = h.tasmota_topics.get(mac, mac)
    sn = obj.get("sn")
    if type(sn) is not dict:
        raise PayloadRejected('tasmota discovery sensors without an "sn" object', topic=topic)
    found = _tasmota.handle(h, ["tele", device, "SENSOR"], topic,
                            _tasmota_json(sn))
    metrics = tuple(dict.fromkeys(MetricSpec(metric=r.metric, unit=r.unit, channel=r.channel)
                                  for r in found.readings))
    return Normalized(registrations=(Registration(kind="device", device=device,
                                                  metrics=metrics, extra={"mac": mac}),))


def _config(h: Household, mac: str, obj: dict[str, Any], topic: str) -> Normalized:
    device = obj.get("t")
    if type(device) is not str or not device:
        raise PayloadRejected('tasmota discovery config without its topic "t"', topic=topic)
    bounded_set(h.tasmota_topics, mac, device)
    relays: list[Any] = obj["rl"] if type(obj.get("rl")) is list else []
    switches = [i + 1 for i, kind in enumerate(relays) if kind in (1, 2)]
    metrics = [MetricSpec(metric="switch", channel=None if len(switches) == 1 else str(i))
               for i in switches]
    metrics.append(MetricSpec(metric="online"))
    extra = {k: obj[k] for k in ("mac", "sw", "hn", "ip") if type(obj.get(k)) is str}
    name, model = obj.get("dn"), obj.get("md")
    return Normalized(registrations=(Registration(
        kind="device", device=device, model=model if type(model) is str else None,
        manufacturer="Tasmota", name=name if type(name) is str else device,
        metrics=tuple(metrics), extra=extra),))


def _tasmota_json(sn: dict[str, Any]) -> bytes:
    # The SENSOR adapter reads bytes; re-encoding keeps it the one reader of that shape.
    return orjson.dumps(sn)
