"""OpenMQTTGateway / Theengs BLE sensors: ``<base>/<gateway>/BTtoMQTT/<mac>``.

The gateway decodes BLE advertisements with the Theengs decoder and publishes one JSON
object per advertisement under ``BTtoMQTT/`` followed by the sensor's MAC without colons
(``home/OpenMQTTGateway/BTtoMQTT/A4C138CF0156``). Theengs' property names are short and
carry their unit: ``tempc`` (°C; ``tempf`` only when no ``tempc``), ``hum`` (%), ``pres``
(hPa), ``lux``, ``co2`` (ppm), ``batt`` (%), ``volt`` (battery V), ``open`` / ``contact``
(door), ``wet`` (leak). Numbered twins (``tempc2``) go to channel ``2``. The device is the
MAC from the topic. An advertisement with none of these (an unknown beacon, ``rssi`` only)
is understood and gives nothing.
"""

from __future__ import annotations

import re

from hub.errors import PayloadRejected
from hub.events import Normalized, Reading

from ._convert import f_to_c, to_bool, to_num
from ._payload import loads_object
from ._reading import reading

_NUMERIC = {
    "tempc": ("temperature", "°C"),
    "hum": ("humidity", "%"),
    "pres": ("pressure", "hPa"),
    "lux": ("illuminance", "lx"),
    "co2": ("co2", "ppm"),
    "batt": ("battery", "%"),
    "volt": ("battery_voltage", "V"),
}
_KEY = re.compile(r"^([a-z]+?)(\d?)$")


def handle(parts: list[str], topic: str, payload: bytes) -> Normalized:
    """Normalize one BTtoMQTT message (``parts[-2] == "BTtoMQTT"``)."""
    device = parts[-1]
    if not device:
        raise PayloadRejected("BTtoMQTT topic without a MAC", topic=topic)
    obj = loads_object(payload, topic)
    out: list[Reading] = []
    has_c = {m.group(2) for k in obj if (m := _KEY.match(k)) and m.group(1) == "tempc"}
    for key, value in obj.items():
        m = _KEY.match(key)
        if m is None:
            continue
        name, index = m.group(1), m.group(2)
        channel = index or None
        if name in _NUMERIC:
            num = to_num(value)
            if num is not None:
                metric, unit = _NUMERIC[name]
                out.append(reading(device, metric, num, unit, channel, None))
        elif name == "tempf" and index not in has_c:
            num = to_num(value)
            if num is not None:
                out.append(reading(device, "temperature", f_to_c(num), "°C", channel, None))
        elif name in ("open", "contact", "wet"):
            flag = to_bool(value)
            if flag is not None:
                metric = "water_leak" if name == "wet" else "door_open"
                out.append(reading(device, metric, flag if name != "contact" else not flag,
                                   None, channel, None))
    return Normalized(readings=tuple(out))


