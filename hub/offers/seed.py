"""The weekend story's cast, for the demo and the tests (see ../shared/STORY.md).

Coordinates are fictional but consistent: Chen lives 2.5 km south of Ana (a 5-minute
pickup at town speed), Lake Pier is 12 km north of Ana, and Ana and Ben share the postcode
the gas outage covers while Chen does not. Times are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from hub.clock import Clock
from hub.offers.slots import add_hourly_slots, add_slot
from hub.offers.uow import dumps
from hub.storage.database import Database

COMMUNITY = "riverside"
LAKE_PIER = (52.1304, 5.0)

#: id, name, street, lat, lon, postcode
HOUSEHOLDS: tuple[tuple[str, str, str, float, float, str], ...] = (
    ("h-ana", "Ana", "Elm Street 12", 52.0225, 5.0, "1234"),
    ("h-ben", "Ben", "Elm Street 30", 52.0230, 5.002, "1234"),
    ("h-chen", "Chen", "Mill Lane 3", 52.0, 5.0, "1240"),
    ("h-dan", "Dan", "Mill Lane 40", 52.010, 5.0, "1240"),
    ("h-eve", "Eve", "Canal Road 5", 52.015, 5.0, "1236"),
    ("h-fay", "Fay", "Canal Road 21", 52.020, 5.0, "1236"),
    ("h-gus", "Gus", "Elm Street 44", 52.0240, 5.004, "1234"),
    ("h-hal", "Hal", "Oak Avenue 2", 52.028, 5.010, "1235"),
    ("h-ida", "Ida", "Oak Avenue 18", 52.029, 5.012, "1235"),
    ("h-jon", "Jon", "Oak Avenue 31", 52.030, 5.014, "1235"),
    ("h-kim", "Kim", "Bridge Street 1", 52.012, 5.020, "1237"),
    ("h-lea", "Lea", "Bridge Street 9", 52.013, 5.022, "1237"),
    ("h-max", "Max", "Bridge Street 17", 52.014, 5.024, "1237"),
    ("h-ned", "Ned", "Harbour Way 4", 52.005, 4.990, "1238"),
    ("h-oli", "Oli", "Harbour Way 12", 52.006, 4.988, "1238"),
    ("h-pia", "Pia", "Harbour Way 26", 52.007, 4.986, "1238"),
    ("h-quinn", "Quinn", "Chapel Row 3", 52.018, 4.995, "1239"),
    ("h-rosa", "Rosa", "Chapel Row 11", 52.019, 4.993, "1239"),
    ("h-sam", "Sam", "Chapel Row 19", 52.021, 4.991, "1239"),
    ("h-tom", "Tom", "Elm Street 58", 52.0245, 5.006, "1234"),
)

#: id, name, kinds, lat, lon, radius_km
PROVIDERS: tuple[tuple[str, str, tuple[str, ...], float, float, float], ...] = (
    ("fresh-grocer", "Fresh Grocer", ("grocery",), 52.012, 5.005, 15.0),
    ("river-bistro", "River Bistro", ("restaurant", "tables"), 52.021, 5.003, 10.0),
    ("gas-utility", "Riverside Gas", ("utility", "notices"), 52.0, 5.05, 50.0),
)


@dataclass(frozen=True, slots=True)
class StorySeed:
    """What :func:`seed_story` created."""

    community: str
    day: date
    households: tuple[str, ...]
    providers: tuple[str, ...]
    slots: dict[str, list[str]] = field(default_factory=dict)
    notice_publisher: str = "gas-utility"


def _saturday_of(clock: Clock) -> date:
    today = clock.now().astimezone(UTC).date()
    return date.fromordinal(today.toordinal() + (5 - today.weekday()) % 7)


def seed_story(db: Database, clock: Clock, *, day: date | None = None) -> StorySeed:
    """Create Riverside, its 20 households, its providers and their slots for ``day``.

    ``day`` defaults to the clock's Saturday (today when it is one). Safe to run twice.
    fresh-grocer gets one-hour delivery slots starting every hour 09:00-21:00 with 5
    deliveries each; river-bistro gets sittings at 12:00 and 18:30 with 12 seats each.
    """
    day = day or _saturday_of(clock)
    now = clock.timestamp()
    made: dict[str, list[str]] = {}
    with db.transaction() as conn:
        conn.execute("INSERT INTO communities (id, name, created_at) VALUES (?, ?, ?)"
                     " ON CONFLICT (id) DO NOTHING", (COMMUNITY, "Riverside", now))
        for hid, name, street, lat, lon, postcode in HOUSEHOLDS:
            conn.execute(
                "INSERT INTO households (id, community, name, street, lat, lon, area_codes,"
                " language, attributes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'en', '{}', ?)"
                " ON CONFLICT (id) DO NOTHING",
                (hid, COMMUNITY, name, street, lat, lon,
                 dumps({"postcode": [postcode], "community": [COMMUNITY]}), now),
            )
        for pid, name, kinds, lat, lon, radius in PROVIDERS:
            conn.execute(
                "INSERT INTO providers (id, community, name, kinds, lat, lon, radius_km,"
                " attributes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, '{}', ?)"
                " ON CONFLICT (id) DO NOTHING",
                (pid, COMMUNITY, name, dumps(list(kinds)), lat, lon, radius, now),
            )
        made["fresh-grocer"] = add_hourly_slots(conn, "fresh-grocer", "grocery", day, 9, 21, 5)
        made["river-bistro"] = [
            add_slot(conn, "river-bistro", "table", datetime.combine(day, time(h, m), UTC),
                     datetime.combine(day, time(h + 2, m), UTC), 12)
            for h, m in ((12, 0), (18, 30))
        ]
    return StorySeed(COMMUNITY, day, tuple(h[0] for h in HOUSEHOLDS),
                     tuple(p[0] for p in PROVIDERS), made)
