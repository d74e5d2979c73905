"""The write path every local store shares: buffer in ``write()``, store in ``flush()``.

``write()`` only converts readings to samples and appends them to a bounded buffer. A
background thread (started on the first write, stopped by ``close()``) flushes every
``flush_interval_s`` seconds, sooner once ``flush_at`` samples wait, and runs periodic
maintenance (``compact``). With ``flush_interval_s=None`` no thread runs and the owner
calls ``flush()`` itself (tests, benchmarks, a scheduler).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from hub.events import Reading
from hub.telemetry import series
from hub.telemetry.base import HistoryStore
from hub.telemetry.buffer import BoundedBuffer

logger = logging.getLogger(__name__)


class BufferedStore(HistoryStore):
    """A queryable store fed through a bounded buffer and a flusher thread.

    Args:
        max_buffer: samples held before new ones are dropped (and counted).
        flush_interval_s: seconds between background flushes; None: no thread.
        flush_at: buffered samples that wake the flusher early.
        compact_every_s: seconds between background ``compact()`` runs; None: never.
        max_attempts: failed flushes of one batch before it is dropped (and counted),
            so that one poisonous batch cannot wedge the history for good.
        write_chunk: most samples stored in one transaction.
    """

    def __init__(
        self,
        *,
        max_buffer: int = 100_000,
        flush_interval_s: float | None = 1.0,
        flush_at: int = 10_000,
        compact_every_s: float | None = None,
        max_attempts: int = 5,
        write_chunk: int = 2000,
    ) -> None:
        self._buffer: BoundedBuffer[series.Sample] = BoundedBuffer(max_buffer)
        self._flush_interval_s = flush_interval_s
        self._flush_at = max(1, flush_at)
        self._compact_every_s = compact_every_s
        self._max_attempts = max(1, max_attempts)
        self._write_chunk = max(1, write_chunk)
        self._attempts = 0
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._closed = False
        self._written = 0
        self._skipped = 0
        self._flushes = 0
        self._last_error: str | None = None

    # -- to implement -----------------------------------------------------------------

    @abstractmethod
    def _store(self, batch: list[series.Sample]) -> None:
        """Persist one batch, all or nothing; raise on failure."""

    # -- HistoryWriter ----------------------------------------------------------------

    def write(self, household: str, readings: Sequence[Reading], received_at: float) -> None:
        try:
            samples, skipped = series.to_samples(household, readings, received_at)
            self._skipped += skipped
            if not samples:
                return
            if self._closed:
                self._buffer.refuse(len(samples))
                return
            held = self._buffer.add(samples)
            if self._flush_interval_s is not None:
                self._ensure_thread()
                if held >= self._flush_at:
                    self._wake.set()
        except Exception as exc:  # never raise into the ingest pipeline
            self._last_error = f"write: {exc!r}"
            logger.exception("telemetry %s: write failed", self.name)

    def flush(self) -> None:
        """Store what is buffered now, ``write_chunk`` samples per transaction.

        Between chunks the database is free for a moment, so the hub's own writes
        (offers, state) wait at most one chunk behind a large flush.
        """
        with self._flush_lock:
            remaining = len(self._buffer)
            if remaining == 0:
                return
            first = True
            while remaining > 0:
                if not first:
                    time.sleep(0)  # let a thread waiting for the database have it
                first = False
                batch = self._buffer.take(min(remaining, self._write_chunk))
                if not batch:
                    self._buffer.done()
                    break
                remaining -= len(batch)
                if not self._store_chunk(batch):
                    return
            self._flushes += 1

    def _store_chunk(self, batch: list[series.Sample]) -> bool:
        """Store one taken chunk; on failure give it back (or drop it) and say so."""
        try:
            self._store(batch)
        except Exception as exc:
            self._attempts += 1
            self._last_error = f"flush: {exc!r}"
            if self._attempts >= self._max_attempts:
                self._buffer.discard(batch)
                self._attempts = 0
                logger.error(
                    "telemetry %s: dropped %s samples after %s failed flushes: %s",
                    self.name,
                    len(batch),
                    self._max_attempts,
                    exc,
                )
            else:
                self._buffer.give_back(batch)
                logger.warning("telemetry %s: flush failed, will retry: %s", self.name, exc)
            return False
        self._buffer.done()
        self._attempts = 0
        self._written += len(batch)
        return True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=10)
        self.flush()
        lost = self._buffer.drop_all()
        if lost:
            logger.error("telemetry %s: closed with %s samples unstored", self.name, lost)

    def stats(self) -> dict[str, Any]:
        return {
            "written": self._written,
            "buffered": len(self._buffer),
            "dropped": self._buffer.dropped,
            "skipped": self._skipped,
            "flushes": self._flushes,
            "last_error": self._last_error,
        }

    # -- background flusher -----------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._thread_lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name=f"telemetry-{self.name}-flush", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        interval = self._flush_interval_s or 1.0
        next_compact = time.monotonic() + self._compact_every_s if self._compact_every_s else None
        while not self._stopping.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stopping.is_set():
                break
            self.flush()
            if next_compact is not None and time.monotonic() >= next_compact:
                next_compact = time.monotonic() + (self._compact_every_s or 3600.0)
                try:
                    self.compact()
                except Exception as exc:
                    self._last_error = f"compact: {exc!r}"
                    logger.exception("telemetry %s: compact failed", self.name)
