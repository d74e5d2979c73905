"""The rules engine's state: what it holds in memory and what a batch commits."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.clock import Clock
from hub.events import Reading
from hub.rules.actions import Action, ActionSink
from hub.rules.compiler import (
    CompiledRule,
    Watch,
)
from hub.rules.latch import Latch
from hub.rules.packset import PackSet
from hub.rules.store import RuleStore
from hub.rules.traces import Trace
from hub.storage.database import Database

ConsentCheck = Callable[[str, str], bool]
HouseholdInfo = Callable[[str], Mapping[str, Any]]
HouseholdList = Callable[[], Iterable[str]]


@dataclass(slots=True)
class Batch:
    """What one batch decided: durable writes, actions and traces, committed together."""

    writes: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.writes or self.actions or self.traces)


class EngineState:
    """The engine's in-memory state, shared by the parts of :class:`~hub.rules.engine.RuleEngine`.

    Only annotations: :meth:`RuleEngine.__init__` sets every attribute.
    """

    _db: Database
    _store: RuleStore
    _clock: Clock
    _sink: ActionSink
    _consent: ConsentCheck
    _household_info: HouseholdInfo
    _households: HouseholdList | None
    _trace_limit: int
    _persist_traces: bool
    _lock: threading.RLock
    _packs: PackSet
    _paths: list[str]
    _rules: dict[str, CompiledRule]
    _routes: dict[tuple[str, str | None], tuple[tuple[Watch, ...], bool] | None]
    _by_metric: dict[str, list[Watch]]
    _exact: dict[tuple[str, str | None], list[Watch]]
    _tracked: set[tuple[str, str | None]]
    _values: dict[str, dict[tuple[str, str | None], Reading]]
    _latches: dict[str, dict[tuple[str, int, str], Latch]]
    _heap: list[tuple[float, int, str, tuple[str, int, str]]]
    _seq: int
    _schedules: dict[tuple[str, int], float]
    _cooldowns: dict[tuple[str, str], float]
    _open: dict[tuple[str, str, str], float]
    _traces: dict[str, deque[Trace]]
    _batch: Batch
    _defer: int
    _started: bool
    _wakeup: Callable[[], None] | None
    _owns: Callable[[str | None], bool] | None

    def _flush(self) -> None:
        """Commit what is pending (implemented by :class:`hub.rules.durability.Durability`)."""
        raise NotImplementedError
