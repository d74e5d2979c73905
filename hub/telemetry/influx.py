"""Write-only history in InfluxDB, never making the ingest pipeline wait.

``write()`` converts readings to samples and puts them in a :class:`BoundedBuffer`; that
is all the pipeline pays. One sender thread (started on the first write) takes batches of
up to ``batch_size``, encodes them as line protocol and posts them. While InfluxDB is away
it retries the same batch with jittered exponential backoff; meanwhile new samples fill
the buffer up to ``max_buffer`` (the batch in flight included), after which new samples
are dropped and counted in ``stats()["dropped"]``, exactly once each. A batch InfluxDB
refuses for good (400, 413) is counted in ``stats()["rejected"]`` and not retried.

``api="v1"`` posts to ``/write`` (InfluxDB 1.x, which is what Debian ships: 1.6 has no
``/api/v2/write``); ``api="v2"`` uses influxdb-client (InfluxDB 2.x/3.x, and 1.8+ with
``bucket="db/rp"`` and ``token="user:password"``).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from typing import Any, Literal

from hub.errors import ConfigError
from hub.events import Reading
from hub.telemetry import lineprotocol, series
from hub.telemetry.base import HistoryWriter
from hub.telemetry.buffer import BoundedBuffer
from hub.telemetry.senders import Sender, SendFailed, SendRejected, V1Sender, V2Sender

logger = logging.getLogger(__name__)

InfluxApi = Literal["v1", "v2"]


class InfluxHistory(HistoryWriter):
    """Sends readings to InfluxDB from a background thread through a bounded buffer.

    Args:
        url: base URL of the server, e.g. ``http://influxdb:8086``.
        token: 2.x API token; for 1.x ``user:password`` or None for an open server.
        org: 2.x organisation (ignored by 1.x).
        bucket: 2.x bucket, or 1.x ``database`` / ``database/retention-policy``.
        api: ``"v2"`` (influxdb-client) or ``"v1"`` (``/write`` over httpx).
        batch_size: most points in one request.
        flush_interval_s: longest a point waits before it is sent.
        max_buffer: most points held (waiting plus in flight) before new ones are dropped.
        timeout_s: timeout of one request.
        backoff_initial_s: first retry delay; doubled per failure, with jitter.
        backoff_max_s: longest retry delay.
        sender: a ready sender (tests); overrides url, token, org, bucket and api.
    """

    name = "influx"

    def __init__(
        self,
        url: str,
        token: str | None = None,
        org: str | None = None,
        bucket: str = "hub",
        *,
        api: InfluxApi = "v2",
        batch_size: int = 5000,
        flush_interval_s: float = 1.0,
        max_buffer: int = 50_000,
        timeout_s: float = 5.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        sender: Sender | None = None,
    ) -> None:
        if batch_size < 1 or max_buffer < 1:
            raise ConfigError("influx batch_size and max_buffer must be positive")
        if sender is None:
            if api == "v1":
                sender = V1Sender(url, bucket, token, timeout_s=timeout_s)
            elif api == "v2":
                if not token or not org:
                    raise ConfigError("InfluxDB 2.x needs HUB_INFLUX_TOKEN and HUB_INFLUX_ORG")
                sender = V2Sender(url, token, org, bucket, timeout_s=timeout_s)
            else:
                raise ConfigError(f"HUB_INFLUX_API must be v1 or v2, not {api!r}")
        self.url = url
        self._sender = sender
        self._batch_size = batch_size
        self._interval = flush_interval_s
        self._backoff_initial = backoff_initial_s
        self._backoff_max = backoff_max_s
        self._buffer: BoundedBuffer[series.Sample] = BoundedBuffer(max_buffer)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None
        self._thread_lock = threading.Lock()
        self._closed = False
        self._urgent = False  # drain() wants everything out, not just full batches
        self._written = 0
        self._skipped = 0
        self._unrepresentable = 0  # counted by the sender thread only
        self._rejected = 0
        self._retries = 0
        self._failures = 0  # consecutive failed sends
        self._attempts = 0  # sends tried, for flush() to wait on
        self._last_error: str | None = None

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
            self._ensure_thread()
            if held >= self._batch_size:
                self._wake.set()
        except Exception as exc:  # never raise into the ingest pipeline
            self._last_error = f"write: {exc!r}"
            logger.exception("telemetry influx: write failed")

    def flush(self) -> None:
        """Send what is buffered now; wait (at most 10 s) until it is out or a send fails."""
        self.drain(10.0)

    def drain(self, timeout_s: float) -> bool:
        """Send what is buffered now; wait until it is out or a send fails.

        Returns:
            True when the buffer drained, False when InfluxDB failed or time ran out.
        """
        if len(self._buffer) == 0:
            return True
        self._ensure_thread()
        with self._progress:
            start = self._attempts
            failures = self._failures
            self._urgent = True
            self._wake.set()
            self._progress.wait_for(
                lambda: (
                    len(self._buffer) == 0
                    or (self._attempts > start and self._failures > failures)
                    or self._thread is None
                ),
                timeout=timeout_s,
            )
            return len(self._buffer) == 0

    def close(self) -> None:
        """Try to send what is left once more, then count anything unsent as dropped."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
            if thread.is_alive():
                logger.error("telemetry influx: sender thread did not stop")
                return
        else:
            self._buffer.drop_all()
        self._sender.close()

    def stats(self) -> dict[str, Any]:
        return {
            "written": self._written,
            "buffered": len(self._buffer),
            "dropped": self._buffer.dropped,
            "skipped": self._skipped + self._unrepresentable,
            "rejected": self._rejected,
            "retries": self._retries,
            "last_error": self._last_error,
        }

    # -- sender thread ----------------------------------------------------------------

    def _ensure_thread(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._thread_lock:
            thread = self._thread
            if (thread is None or not thread.is_alive()) and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="telemetry-influx-send", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                try:
                    self._loop()
                    return
                except Exception as exc:  # a bug must not go unseen, nor stop the sender
                    self._last_error = f"sender: {exc!r}"
                    lost = self._buffer.abandon()
                    logger.exception("telemetry influx: sender failed, %s points dropped", lost)
                    self._notify()
                    if self._stopping.wait(self._backoff_initial):
                        self._buffer.drop_all()
                        return
        finally:
            with self._progress:
                self._thread = None
                self._progress.notify_all()

    def _loop(self) -> None:
        while True:
            pending = len(self._buffer)
            if pending < self._batch_size and not (self._urgent or self._stopping.is_set()):
                self._wake.wait(self._interval)
                self._wake.clear()
                pending = len(self._buffer)
            if pending <= self._batch_size:
                self._urgent = False  # this batch takes all that drain() asked for
            batch = self._buffer.take(self._batch_size)
            if not batch:
                self._buffer.done()
                if self._stopping.is_set():
                    return
                continue
            body, refused = lineprotocol.encode_batch(batch)
            if refused:
                self._unrepresentable += refused
                logger.warning("telemetry influx: %s points not representable", refused)
            delivered = self._deliver(body, len(batch) - refused)
            if delivered:
                self._buffer.done()
                self._notify()
            else:
                # Closing with InfluxDB away: what is in flight and waiting is lost.
                self._buffer.discard(batch)
                lost = self._buffer.drop_all()
                logger.error(
                    "telemetry influx: closed while unreachable, %s points dropped",
                    len(batch) + lost,
                )
                return

    def _deliver(self, body: str, points: int) -> bool:
        """Send one encoded batch, retrying until it is out; False if closing stops it."""
        while True:
            if points == 0:
                return True
            try:
                self._sender.send(body, points)
            except SendRejected as exc:
                self._rejected += exc.refused
                self._written += points - exc.refused
                self._last_error = str(exc)
                self._progressed()
                logger.error("telemetry influx: %s", exc)
                return True
            except SendFailed as exc:
                self._last_error = str(exc)
                self._failures += 1
                self._progressed()
                if self._stopping.is_set():
                    return False
                delay = min(self._backoff_max, self._backoff_initial * 2 ** (self._failures - 1))
                delay *= random.uniform(0.5, 1.0)  # jitter: many hubs, one recovering server
                logger.warning("telemetry influx: %s; retrying in %.1f s", exc, delay)
                self._retries += 1
                self._stopping.wait(delay)
                continue
            self._written += points
            if self._failures:
                logger.info("telemetry influx: delivering again after %s failures", self._failures)
            self._failures = 0
            self._progressed()
            return True

    def _progressed(self) -> None:
        """A send was tried (and perhaps failed): wake drain() to look."""
        with self._progress:
            self._attempts += 1
            self._progress.notify_all()

    def _notify(self) -> None:
        """A batch left the buffer: wake drain() to look."""
        with self._progress:
            self._progress.notify_all()
