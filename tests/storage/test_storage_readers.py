"""Reads outside a transaction go through the calling thread's own SQLite reader (WAL):
they see every commit, never an uncommitted write, and never wait for the write lock."""

from __future__ import annotations

import gc
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.storage.database import Database

TIMEOUT = 30.0


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "hub.db")
    database.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
    database.execute("INSERT INTO t (k, v) VALUES ('a', 1)")
    yield database
    database.close()


class Worker:
    """One long-lived thread running the calls it is handed (so its reader persists)."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], queue.Queue[Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, answer = job
            try:
                answer.put(("ok", fn()))
            except Exception as exc:
                answer.put(("error", exc))

    def call(self, fn: Callable[[], Any]) -> Any:
        answer: queue.Queue[Any] = queue.Queue()
        self._jobs.put((fn, answer))
        kind, value = answer.get(timeout=TIMEOUT)
        if kind == "error":
            raise value
        return value

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(TIMEOUT)


@pytest.fixture
def worker() -> Iterator[Worker]:
    w = Worker()
    yield w
    w.stop()


def _v(db: Database) -> int:
    row = db.query_one("SELECT v FROM t WHERE k = 'a'")
    assert row is not None
    return int(row["v"])


def test_a_reader_sees_each_commit_of_another_thread(db: Database, worker: Worker) -> None:
    assert worker.call(lambda: _v(db)) == 1
    db.execute("UPDATE t SET v = 2 WHERE k = 'a'")
    assert worker.call(lambda: _v(db)) == 2
    db.execute("UPDATE t SET v = 3 WHERE k = 'a'")
    assert worker.call(lambda: _v(db)) == 3


def test_a_transaction_reads_its_own_writes_and_others_do_not_see_them(
    db: Database, worker: Worker
) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE t SET v = 5 WHERE k = 'a'")
        assert _v(db) == 5  # this thread, inside its transaction: the writer's connection
        assert worker.call(lambda: _v(db)) == 1  # another thread: the last commit only
    assert worker.call(lambda: _v(db)) == 5


def test_reads_do_not_wait_for_a_writer(db: Database, worker: Worker) -> None:
    """While a transaction holds the write lock, another thread's read completes."""
    with db.transaction() as conn:
        conn.execute("INSERT INTO t (k, v) VALUES ('b', 7)")
        assert worker.call(lambda: [r["k"] for r in db.query("SELECT k FROM t ORDER BY k")]) == ["a"]


def test_a_snapshot_sees_one_state_while_another_thread_commits(db: Database, worker: Worker) -> None:
    with db.snapshot() as conn:
        before = conn.execute("SELECT v FROM t WHERE k = 'a'").fetchone()["v"]
        worker.call(lambda: db.execute("UPDATE t SET v = 9 WHERE k = 'a'"))
        again = conn.execute("SELECT v FROM t WHERE k = 'a'").fetchone()["v"]
        inner = _v(db)  # a plain read inside the snapshot joins it
    assert (before, again, inner) == (1, 1, 1)
    assert _v(db) == 9


def test_a_snapshot_refuses_writes_and_joins_an_own_transaction(db: Database) -> None:
    with pytest.raises(Exception, match="readonly"), db.snapshot() as conn:
        conn.execute("UPDATE t SET v = 0")
    with db.transaction() as conn:
        conn.execute("UPDATE t SET v = 4 WHERE k = 'a'")
        with db.snapshot() as inner:
            assert inner.execute("SELECT v FROM t").fetchone()["v"] == 4
    assert _v(db) == 4


def test_a_reader_goes_with_its_thread_and_close_closes_the_rest(db: Database) -> None:
    done = threading.Event()

    def read() -> None:
        assert _v(db) == 1
        done.set()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join(TIMEOUT)
    assert done.is_set()
    gc.collect()
    assert len(db._reader_conns) == 0
    assert _v(db) == 1  # this thread's reader stays until close
    assert len(db._reader_conns) == 1
    db.close()
    assert len(db._reader_conns) == 0


def test_an_in_memory_database_reads_through_its_one_connection() -> None:
    mem = Database(":memory:")
    mem.execute("CREATE TABLE t (v INTEGER)")
    mem.execute("INSERT INTO t VALUES (1)")
    assert [r["v"] for r in mem.query("SELECT v FROM t")] == [1]
    assert mem._reader() is None
    mem.close()
