"""Zigbee2MQTT 1.x legacy bridge API: ``bridge/config/devices`` and ``bridge/log``.

Before the 1.17 ``bridge/devices`` API (still on with ``legacy_api: true``), zigbee2mqtt
answered ``bridge/config/devices/get`` on ``bridge/config/devices`` with a list of
camelCase entries (``ieeeAddr``, ``friendly_name``, ``model``, ``vendor``, ``description``,
``type``...) and logged events on ``bridge/log`` as ``{"type": ..., "message": ...,
"meta": ...}``. What they give here:

- a device list (on ``bridge/config/devices``, or as ``bridge/log`` type ``devices``; z2m
  sends a JSON array, test/legacy/bridgeLegacy.test.js; an object keyed by IEEE address,
  the shape of ``bridge/info``'s ``config.devices``, is read the same way): one ``device``
  registration per paired device; the coordinator is skipped. The legacy list declares no
  exposes, so no metrics. 1.x before 1.17 names the vendor ``manufName`` (z2m 1.6).
- ``pairing`` with ``interview_successful``: a registration from its ``meta``.
- other log types (``device_connected``, ``device_removed``, ``groups``, ``zigbee_publish_error``
  ...): understood, nothing to read.
"""

from __future__ import annotations

from typing import Any

from hub.errors import PayloadRejected
from hub.events import EMPTY, Normalized, Registration

from ._payload import loads


def _entry(entry: Any) -> Registration | None:
    if type(entry) is not dict or entry.get("type") == "Coordinator":
        return None
    name = entry.get("friendly_name") or entry.get("friendlyName")
    if type(name) is not str or not name:
        return None
    model = entry.get("model")
    vendor = entry.get("vendor") or entry.get("manufacturerName") or entry.get("manufName")
    extra: dict[str, Any] = {}
    if type(entry.get("ieeeAddr")) is str:
        extra["ieee_address"] = entry["ieeeAddr"]
    if type(entry.get("description")) is str:
        extra["description"] = entry["description"]
    return Registration(kind="device", device=name,
                        model=model if type(model) is str else None,
                        manufacturer=vendor if type(vendor) is str else None,
                        name=name, extra=extra)


def _device_list(devices: Any, topic: str) -> Normalized:
    if type(devices) is dict:  # keyed by IEEE address
        devices = [{"ieeeAddr": k, **v} if type(v) is dict else v for k, v in devices.items()]
    if type(devices) is not list:
        raise PayloadRejected("legacy device list must be a JSON array or object", topic=topic)
    regs = tuple(r for r in map(_entry, devices) if r is not None)
    return Normalized(registrations=regs)


def config_devices(payload: bytes, topic: str) -> Normalized:
    """``zigbee2mqtt/bridge/config/devices``: the legacy device list."""
    return _device_list(loads(payload, topic), topic)


def log(payload: bytes, topic: str) -> Normalized:
    """``zigbee2mqtt/bridge/log``: legacy log events."""
    obj = loads(payload, topic)
    if type(obj) is not dict or type(obj.get("type")) is not str:
        raise PayloadRejected('bridge/log must be {"type": ..., "message": ...}', topic=topic)
    kind = obj["type"]
    if kind == "devices":
        return _device_list(obj.get("message"), topic)
    if kind == "pairing" and obj.get("message") == "interview_successful":
        meta = obj.get("meta")
        reg = _entry(meta) if type(meta) is dict and meta.get("supported") is not False \
            else None
        return Normalized(registrations=(reg,)) if reg is not None else EMPTY
    return EMPTY
