"""The storage adapters and the outbox, on real SQLite files and on PostgreSQL (--store)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from hub.storage import Outbox
from tests.stores import on_postgresql, open_db


def test_migrations_apply_once_and_wal_is_on(tmp_path: Path) -> None:
    db = open_db(tmp_path / "hub.sqlite3")
    names = [r["name"] for r in db.query("SELECT name FROM schema_migrations ORDER BY name")]
    assert names[0] == "0001_core.sql"
    assert db.migrate() == []
    if not on_postgresql():
        assert db.query_one("PRAGMA journal_mode")[0] == "wal"
    assert db.integrity_check() == "ok"
    db.close()
    again = open_db(tmp_path / "hub.sqlite3")
    assert again.migrate() == []
    again.close()


def test_transaction_rolls_back_everything_on_error(tmp_path: Path) -> None:
    db = open_db(tmp_path / "hub.sqlite3")
    outbox = Outbox(db)


    def failing_change() -> None:
        with db.transaction() as conn:
            conn.execute("INSERT INTO communities (id, name, created_at) VALUES ('c1', 'C', 0)")
            outbox.add(conn, "x/y", {"a": 1})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_change()
    assert db.query_one("SELECT COUNT(*) FROM communities")[0] == 0
    assert outbox.unsent_count() == 0


def test_nested_transactions_join_the_outer_one(tmp_path: Path) -> None:
    db = open_db(tmp_path / "hub.sqlite3")
    with db.transaction() as outer:
        outer.execute("INSERT INTO communities (id, name, created_at) VALUES ('c1', 'C', 0)")
        with db.transaction() as inner:
            inner.execute("INSERT INTO communities (id, name, created_at) VALUES ('c2', 'D', 0)")
    assert [r[0] for r in db.query("SELECT id FROM communities ORDER BY id")] == ["c1", "c2"]


def test_outbox_keeps_order_ids_and_drops_replays(tmp_path: Path) -> None:
    db = open_db(tmp_path / "hub.sqlite3")
    outbox = Outbox(db)
    with db.transaction() as conn:
        first = outbox.add(conn, "a/1", {"n": 1})
        second = outbox.add(conn, "a/2", {"n": 2}, message_id="fixed-id")
        replay = outbox.add(conn, "a/2", {"n": 99}, message_id="fixed-id")
        outbox.add(conn, "a/3", b"", retain=True)
    assert replay == second == "fixed-id"
    pending = outbox.pending()
    assert [m.topic for m in pending] == ["a/1", "a/2", "a/3"]
    assert orjson.loads(pending[0].payload) == {"id": first, "n": 1}
    assert orjson.loads(pending[1].payload) == {"id": "fixed-id", "n": 2}
    assert pending[2].payload == b""
    assert pending[2].retain
    outbox.mark_sent([first])
    assert [m.topic for m in outbox.pending()] == ["a/2", "a/3"]
    assert [m.topic for m in outbox.pending(after_seq=pending[1].seq)] == ["a/3"]
    with db.transaction() as conn:
        assert outbox.discard(conn, "a/2") == 1
    assert outbox.unsent_count() == 1


def test_purge_removes_only_messages_already_sent(tmp_path: Path) -> None:
    db = open_db(tmp_path / "hub.sqlite3")
    outbox = Outbox(db)
    with db.transaction() as conn:
        sent = outbox.add(conn, "a/1", {"n": 1})
        outbox.add(conn, "a/2", {"n": 2})
    outbox.mark_sent([sent])
    assert outbox.purge_sent(older_than_s=-1) == 1
    assert [m.topic for m in outbox.pending()] == ["a/2"], "unsent messages are never purged"
    assert db.query_one("SELECT COUNT(*) FROM outbox")[0] == 1


def test_a_read_on_the_writers_connection_sees_its_commits_and_its_open_transaction(tmp_path: Path) -> None:
    db = open_db(tmp_path / "hub.sqlite3")
    outbox = Outbox(db)
    with db.transaction() as conn:
        outbox.add(conn, "t/1", b"one", message_id="m1")
    assert [r["id"] for r in db.query_as_writer("SELECT id FROM outbox ORDER BY seq")] == ["m1"]
    with db.transaction() as conn:
        outbox.add(conn, "t/2", b"two", message_id="m2")
        inside = [r["id"] for r in db.query_as_writer("SELECT id FROM outbox ORDER BY seq")]
        assert inside == ["m1", "m2"]  # this thread's own uncommitted row
    assert [m.id for m in outbox.pending()] == ["m1", "m2"]
