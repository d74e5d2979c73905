"""Read-only views of the core ``households`` and ``providers`` tables."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import orjson

from hub.errors import NotFound
from hub.i18n.words import N_
from hub.offers.geo import haversine_km
from hub.storage.database import Database


@dataclass(frozen=True, slots=True, kw_only=True)
class Household:
    """A member household: where it is and which community it belongs to."""

    id: str
    community: str
    name: str
    street: str
    lat: float | None
    lon: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Provider:
    """A shop, restaurant or service: its kinds and the area it serves."""

    id: str
    community: str | None
    name: str
    kinds: tuple[str, ...]
    lat: float | None
    lon: float | None
    radius_km: float | None

    def serves(self, home: Household) -> bool:
        """True when the household lies in the provider's area (or no area is set)."""
        if home.community and self.community and home.community != self.community:
            return False
        if None in (self.lat, self.lon, self.radius_km, home.lat, home.lon):
            return True
        assert self.lat is not None
        assert self.lon is not None
        assert self.radius_km is not None
        assert home.lat is not None
        assert home.lon is not None
        return haversine_km(self.lat, self.lon, home.lat, home.lon) <= self.radius_km


def household(db: Database, hid: str) -> Household:
    """The household, or NotFound."""
    row = db.query_one(
        "SELECT id, community, name, street, lat, lon FROM households WHERE id = ?", (hid,)
    )
    if row is None:
        raise NotFound(N_("no household %(hid)s", hid=hid))
    return Household(id=row["id"], community=row["community"], name=row["name"],
                     street=row["street"], lat=row["lat"], lon=row["lon"])


def _provider(r: sqlite3.Row) -> Provider:
    kinds = orjson.loads(r["kinds"] or "[]")
    return Provider(id=r["id"], community=r["community"], name=r["name"],
                    kinds=tuple(str(k) for k in kinds), lat=r["lat"],
                    lon=r["lon"], radius_km=r["radius_km"])


def provider(db: Database, pid: str) -> Provider:
    """The provider, or NotFound."""
    row = db.query_one("SELECT * FROM providers WHERE id = ?", (pid,))
    if row is None:
        raise NotFound(N_("no provider %(pid)s", pid=pid))
    return _provider(row)


def providers_of_kind(db: Database, kind: str) -> list[Provider]:
    """Every provider that lists ``kind`` among its kinds, by id."""
    rows = db.query("SELECT * FROM providers ORDER BY id")
    return [p for p in (_provider(r) for r in rows) if kind in p.kinds]
