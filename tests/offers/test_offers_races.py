"""Capacity checks and claims under concurrent clients: exactly one winner.

Each client is a thread with a transaction of its own; on PostgreSQL (``--store=postgresql``)
each holds its own pooled connection, so the transactions really overlap and only row locks
and unique constraints keep the counts right. On SQLite the same tests show the single-writer
store gives the same answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from offers_fixtures import Hub

from hub.errors import Conflict
from hub.offers.gatherings import Place
from hub.offers.idempotency import fingerprint
from hub.offers.seed import LAKE_PIER
from hub.offers.slots import add_slot, get_slot, reserve

CLIENTS = 8


def race(fns: list[Callable[[], Any]]) -> list[Any]:
    """Run every fn at once (a barrier releases them together); their results or errors."""
    barrier = threading.Barrier(len(fns))
    results: list[Any] = [None] * len(fns)

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = fns[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), name=f"race-{i}") for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung"
    return results


ROUNDS = 4  # a lost race shows in most rounds; several make a missing lock fail for sure


def test_last_seat_of_a_gathering_goes_to_exactly_one(hub: Hub) -> None:
    for _ in range(ROUNDS):
        _gathering_round(hub)


def _gathering_round(hub: Hub) -> None:
    o = hub.offers
    guests = [h for h in hub.seed.households if h != "h-ben"][:CLIENTS]
    g = o.gatherings.create(
        "h-ben", title="Two at the pier", starts_at=datetime(2026, 11, 28, 9, tzinfo=UTC),
        ends_at=datetime(2026, 11, 28, 11, tzinfo=UTC), capacity=2,
        place=Place(label="Lake Pier", lat=LAKE_PIER[0], lon=LAKE_PIER[1]), invite=guests,
        suggestion=None, actor="h-ben")
    answers = race([lambda h=h: o.gatherings.rsvp(h, g["id"], True, actor=h) for h in guests])
    assert not [a for a in answers if isinstance(a, Exception)]
    assert sorted(a["you"] for a in answers) == ["going"] + ["waitlisted"] * (CLIENTS - 1)
    going = hub.db.query("SELECT household FROM gathering_members WHERE gathering = ? AND status = 'going'",
                         (g["id"],))
    assert len(going) == 2, "the host and exactly one guest"
    booked = hub.db.query_one("SELECT COUNT(*) FROM offer_bookings WHERE ref = ? AND state = 'active'",
                              (g["id"],))
    assert booked is not None
    assert booked[0] == 2, "the host and the one guest"


def test_last_place_of_a_slot_goes_to_exactly_one(hub: Hub) -> None:
    with hub.db.transaction() as conn:
        sid = add_slot(conn, "fresh-grocer", "grocery", datetime(2026, 11, 29, 9, tzinfo=UTC),
                       datetime(2026, 11, 29, 10, tzinfo=UTC), 1)

    def take() -> str:
        with hub.db.transaction() as conn:
            reserve(conn, sid)
        return "taken"

    answers = race([take] * CLIENTS)
    assert answers.count("taken") == 1
    assert sum(isinstance(a, Conflict) for a in answers) == CLIENTS - 1
    slot = get_slot(hub.db, sid)
    assert (slot.capacity, slot.free) == (1, 0)


def test_one_idempotency_key_runs_once_and_replays_for_the_rest(hub: Hub) -> None:
    for n in range(ROUNDS):
        _idempotency_round(hub, f"race-{n}")


def _idempotency_round(hub: Hub, cid: str) -> None:
    runs: list[int] = []
    lock = threading.Lock()

    def change() -> dict[str, Any]:
        with hub.db.transaction() as conn:
            conn.execute("INSERT INTO communities (id, name, created_at) VALUES (?, 'Race', 0)", (cid,))
        with lock:
            runs.append(1)
        return {"created": cid}

    fp = fingerprint("POST", "/race", {"c": cid})
    answers = race([lambda: hub.offers.idempotency.run("h-ana", cid, fp, "/race", change)] * CLIENTS)
    assert not [a for a in answers if isinstance(a, Exception)], answers
    assert answers == [(200, {"created": cid}, False)] * CLIENTS
    assert len(runs) == 1
    row = hub.db.query_one("SELECT COUNT(*) FROM communities WHERE id = ?", (cid,))
    assert row is not None
    assert row[0] == 1
