"""The devices join in: appliances on smart plugs, seen through their power readings.

:meth:`Appliances.scan` (the hub's periodic runner) reads the digital twin's latest power
values (``device_state``) and reports to the rules, as events of the household:

- ``appliance-idle``: a plug's appliance drew no power (at most :data:`IDLE_WATTS`) for
  :data:`MIN_IDLE_DAYS` days or more, counted from its last use (or from when the hub first
  saw it), at most once a day, with ``idle_days``; not for appliances already listed. Packs
  choose the number of days with a condition (``offer.data.idle_days at_least 60``).
- ``appliance-use-started`` / ``appliance-use-ended``: a shared appliance (a thing with
  a ``device``, lent in slots) started or stopped drawing power during an accepted loan;
  both households are told and the loan records it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hub.offers.context import Context
from hub.sharing.common import notify

IDLE_WATTS = 5.0
USE_WATTS = 10.0
MIN_IDLE_DAYS = 7
DAY_S = 86400.0


def _watts(text: str) -> float | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def label(name: str) -> str:
    """A device name as people say it ("carpet-cleaner" -> "Carpet cleaner")."""
    words = name.replace("-", " ").replace("_", " ").split()
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else name


class Appliances:
    """Idle appliances and the use of shared ones, from plug power readings."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._db = ctx.uow.db

    def _power(self, conn: sqlite3.Connection) -> dict[tuple[str, str], tuple[float, float]]:
        """(household, device) -> (highest power over its channels, when it was read)."""
        out: dict[tuple[str, str], tuple[float, float]] = {}
        for r in conn.execute("SELECT household, device, value, updated_at FROM device_state"
                              " WHERE metric = 'power'").fetchall():
            watts = _watts(r["value"])
            if watts is None:
                continue
            key = (r["household"], r["device"])
            old = out.get(key)
            out[key] = (max(watts, old[0]) if old else watts,
                        max(float(r["updated_at"]), old[1]) if old else float(r["updated_at"]))
        return out

    def scan(self) -> list[tuple[str, str, str]]:
        """Report idle appliances and shared appliances' use; return (kind, household, id)."""
        uow = self._ctx.uow
        now = uow.clock.timestamp()
        told: list[tuple[str, str, str]] = []
        with uow.tx() as conn:
            power = self._power(conn)
            told += self._idle(conn, power, now)
            told += self._slots(conn, power)
        return told

    def _idle(self, conn: sqlite3.Connection, power: dict[tuple[str, str], tuple[float, float]],
              now: float) -> list[tuple[str, str, str]]:
        told = []
        for (household, device), (watts, at) in sorted(power.items()):
            use = conn.execute("SELECT last_active, told_at FROM sharing_device_use WHERE"
                               " household = ? AND device = ?", (household, device)).fetchone()
            if watts > IDLE_WATTS:
                conn.execute(
                    "INSERT INTO sharing_device_use (household, device, last_active, told_at)"
                    " VALUES (?, ?, ?, NULL) ON CONFLICT (household, device) DO UPDATE SET"
                    " last_active = excluded.last_active, told_at = NULL",
                    (household, device, at))
                continue
            dev = conn.execute("SELECT name, first_seen FROM devices WHERE household = ? AND"
                               " device = ?", (household, device)).fetchone()
            if dev is None:
                continue
            since = use["last_active"] if use and use["last_active"] is not None else \
                dev["first_seen"]
            days = int((now - float(since)) // DAY_S)
            if days < MIN_IDLE_DAYS or (use and use["told_at"] and now - use["told_at"] < DAY_S):
                continue
            if conn.execute("SELECT 1 FROM sharing_things WHERE owner = ? AND device = ? AND"
                            " state = 'available'", (household, device)).fetchone():
                continue  # already shared
            conn.execute(
                "INSERT INTO sharing_device_use (household, device, last_active, told_at)"
                " VALUES (?, ?, NULL, ?) ON CONFLICT (household, device) DO UPDATE SET"
                " told_at = excluded.told_at", (household, device, now))
            self._ctx.emit("appliance-idle", household, device, {
                "object": "device", "device": device, "name": label(dev["name"] or device),
                "idle_days": days})
            told.append(("appliance-idle", household, device))
        return told

    def _slots(self, conn: sqlite3.Connection,
               power: dict[tuple[str, str], tuple[float, float]]) -> list[tuple[str, str, str]]:
        now = self._ctx.uow.now()
        rows = conn.execute(
            "SELECT l.id, l.owner, l.borrower, l.thing, l.status, t.device, t.title,"
            " u.started_at, u.ended_at FROM sharing_loans l JOIN sharing_things t ON"
            " t.id = l.thing LEFT JOIN sharing_slot_use u ON u.loan = l.id WHERE"
            " t.device IS NOT NULL AND l.status IN ('accepted', 'out') AND l.starts_at <= ?"
            " AND ? < l.ends_at", (now, now)).fetchall()
        told = []
        for r in rows:
            watts = power.get((r["owner"], r["device"]), (0.0, 0.0))[0]
            kind = None
            if r["started_at"] is None and watts > USE_WATTS:
                conn.execute("INSERT INTO sharing_slot_use (loan, started_at) VALUES (?, ?)",
                             (r["id"], now))
                kind = "appliance-use-started"
            elif r["started_at"] is not None and r["ended_at"] is None and watts <= IDLE_WATTS:
                conn.execute("UPDATE sharing_slot_use SET ended_at = ? WHERE loan = ?",
                             (now, r["id"]))
                kind = "appliance-use-ended"
            if kind is None:
                continue
            self._ctx.uow.transition(conn, "loan", r["id"], r["status"], r["status"], "hub",
                                     note=f"{kind.removeprefix('appliance-')} ({watts:.0f} W)")
            data: dict[str, Any] = {"object": "loan", "loan": r["id"], "thing": r["thing"],
                                    "title": r["title"], "device": r["device"], "watts": watts}
            for household in (r["borrower"], r["owner"]):
                self._ctx.emit(kind, household, r["id"], data)
                notify(self._ctx, conn, household, f"loans/{r['id']}", {"type": kind, **data})
                told.append((kind, household, r["id"]))
        return told

    def use(self, loan: str) -> dict[str, Any] | None:
        """When the appliance of a loan was seen in use (started, ended), if it was."""
        row = self._db.query_one("SELECT started_at, ended_at FROM sharing_slot_use WHERE"
                                 " loan = ?", (loan,))
        return {"started_at": row["started_at"], "ended_at": row["ended_at"]} if row else None
