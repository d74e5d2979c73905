"""The unit of work: one transaction, hooks only after commit, savepoints undo their hooks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hub.clock import FakeClock
from hub.errors import Conflict
from hub.offers.uow import UnitOfWork
from hub.storage.outbox import Outbox
from tests.stores import open_db


@pytest.fixture
def uow(tmp_path: Path) -> UnitOfWork:
    db = open_db(tmp_path / "u.db")
    return UnitOfWork(db, Outbox(db), FakeClock())


def _count(uow: UnitOfWork) -> int:
    row = uow.db.query_one("SELECT COUNT(*) FROM outbox")
    assert row is not None
    return int(row[0])


def test_hooks_run_after_commit_only(uow: UnitOfWork) -> None:
    ran: list[str] = []
    wakes: list[int] = []
    uow.outbox.on_commit(lambda: wakes.append(_count(uow)))
    with uow.tx() as conn:
        uow.outbox.add(conn, "t/1", {"a": 1})
        uow.after_commit(lambda: ran.append("outer"))
        with uow.tx() as inner:
            uow.outbox.add(inner, "t/2", {"a": 2})
            uow.after_commit(lambda: ran.append("inner"))
        assert ran == []
    assert ran == ["outer", "inner"]
    assert wakes == [2]  # the relay was woken once, with both messages committed


def test_rollback_drops_rows_and_hooks(uow: UnitOfWork) -> None:
    ran: list[str] = []

    def failing() -> None:
        with uow.tx() as conn:
            uow.outbox.add(conn, "t/1", {"a": 1})
            uow.after_commit(lambda: ran.append("x"))
            raise Conflict("no")

    with pytest.raises(Conflict):
        failing()
    assert ran == []
    assert _count(uow) == 0
    with uow.tx():
        pass
    assert ran == []  # the failed transaction's hooks never leak into the next one


def test_savepoint_undoes_its_part_only(uow: UnitOfWork) -> None:
    ran: list[str] = []

    def failing(conn: sqlite3.Connection) -> None:
        with uow.savepoint(conn):
            uow.outbox.add(conn, "t/drop", {"a": 2})
            uow.after_commit(lambda: ran.append("drop"))
            raise Conflict("no")

    with uow.tx() as conn:
        uow.outbox.add(conn, "t/keep", {"a": 1})
        uow.after_commit(lambda: ran.append("keep"))
        with pytest.raises(Conflict):
            failing(conn)
    assert ran == ["keep"]
    assert [r["topic"] for r in uow.db.query("SELECT topic FROM outbox")] == ["t/keep"]


def test_failing_hook_does_not_hide_the_commit(uow: UnitOfWork,
                                               caplog: pytest.LogCaptureFixture) -> None:
    def boom() -> None:
        raise RuntimeError("listener broke")

    ran: list[str] = []
    with uow.tx() as conn:
        uow.outbox.add(conn, "t/1", {"a": 1})
        uow.after_commit(boom)
        uow.after_commit(lambda: ran.append("next"))
    assert ran == ["next"]
    assert _count(uow) == 1
    assert "after-commit hook failed" in caplog.text


def test_hooks_wait_for_the_commit_of_a_joined_transaction(uow: UnitOfWork) -> None:
    ran: list[str] = []
    with uow.db.transaction() as outer:  # another component's transaction (the engine's)
        outer.execute("INSERT INTO inbox_seen (message_id, seen_at) VALUES ('m', 0)")
        with uow.tx() as conn:
            uow.outbox.add(conn, "t/1", {"a": 1})
            uow.after_commit(lambda: ran.append("x"))
        # The outer transaction has not committed: nothing ran yet.
        assert ran == []
    assert ran == ["x"], "the hook runs as soon as the outer transaction commits"
    uow.close()


def test_hooks_of_a_rolled_back_joined_transaction_are_dropped(uow: UnitOfWork) -> None:
    ran: list[str] = []

    def engine_batch() -> None:
        with uow.db.transaction():
            with uow.tx() as conn:
                uow.outbox.add(conn, "t/1", {"a": 1})
                uow.after_commit(lambda: ran.append("x"))
            raise RuntimeError("the engine's batch failed")

    with pytest.raises(RuntimeError):
        engine_batch()
    assert ran == []
    assert _count(uow) == 0
    uow.close()
