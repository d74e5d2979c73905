"""The dead-letter store: bounded, counted by kind, logged at most once a minute per topic."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hub.ingest.dead_letters import DeadLetters, reason_kind
from tests.stores import open_db


def test_store_is_bounded_and_keeps_the_newest(tmp_path: Path) -> None:
    db = open_db(tmp_path / "hub.sqlite3")
    dead = DeadLetters(db, max_rows=100)
    for i in range(350):
        dead.add("h1", f"home/h1/plug/{i}", "malformed JSON: line 1", b"{" * 2000)
        if i % 50 == 49:
            with db.transaction() as conn:
                dead.write(conn)
    rows = db.query("SELECT topic, length(payload) AS n FROM dead_letters ORDER BY id")
    assert len(rows) <= 110
    assert rows[-1]["topic"] == "home/h1/plug/349"
    assert max(r["n"] for r in rows) == 1024, "payloads are kept only in part"
    assert dead.by_kind == {"malformed_json": 350}


def test_logging_is_limited_per_topic(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dead = DeadLetters(open_db(tmp_path / "hub.sqlite3"))
    with caplog.at_level(logging.WARNING, logger="hub.ingest.dead_letters"):
        for _ in range(50):
            dead.add("h1", "home/h1/zigbee2mqtt/flood", "malformed JSON", b"{")
        dead.add("h1", "home/h1/zigbee2mqtt/other", "malformed JSON", b"{")
    assert len(caplog.records) == 2


def test_reason_kinds_have_low_cardinality() -> None:
    assert reason_kind("DSMR telegram CRC mismatch: says 8774, computed 8775") == "crc"
    assert reason_kind("JSON nested deeper than 32 levels") == "nested"
    assert reason_kind("payload of 307200 bytes is over 256 KiB") == "over_256"
    assert reason_kind("something odd") == "other"
