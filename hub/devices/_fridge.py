"""Fridges and pantry: Home Connect (hcpy MQTT, cloud SSE), SmartThings, Grocy.

- hcpy (local Home Connect bridge): ``homeconnect/<appliance>`` or ``.../state`` carries the
  full state on every change; doors as ``"Open"``/``"Closed"``. ``homeconnect/<a>/LWT``.
- Home Connect cloud SSE (``--source homeconnect``): ``event:STATUS|EVENT|NOTIFY`` frames
  with ``data:{"haId", "items":[{"key", "value", "timestamp"}]}``; ``KEEP-ALIVE`` carries
  nothing; ``CONNECTED``/``DISCONNECTED`` give ``online``.
- SmartThings (``--source smartthings``): device status (``components`` -> capability ->
  attribute -> ``{value, unit, timestamp}``; °F converted; ``main`` is channel None, other
  components such as ``cooler``/``freezer``/``icemaker`` are the channel) and subscription
  events (``eventType: DEVICE_EVENT``, ``eventTime`` in epoch milliseconds).
- Grocy (``--source grocy``): ``/api/stock`` (stock per product), ``/api/stock/products/<id>``,
  ``/api/stock/volatile`` (due, overdue, expired, missing products) and
  ``/api/objects/quantity_units`` (remembered so stock readings carry unit names);
  ``/api/objects/shopping_list`` gives ``shopping_list`` readings (amount per product or note).
"""

from __future__ import annotations

from typing import Any

from hub.errors import PayloadRejected
from hub.events import EMPTY, Normalized, Reading

from ._context import Household, bounded_set
from ._convert import (
    clean_str,
    convert_unit,
    iso_any,
    iso_from_number,
    snake,
    to_bool,
    to_num,
)
from ._payload import loads, loads_object, text
from ._reading import reading

# --- hcpy ----------------------------------------------------------------------------------

HCPY_DOORS: dict[str, str | None] = {
    "DoorState": None, "Refrigerator": "cooler", "Freezer": "freezer",
    "DoorStateRefrigerator": "cooler", "DoorStateFreezer": "freezer",
    "BottleCooler": "bottle_cooler", "ChillerCommon": "chiller",
}
HCPY_SETPOINTS: dict[str, str | None] = {
    "SetpointTemperature": None, "SetpointTemperatureRefrigerator": "cooler",
    "SetpointTemperatureFreezer": "freezer",
}


def hcpy(h: Household, parts: list[str], topic: str, payload: bytes) -> Normalized:
    """hcpy ``homeconnect/<appliance>[/state]`` full state, ``homeconnect/<a>/LWT``."""
    del h
    if len(parts) < 2 or not parts[1]:
        raise PayloadRejected("homeconnect topic without an appliance", topic=topic)
    device = parts[1]
    if len(parts) == 3 and parts[2] == "LWT":
        flag = to_bool(text(payload, topic, limit=16))
        if flag is None:
            raise PayloadRejected("LWT is neither online nor offline", topic=topic)
        return Normalized(readings=(reading(device, "online", flag, None, None, None),))
    if len(parts) > 3 or (len(parts) == 3 and parts[2] != "state"):
        return EMPTY  # hcpy's command and event subtopics
    obj = loads_object(payload, topic)
    out: list[Reading] = []
    for key, channel in HCPY_DOORS.items():
        if key in obj:
            flag = to_bool(obj[key])
            if flag is not None:
                out.append(reading(device, "door_open", flag, None, channel, None))
    for key, channel in HCPY_SETPOINTS.items():
        num = to_num(obj.get(key)) if key in obj else None
        if num is not None:
            out.append(reading(device, "temperature_setpoint", num, "°C", channel, None))
    return Normalized(readings=tuple(out))


# --- Home Connect SSE ----------------------------------------------------------------------

HC_DOOR_KEYS: dict[str, str | None] = {
    "BSH.Common.Status.DoorState": None,
    "Refrigeration.Common.Status.Door.Refrigerator": "cooler",
    "Refrigeration.Common.Status.Door.Freezer": "freezer",
    "Refrigeration.Common.Status.Door.BottleCooler": "bottle_cooler",
    "Refrigeration.Common.Status.Door.ChillerCommon": "chiller",
}
HC_SETPOINT_KEYS: dict[str, str | None] = {
    "Refrigeration.FridgeFreezer.Setting.SetpointTemperatureRefrigerator": "cooler",
    "Refrigeration.FridgeFreezer.Setting.SetpointTemperatureFreezer": "freezer",
}


def parse_sse(raw: str) -> list[tuple[str, str, str]]:
    """(event, data, id) per frame of a ``text/event-stream`` text (WHATWG HTML §9.2.6)."""
    frames: list[tuple[str, str, str]] = []
    event, ident = "", ""
    data: list[str] = []
    for line in [*raw.splitlines(), ""]:
        if not line:
            if event or data:
                frames.append((event or "message", "\n".join(data), ident))
            event, ident = "", ""
            data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            ident = value
    return frames


def _hc_item(device: str, item: Any, topic: str) -> Reading | None:
    if type(item) is not dict or type(item.get("key")) is not str:
        return None
    key: str = item["key"]
    value = item.get("value")
    ts = iso_from_number(item.get("timestamp"), topic) if "timestamp" in item else None
    if key in HC_DOOR_KEYS:
        word = value.rsplit(".", 1)[-1] if type(value) is str else value
        flag = to_bool(word)
        if flag is None and word == "Locked":
            flag = False
        return reading(device, "door_open", flag, None, HC_DOOR_KEYS[key], ts) if (
            flag is not None) else None
    if key in HC_SETPOINT_KEYS:
        num = to_num(value)
        if num is None:
            return None
        unit = item.get("unit")
        num, canon = convert_unit(num, unit if type(unit) is str else "°C")
        return reading(device, "temperature_setpoint", num, canon, HC_SETPOINT_KEYS[key], ts)
    if ".Event." in key and type(value) is str:
        # Events: present -> true; off/confirmed -> false (BSH.Common.EnumType.EventPresentState)
        state = value.rsplit(".", 1)[-1]
        flag = True if state == "Present" else False if state in ("Off", "Confirmed") else None
        if flag is None:
            return None
        return reading(device, snake(key.rsplit(".", 1)[-1]), flag, None, None, ts)
    return None


def homeconnect(payload: bytes, topic: str = "homeconnect") -> Normalized:
    """One or more Home Connect SSE frames."""
    raw = text(payload, topic, limit=256 * 1024)
    frames = parse_sse(raw)
    if not frames:
        raise PayloadRejected("no server-sent event frame", topic=topic)
    out: list[Reading] = []
    for event, data, ident in frames[:256]:
        if event == "KEEP-ALIVE":
            continue
        if event not in ("STATUS", "EVENT", "NOTIFY", "CONNECTED", "DISCONNECTED", "PAIRED",
                         "DEPAIRED"):
            raise PayloadRejected(f"unknown Home Connect event {event[:32]!r}", topic=topic)
        obj = loads(data.encode(), topic) if data.strip() else {}
        if type(obj) is not dict:
            raise PayloadRejected("Home Connect event data is not an object", topic=topic)
        ha_id = obj.get("haId") or ident
        if type(ha_id) is not str or not ha_id:
            raise PayloadRejected("Home Connect event without haId", topic=topic)
        device = ha_id[:128]
        if event in ("CONNECTED", "DISCONNECTED"):
            out.append(reading(device, "online", event == "CONNECTED", None, None, None))
            continue
        items = obj.get("items")
        if type(items) is not list:
            continue
        for item in items[:256]:
            r = _hc_item(device, item, topic)
            if r is not None:
                out.append(r)
    return Normalized(readings=tuple(out))


# --- SmartThings ---------------------------------------------------------------------------

# (capability, attribute) -> metric
ST_ATTRIBUTES: dict[tuple[str, str], str] = {
    ("contactSensor", "contact"): "door_open",
    ("temperatureMeasurement", "temperature"): "temperature",
    ("thermostatCoolingSetpoint", "coolingSetpoint"): "temperature_setpoint",
    ("switch", "switch"): "switch",
    ("relativeHumidityMeasurement", "humidity"): "humidity",
    ("battery", "battery"): "battery",
    ("powerMeter", "power"): "power",
    ("energyMeter", "energy"): "energy",
    ("waterSensor", "water"): "water_leak",
    ("illuminanceMeasurement", "illuminance"): "illuminance",
    ("carbonDioxideMeasurement", "carbonDioxide"): "co2",
}
_ST_DEFAULT_UNIT = {"temperature": "°C", "temperature_setpoint": "°C", "humidity": "%",
                    "battery": "%", "power": "W", "energy": "kWh", "illuminance": "lx",
                    "co2": "ppm"}


def _st_value(metric: str, value: Any, unit: Any) -> tuple[Any, str | None] | None:
    if metric in ("door_open", "switch", "water_leak"):
        flag = to_bool(value)
        if flag is None and value == "wet":
            flag = True
        return (flag, None) if flag is not None else None
    num = to_num(value)
    if num is None:
        return None
    return convert_unit(num, unit if type(unit) is str else _ST_DEFAULT_UNIT.get(metric))


def _st_channel(component: str) -> str | None:
    return None if component == "main" else component[:64]


def _disabled(caps: dict[str, Any]) -> list[Any]:
    """Capabilities the device itself says are disabled (their values are stale)."""
    block = caps.get("custom.disabledCapabilities")
    attr = block.get("disabledCapabilities") if type(block) is dict else None
    value = attr.get("value") if type(attr) is dict else None
    return value if type(value) is list else []


def _st_status(device: str, obj: dict[str, Any], topic: str) -> Normalized:
    comps = obj["components"]
    if type(comps) is not dict:
        raise PayloadRejected("SmartThings components is not an object", topic=topic)
    out: list[Reading] = []
    for comp, caps in list(comps.items())[:64]:
        if type(caps) is not dict:
            continue
        off = _disabled(caps)
        for cap, attrs in caps.items():
            if type(attrs) is not dict or cap in off:
                continue
            if cap == "powerConsumptionReport":
                block = attrs.get("powerConsumption")
                report = block.get("value") if type(block) is dict else None
                if type(block) is dict and type(report) is dict:
                    ts = iso_any(block.get("timestamp"), topic)
                    energy = to_num(report.get("energy"))
                    power = to_num(report.get("power"))
                    if energy is not None:  # Wh
                        out.append(reading(device, "energy", round(energy / 1000.0, 6), "kWh",
                                           _st_channel(comp), ts))
                    if power is not None:
                        out.append(reading(device, "power", power, "W", _st_channel(comp), ts))
                continue
            for attr, state in attrs.items():
                metric = ST_ATTRIBUTES.get((cap, attr))
                if metric is None or type(state) is not dict or state.get("value") is None:
                    continue
                converted = _st_value(metric, state.get("value"), state.get("unit"))
                if converted is None:
                    continue
                value, unit = converted
                if metric == "door_open":
                    value = bool(value)  # "open" -> True already
                out.append(reading(device, metric, value, unit, _st_channel(comp),
                                   iso_any(state.get("timestamp"), topic)))
    return Normalized(readings=tuple(out))


def _st_event(obj: dict[str, Any], topic: str) -> Normalized:
    if obj.get("eventType") != "DEVICE_EVENT":
        return EMPTY  # lifecycle, mode and other subscription events
    ev = obj.get("deviceEvent")
    if type(ev) is not dict:
        raise PayloadRejected("DEVICE_EVENT without deviceEvent", topic=topic)
    device, comp = ev.get("deviceId"), ev.get("componentId", "main")
    cap, attr = ev.get("capability"), ev.get("attribute")
    if not (type(device) is str and type(comp) is str and type(cap) is str
            and type(attr) is str and device and comp and cap and attr):
        raise PayloadRejected("DEVICE_EVENT without deviceId/capability/attribute", topic=topic)
    metric = ST_ATTRIBUTES.get((cap, attr))
    if metric is None:
        return EMPTY
    converted = _st_value(metric, ev.get("value"), ev.get("unit"))
    if converted is None:
        return EMPTY
    ts = iso_any(obj.get("eventTime"), topic)
    return Normalized(readings=(reading(device[:128], metric, converted[0], converted[1],
                                        _st_channel(comp), ts),))


def smartthings(payload: bytes, topic: str = "smartthings", device: str | None = None
                ) -> Normalized:
    """A SmartThings device status or subscription event."""
    obj = loads_object(payload, topic)
    if "components" in obj:
        if device is None:
            # The status document does not name its device: the URL does. Fall back to
            # the OCF device id the fridge reports about itself.
            try:
                di = obj["components"]["main"]["ocf"]["di"]["value"]
            except (KeyError, TypeError):
                di = None
            device = di if type(di) is str and di else "smartthings"
        return _st_status(device[:128], obj, topic)
    if "eventType" in obj:
        return _st_event(obj, topic)
    raise PayloadRejected("neither a SmartThings status nor an event", topic=topic)


# --- Grocy ---------------------------------------------------------------------------------


def _product_name(entry: dict[str, Any]) -> str | None:
    product = entry.get("product")
    name = product.get("name") if type(product) is dict else entry.get("name")
    return clean_str(name)[:64] if type(name) is str and name.strip() else None


def _qu_name(h: Household, entry: dict[str, Any]) -> str | None:
    qu = entry.get("quantity_unit_stock")
    if type(qu) is dict and type(qu.get("name")) is str:
        if type(qu.get("id")) is str:
            bounded_set(h.grocy_units, qu["id"], qu["name"][:32])
        return str(qu["name"])[:32]
    product = entry.get("product")
    qu_id = product.get("qu_id_stock") if type(product) is dict else entry.get("qu_id_stock")
    return h.grocy_units.get(qu_id) if type(qu_id) is str else None


def _stock(h: Household, device: str, entry: Any, flag: str | None) -> list[Reading]:
    if type(entry) is not dict:
        return []
    name = _product_name(entry)
    if name is None:
        return []
    out = []
    amount = entry.get("amount_aggregated", entry.get("amount", entry.get("stock_amount")))
    if flag == "missing":
        amount = entry.get("amount_missing")
        num = to_num(amount)
        if num is not None:
            out.append(reading(device, "stock_missing", num, _qu_name(h, entry), name, None))
        return out
    num = to_num(amount)
    if num is not None:
        out.append(reading(device, "stock", num, _qu_name(h, entry), name, None))
    if flag is not None:
        out.append(reading(device, f"stock_{flag}", True, None, name, None))
    return out


def grocy(h: Household, payload: bytes, topic: str = "grocy", device: str = "grocy"
          ) -> Normalized:
    """Any of the Grocy documents named in the module docstring."""
    obj = loads(payload, topic)
    out: list[Reading] = []
    if type(obj) is dict and "product" in obj and "stock_amount" in obj:
        out.extend(_stock(h, device, obj, None))  # /api/stock/products/<id>
    elif type(obj) is dict and any(k.endswith("_products") for k in obj):
        for key, flag in (("due_products", "due"), ("overdue_products", "overdue"),
                          ("expired_products", "expired"), ("missing_products", "missing")):
            entries = obj.get(key, [])
            if type(entries) is not list:
                raise PayloadRejected(f"Grocy {key} is not a list", topic=topic)
            for entry in entries[:5000]:
                out.extend(_stock(h, device, entry, flag))
    elif type(obj) is list and all(type(e) is dict for e in obj):
        rows: list[dict[str, Any]] = obj
        if rows and all("name_plural" in r and "id" in r for r in rows):
            for r in rows[:5000]:  # /api/objects/quantity_units
                if type(r["id"]) is str and type(r.get("name")) is str:
                    bounded_set(h.grocy_units, r["id"], r["name"][:32])
            return EMPTY
        if rows and all("shopping_list_id" in r for r in rows):
            for r in rows[:5000]:
                if to_bool(r.get("done")):
                    continue
                label = r.get("note") if r.get("product_id") is None else r.get("product_id")
                num = to_num(r.get("amount"))
                if type(label) is str and label and num is not None:
                    out.append(reading(device, "shopping_list", num,
                                       h.grocy_units.get(r.get("qu_id") or ""),
                                       clean_str(label)[:64], None))
            return Normalized(readings=tuple(out))
        for entry in rows[:5000]:  # /api/stock
            if "product" not in entry and "product_id" not in entry:
                raise PayloadRejected("not a Grocy stock list", topic=topic)
            out.extend(_stock(h, device, entry, None))
    else:
        raise PayloadRejected("not a Grocy stock document", topic=topic)
    return Normalized(readings=tuple(out))
