"""Which households a notice concerns.

A household matches a notice of its own community when any of these holds:

* a geocode matches: a code name the two share (case-insensitive) with a common value;
* its location lies inside one of the notice's polygons (ray casting on lat/lon, fine at
  neighbourhood and county scale) or within one of its circles (haversine distance);
* the area description names the household's street (case-insensitive), as utility
  outage lists do ("Wrocław Krzyki: Aliancka 17.").

A notice with an empty area goes to the whole community. A description-only area that
names none of the community's streets also goes to the whole community: the hub cannot
tell where it is, and for alerts telling too many beats telling nobody.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from hub.notices.model import Area, Notice, Point

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius


@dataclass(frozen=True, slots=True, kw_only=True)
class Household:
    """What targeting needs to know of a household."""

    id: str
    community: str
    lat: float | None = None
    lon: float | None = None
    street: str = ""
    language: str = ""
    area_codes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, row: Any) -> Household:
        """From a ``households`` row, a mapping, or an object with those attributes."""
        if isinstance(row, Household):
            return row

        def get(name: str, default: Any = None) -> Any:
            if isinstance(row, Mapping):
                return row.get(name, default)
            try:
                return row[name]  # sqlite3.Row
            except (IndexError, KeyError, TypeError):
                return getattr(row, name, default)

        codes = get("area_codes") or {}
        if isinstance(codes, str | bytes):
            codes = orjson.loads(codes or b"{}")
        lat, lon = get("lat"), get("lon")
        return cls(
            id=str(get("id")),
            community=str(get("community") or ""),
            lat=None if lat is None else float(lat),
            lon=None if lon is None else float(lon),
            street=str(get("street") or ""),
            language=str(get("language") or ""),
            area_codes={
                str(k): tuple(str(v) for v in (vs if isinstance(vs, list | tuple) else [vs]))
                for k, vs in codes.items()
            },
        )


def in_polygon(point: Point, ring: Iterable[Point]) -> bool:
    """True when ``point`` (lat, lon) lies inside the closed ring (even-odd rule)."""
    lat, lon = point
    pts = list(ring)
    inside = False
    for (lat1, lon1), (lat2, lon2) in zip(pts, pts[1:] + pts[:1], strict=True):
        if (lon1 > lon) != (lon2 > lon):
            cross = lat1 + (lon - lon1) * (lat2 - lat1) / (lon2 - lon1)
            if lat < cross:
                inside = not inside
    return inside


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance between two (lat, lon) points (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def in_circle(point: Point, circle: tuple[float, float, float]) -> bool:
    """True when ``point`` is within ``radius_km`` of the circle's centre."""
    lat, lon, radius = circle
    return distance_km(point, (lat, lon)) <= radius


def codes_match(area_codes: Mapping[str, Iterable[str]], household: Household) -> bool:
    """True when the notice and the household share a geocode value under one name."""
    mine = {name.casefold(): set(values) for name, values in household.area_codes.items()}
    return any(mine.get(name.casefold(), set()) & set(values) for name, values in area_codes.items())


def area_contains(area: Area, household: Household) -> bool:
    """True when the household lies in the area by code, polygon or circle."""
    if codes_match(area.codes, household):
        return True
    if household.lat is None or household.lon is None:
        return False
    point = (household.lat, household.lon)
    return any(in_polygon(point, ring) for ring in area.polygons) or any(
        in_circle(point, c) for c in area.circles
    )


def names_street(description: str, household: Household) -> bool:
    """True when the household's street is named in the description."""
    street = household.street.strip().casefold()
    return bool(street) and street in description.casefold()


def households_for(notice: Notice, households: Iterable[Any]) -> set[str]:
    """Ids of the households ``notice`` concerns (see the module docstring for the rules).

    Args:
        notice: the notice; when its ``community`` is set, only that community's
            households are considered.
        households: rows, mappings or objects with id, community, lat, lon, area_codes
            (and optionally street).
    """
    members = [Household.of(h) for h in households]
    if notice.community is not None:
        members = [h for h in members if h.community == notice.community]
    area = notice.area
    if area.is_empty:
        return {h.id for h in members}
    matched = {h.id for h in members if area_contains(area, h) or names_street(area.description, h)}
    if matched or area.is_geographic:
        return matched
    return {h.id for h in members}
