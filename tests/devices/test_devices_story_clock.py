"""Source timestamps are judged against the hub's clock, not the wall (the demo's story
clock and the tests' fake clocks run days ahead of the wall)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from hub.clock import FakeClock
from hub.config import REPO_ROOT
from hub.devices import Normalizer
from hub.errors import PayloadRejected


@pytest.fixture
def story_clock() -> Iterator[FakeClock]:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0) + timedelta(days=3))
    yield clock
    Normalizer(None)  # back to the wall clock for the other tests


def _fridge(ts: float) -> bytes:
    return orjson.dumps({"device": "fridge", "household": "h-ana",
                         "items": {"milk": {"qty": 0.2, "unit": "l"}},
                         "door_open": False, "temp_c": 4.1, "ts": ts, "seq": 1})


def test_story_time_reading_is_accepted_on_the_story_clock(story_clock: FakeClock) -> None:
    normalizer = Normalizer(REPO_ROOT / "devices", clock=story_clock)
    out = normalizer.normalize("fridge/telemetry", _fridge(story_clock.timestamp()), household="h-ana")
    [milk] = [r for r in out.readings if r.metric == "stock"]
    assert (milk.channel, milk.value, milk.unit) == ("milk", 0.2, "l")
    assert milk.ts == story_clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    # Still refused: more than a day ahead of the hub's own clock.
    with pytest.raises(PayloadRejected, match="future"):
        normalizer.normalize("fridge/telemetry", _fridge(story_clock.timestamp() + 2 * 86400), household="h-ana")


def test_wall_clock_by_default(story_clock: FakeClock) -> None:
    normalizer = Normalizer(REPO_ROOT / "devices")
    with pytest.raises(PayloadRejected, match="future"):
        normalizer.normalize("fridge/telemetry", _fridge(story_clock.timestamp()), household="h-ana")
