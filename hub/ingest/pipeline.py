"""The ingest pipeline.

One call per batch of inbound messages, on the event loop, with no ``await`` inside::

    message ─▶ route by topic ─▶ device adapter ─▶ twin ─▶ history ─▶ rules ─▶ actions
                     │                 └─(rejected)─▶ dead letters
                     └─▶ command handlers (provider claims, notices sent over MQTT)

At the end of the batch, everything it caused commits in ONE transaction (actions with
their outbox messages, dead letters); only then are the batch's QoS 1 messages acked to
the broker, and the outbox relay is woken. A crash before the commit loses nothing: the
broker redelivers the unacknowledged messages, and de-duplication by message id (the
offers' deterministic ids, the inbox table) keeps the effects single.

Failures are contained: a payload the adapter refuses goes to the dead-letter store; a
rule or handler that raises is logged with its topic and the rest of the batch goes on.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hub.errors import HubError, PayloadRejected
from hub.events import Normalized, Reading
from hub.ingest.dead_letters import DeadLetters
from hub.ingest.ratelimit import RateLimiter
from hub.metrics import Metrics
from hub.state.twin import Twin
from hub.storage.database import Database
from hub.storage.outbox import Outbox
from hub.transport.base import InboundMessage

logger = logging.getLogger(__name__)

MAX_PAYLOAD = 256 * 1024
HOUSEHOLD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")
MAX_ROUTES = 200_000
# What a topic is (first item of a route): device readings, a command, a household command,
# the hub's own output, or a topic no one handles (dead letter).
_READINGS, _COMMAND, _HOUSEHOLD_COMMAND, _OWN, _DEAD = "readings", "command", "household-command", "own", "dead"


class NormalizerPort(Protocol):
    def normalize(self, topic: str, payload: bytes, *, household: str | None = None) -> Normalized: ...


class RulesPort(Protocol):
    def on_readings(self, household: str, readings: Sequence[Reading], *, replay: bool = False) -> None: ...

    def batch(self) -> contextlib.AbstractContextManager[None]: ...


class HistoryPort(Protocol):
    def write(self, household: str, readings: Sequence[Reading], received_at: float) -> None: ...


CommandHandler = Callable[[str, InboundMessage, Any], None]


@dataclass
class PipelinePorts:
    """What the pipeline talks to. Only ``normalizer`` is required.

    The rules raise actions into their own sink (the offers) inside :meth:`RulesPort.batch`,
    which the pipeline opens within the batch's transaction.
    """

    normalizer: NormalizerPort
    rules: RulesPort | None = None
    history: HistoryPort | None = None
    # Topic prefix -> handler(rest_of_topic, message, conn); runs inside the batch transaction.
    commands: dict[str, CommandHandler] = field(default_factory=dict)
    # Household command topics (``home/<h>/<name>``, e.g. ``commands/accept``) ->
    # handler(household, message, conn); the household comes from the topic and the login.
    household_commands: dict[str, CommandHandler] = field(default_factory=dict)


class Pipeline:
    """Processes batches; see the module docstring."""

    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        twin: Twin,
        ports: PipelinePorts,
        metrics: Metrics,
        *,
        dead_letters: DeadLetters,
        ack: Callable[[Sequence[InboundMessage]], None],
        device_rate_limit: int = 50,
        history_min_interval_s: float = 10.0,
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._twin = twin
        self._ports = ports
        self._metrics = metrics
        self.dead_letters = dead_letters
        self._ack = ack
        self._limiter = RateLimiter(device_rate_limit)
        # History keeps at most one sample per device per interval (state changes such as
        # a door opening always pass): a meter reporting every second does not need every
        # raw point kept, and at tens of thousands of messages a second it could not be.
        self._history_interval = history_min_interval_s
        self._history_last: dict[tuple[str, str], tuple[float, tuple[object, ...]]] = {}
        self.history_skipped = 0
        self.processed = 0
        self._topic_routes: dict[str, tuple[Any, ...]] = {}

    def handle_batch(self, messages: Sequence[InboundMessage]) -> None:
        """Process one batch; commit its effects in one transaction; then ack it."""
        rules = self._ports.rules
        with self._db.transaction(), (rules.batch() if rules is not None else contextlib.nullcontext()):
            self._process(messages)
        # Only now, with the batch's effects committed, may the broker forget the messages.
        self._ack(messages)
        self._outbox.notify()

    def _process(self, messages: Sequence[InboundMessage]) -> None:
        now = time.time()
        normalize = self._ports.normalizer.normalize
        rules = self._ports.rules
        history = self._ports.history
        twin = self._twin
        dead = self.dead_letters
        allow = self._limiter.allow
        commands: list[tuple[CommandHandler, str, InboundMessage]] = []
        readings_count = 0
        rate_limited = 0
        dead_before = dead.total
        routes = self._topic_routes
        for message in messages:
            topic = message.topic
            route = routes.get(topic)
            if route is None:
                route = self._route(topic)
            kind = route[0]
            if kind is not _READINGS:
                if kind is _COMMAND or kind is _HOUSEHOLD_COMMAND:
                    commands.append((route[1], route[2], message))
                elif kind is _DEAD:
                    dead.add(route[2], topic, route[1], message.payload)
                continue  # _OWN: the hub's own output for a household
            household, vendor_topic = route[1], route[2]
            if len(message.payload) > MAX_PAYLOAD:
                dead.add(household, topic, f"payload of {len(message.payload)} bytes is over 256 KiB", b"")
                continue
            if not allow(topic, now):
                rate_limited += 1
                continue
            try:
                result = normalize(vendor_topic, message.payload, household=household)
            except PayloadRejected as exc:
                dead.add(household, topic, exc.reason, message.payload)
                continue
            except Exception as exc:  # an adapter bug must not stop the batch
                logger.exception("adapter failed on %s", topic[:200])
                dead.add(household, topic, f"adapter error: {type(exc).__name__}", message.payload)
                continue
            if result.registrations:
                twin.register(household, result.registrations, now)
            readings = result.readings
            if not readings:
                continue
            readings_count += len(readings)
            twin.update(household, readings, now)
            if history is not None:
                self._sample_history(history, household, readings, now)
            if rules is not None:
                try:
                    rules.on_readings(household, readings, replay=message.retain)
                except Exception:
                    logger.exception("rules failed on %s", topic[:200])
        self._commit(commands)
        self.processed += len(messages)
        self._metrics.messages_in.inc(len(messages))
        self._metrics.readings.inc(readings_count)
        self._metrics.batches.inc()
        if rate_limited:
            self._metrics.rate_limited.inc(rate_limited)
            self._metrics.dropped_by_reason["rate_limited"].inc(rate_limited)
        self._metrics.dead_letters.inc(dead.total - dead_before)

    def _sample_history(self, history: HistoryPort, household: str, readings: Sequence[Reading], now: float) -> None:
        """Write at most one sample per device per interval, and every change of a state."""
        key = (household, readings[0].device)
        last = self._history_last.get(key)
        states = _states(readings)
        if last is None or now - last[0] >= self._history_interval or states != last[1]:
            self._history_last[key] = (now, states)
            history.write(household, readings, now)
        else:
            self.history_skipped += 1

    def _commit(self, commands: list[tuple[CommandHandler, str, InboundMessage]]) -> None:
        with self._db.transaction() as conn:
            for handler, rest, message in commands:
                savepoint = "cmd"
                conn.execute(f"SAVEPOINT {savepoint}")
                try:
                    handler(rest, message, conn)
                    conn.execute(f"RELEASE {savepoint}")
                except HubError as exc:
                    conn.execute(f"ROLLBACK TO {savepoint}")
                    conn.execute(f"RELEASE {savepoint}")
                    self.dead_letters.add(None, message.topic, str(exc), message.payload)
                except Exception as exc:
                    conn.execute(f"ROLLBACK TO {savepoint}")
                    conn.execute(f"RELEASE {savepoint}")
                    logger.exception("command handler failed on %s", message.topic[:200])
                    self.dead_letters.add(None, message.topic, f"handler error: {type(exc).__name__}", message.payload)
            self.dead_letters.write(conn)

    def _route(self, topic: str) -> tuple[Any, ...]:
        """What a topic is, worked out once and remembered (topics repeat, message after message)."""
        route: tuple[Any, ...]
        if not topic.startswith("home/"):
            for prefix, handler in self._ports.commands.items():
                if topic.startswith(prefix):
                    route = (_COMMAND, handler, topic[len(prefix):])
                    break
            else:
                route = (_DEAD, "no handler for this topic", None)
        else:
            parts = topic.split("/", 2)
            if len(parts) < 3 or not parts[2] or not _valid_household(parts[1]):
                route = (_DEAD, "topic must be home/<household>/<device topic>", None)
            elif parts[2].startswith("hub/"):
                route = (_OWN,)
            elif parts[2] in self._ports.household_commands:
                route = (_HOUSEHOLD_COMMAND, self._ports.household_commands[parts[2]], parts[1])
            else:
                route = (_READINGS, parts[1], parts[2])
        if len(self._topic_routes) >= MAX_ROUTES:
            self._topic_routes.clear()  # bounded: a flood of one-off topics cannot grow it
        self._topic_routes[topic] = route
        return route


def _states(readings: Sequence[Reading]) -> tuple[object, ...]:
    """The state values (bools and texts) of a message, whose every change history keeps."""
    return tuple(r.value for r in readings if type(r.value) is bool or type(r.value) is str)


def _valid_household(household: str) -> bool:
    return 0 < len(household) <= 64 and HOUSEHOLD_CHARS.issuperset(household)
