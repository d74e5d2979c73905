"""Plain geometry for matching rides and provider areas: no routing service."""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088
#: Average door-to-door speed in town, used for pickup and arrival estimates.
TOWN_SPEED_KMH = 30.0


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def travel_minutes(distance_km: float, speed_kmh: float = TOWN_SPEED_KMH) -> int:
    """Whole minutes to cover ``distance_km`` at ``speed_kmh`` (rounded to nearest)."""
    return round(distance_km / speed_kmh * 60.0)
