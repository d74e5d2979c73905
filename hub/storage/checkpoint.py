"""Checkpoints of a SQLite write-ahead log, on a thread of their own.

In WAL mode every commit appends the pages it changed to the ``-wal`` file; a *checkpoint*
copies them back into the database file and syncs both files to disk. By default SQLite
runs it inside the commit that pushes the log past 1,000 pages, on the committing thread.
The hub commits on its event loop (one transaction per ingest batch), so that commit, and
with it every message of the batch, waited for the copy and two ``fsync`` calls: at
10k msg/s, measured, one batch in twenty or thirty stalled by 6–12 ms (a checkpoint every
~0.2 s), the largest part of the p99 latency (``docs/perf/README.md``).

:class:`WalCheckpointer` takes that work off the loop: a daemon thread with a connection of
its own runs ``PRAGMA wal_checkpoint(PASSIVE)`` every ``interval_s``. A passive checkpoint
takes no lock a writer needs, so the loop keeps committing meanwhile, and the ``fsync``
waits happen on the thread (``sqlite3`` releases the GIL while SQLite works). A pass starts
just after a commit; when it copied every frame before the next commit begins, that commit
starts the log over from its beginning.

Under a steady write load a pass is often still syncing when the next commit comes, and
the log cannot start over. The committing connection therefore keeps SQLite's automatic
checkpoint, at :data:`BACKSTOP_PAGES` (four times SQLite's default): it bounds the log, and
it is cheap by then, since the thread has already copied and synced nearly every frame.
It also takes over alone if the thread fails. Measured with commits of 30 pages every
6 ms: the slowest commit fell from 14.7 ms (SQLite's default alone) to 6.0 ms, the
99th percentile from 13.8 ms to under 1 ms.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass

logger = logging.getLogger(__name__)

INTERVAL_S = 0.1
BACKSTOP_PAGES = 4000


@dataclass(slots=True)
class CheckpointStats:
    """What the checkpointer did so far (``/metrics`` and tests read it)."""

    passes: int = 0
    frames_copied: int = 0
    restarts: int = 0  # passes that found the log started over since the one before
    failures: int = 0
    slowest_ms: float = 0.0
    last_error: str | None = None


class WalCheckpointer:
    """Runs passive WAL checkpoints of the database at ``path`` every ``interval_s``.

    Args:
        path: the SQLite database file (in WAL mode).
        interval_s: seconds between two passes.
    """

    def __init__(self, path: str, *, interval_s: float = INTERVAL_S) -> None:
        self._path = path
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._committed = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one pass at a time (the thread, a caller of run_once)
        self._last_copied = self._last_log = 0
        self.stats = CheckpointStats()

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Told after each commit of the database's writer (cheap: sets an event)."""
        if not self._committed.is_set():  # set() takes a lock and notifies; most commits need neither
            self._committed.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and close its connection (a pass under way finishes first)."""
        self._stop.set()
        self._committed.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_once(self) -> tuple[int, int]:
        """One passive checkpoint now: (frames in the log, frames copied back so far).

        Raises:
            sqlite3.Error: SQLite refused (the thread records it and tries again later).
        """
        with self._lock:
            if self._conn is None:
                self._conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False,
                                             timeout=10.0)
                # The same durability as the hub's own connection: the log is synced before
                # it is copied, the database file after.
                self._conn.execute("PRAGMA synchronous=NORMAL")
            started = time.perf_counter()
            cursor = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            try:
                row = cursor.fetchone()
            finally:
                # Ends the statement: while it lives, this connection holds a read lock on
                # the log, and no commit could start the log over.
                cursor.close()
            elapsed_ms = (time.perf_counter() - started) * 1000
            _busy, log, copied = (int(v) for v in row)
            # SQLite reports the frames copied of the log as it is now, not of this pass.
            stats = self.stats
            if copied < self._last_copied or log < self._last_log:
                stats.restarts += 1
                self._last_copied = 0
            stats.frames_copied += max(copied - self._last_copied, 0)
            self._last_copied, self._last_log = max(copied, 0), log
        stats.passes += 1
        stats.slowest_ms = max(stats.slowest_ms, elapsed_ms)
        return log, copied

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            # Start just after a commit (or after another interval without one): the pass
            # then has the whole gap until the next commit, and when it copies everything
            # before that commit begins, that commit starts the log over.
            self._committed.clear()
            self._committed.wait(self._interval_s)
            if self._stop.is_set():
                break
            try:
                self.run_once()
            except sqlite3.Error as exc:
                # The committing connection's backstop keeps the log bounded meanwhile.
                self.stats.failures += 1
                if self.stats.last_error != str(exc):
                    logger.warning("WAL checkpoint of %s failed (the writer's own takes over): %s",
                                   self._path, exc)
                self.stats.last_error = str(exc)


__all__ = ["BACKSTOP_PAGES", "INTERVAL_S", "CheckpointStats", "WalCheckpointer"]
