"""The shipped packs: the community story and the benchmark pack's offers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from hub.clock import FakeClock
from hub.events import Reading
from hub.rules.actions import ListSink, OutboxSink
from hub.rules.engine import RuleEngine
from hub.rules.events import Notice, NoticeChange
from hub.storage.database import Database
from hub.storage.outbox import Outbox

REPO = Path(__file__).resolve().parents[2]


def test_gas_notice_cancelled_withdraws_the_dinner_suggestion(
    db: Database, clock: FakeClock, sink: ListSink
) -> None:
    engine = RuleEngine(db, clock, sink)
    assert engine.reload([REPO / "rules"]).packs == ("community",)
    day = datetime(2026, 11, 28, tzinfo=UTC)
    notice = Notice(
        id="gas-1",
        event="Planned gas supply interruption",
        category=("Infra",),
        onset=day + timedelta(hours=16),
        expires=day + timedelta(hours=22),
    )
    engine.on_event(NoticeChange(action="arrived", notice=notice, households=("h-ana",)))
    engine.on_event(NoticeChange(action="updated", notice=notice, households=("h-ana",)))
    engine.on_event(NoticeChange(action="cancelled", notice=notice, households=("h-ana",)))
    assert [(a.kind, a.key, a.title) for a in sink.actions] == [
        ("suggest", "gas-dinner-gas-1", "No gas for cooking tonight. Dinner together?"),
        ("withdraw", "gas-dinner-gas-1", ""),
        ("notify", "gas-cancelled-gas-1", "The gas outage was cancelled"),
    ]
    assert sink.actions[0].data["after"] == "2026-11-28T17:00:00+01:00"


def test_pantry_opt_out_is_respected(db: Database, clock: FakeClock, sink: ListSink) -> None:
    engine = RuleEngine(
        db, clock, sink, household_info=lambda h: {"opt_outs": ["grocery"]} if h == "h-x" else {}
    )
    engine.reload([REPO / "rules"])
    for hh in ("h-x", "h-y"):
        engine.on_readings(
            hh, [Reading(device="f", metric="stock", channel="milk", value=0.1, unit="l")]
        )
    clock.advance(timedelta(minutes=30))
    engine.tick(clock.now())
    assert [a.household for a in sink.actions] == ["h-y"]


def test_bench_pack_raises_one_offer_per_trigger_with_numeric_ts(
    db: Database, clock: FakeClock
) -> None:
    outbox = Outbox(db)
    woken: list[int] = []
    outbox.on_commit(lambda: woken.append(1))
    sink = OutboxSink(db, outbox)
    engine = RuleEngine(db, clock, sink)
    assert engine.reload([REPO / "rules" / "bench"]).packs == ("bench",)
    ts = 1764072000.123456
    iso = datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    reading = Reading(
        device="fridge-17", metric="stock", channel="milk", value=0.4, unit="l", ts=iso
    )
    engine.on_readings("h17", [reading, reading])  # no cooldown, no latch: two offers
    engine.on_readings(
        "h17",
        [Reading(device="fridge-17", metric="stock", channel="milk", value=0.9, unit="l", ts=iso)],
    )
    rows = db.query("SELECT topic, payload FROM outbox ORDER BY rowid")
    assert [r["topic"] for r in rows] == ["offers/grocery/h17", "offers/grocery/h17"]
    payload = bytes(rows[0]["payload"])
    assert payload.index(b'"ts":') < payload.index(b'"device"')
    body = orjson.loads(payload)
    assert body["ts"] == ts
    assert {k: body[k] for k in ("device", "item", "qty", "unit", "household")} == {
        "device": "fridge-17",
        "item": "milk",
        "qty": 0.4,
        "unit": "l",
        "household": "h17",
    }
    assert woken == [1]
