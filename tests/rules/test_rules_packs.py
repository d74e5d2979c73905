"""The shipped packs: the community story and the benchmark pack's offers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
    # The update and the cancel carry new CAP ids; the thread (first id) stays.
    update = replace(notice, id="gas-2", expires=day + timedelta(hours=20))
    cancel = replace(notice, id="gas-3")
    engine.on_event(
        NoticeChange(action="updated", notice=update, households=("h-ana",), thread="gas-1")
    )
    engine.on_event(
        NoticeChange(action="cancelled", notice=cancel, households=("h-ana",), thread="gas-1")
    )
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
    rows = db.query("SELECT topic, payload FROM outbox ORDER BY seq")
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


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignOfferEvent:
    """Shaped like the offers package's own OfferEvent (no import of hub.rules)."""

    kind: str
    household: str
    offer_id: str
    data: dict[str, Any] = field(default_factory=dict)
    at: str = ""


def test_offer_events_of_the_offers_package_drive_rides_and_clashes(
    db: Database, clock: FakeClock, sink: ListSink
) -> None:
    engine = RuleEngine(db, clock, sink)
    engine.reload([REPO / "rules"])
    engine.on_event(
        ForeignOfferEvent(
            kind="booked",
            household="h-ana",
            offer_id="g-1",
            data={"object": "gathering", "title": "Fishing"},
        )
    )
    engine.on_event(
        ForeignOfferEvent(kind="booked", household="h-ana", offer_id="r-1", data={"object": "ride"})
    )
    engine.on_event(
        ForeignOfferEvent(
            kind="clashing",
            household="h-ana",
            offer_id="b-1",
            data={
                "object": "booking",
                "type": "grocery",
                "bookings": ["b-1", "g-2"],
                "clashes_with": {"id": "g-2", "type": "gathering"},
            },
        )
    )
    engine.on_event(
        ForeignOfferEvent(
            kind="clashing",
            household="h-ana",
            offer_id="b-3",
            data={"object": "booking", "type": "ride", "bookings": ["b-3", "g-2"],
                  "clashes_with": {"id": "g-2", "type": "gathering"}},
        )
    )
    assert [(a.kind, a.key, a.data) for a in sink.actions] == [
        ("request", "ride:g-1", {"kind": "ride", "gathering": "g-1"}),
        (
            "suggest",
            "clash:b-1",
            {"kind": "reschedule", "booking": "b-1", "bookings": ["b-1", "g-2"]},
        ),
    ]


def test_no_grocery_consent_no_suggestion(db: Database, clock: FakeClock, sink: ListSink) -> None:
    engine = RuleEngine(db, clock, sink, consent_check=lambda h, p: h == "h-yes")
    engine.reload([REPO / "rules"])
    for hh in ("h-no", "h-yes"):
        engine.on_readings(hh, [Reading(device="f", metric="stock", channel="eggs", value=0)])
    clock.advance(timedelta(minutes=30))
    engine.tick(clock.now())
    assert [a.household for a in sink.actions] == ["h-yes"]
    assert engine.traces(household="h-no")[-1]["reason"] == (
        "consent: grocery_delivery: no consent for grocery_delivery"
    )


def test_open_keys_expire_after_dedup_for(
    db: Database, clock: FakeClock, sink: ListSink, write_pack: Callable[..., Path]
) -> None:
    engine = RuleEngine(db, clock, sink)
    engine.reload(
        [
            write_pack("""\
        rules:
          - id: low
            dedup_for: 1h
            triggers: [{metric: stock, channel: milk, below: 0.5}]
            actions: [{kind: suggest, key: milk}]
        """)
        ]
    )
    milk = [Reading(device="f", metric="stock", channel="milk", value=0.1)]
    full = [Reading(device="f", metric="stock", channel="milk", value=2.0)]
    engine.on_readings("h", milk)
    engine.on_readings("h", full)
    clock.advance(timedelta(minutes=59))
    engine.on_readings("h", milk)  # still open: held
    engine.on_readings("h", full)
    clock.advance(timedelta(minutes=2))
    engine.on_readings("h", milk)  # nobody released it, but an hour passed
    assert len(sink.actions) == 2
