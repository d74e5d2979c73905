"""The share leases (hub.cluster.leases) on the store of the run: claims, renewals, lapses,
fair share, and the refusal of a database split into another number of shares."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hub.cluster.leases import Leases
from hub.cluster.shares import session_id, share_of
from hub.errors import ConfigError
from tests import stores

TTL = 5.0


def test_one_claim_wins_and_a_lapsed_lease_moves(tmp_path: Path) -> None:
    db = stores.open_db(tmp_path / "hub.sqlite3")
    leases = Leases(db, 4)
    leases.seed()
    leases.seed()  # idempotent
    now = 1000.0
    assert leases.free(now) == [0, 1, 2, 3]
    assert leases.claim("a", 2, now, TTL) is True
    assert leases.claim("b", 2, now, TTL) is False  # held: no second holder
    assert leases.beat("a", "http://a", now + 1, TTL) == {2}
    assert leases.live_workers(now + 1) == 1
    # a stops renewing: past the TTL the share is free and b takes it; a's renewal finds it gone.
    later = now + 1 + TTL + 0.1
    assert 2 in leases.free(later)
    assert leases.claim("b", 2, later, TTL) is True
    assert leases.beat("a", "http://a", later, TTL) == set()
    assert leases.beat("b", "http://b", later, TTL) == {2}
    leases.release("b", 2)
    assert 2 in leases.free(later)
    leases.retire("b")
    assert leases.workers(later) == [{"id": "a", "api": "http://a", "started_at": now + 1}]


def test_concurrent_claims_of_one_share_have_one_winner(tmp_path: Path) -> None:
    db = stores.open_db(tmp_path / "hub.sqlite3")
    leases = Leases(db, 1)
    leases.seed()
    wins: list[str] = []
    start = threading.Barrier(8)

    def claim(name: str) -> None:
        start.wait()
        if leases.claim(name, 0, 2000.0, TTL):
            wins.append(name)

    threads = [threading.Thread(target=claim, args=(f"w{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(wins) == 1
    assert [lease.worker for lease in leases.table()] == wins


def test_a_database_split_into_other_shares_is_refused(tmp_path: Path) -> None:
    db = stores.open_db(tmp_path / "hub.sqlite3")
    Leases(db, 8).seed()
    with pytest.raises(ConfigError, match="start every worker with HUB_SHARES=8"):
        Leases(db, 16).seed()


def test_shares_are_stable_and_spread() -> None:
    # Fixed values: every worker and every release must agree (Python's hash() would not).
    assert share_of("h-ana", 16) == 2
    assert share_of("so-timer", 8) == 1
    counts = [0] * 16
    for n in range(1600):
        counts[share_of(f"h{n}", 16)] += 1
    assert min(counts) > 60  # CRC-32 spreads the households (100 each on average)
    assert session_id(3) == "hub-share-3"
    assert session_id(3, "city") == "city-share-3"
