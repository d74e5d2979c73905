"""Counters and gauges for ``/metrics`` (Prometheus text format).

Each hub gets its own registry, so that several hubs in one test process do not clash.
The ingest path adds to counters once per batch, never per message.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

DROP_REASONS = ("superseded", "rate_limited", "bad_topic")
"""Why the hub drops an inbound message: a newer reading of the same topic was waiting while
the hub was behind (overload shedding), the device is over its rate limit, or the topic is
not UTF-8."""


class Metrics:
    """The hub's instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages_in = Counter("hub_messages_in", "Inbound MQTT messages handled", registry=r)
        self.readings = Counter("hub_readings", "Canonical readings produced", registry=r)
        self.dead_letters = Counter(
            "hub_dead_letters", "Messages rejected into the dead-letter store", registry=r
        )
        self.dead_letter_kinds = Gauge(
            "hub_dead_letters_by_kind", "Rejected messages since start, by kind of reason", ["kind"], registry=r
        )
        self.backpressure = Counter(
            "hub_ingest_backpressure", "Times the hub stopped reading because its queue was full", registry=r
        )
        self.rate_limited = Counter("hub_messages_rate_limited", "Messages over a device's rate limit", registry=r)
        self.dropped = Counter(
            "hub_ingest_dropped", "Inbound messages dropped, by reason (see hub/transport/mqtt.py)", ["reason"],
            registry=r,
        )
        # Pre-bound children: the ingest path never looks a label up.
        self.dropped_by_reason = {reason: self.dropped.labels(reason=reason) for reason in DROP_REASONS}
        self.rule_actions = Counter(
            "hub_rule_actions", "Actions the rules committed (offers, suggestions, requests, notices)", registry=r
        )
        self.batches = Counter("hub_ingest_batches", "Ingest batches processed", registry=r)
        self.batch_errors = Counter("hub_ingest_batch_errors", "Ingest batches that failed", registry=r)
        self.queue_depth = Gauge("hub_ingest_queue_depth", "Inbound messages waiting", registry=r)
        self.outbox_unsent = Gauge("hub_outbox_unsent", "Committed messages not yet acknowledged", registry=r)
        self.devices = Gauge("hub_devices", "Devices known to the twin", registry=r)
        self.checkpoint_frames = Gauge(
            "hub_sqlite_checkpoint_frames", "WAL frames copied back by the background checkpointer", registry=r)
        self.checkpoint_failures = Gauge(
            "hub_sqlite_checkpoint_failures", "Background WAL checkpoints SQLite refused", registry=r)
        self.history_dropped = Gauge("hub_history_dropped", "Telemetry points dropped by history stores", registry=r)

    def gauge_from(self, gauge: Gauge, read: Callable[[], float]) -> None:
        """Make ``gauge`` read its value when scraped."""
        gauge.set_function(read)

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
