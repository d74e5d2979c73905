"""Pure series functions: numeric values, timestamps, grids and counter rises."""

from __future__ import annotations

import math

import pytest

from hub.events import Reading
from hub.telemetry.series import daily_rises, grid, numeric, reading_time, to_samples

DAY = 86_400.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, 1.0),
        (False, 0.0),
        (3, 3.0),
        (2.5, 2.5),
        ("3", None),
        (math.nan, None),
        (-math.inf, None),
    ],
)
def test_numeric(value: object, expected: float | None) -> None:
    assert numeric(value) == expected


def test_reading_time_prefers_the_source_timestamp() -> None:
    assert reading_time("2026-11-28T07:00:00Z", 5.0) == 1_795_849_200.0
    assert reading_time("2026-11-28T08:00:00+01:00", 5.0) == 1_795_849_200.0
    assert reading_time(None, 5.0) == 5.0
    assert reading_time("yesterday", 5.0) == 5.0
    assert reading_time("2026-11-28T07:00:00", 5.0) == 5.0  # naive: not trusted


def test_to_samples_keys_by_household_and_channel() -> None:
    samples, skipped = to_samples(
        "ana",
        [
            Reading(device="m", metric="energy", value=1.5, channel="t1"),
            Reading(device="m", metric="model", value="X"),
        ],
        10.0,
    )
    assert samples == [("ana", "m", "energy", "t1", 10.0, 1.5)]
    assert skipped == 1


def test_grid_floors_the_start_and_ceils_the_end() -> None:
    assert grid(610.0, 1190.0, 300) == (2, 4)
    assert grid(600.0, 900.0, 300) == (2, 3)
    assert grid(600.0, 600.0, 300) == (2, 2)
    with pytest.raises(ValueError, match="positive"):
        grid(0.0, 1.0, 0)


def test_rises_book_each_step_on_the_later_sample() -> None:
    edges = [0.0, DAY, 2 * DAY]
    rises = daily_rises([(-10.0, 5.0), (10.0, 6.0), (DAY + 5, 9.0)], edges)
    assert [(r.value, r.samples, r.resets) for r in rises] == [(1.0, 1, 0), (3.0, 1, 0)]


def test_rises_without_a_prior_sample_start_at_zero() -> None:
    rises = daily_rises([(10.0, 6.0), (20.0, 6.5)], [0.0, DAY])
    assert [r.value for r in rises] == [0.5]


def test_rises_ignore_jitter_and_count_resets() -> None:
    samples = [(1.0, 100.0), (2.0, 99.9), (3.0, 100.2), (4.0, 30.0), (5.0, 31.0)]
    (rise,) = daily_rises(samples, [0.0, DAY])
    assert rise.value == pytest.approx(0.2 + 30.0 + 1.0)
    assert rise.resets == 1


def test_empty_days_are_gaps_and_later_samples_are_ignored() -> None:
    rises = daily_rises([(DAY + 1, 1.0), (3 * DAY, 9.0)], [0.0, DAY, 2 * DAY])
    assert [r.value for r in rises] == [None, 0.0]
