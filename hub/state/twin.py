"""The digital twin.

The latest value of every (device, metric, channel) of every household lives in memory,
updated on the ingest hot path with plain dict writes. It is persisted write-behind: the
keys touched since the last flush are written in one transaction every few seconds, and
restored on start. Losing the last seconds of it in a crash is harmless, because devices
re-publish (retained state comes back on resubscribe) and rules keep their own durable
state.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from hub.events import DeviceAvailability, Reading, Registration, Value
from hub.storage.database import Database

logger = logging.getLogger(__name__)

MetricKey = tuple[str, str]  # (metric, channel or "")


@dataclass(slots=True)
class DeviceTwin:
    """What the hub knows about one device."""

    household: str
    device: str
    first_seen: float
    last_seen: float
    online: bool | None = None
    kind: str | None = None
    model: str | None = None
    manufacturer: str | None = None
    name: str | None = None
    metrics: dict[MetricKey, tuple[Value, str | None, str | None, float]] = field(default_factory=dict)
    declared: list[dict[str, Any]] = field(default_factory=list)

    def value(self, metric: str, channel: str | None = None) -> Value | None:
        """The latest value of a metric, or None."""
        entry = self.metrics.get((metric, channel or ""))
        return entry[0] if entry else None

    def marshal(self) -> dict[str, Any]:
        return {
            "household": self.household,
            "device": self.device,
            "online": self.online,
            "kind": self.kind,
            "model": self.model,
            "manufacturer": self.manufacturer,
            "name": self.name,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "metrics": [
                {"metric": m, "channel": c or None, "value": v, "unit": u, "ts": ts, "updated_at": at}
                for (m, c), (v, u, ts, at) in sorted(self.metrics.items())
            ],
            "declared": self.declared,
        }


class Twin:
    """Every household's devices. Not thread-safe: used on the event loop only."""

    def __init__(self, db: Database | None = None) -> None:
        self._db = db
        self._devices: dict[tuple[str, str], DeviceTwin] = {}
        # Devices whose values changed since the last flush (all their values are written).
        self._dirty_values: set[tuple[str, str]] = set()
        self._dirty_devices: set[tuple[str, str]] = set()
        self._listeners: list[Callable[[DeviceAvailability], None]] = []
        if db is not None:
            self._restore(db)

    # -- reads ----------------------------------------------------------------------------

    def device(self, household: str, device: str) -> DeviceTwin | None:
        return self._devices.get((household, device))

    def devices(self, household: str | None = None) -> list[DeviceTwin]:
        """All devices, or those of one household, sorted by id."""
        found = [d for (h, _), d in self._devices.items() if household is None or h == household]
        return sorted(found, key=lambda d: (d.household, d.device))

    def __len__(self) -> int:
        return len(self._devices)

    def on_availability(self, listener: Callable[[DeviceAvailability], None]) -> None:
        """Call ``listener`` whenever a device changes between online and offline."""
        self._listeners.append(listener)

    # -- writes (hot path) --------------------------------------------------------------------

    def update(self, household: str, readings: Sequence[Reading], now: float) -> None:
        """Record readings received at ``now`` (epoch seconds)."""
        devices = self._devices
        twin: DeviceTwin | None = None
        for r in readings:
            if twin is None or twin.device != r.device:
                key = (household, r.device)
                twin = devices.get(key)
                if twin is None:
                    twin = devices[key] = DeviceTwin(household, r.device, now, now)
                    self._dirty_devices.add(key)
                twin.last_seen = now
                self._dirty_values.add(key)
            if r.metric == "online":
                self._set_online(twin, bool(r.value), "reported", now)
                continue
            twin.metrics[(r.metric, r.channel or "")] = (r.value, r.unit, r.ts, now)
            if twin.online is False:
                self._set_online(twin, True, "message", now)

    def register(self, household: str, registrations: Iterable[Registration], now: float) -> None:
        """Record devices announced by discovery or a bridge's device list."""
        for reg in registrations:
            key = (household, reg.device)
            twin = self._devices.get(key)
            if twin is None:
                twin = self._devices[key] = DeviceTwin(household, reg.device, now, now)
            twin.kind, twin.model = reg.kind, reg.model or twin.model
            twin.manufacturer = reg.manufacturer or twin.manufacturer
            twin.name = reg.name or twin.name
            twin.declared = [m.marshal() for m in reg.metrics]
            self._dirty_devices.add(key)

    def rename(self, household: str, device: str, name: str) -> bool:
        """Give a device the name its household chose; False when there is no such device."""
        twin = self._devices.get((household, device))
        if twin is None:
            return False
        twin.name = name
        self._dirty_devices.add((household, device))
        return True

    def forget(self, household: str, device: str) -> bool:
        """Remove a device and its latest values, in memory and in storage, now.

        False when there is no such device. A device that reports again comes back as new.
        """
        key = (household, device)
        if self._devices.pop(key, None) is None:
            return False
        self._dirty_values.discard(key)
        self._dirty_devices.discard(key)
        if self._db is not None:
            with self._db.transaction() as conn:
                conn.execute("DELETE FROM device_state WHERE household = ? AND device = ?", key)
                conn.execute("DELETE FROM devices WHERE household = ? AND device = ?", key)
        return True

    def expire(self, now: float, expiry_for: Callable[[str, str], float | None]) -> list[DeviceAvailability]:
        """Mark devices silent for longer than their expiry as offline."""
        changes = []
        for twin in self._devices.values():
            if twin.online is False:
                continue
            limit = expiry_for(twin.household, twin.device)
            if limit is not None and now - twin.last_seen > limit:
                changes.append(self._set_online(twin, False, "silence", now))
        return [c for c in changes if c is not None]

    def _set_online(self, twin: DeviceTwin, online: bool, reason: str, now: float) -> DeviceAvailability | None:
        if twin.online is online:
            return None
        twin.online = online
        self._dirty_devices.add((twin.household, twin.device))
        event = DeviceAvailability(household=twin.household, device=twin.device, online=online, reason=reason, at=now)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("availability listener failed for %s/%s", twin.household, twin.device)
        return event

    # -- persistence ------------------------------------------------------------------------------

    def flush(self) -> int:
        """Write what changed since the last flush in one transaction; return rows written."""
        if self._db is None or not (self._dirty_values or self._dirty_devices):
            return 0
        values, devices = self._dirty_values, self._dirty_devices
        self._dirty_values, self._dirty_devices = set(), set()
        value_rows = []
        for household, device in values:
            twin = self._devices[(household, device)]
            for (metric, channel), (value, unit, ts, at) in twin.metrics.items():
                value_rows.append((household, device, metric, channel, dumps(value).decode(), unit, ts, at))
        device_rows = []
        for key in devices:
            t = self._devices[key]
            online = None if t.online is None else int(t.online)
            device_rows.append((t.household, t.device, t.kind, t.model, t.manufacturer, t.name,
                                dumps(t.declared).decode(), t.first_seen, t.last_seen, online))
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO devices (household, device, kind, model, manufacturer, name, metrics,"
                " first_seen, last_seen, online) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (household, device) DO UPDATE SET kind = excluded.kind,"
                " model = excluded.model, manufacturer = excluded.manufacturer, name = excluded.name,"
                " metrics = excluded.metrics, last_seen = excluded.last_seen, online = excluded.online",
                device_rows,
            )
            conn.executemany(
                "INSERT INTO device_state (household, device, metric, channel, value, unit, ts, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (household, device, metric, channel)"
                " DO UPDATE SET value = excluded.value, unit = excluded.unit, ts = excluded.ts,"
                " updated_at = excluded.updated_at",
                value_rows,
            )
        return len(value_rows) + len(device_rows)

    def reload(self) -> None:
        """Write what changed, then read every device again from storage.

        A partitioned worker calls it when a share moves to it: another worker kept those
        households' devices until now (hub.cluster).
        """
        self.flush()
        if self._db is not None:
            self._restore(self._db)

    def _restore(self, db: Database) -> None:
        for row in db.query("SELECT * FROM devices"):
            online = None if row["online"] is None else bool(row["online"])
            self._devices[(row["household"], row["device"])] = DeviceTwin(
                row["household"], row["device"], row["first_seen"], row["last_seen"], online,
                row["kind"], row["model"], row["manufacturer"], row["name"],
                declared=json.loads(row["metrics"]),
            )
        for row in db.query("SELECT * FROM device_state"):
            twin = self._devices.get((row["household"], row["device"]))
            if twin is None:
                twin = self._devices[(row["household"], row["device"])] = DeviceTwin(
                    row["household"], row["device"], row["updated_at"], row["updated_at"]
                )
            twin.metrics[(row["metric"], row["channel"])] = (
                json.loads(row["value"]), row["unit"], row["ts"], row["updated_at"]
            )
        if self._devices:
            logger.info("restored %d devices from storage", len(self._devices))


dumps = orjson.dumps  # the flush encodes every changed value: several times faster than json


def now() -> float:
    """Epoch seconds (the twin's time base)."""
    return time.time()
