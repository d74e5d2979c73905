"""The history store contract, run against the in-memory fake and the real SQLite store."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.clock import FakeClock, iso_utc
from hub.events import Reading
from hub.telemetry import HistoryStore

T0 = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)


def at(minutes: float) -> float:
    return (T0 + timedelta(minutes=minutes)).timestamp()


def reading(metric: str, value: object, *, device: str = "meter", **kw: object) -> Reading:
    return Reading(device=device, metric=metric, value=value, **kw)  # type: ignore[arg-type]


def feed(
    store: HistoryStore, hh: str, metric: str, series: list[tuple[float, float]], **kw: object
) -> None:
    """Write (minute, value) pairs, one batch each, as the pipeline would."""
    for minute, value in series:
        store.write(hh, [reading(metric, value, **kw)], at(minute))
    store.flush()


def test_raw_query_returns_readings_in_order_with_their_own_timestamps(
    store: HistoryStore, hh: str
) -> None:
    stamped = iso_utc(T0 + timedelta(minutes=3))
    store.write(hh, [reading("power", 50.0, ts=stamped)], at(10))
    store.write(hh, [reading("power", 20)], at(1))
    store.flush()

    points = store.query(hh, "meter", "power", start=T0, end=T0 + timedelta(hours=1))

    assert [(p.ts, p.value, p.count) for p in points] == [
        (T0 + timedelta(minutes=1), 20.0, 1),
        (T0 + timedelta(minutes=3), 50.0, 1),
    ]
    assert points[0].min == points[0].max == 20.0


def test_stepped_query_aggregates_and_marks_gaps(store: HistoryStore, hh: str) -> None:
    # 00:00-00:10 online, 00:10-00:20 offline, back at 00:20.
    feed(store, hh, "power", [(0, 10), (1, 20), (4, 60), (5, 100), (9, 200), (21, 7)])

    points = store.query(hh, "meter", "power", start=T0, end=T0 + timedelta(minutes=25), step_s=300)

    assert [p.ts for p in points] == [T0 + timedelta(minutes=5 * i) for i in range(5)]
    assert [(p.value, p.min, p.max, p.count) for p in points] == [
        (30.0, 10.0, 60.0, 3),
        (150.0, 100.0, 200.0, 2),
        (None, None, None, 0),
        (None, None, None, 0),
        (7.0, 7.0, 7.0, 1),
    ]
    assert points[2].is_gap
    assert not points[0].is_gap


def test_stepped_query_grid_is_epoch_aligned(store: HistoryStore, hh: str) -> None:
    feed(store, hh, "power", [(2, 1), (14, 3)])

    points = store.query(
        hh,
        "meter",
        "power",
        start=T0 + timedelta(minutes=2),
        end=T0 + timedelta(minutes=11),
        step_s=600,
    )

    assert [(p.ts, p.value) for p in points] == [
        (T0, 1.0),
        (T0 + timedelta(minutes=10), 3.0),
    ]


def test_series_are_kept_apart_by_household_device_metric_and_channel(
    store: HistoryStore, hh: str
) -> None:
    other = hh + "x"
    store.write(
        hh,
        [
            reading("temperature", 4.0, device="fridge", channel="cooler"),
            reading("temperature", -18.0, device="fridge", channel="freezer"),
            reading("temperature", 21.0, device="fridge"),
            reading("humidity", 40, device="fridge"),
        ],
        at(1),
    )
    store.write(other, [reading("temperature", 99.0, device="fridge", channel="cooler")], at(1))
    store.flush()
    window = {"start": T0, "end": T0 + timedelta(hours=1)}

    def values(household: str, metric: str, channel: str | None) -> list[float | None]:
        return [
            p.value for p in store.query(household, "fridge", metric, channel=channel, **window)
        ]

    assert values(hh, "temperature", "cooler") == [4.0]
    assert values(hh, "temperature", "freezer") == [-18.0]
    assert values(hh, "temperature", None) == [21.0]
    assert values(hh, "humidity", None) == [40.0]
    assert values(other, "temperature", "cooler") == [99.0]
    assert store.query(hh, "other-device", "temperature", **window) == []


def test_only_numeric_readings_are_kept(store: HistoryStore, hh: str) -> None:
    store.write(
        hh,
        [
            reading("switch", True, channel="0"),
            reading("switch", False, channel="1"),
            reading("note", "hello"),
            reading("power", math.nan),
            reading("power", math.inf),
            reading("power", 3),
        ],
        at(0),
    )
    store.flush()
    window = {"start": T0, "end": T0 + timedelta(hours=1)}

    assert [p.value for p in store.query(hh, "meter", "switch", channel="0", **window)] == [1.0]
    assert [p.value for p in store.query(hh, "meter", "switch", channel="1", **window)] == [0.0]
    assert [p.value for p in store.query(hh, "meter", "power", **window)] == [3.0]
    assert store.query(hh, "meter", "note", **window) == []
    stats = store.stats()
    assert (stats["written"], stats["skipped"], stats["buffered"]) == (3, 3, 0)


def test_writes_wait_in_the_buffer_until_flush(store: HistoryStore, hh: str) -> None:
    store.write(hh, [reading("power", 1), reading("power", 2, device="b")], at(0))
    window = {"start": T0, "end": T0 + timedelta(hours=1)}

    assert store.query(hh, "meter", "power", **window) == []
    assert store.stats()["buffered"] == 2
    store.flush()
    assert [p.value for p in store.query(hh, "meter", "power", **window)] == [1.0]
    assert store.stats()["buffered"] == 0
    assert store.stats()["written"] == 2


def test_a_full_buffer_drops_new_readings_and_counts_them(store: HistoryStore, hh: str) -> None:
    # The fixture's stores hold at most 1000 samples.
    store.write(hh, [reading("power", i) for i in range(600)], at(0))
    store.write(hh, [reading("power", i) for i in range(600, 1500)], at(1))

    assert store.stats()["dropped"] == 500
    store.flush()
    stats = store.stats()
    assert (stats["written"], stats["dropped"], stats["buffered"]) == (1000, 500, 0)
    stored = store.query(hh, "meter", "power", start=T0, end=T0 + timedelta(hours=1))
    assert len(stored) == 1000
    assert max(p.value or 0 for p in stored) == 999.0


def test_write_never_raises_into_the_pipeline(store: HistoryStore, hh: str) -> None:
    broken: list[Reading] = [object()]  # type: ignore[list-item]

    store.write(hh, broken, at(0))

    assert "write" in (store.stats()["last_error"] or "")


def test_close_flushes_and_later_writes_are_counted_as_dropped(
    store: HistoryStore, hh: str
) -> None:
    store.write(hh, [reading("power", 5)], at(0))
    store.close()
    store.write(hh, [reading("power", 6)], at(1))
    store.close()

    stats = store.stats()
    assert (stats["written"], stats["dropped"]) == (1, 1)
    assert [
        p.value for p in store.query(hh, "meter", "power", start=T0, end=T0 + timedelta(hours=1))
    ] == [5.0]


# -- chart helpers ------------------------------------------------------------------------


def test_power_today_runs_from_local_midnight_to_now_with_gaps(
    store: HistoryStore, hh: str, clock: FakeClock
) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    midnight = datetime(2026, 11, 28, tzinfo=berlin)  # 23:00 UTC the day before
    clock.set(midnight + timedelta(hours=1, minutes=2))
    yesterday = (midnight - timedelta(minutes=1)).timestamp()
    store.write(hh, [reading("power", 999)], yesterday)
    for minute, value in [(0, 100), (3, 300), (50, 40), (61, 80)]:
        store.write(
            hh, [reading("power", value)], (midnight + timedelta(minutes=minute)).timestamp()
        )
    store.flush()

    points = store.power_today(hh, "meter", tz=berlin)

    assert len(points) == 13  # 00:00 .. 01:00 local, the current bucket included
    assert points[0].ts == midnight.astimezone(UTC)
    assert (points[0].value, points[0].count) == (200.0, 2)
    assert points[10].value == 40.0
    assert points[12].value == 80.0
    assert [i for i, p in enumerate(points) if p.is_gap] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 11]


def test_temperature_series_covers_the_last_hours(
    store: HistoryStore, hh: str, clock: FakeClock
) -> None:
    clock.set(T0 + timedelta(hours=2))
    feed(
        store,
        hh,
        "temperature",
        [(5, 4.0), (6, 5.0), (65, 6.5), (119, 8.0)],
        device="fridge",
        channel="cooler",
    )

    points = store.temperature_series(hh, "fridge", hours=2, channel="cooler")

    assert len(points) == 25
    assert points[0].ts == T0
    assert points[1].value == 4.5
    assert points[13].value == 6.5
    assert points[23].value == 8.0
    assert points[24].is_gap
    assert sum(1 for p in points if p.is_gap) == 22


def test_energy_per_day_differences_the_counter(
    store: HistoryStore, hh: str, clock: FakeClock
) -> None:
    clock.set(T0 + timedelta(days=2, hours=12))  # 30 Nov, noon
    day = 24 * 60
    feed(
        store,
        hh,
        "energy",
        [
            (-30, 100.0),  # 27 Nov, the reading before the window
            (10, 101.0),
            (600, 104.5),
            (day + 10, 106.0),
            (day + 400, 110.0),
            (2 * day + 100, 111.0),
        ],
    )

    days = store.energy_per_day(hh, "meter", days=3)

    assert [d.day for d in days] == [date(2026, 11, 28), date(2026, 11, 29), date(2026, 11, 30)]
    assert [d.start for d in days] == [T0 + timedelta(days=i) for i in range(3)]
    assert [d.value for d in days] == pytest.approx([4.5, 5.5, 1.0])
    assert [d.resets for d in days] == [0, 0, 0]


def test_counter_gaps_resets_and_jitter(store: HistoryStore, hh: str, clock: FakeClock) -> None:
    clock.set(T0 + timedelta(days=3, hours=23))
    day = 24 * 60
    feed(
        store,
        hh,
        "gas",
        [
            (10, 500.0),
            (300, 501.0),
            (400, 500.9),  # the meter jitters down: nothing used, nothing counted twice
            (700, 501.5),
            # 29 Nov: offline all day
            (2 * day + 60, 503.5),  # 30 Nov: back; what was used while away lands here
            (2 * day + 900, 0.25),  # meter replaced: a new counter from zero
            (2 * day + 1000, 1.0),
            (3 * day + 20, 1.75),
        ],
    )

    days = store.gas_per_day(hh, "meter", days=4)

    assert [d.value for d in days] == pytest.approx([1.5, None, 2.0 + 0.25 + 0.75, 0.75])
    assert [d.resets for d in days] == [0, 0, 1, 0]
    assert days[1].is_gap
    assert days[1].samples == 0
    assert days[0].marshal()["day"] == "2026-11-28"


def test_per_day_in_a_local_time_zone(store: HistoryStore, hh: str, clock: FakeClock) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")  # UTC+9: local midnight is 15:00 UTC
    clock.set(datetime(2026, 11, 29, 12, 0, tzinfo=tokyo))
    edge = datetime(2026, 11, 29, tzinfo=tokyo).timestamp()
    for offset_min, value in [(-60, 10.0), (-5, 11.0), (5, 13.0), (65, 14.0)]:
        store.write(hh, [reading("energy", value)], edge + offset_min * 60)
    store.flush()

    days = store.energy_per_day(hh, "meter", days=2, tz=tokyo)

    assert [d.day for d in days] == [date(2026, 11, 28), date(2026, 11, 29)]
    assert [d.value for d in days] == pytest.approx([1.0, 3.0])


def test_points_marshal_to_json_ready_dicts(store: HistoryStore, hh: str) -> None:
    feed(store, hh, "power", [(0, 2), (1, 4)])

    points = store.query(hh, "meter", "power", start=T0, end=T0 + timedelta(minutes=10), step_s=300)

    assert [p.marshal() for p in points] == [
        {"ts": "2026-11-28T00:00:00Z", "value": 3.0, "min": 2.0, "max": 4.0, "count": 2},
        {"ts": "2026-11-28T00:05:00Z", "value": None, "min": None, "max": None, "count": 0},
    ]


def test_naive_datetimes_are_refused(store: HistoryStore, hh: str) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.query(hh, "meter", "power", start=datetime(2026, 1, 1), end=T0)


def test_series_lists_what_a_household_can_chart(store: HistoryStore, hh: str) -> None:
    store.write(
        hh,
        [
            reading("temperature", 4.0, device="fridge", channel="cooler"),
            reading("temperature", -18.0, device="fridge", channel="freezer"),
            reading("power", 80, device="fridge"),
            reading("energy", 1.5, device="meter", channel="t1"),
            reading("model", "X", device="meter"),
        ],
        at(0),
    )
    store.write(hh + "x", [reading("power", 1, device="other")], at(0))
    store.flush()

    assert [s.marshal() for s in store.series(hh)] == [
        {"device": "fridge", "metric": "power", "channel": None},
        {"device": "fridge", "metric": "temperature", "channel": "cooler"},
        {"device": "fridge", "metric": "temperature", "channel": "freezer"},
        {"device": "meter", "metric": "energy", "channel": "t1"},
    ]
    assert [(s.metric, s.channel) for s in store.series(hh, "meter")] == [("energy", "t1")]
