"""What rules ask for, and the port through which it leaves the engine.

The engine turns a firing into :class:`Action` values and hands them, per batch, to an
:class:`ActionSink`. The offers package implements the real sink (suggestions, requests to
provider feeds, reschedules, withdrawals); this module has two simple ones:

* :class:`ListSink` collects actions in memory (tests, backtests);
* :class:`DatabaseSink` appends them to the ``rules_action_log`` table, which lets the
  rules land before the offers package and serves as the durable record in tests.
* :class:`OutboxSink` publishes ``offer`` actions carrying ``data["topic"]`` through the
  outbox (the benchmark path: ``offers/grocery/<household>``), others to the log.

Transaction contract: ``submit`` is called *inside* the engine's open database transaction
(``Database.transaction()`` nests), together with the timer, cooldown and de-duplication
updates of the same batch. A sink that writes to the same database therefore commits
atomically with the firing: a crash loses or repeats nothing. A sink must not block on
network I/O inside ``submit``; if it raises, the batch is rolled back, logged, and the
engine's memory is restored from the database.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import orjson

from hub.clock import iso_utc
from hub.storage.database import Database
from hub.storage.outbox import Outbox

ActionKind = Literal[
    "suggest", "notify", "request", "offer", "reschedule", "cancel", "set_flag", "withdraw"
]


_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count()


def _next_action_id() -> str:
    """A unique action id: 64 random bits per process and a counter.

    Not ``os.urandom`` per action: it releases the GIL, and on a hub whose history thread is
    busy, taking the GIL back cost up to a switch interval (5 ms) per firing (profiled).
    """
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """One thing a rule asks for, for one household.

    Attributes:
        kind: ``suggest``, ``notify``, ``request``, ``offer``, ``reschedule``, ``cancel``,
            ``set_flag`` or ``withdraw`` (withdraw the open suggestion with this ``key``
            unless someone acted on it).
        household: the household it is for.
        rule_id: the rule that fired.
        pack: the rule's pack.
        key: de-duplication key: the same rule, household and key is not raised again
            while open (until :meth:`RuleEngine.release`).
        title: rendered title.
        message: rendered message.
        data: rendered data (items, slot hints, notice id, trigger ts, ...).
        created_at: when the rule fired (engine clock).
        id: unique id of this action (use it as the message or offer id, for idempotence).
    """

    kind: ActionKind
    household: str
    rule_id: str
    pack: str
    key: str
    title: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime
    id: str = field(default_factory=lambda: _next_action_id())

    def marshal(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "kind": self.kind,
            "household": self.household,
            "rule_id": self.rule_id,
            "pack": self.pack,
            "key": self.key,
            "title": self.title,
            "message": self.message,
            "data": self.data,
            "created_at": iso_utc(self.created_at),
        }


class ActionSink(Protocol):
    """Where actions go. Called inside the engine's transaction (see module docstring)."""

    def submit(self, actions: Sequence[Action]) -> None: ...


class ListSink:
    """Collects every action in :attr:`actions`."""

    def __init__(self) -> None:
        self.actions: list[Action] = []

    def submit(self, actions: Sequence[Action]) -> None:
        self.actions.extend(actions)

    def clear(self) -> None:
        self.actions.clear()


class DatabaseSink:
    """Appends actions to ``rules_action_log`` in the engine's transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def submit(self, actions: Sequence[Action]) -> None:
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO rules_action_log (id, kind, household, rule_id, pack, action_key,"
                " body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO NOTHING",
                [
                    (
                        a.id,
                        a.kind,
                        a.household,
                        a.rule_id,
                        a.pack,
                        a.key,
                        orjson.dumps(a.marshal(), default=str).decode(),
                        a.created_at.timestamp(),
                    )
                    for a in actions
                ],
            )


class OutboxSink:
    """Publishes ``offer`` actions with a ``data["topic"]`` through the outbox.

    The payload is the action's data without ``topic``, in the pack's key order (the
    benchmark reads the first ``"ts"`` key), plus ``rule``; the outbox adds the message
    id. Every other action goes to ``fallback`` (default: the action log).
    """

    def __init__(self, db: Database, outbox: Outbox, fallback: ActionSink | None = None) -> None:
        self._db = db
        self._outbox = outbox
        self._fallback = fallback if fallback is not None else DatabaseSink(db)
        self.published = 0

    def submit(self, actions: Sequence[Action]) -> None:
        rest: list[Action] = []
        with self._db.transaction() as conn:
            for a in actions:
                topic = a.data.get("topic")
                if a.kind == "offer" and isinstance(topic, str):
                    payload = {k: v for k, v in a.data.items() if k != "topic"}
                    payload["rule"] = a.rule_id
                    self._outbox.add(conn, topic, payload, message_id=a.id)
                    self.published += 1
                else:
                    rest.append(a)
            if rest:
                self._fallback.submit(rest)

    def after_commit(self) -> None:
        """Wake the outbox relay (the engine calls this after its commit)."""
        self._outbox.notify()
