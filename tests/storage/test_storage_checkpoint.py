"""The background WAL checkpointer (hub.storage.checkpoint) on real SQLite files."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from hub.storage.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from hub.storage.database import Database
from tests.mqtt_helpers import wait_until_sync

ROW = b"x" * 3000  # most of a 4 KiB page: every commit adds at least one frame to the log


def _log_frames(path: Path) -> int:
    """Frames in the write-ahead log now (a passive checkpoint reports them, copying too)."""
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


def _commit_rows(db: Database, n: int, *, start: int = 0) -> None:
    for i in range(start, start + n):
        with db.transaction() as conn:
            conn.execute("INSERT INTO t (id, body) VALUES (?, ?)", (i, ROW))


def _db(tmp_path: Path) -> Database:
    db = Database(tmp_path / "hub.sqlite3")
    with db.transaction() as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    return db


def test_a_pass_copies_the_log_back_and_the_next_commit_starts_it_over(tmp_path: Path) -> None:
    db = _db(tmp_path)
    try:
        # The writer's own checkpoint waits until the backstop: these commits stay far below.
        with db.transaction() as conn:
            conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        _commit_rows(db, 300)
        checkpointer = WalCheckpointer(db.path)
        log, copied = checkpointer.run_once()
        assert log >= 300  # nothing copied the log back before this pass
        assert copied == log
        assert checkpointer.stats.frames_copied == copied
        assert checkpointer.stats.passes == 1
        _commit_rows(db, 1, start=300)
        assert _log_frames(tmp_path / "hub.sqlite3") < 10  # started over, not appended to
        assert db.query_one("SELECT count(*) FROM t")[0] == 301
        checkpointer.stop()
    finally:
        db.close()


def test_the_thread_copies_the_bulk_of_the_log_and_the_backstop_bounds_it(tmp_path: Path) -> None:
    db = _db(tmp_path)
    wal = tmp_path / "hub.sqlite3-wal"
    rows_per_commit, commits = 30, 600
    try:
        checkpointer = db.start_checkpointer()
        assert checkpointer is not None
        assert checkpointer.running
        largest = 0
        for i in range(commits):  # paced like the hub's ingest batches, a commit every few ms
            with db.transaction() as conn:
                conn.executemany("INSERT INTO t (id, body) VALUES (?, ?)",
                                 [(i * rows_per_commit + k, ROW) for k in range(rows_per_commit)])
            largest = max(largest, os.path.getsize(wal))
            time.sleep(0.003)
        written = commits * rows_per_commit  # a page each, at least: frames in all
        assert checkpointer.stats.frames_copied >= written / 2, checkpointer.stats
        # 18,000 frames went through a log that never grew much past the backstop: the
        # writer's own checkpoint there started it over, again and again.
        assert largest <= (BACKSTOP_PAGES + 3 * rows_per_commit) * (4096 + 24)
        assert db.query_one("SELECT count(*) FROM t")[0] == written
        assert checkpointer.stats.failures == 0
    finally:
        db.close()
    assert not checkpointer.running  # closing the database stopped it


def test_a_refused_checkpoint_is_counted_and_the_thread_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-database"
    folder.mkdir()
    checkpointer = WalCheckpointer(str(folder), interval_s=0.01)
    checkpointer.start()
    try:
        wait_until_sync(lambda: checkpointer.stats.failures >= 3, timeout=10)
        assert checkpointer.running
        assert checkpointer.stats.last_error is not None
        assert "unable to open database file" in checkpointer.stats.last_error
        assert checkpointer.stats.frames_copied == 0
    finally:
        checkpointer.stop()
    assert not checkpointer.running


def test_an_in_memory_database_has_no_checkpointer() -> None:
    db = Database(":memory:")
    try:
        assert db.start_checkpointer() is None
        assert db.checkpointer is None
    finally:
        db.close()
