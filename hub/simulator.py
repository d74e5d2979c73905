"""Simulated households for the demo, speaking the real vendor formats.

A :class:`HouseholdSimulator` produces what a household's own devices would publish, in the
formats the hub reads in production (no demo-only shortcuts): a Zigbee2MQTT fridge plug
(TuYa TS011F), a Shelly Plus Plug S (Gen2 ``status/switch:0``), a DSMR 5 P1 telegram with a
valid CRC-16, a Zigbee2MQTT door contact (TS0203), an Aqara weather sensor (WSDCGQ11LM) and a
pantry fridge in the ``bench_fridge`` profile format. Topics are vendor-native; the caller
publishes them under ``home/<household>/``.

Values are a pure function of the seed, the time and the pantry stock, so a run is
reproducible: the same seed and the same clock give the same bytes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

import orjson

from hub.devices import crc16

Message = tuple[str, bytes, bool]
"""(vendor topic, payload, retain)."""

ALL_KINDS = ("fridge_plug", "shelly_plug", "p1_meter", "door_contact", "weather", "pantry")

FRIDGE_PLUG = "fridge_plug"
DOOR = "front_door"
WEATHER = "weather"
PANTRY = "pantry"
DEFAULT_STOCK: dict[str, tuple[float, str]] = {
    "milk": (1.5, "l"), "eggs": (6, "pcs"), "butter": (0.25, "kg"), "bread": (1, "pcs"),
}


def _eu_summer_time(dt: datetime) -> bool:
    """EU summer time: last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC."""
    def last_sunday(month: int) -> datetime:
        d = datetime(dt.year, month, 31, 1, tzinfo=UTC)
        return d - timedelta(days=(d.weekday() + 1) % 7)
    return last_sunday(3) <= dt < last_sunday(10)


def dsmr_timestamp(dt: datetime) -> str:
    """``YYMMDDhhmmssX`` in Dutch local time, X = S (summer) or W (winter)."""
    summer = _eu_summer_time(dt)
    local = dt.astimezone(timezone(timedelta(hours=2 if summer else 1)))
    return local.strftime("%y%m%d%H%M%S") + ("S" if summer else "W")


class HouseholdSimulator:
    """The devices of one simulated household.

    Args:
        household: the household id (used for device ids that must be unique, like the
            Shelly's MAC-derived id and the meter's serial).
        seed: makes every value reproducible.
        kinds: which devices the household has (default: all of :data:`ALL_KINDS`).
    """

    def __init__(self, household: str, *, seed: int, kinds: Iterable[str] = ALL_KINDS) -> None:
        self.household = household
        self.seed = seed
        self.kinds = tuple(kinds)
        unknown = set(self.kinds) - set(ALL_KINDS)
        if unknown:
            raise ValueError(f"unknown device kinds: {', '.join(sorted(unknown))}")
        base = random.Random(f"{seed}:{household}")
        self.shelly_id = f"shellyplusplugs-{base.getrandbits(48):012x}"
        self.meter_id = f"E0{base.randrange(10**14):014d}"
        self._energy_base = base.uniform(100, 900)  # kWh already on the plug's counter
        self._grid_base = (base.uniform(1000, 5000), base.uniform(1000, 5000))
        self._gas_base = base.uniform(500, 3000)
        self._phase = base.uniform(0, 2400)  # fridge compressor cycle offset, seconds
        self.stock: dict[str, tuple[float, str]] = dict(DEFAULT_STOCK)
        self._announced = False

    def set_stock(self, item: str, qty: float, unit: str | None = None) -> None:
        """Set the pantry fridge's amount of ``item`` (its unit kept unless given)."""
        current_unit = self.stock.get(item, (0, "pcs"))[1]
        self.stock[item] = (qty, unit or current_unit)

    def messages(self, now: datetime) -> list[Message]:
        """What the household's devices publish at ``now`` (an aware datetime).

        The first call also returns the retained announcements (bridge state, device list,
        availability) a real installation has on the broker.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        out: list[Message] = []
        if not self._announced:
            out.extend(self._announcements())
            self._announced = True
        rng = random.Random(f"{self.seed}:{self.household}:{int(now.timestamp())}")
        t = now.timestamp()
        if "fridge_plug" in self.kinds:
            out.append(self._fridge_plug(now, rng))
        if "shelly_plug" in self.kinds:
            out.append(self._shelly(t, rng))
        if "p1_meter" in self.kinds:
            out.append(("dsmr/raw", self.telegram(now, rng), False))
        if "door_contact" in self.kinds:
            open_ = rng.random() < 0.05
            out.append((f"zigbee2mqtt/{DOOR}", self._json({
                "battery": 87, "battery_low": False, "contact": not open_,
                "last_seen": now.isoformat(timespec="seconds"),
                "linkquality": 80 + rng.randrange(40), "tamper": False, "voltage": 2900}), False))
        if "weather" in self.kinds:
            day = math.sin((t % 86400) / 86400 * 2 * math.pi - math.pi / 2)
            out.append((f"zigbee2mqtt/{WEATHER}", self._json({
                "battery": 100, "humidity": round(55 - 10 * day + rng.uniform(-1, 1), 2),
                "linkquality": 150, "pressure": round(1013 + rng.uniform(-2, 2), 1),
                "temperature": round(12 + 6 * day + rng.uniform(-0.3, 0.3), 2),
                "voltage": 3025}), False))
        if "pantry" in self.kinds:
            out.append((f"{PANTRY}/telemetry", self._json({
                "device": PANTRY, "household": self.household,
                "items": {k: {"qty": q, "unit": u} for k, (q, u) in sorted(self.stock.items())},
                "door_open": rng.random() < 0.03,
                "temp_c": round(4 + rng.uniform(-0.5, 0.8), 1), "ts": round(t, 6),
            }), False))
        return out

    # --- the devices ----------------------------------------------------------------------

    @staticmethod
    def _json(obj: object) -> bytes:
        return orjson.dumps(obj)

    def _announcements(self) -> list[Message]:
        out: list[Message] = []
        z2m: list[str] = [k for k in ("fridge_plug", "door_contact", "weather") if k in self.kinds]
        if z2m:
            out.append(("zigbee2mqtt/bridge/state", b'{"state":"online"}', True))
            out.append(("zigbee2mqtt/bridge/devices", self._json(self._z2m_devices(z2m)), True))
            names = {"fridge_plug": FRIDGE_PLUG, "door_contact": DOOR, "weather": WEATHER}
            out.extend((f"zigbee2mqtt/{names[k]}/availability", b'{"state":"online"}', True)
                       for k in z2m)
        if "shelly_plug" in self.kinds:
            out.append((f"{self.shelly_id}/online", b"true", True))
        return out

    def _z2m_devices(self, kinds: list[str]) -> list[dict[str, object]]:
        def numeric(prop: str, unit: str) -> dict[str, object]:
            return {"access": 5, "name": prop, "property": prop, "type": "numeric", "unit": unit}

        catalogue = {
            "fridge_plug": (FRIDGE_PLUG, "TS011F_plug_1", "TuYa", [
                {"type": "switch", "features": [{"access": 7, "name": "state",
                                                 "property": "state", "type": "binary",
                                                 "value_on": "ON", "value_off": "OFF"}]},
                numeric("power", "W"), numeric("current", "A"), numeric("voltage", "V"),
                numeric("energy", "kWh")]),
            "door_contact": (DOOR, "TS0203", "TuYa", [
                {"access": 1, "name": "contact", "property": "contact", "type": "binary",
                 "value_on": False, "value_off": True},
                numeric("battery", "%"), numeric("voltage", "mV")]),
            "weather": (WEATHER, "WSDCGQ11LM", "Aqara", [
                numeric("temperature", "°C"), numeric("humidity", "%"),
                numeric("pressure", "hPa"), numeric("battery", "%"), numeric("voltage", "mV")]),
        }
        out = []
        for i, kind in enumerate(kinds):
            name, model, vendor, exposes = catalogue[kind]
            ieee = f"0x00158d00{self.seed % 9999:04d}{i:04d}"
            out.append({"friendly_name": name, "ieee_address": ieee,
                        "type": "EndDevice", "supported": True,
                        "definition": {"model": model, "vendor": vendor, "exposes": exposes}})
        return out

    def _fridge_power(self, t: float, rng: random.Random) -> float:
        # A compressor runs about 12 minutes in every 40.
        on = (t + self._phase) % 2400 < 720
        return round(rng.uniform(72, 90), 1) if on else round(rng.uniform(0.8, 1.6), 1)

    def _fridge_plug(self, now: datetime, rng: random.Random) -> Message:
        t = now.timestamp()
        power = self._fridge_power(t, rng)
        voltage = round(rng.uniform(228, 236), 1)
        return (f"zigbee2mqtt/{FRIDGE_PLUG}", self._json({
            "child_lock": "UNLOCK", "current": round(power / voltage, 2),
            "energy": round(self._energy_base + (t % 31_536_000) * 30 / 3_600_000, 2),
            "indicator_mode": "off/on", "last_seen": now.isoformat(timespec="seconds"),
            "linkquality": 100 + rng.randrange(60), "power": power,
            "power_outage_memory": "restore", "state": "ON", "voltage": voltage,
        }), False)

    def _shelly(self, t: float, rng: random.Random) -> Message:
        power = round(rng.uniform(5, 60), 1)
        voltage = round(rng.uniform(228, 236), 1)
        total_wh = round(self._energy_base * 300 + (t % 31_536_000) * 25 / 3600, 3)
        return (f"{self.shelly_id}/status/switch:0", self._json({
            "id": 0, "source": "init", "output": True, "apower": power, "voltage": voltage,
            "freq": 50.0, "current": round(power / voltage, 3),
            "aenergy": {"total": total_wh, "by_minute": [0.0, 0.0, 0.0],
                        "minute_ts": int(t) - int(t) % 60},
            "ret_aenergy": {"total": 0.0, "by_minute": [0.0, 0.0, 0.0],
                            "minute_ts": int(t) - int(t) % 60},
            "temperature": {"tC": round(rng.uniform(30, 40), 1),
                            "tF": round(rng.uniform(86, 104), 1)},
        }), False)

    def telegram(self, now: datetime, rng: random.Random) -> bytes:
        """A DSMR 5.0 telegram for ``now``, CRLF line ends and a valid CRC-16."""
        t = now.timestamp()
        year_s = t % 31_536_000
        t1 = self._grid_base[0] + year_s * 0.00004
        t2 = self._grid_base[1] + year_s * 0.00005
        power_kw = rng.uniform(0.15, 2.5)
        hour = now.replace(minute=0, second=0, microsecond=0)
        gas = self._gas_base + (hour.timestamp() % 31_536_000) * 0.00003
        lines = [
            "/ISK5\\2M550E-1011", "", "1-3:0.2.8(50)", f"0-0:1.0.0({dsmr_timestamp(now)})",
            f"0-0:96.1.1({self.meter_id.encode().hex()})",
            f"1-0:1.8.1({t1:010.3f}*kWh)", f"1-0:1.8.2({t2:010.3f}*kWh)",
            "1-0:2.8.1(000000.000*kWh)", "1-0:2.8.2(000000.000*kWh)",
            f"0-0:96.14.0({1 if now.hour < 7 or now.hour >= 23 else 2:04d})",
            f"1-0:1.7.0({power_kw:06.3f}*kW)", "1-0:2.7.0(00.000*kW)",
            "0-0:96.7.21(00005)", "0-0:96.7.9(00002)", "1-0:32.32.0(00003)",
            f"1-0:32.7.0({rng.uniform(228, 236):05.1f}*V)",
            f"1-0:31.7.0({max(1, round(power_kw * 1000 / 230)):03d}*A)",
            f"1-0:21.7.0({power_kw:06.3f}*kW)", "1-0:22.7.0(00.000*kW)",
            "0-1:24.1.0(003)", "0-1:96.1.0(4730303339303031363532303530323136)",
            f"0-1:24.2.1({dsmr_timestamp(hour)})({gas:09.3f}*m3)",
        ]
        body = ("\r\n".join(lines) + "\r\n!").encode("ascii")
        return body + f"{crc16(body):04X}\r\n".encode("ascii")
