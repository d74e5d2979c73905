"""The dead-letter store on a real SQLite file: bounded, counted, rate-limited logging."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from devices_helpers import PROFILES

from hub.clock import FakeClock
from hub.devices import Normalizer, split_household
from hub.devices.deadletters import DeadLetterStore, reason_kind
from hub.errors import PayloadRejected
from hub.storage.database import Database


@pytest.fixture
def store(tmp_path: Path) -> DeadLetterStore:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    return DeadLetterStore(Database(tmp_path / "hub.db"), capacity=150, clock=clock)


def test_rejections_are_stored_with_reason(store: DeadLetterStore) -> None:
    norm = Normalizer(PROFILES)
    for topic, payload in [("home/h1/zigbee2mqtt/plug", b'{"power": NaN}'),
                           ("home/h1/nobody/knows", b"{}"),
                           ("home/h2/fridge-2/telemetry", b'{"temp_c": "cold"}')]:
        household, vendor = split_household(topic)
        with pytest.raises(PayloadRejected) as info:
            norm.normalize(vendor, payload, household=household)
        store.add(household=household, topic=vendor, reason=info.value.reason, payload=payload)
    rows = store.recent()
    assert [(r.household, r.topic) for r in rows] == [
        ("h2", "fridge-2/telemetry"), ("h1", "nobody/knows"), ("h1", "zigbee2mqtt/plug")]
    assert rows[2].payload == b'{"power": NaN}'
    assert rows[2].reason.startswith("malformed JSON")
    assert rows[0].received_at == datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert [r.topic for r in store.recent(household="h2")] == ["fridge-2/telemetry"]
    assert store.counts == {"malformed_json": 1, "unknown_topic": 1, "not_a_number": 1}


def test_store_is_bounded(store: DeadLetterStore) -> None:
    for i in range(400):
        store.add(household="h1", topic=f"t/{i}", reason="unknown topic", payload=b"x" * 20_000)
    assert store.count() <= 150 + 100  # trimmed every 100 inserts
    store.trim()
    assert store.count() == 150
    assert store.recent(1)[0].topic == "t/399"
    assert len(store.recent(1)[0].payload) == 16 * 1024  # payload cut, not dropped
    assert store.total == 400


def test_logging_at_most_once_a_minute_per_topic(store: DeadLetterStore,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="hub.devices.deadletters")
    assert isinstance(store.clock, FakeClock)
    for _ in range(50):
        store.add(household="h1", topic="zigbee2mqtt/flood", reason="malformed JSON",
                  payload=b"{")
    store.add(household="h1", topic="zigbee2mqtt/other", reason="malformed JSON", payload=b"{")
    assert len(caplog.records) == 2
    store.clock.advance(timedelta(seconds=61))
    store.add(household="h1", topic="zigbee2mqtt/flood", reason="malformed JSON", payload=b"{")
    assert len(caplog.records) == 3


def test_reason_kind() -> None:
    assert reason_kind("DSMR telegram CRC mismatch: says 8774, computed 8775") == "crc"
    assert reason_kind("JSON nested deeper than 32 levels") == "nested"
    assert reason_kind("something odd") == "other"
