"""The action sink: offers in one transaction, replays change nothing, restarts lose nothing."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson
import pytest
from offers_fixtures import SATURDAY, Action, Hub

import hub.offers
from hub.clock import FakeClock
from hub.errors import PayloadRejected
from hub.offers.service import OffersService
from hub.storage.outbox import Outbox
from tests.stores import open_db


def bench_offer(i: int, household: str = "h17", ts: float = 1764072000.0) -> Action:
    return Action(kind="offer", household=household, rule_id="bench-low", pack="bench",
                  key=f"bench-low:{household}",
                  data={"topic": f"offers/grocery/{household}", "kind": "grocery",
                        "ts": ts + i, "items": [{"name": "milk", "qty": 0.4, "unit": "l"}]})


def test_offer_batch_one_transaction_and_exact_outbox(hub: Hub) -> None:
    outermost: list[bool] = []
    begin = hub.db.transaction

    def counting() -> Any:
        outermost.append(not hub.db.in_transaction)
        return begin()

    hub.db.transaction = counting  # type: ignore[method-assign]
    try:
        hub.offers.sink.submit([bench_offer(i) for i in range(100)])
    finally:
        del hub.db.transaction
    assert outermost.count(True) == 1, "one outermost transaction (one BEGIN, one COMMIT)"
    msgs = hub.messages("offers/grocery/h17")
    assert len(msgs) == 100
    topic, first = msgs[0]
    assert topic == "offers/grocery/h17"
    assert first["ts"] == 1764072000.0
    assert "topic" not in first
    raw = hub.db.query_one("SELECT payload FROM outbox WHERE topic = 'offers/grocery/h17'"
                           " ORDER BY seq LIMIT 1")
    assert raw is not None
    # The load generator reads the first "ts": number in the message.
    assert bytes(raw[0]).index(b'"ts":') < bytes(raw[0]).index(b'"items"')
    rows = hub.db.query("SELECT id, state FROM offers WHERE household = 'h17'")
    assert {r["state"] for r in rows} == {"proposed"}
    assert {r["id"] for r in rows} == {m["id"] for _, m in msgs}


def test_replayed_and_duplicated_actions_raise_nothing_twice(hub: Hub) -> None:
    batch = [bench_offer(i) for i in range(30)]
    hub.offers.sink.submit(batch + batch[:9])  # 30 % duplicates inside the batch
    hub.offers.sink.submit(batch[10:20])  # and again later
    assert len(hub.messages("offers/grocery/h17")) == 30
    assert hub.db.query_one("SELECT COUNT(*) FROM offers")[0] == 30  # type: ignore[index]


def test_bad_offer_topic_is_dropped_others_kept(hub: Hub) -> None:
    bad = Action(kind="offer", household="h1", key="x", data={"topic": "offers/#"})
    odd = Action(kind="offer", household="h1", key="y", data={"when": object()})
    frozen = Action(kind="offer", household="h2", key="z",
                    data=MappingProxyType({"ts": 1.0}))  # type: ignore[arg-type]
    hub.offers.sink.submit([bad, odd, bench_offer(1), frozen])
    assert [t for t, _ in hub.messages("offers/")] == ["offers/grocery/h17", "offers/grocery/h2"]


def test_restart_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    clock = FakeClock(SATURDAY)
    db = open_db(path)
    hub.offers.seed_story(db, clock)
    svc = OffersService(db, Outbox(db), clock)
    svc.sink.submit([bench_offer(i) for i in range(10)])
    svc.sink.submit([Action(kind="suggest", household="h-ana", key="low:h-ana",
                            data={"kind": "grocery", "items": []})])
    sid = svc.suggestions.page("h-ana").items[0]["id"]
    req = svc.accept_suggestion("h-ana", sid, slot="fresh-grocer@2026-11-28T18:00:00Z",
                                actor="h-ana")["result"]["id"]
    claim = orjson.dumps({"request": req, "id": "claim-1"})
    assert svc.handle_claim("fresh-grocer", claim).status == "claimed"
    db.close()  # the hub dies; the broker redelivers what was not acked

    db2 = open_db(path)
    svc2 = OffersService(db2, Outbox(db2), clock)
    svc2.sink.submit([bench_offer(i) for i in range(10)])
    svc2.sink.submit([Action(kind="suggest", household="h-ana", key="low:h-ana",
                             data={"kind": "grocery", "items": []})])
    assert svc2.handle_claim("fresh-grocer", claim).status == "duplicate"
    assert db2.query_one("SELECT COUNT(*) FROM outbox WHERE topic LIKE 'offers/%'")[0] == 10  # type: ignore[index]
    assert svc2.grocery.get("h-ana", req)["state"] == "scheduled"
    assert [c["state"] for c in svc2.calendar.page("h-ana").items] == ["active"]
    # The low state is still answered by the accepted suggestion; a new one opens (cooldown
    # belongs to the rules engine), but only one.
    assert len(svc2.suggestions.page("h-ana", state="proposed").items) == 1
    db2.close()


@pytest.mark.parametrize("payload", [b"not json", b"[]", b'{"request": 1, "id": "x"}',
                                     b'{"request": "r"}', b'{"request": "", "id": "x"}',
                                     b'{"request": "' + b"r" * 200 + b'", "id": "x"}',
                                     b'{"request": "a/b/#", "id": "x"}',
                                     b'{"request": "r", "id": "x+y"}'])
def test_malformed_claims_are_rejected_with_a_reason(hub: Hub, payload: bytes) -> None:
    with pytest.raises(PayloadRejected) as info:
        hub.offers.handle_claim("fresh-grocer", payload)
    assert info.value.reason
    assert hub.db.query_one("SELECT COUNT(*) FROM inbox_seen")[0] == 0  # type: ignore[index]


def test_claim_of_unknown_or_unsent_request(hub: Hub) -> None:
    res = hub.offers.handle_claim("fresh-grocer", b'{"request": "req-nope", "id": "c9"}')
    assert res.status == "not-found"
    [(topic, msg)] = hub.feed("fresh-grocer")
    assert topic == "providers/fresh-grocer/feed/req-nope"
    assert msg["type"] == "claim-rejected"


def test_unclaimed_request_expires_when_its_slot_begins(hub: Hub) -> None:
    from datetime import timedelta

    hub.offers.sink.submit([Action(kind="suggest", household="h-ana", key="low",
                                   data={"kind": "grocery", "items": []})])
    sid = hub.offers.suggestions.page("h-ana").items[0]["id"]
    req = hub.offers.accept_suggestion("h-ana", sid, slot="fresh-grocer@2026-11-28T09:00:00Z",
                                       actor="h-ana")["result"]["id"]
    hub.clock.advance(timedelta(hours=2))
    assert hub.offers.expire_due() == [req]
    assert hub.offers.grocery.get("h-ana", req)["state"] == "expired"
    assert hub.db.query_one("SELECT taken FROM offer_slots WHERE id ="
                            " 'fresh-grocer@2026-11-28T09:00:00Z'")[0] == 0  # type: ignore[index]
    assert hub.feed("fresh-grocer")[-1][1]["type"] == "expired"
    assert hub.offers.calendar.page("h-ana").items == []


def test_public_names() -> None:
    assert set(hub.offers.__all__) == {
        "EVENT_KINDS", "AllowAll", "ChainReport", "ClaimResult", "ConsentPort", "LiveUpdates",
        "OfferEvent", "OffersService", "OffersSink", "StorySeed", "http_problem_handler",
        "problem_handler",
        "seed_story", "validation_problem_handler", "verify_chain"}


def test_accept_over_mqtt_once(hub: Hub) -> None:
    hub.offers.sink.submit([Action(kind="suggest", household="h-ana", key="low",
                                   data={"kind": "grocery", "items": []})])
    sid = hub.offers.suggestions.page("h-ana").items[0]["id"]
    msg = orjson.dumps({"suggestion": sid, "slot": "fresh-grocer@2026-11-28T18:00:00Z",
                        "id": "a-1"})
    assert hub.offers.handle_accept("h-ana", msg).status == "accepted"
    assert hub.offers.handle_accept("h-ana", msg).status == "duplicate"
    assert len(hub.feed("fresh-grocer")) == 1
    # Another household naming Ana's suggestion gets nothing of it.
    res = hub.offers.handle_accept("h-ben", orjson.dumps({"suggestion": sid, "id": "b-1"}))
    assert res.status == "not-found"
    [(topic, reply)] = hub.messages("home/h-ben/")
    assert topic == f"home/h-ben/hub/suggestions/{sid}"
    assert set(reply) == {"id", "type", "suggestion", "accept", "reason"}
    # A second accept with a fresh message id is a conflict, answered on Ana's topic.
    again = hub.offers.handle_accept("h-ana", orjson.dumps({"suggestion": sid, "id": "a-2"}))
    assert again.status == "conflict"
    with pytest.raises(PayloadRejected):
        hub.offers.handle_accept("h-ana", b'{"suggestion": "s#1", "id": "a-3"}')
