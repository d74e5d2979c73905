"""The rules engine: compiled packs, hot-path evaluation, durable timers and schedules.

Wiring (the composition root does this)::

    engine = RuleEngine(db, clock, sink, consent_check=consents.allowed)
    result = engine.reload(["rules/"])             # at start, on SIGHUP, from the API
    with engine.batch():                           # ingest: one commit per drained batch
        engine.on_readings(household, readings)    # hot path, per message
    engine.on_readings(household, readings, replay=True)   # retained messages after start
    engine.on_event(NoticeChange(...) | OfferEvent(...) | DeviceAvailability(...))
    engine.tick(clock.now())                       # fire due for: timers and schedules
    engine.next_due()                              # when to call tick next (None: nothing)
    asyncio.create_task(run_timers(engine, clock)) # or let hub.rules.timers do both
    engine.release(household, key)                 # offers: the suggestion with key closed
    engine.traces(rule_id=None, household=None)    # why rules fired or not (newest last)

Evaluation model:

* A metric trigger is *latched* per (rule, trigger, household, device): it becomes active
  when its condition holds (``below: 0.5``) and clears only past its hysteresis bound
  (``clear_above: 1.0``). Activation fires the rule at once, or starts a ``for:`` timer
  that fires when due unless the trigger cleared first. ``latch: false`` fires on every
  matching reading instead.
* When a rule fires: the per-household cooldown first, then the conditions, then the
  de-duplication of open keys per action. Every decision is traced.
* Activations, timers, cooldowns, open keys and schedules are written to SQLite in one
  transaction per batch, together with the sink's own writes (see
  :mod:`hub.rules.actions`), so a crash (even ``kill -9``) neither loses nor repeats a
  firing. A timer that came due while the hub was down fires once on the first
  :meth:`tick`, or is dropped when the rule says ``misfire: skip``.
* With ``replay=True`` readings update the latches without firing: a trigger that becomes
  active during a replay counts as already fired.

The engine is not async; it is guarded by a lock so that the ingest thread, the event loop
and the API may all call it.

Its parts, one idea each: this module loads packs and evaluates readings, events and time;
:mod:`hub.rules.firing` fires rules (cooldown, conditions, de-duplication, traces);
:mod:`hub.rules.durability` commits each batch and restores after a start;
:mod:`hub.rules.engine_state` declares the state they share.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.clock import Clock
from hub.errors import RuleError
from hub.events import Reading
from hub.rules.actions import ActionSink
from hub.rules.compiler import (
    ACTIVE,
    CLEAR,
    CompiledRule,
    Watch,
)
from hub.rules.context import iso
from hub.rules.durability import Durability
from hub.rules.engine_state import Batch, ConsentCheck, HouseholdInfo, HouseholdList
from hub.rules.events import DeviceAvailability, NoticeChangeLike, OfferEventLike
from hub.rules.latch import Latch
from hub.rules.matching import notice_context, notice_matches, offer_context, offer_matches
from hub.rules.packset import PackSet, ReloadResult, read_packs
from hub.rules.store import RuleStore
from hub.rules.traces import Trace
from hub.storage.database import Database

logger = logging.getLogger(__name__)


_ROUTE_CACHE_MAX = 50_000
_NUMBER = (int, float)


class RuleEngine(Durability):
    """Evaluates rule packs against readings and events; see the module docstring.

    Args:
        db: the hub's database (durable timers, cooldowns, de-duplication, traces).
        clock: the hub's clock (``FakeClock`` in tests and backtests).
        sink: where actions go.
        consent_check: ``(household, purpose) -> bool`` for ``consent:`` conditions.
        household_info: ``household -> attributes`` for ``household:`` conditions and the
            ``home`` template variable (default: the ``households`` table).
        households: every household a schedule fires for (default: the ``households``
            table plus every household seen in readings).
        trace_limit: decisions kept per rule.
        persist_traces: also write traces to ``rules_traces`` (off for backtests).
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        sink: ActionSink,
        *,
        consent_check: ConsentCheck | None = None,
        household_info: HouseholdInfo | None = None,
        households: HouseholdList | None = None,
        trace_limit: int = 50,
        persist_traces: bool = True,
    ) -> None:
        self._db = db
        self._store = RuleStore(db)
        self._clock = clock
        self._sink = sink
        self._consent = consent_check or (lambda _h, _p: True)
        self._household_info = household_info or self._store.household_info
        self._households = households
        self._trace_limit = trace_limit
        self._persist_traces = persist_traces
        self._lock = threading.RLock()
        self._packs: PackSet = {}  # by file
        self._paths: list[str] = []
        self._rules: dict[str, CompiledRule] = {}
        self._routes: dict[tuple[str, str | None], tuple[tuple[Watch, ...], bool] | None] = {}
        self._by_metric: dict[str, list[Watch]] = {}
        self._exact: dict[tuple[str, str | None], list[Watch]] = {}
        self._tracked: set[tuple[str, str | None]] = set()
        self._values: dict[str, dict[tuple[str, str | None], Reading]] = {}
        self._latches: dict[str, dict[tuple[str, int, str], Latch]] = {}
        self._heap: list[tuple[float, int, str, tuple[str, int, str]]] = []
        self._seq = 0
        self._schedules: dict[tuple[str, int], float] = {}
        self._cooldowns: dict[tuple[str, str], float] = {}
        self._open: dict[tuple[str, str, str], float] = {}  # -> opened at
        self._traces: dict[str, deque[Trace]] = {}
        self._batch = Batch()
        self._defer = 0
        self._started = False
        self._wakeup: Callable[[], None] | None = None
        self._owns: Callable[[str | None], bool] | None = None  # partitioned workers (set_owner)

    # -- packs ------------------------------------------------------------------------

    def reload(self, paths: Sequence[str | Path] | None = None) -> ReloadResult:
        """(Re)load the packs at ``paths`` (files or folders; default: the last ones).

        A pack that fails validation keeps its previous version (or stays out); the
        pending timers and schedules of rules whose definition did not change are kept.
        The first call also restores the durable state and applies ``misfire`` rules.
        """
        with self._lock:
            if paths is not None:
                self._paths = [str(p) for p in paths]
            fresh, errors = read_packs(self._paths, self._packs)
            result = self._install(fresh, errors)
        for err in result.errors:
            logger.error("rule pack rejected: %s", err)
        logger.info(
            "rules loaded: packs=%s added=%d changed=%d removed=%d unchanged=%d errors=%d",
            ",".join(result.packs),
            len(result.added),
            len(result.changed),
            len(result.removed),
            len(result.unchanged),
            len(result.errors),
        )
        return result

    def _install(self, fresh: PackSet, errors: list[RuleError]) -> ReloadResult:
        self._flush()  # what the old rules decided is committed before the state is rebuilt
        old = {uid: r.digest for uid, r in self._rules.items()}
        rules = {r.uid: r for _, compiled in fresh.values() for r in compiled}
        self._packs = fresh
        self._rules = rules
        self._index()
        added = tuple(sorted(u for u in rules if u not in old))
        changed = tuple(sorted(u for u in rules if u in old and old[u] != rules[u].digest))
        removed = tuple(sorted(u for u in old if u not in rules))
        unchanged = tuple(sorted(u for u in rules if old.get(u) == rules[u].digest))
        keep = {u: r.digest for u, r in rules.items()}
        self._store.prune(keep)
        self._restore(set(unchanged))
        self._sync_schedules()
        if not self._started:
            self._started = True
            self._apply_misfires()
        self._flush()
        return ReloadResult(
            packs=tuple(sorted(p.name for p, _ in fresh.values())),
            added=added,
            changed=changed,
            removed=removed,
            unchanged=unchanged,
            errors=tuple(errors),
        )

    def _index(self) -> None:
        by_metric: dict[str, list[Watch]] = {}
        exact: dict[tuple[str, str | None], list[Watch]] = {}
        tracked: set[tuple[str, str | None]] = set()
        for rule in self._rules.values():
            tracked |= rule.tracked
            for w in rule.watches:
                if w.channel is None and w.metric != "online":
                    by_metric.setdefault(w.metric, []).append(w)
                else:
                    exact.setdefault((w.metric, w.channel), []).append(w)
        self._by_metric, self._exact, self._tracked = by_metric, exact, tracked
        self._routes = {}

    def _route(self, key: tuple[str, str | None]) -> tuple[tuple[Watch, ...], bool] | None:
        """Watches and tracking for a (metric, channel); cached (the hot path's index)."""
        metric, _channel = key
        watches = tuple(self._exact.get(key, ())) + tuple(self._by_metric.get(metric, ()))
        track = key in self._tracked
        route = (watches, track) if watches or track else None
        if len(self._routes) < _ROUTE_CACHE_MAX:
            self._routes[key] = route
        return route

    @property
    def rules(self) -> list[CompiledRule]:
        """The compiled rules now loaded."""
        return list(self._rules.values())

    # -- hot path ---------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group the durable writes and actions of many calls into one commit.

        The ingest wraps each batch it drains in ``with engine.batch():`` so that a batch of
        messages costs one transaction, not one per message; it acknowledges the batch to
        the broker after the block exits (the commit happened).
        """
        with self._lock:
            self._defer += 1
            try:
                yield
            finally:
                self._defer -= 1
                if not self._defer and self._batch:
                    self._flush()

    def flush(self) -> None:
        """Commit what is pending now (also inside :meth:`batch`)."""
        with self._lock:
            self._flush()

    def on_readings(
        self, household: str, readings: Sequence[Reading], *, replay: bool = False
    ) -> None:
        """Evaluate a household's readings (one message or a batch of them).

        Args:
            household: the household the readings came from (from the topic and login).
            readings: canonical readings.
            replay: retained messages replayed after a restart: restore state, never fire.
        """
        with self._lock:
            routes = self._routes
            values = None
            latches = self._latches.get(household)
            for r in readings:
                key = (r.metric, r.channel)
                route = routes.get(key, False)
                if route is False:
                    route = self._route(key)
                if route is None:
                    continue
                watches, track = route  # type: ignore[misc]
                if track:
                    if values is None:
                        values = self._values.get(household)
                        if values is None:
                            values = self._values[household] = {}
                    values[key] = r
                value: Any = r.value
                for w in watches:
                    if w.device is not None and w.device != r.device:
                        continue
                    # Inlined Watch.judge for the common numeric threshold (hot path).
                    if w.mode == "below" and type(value) in _NUMBER:
                        verdict = (
                            ACTIVE if value < w.threshold else CLEAR if value >= w.clear else 0
                        )
                    else:
                        verdict = w.judge(value)
                    if not w.latch:
                        if verdict == ACTIVE and not replay:
                            self._fire(w.rule, household, self._reading_ctx(w, r), w.describe())
                        continue
                    lkey = (w.key[0], w.key[1], r.device)
                    st = latches.get(lkey) if latches is not None else None
                    if st is None:
                        if verdict == ACTIVE:
                            self._activate(w, household, lkey, r, replay)
                            latches = self._latches.get(household)
                    elif verdict == CLEAR:
                        self._clear(w, household, lkey, st)
                    else:
                        st.reading = r
            if self._batch and not self._defer:
                self._flush()

    def _activate(
        self, w: Watch, household: str, lkey: tuple[str, int, str], r: Reading, replay: bool
    ) -> None:
        now = self._clock.timestamp()
        rule = w.rule
        due = now + w.for_s if (w.for_s and not replay) else None
        st = Latch(now, r, due, fired=replay or due is None)
        self._latches.setdefault(household, {})[lkey] = st
        if w.for_s:
            # Only for: latches are durable: the others fired at once, and after a restart
            # the replay, the cooldown and the open keys keep them from firing twice.
            self._batch.writes.append(self._store.upsert_latch(rule, lkey, household, st))
        if replay:
            return
        if due is not None:
            self._push(due, household, lkey)
            self._trace(
                rule,
                household,
                "pending",
                lambda: f"{w.describe()}: waiting until {iso(due)}",
                w.describe,
            )
            return
        self._fire(rule, household, self._reading_ctx(w, r), w.describe())

    def _clear(self, w: Watch, household: str, lkey: tuple[str, int, str], st: Latch) -> None:
        del self._latches[household][lkey]
        if w.for_s:
            self._batch.writes.append(self._store.delete_latch(lkey, household))
        if not st.fired:
            self._trace(
                w.rule,
                household,
                "cancelled",
                lambda: f"{w.describe()} cleared before for: elapsed",
                w.describe,
            )

    # -- events -----------------------------------------------------------------------

    def on_event(self, event: object) -> None:
        """Evaluate a non-telemetry event: :class:`DeviceAvailability`, a notice change
        (:class:`NoticeChangeLike`) or an offer event (:class:`OfferEventLike`). Unknown
        events are logged and ignored."""
        if isinstance(event, DeviceAvailability):
            reading = Reading(device=event.device, metric="online", value=event.online, ts=event.ts)
            self.on_readings(event.household, (reading,))
            return
        with self._lock:
            if isinstance(event, NoticeChangeLike):
                self._on_notice(event)
            elif isinstance(event, OfferEventLike):
                self._on_offer(event)
            else:
                logger.warning("rules: ignoring unknown event %r", type(event).__name__)
            if not self._defer:
                self._flush()

    def _on_notice(self, change: NoticeChangeLike) -> None:
        now = self._clock.now()
        for rule in self._rules.values():
            for idx, spec in rule.notices:
                try:
                    ok, why = notice_matches(spec, change, now, rule.tz)
                except Exception:
                    logger.exception("rule %s: notice trigger failed", rule.uid)
                    continue
                label = f"notice {change.action} {change.notice.id}"
                households = sorted(change.households)
                if not ok:
                    for hh in households:
                        self._trace(rule, hh, "no-match", why, label)
                    continue
                ctx = {
                    "notice": notice_context(change, rule.tz),
                    "trigger": {"kind": "notice", "index": idx, "action": change.action},
                }
                for hh in households:
                    self._fire(rule, hh, ctx, label)

    def _on_offer(self, event: OfferEventLike) -> None:
        key = event.data.get("key") if isinstance(event.data, Mapping) else None
        if isinstance(key, str) and event.kind in {"accepted", "expired", "cancelled"}:
            self._release(event.household, key)
        for rule in self._rules.values():
            for idx, spec in rule.offers:
                ok, _why = offer_matches(spec, event)
                label = f"offer {event.kind} {event.offer_id}"
                if not ok:
                    continue
                ctx = {
                    "offer": offer_context(event),
                    "trigger": {"kind": "offer", "index": idx, "event": event.kind},
                }
                self._fire(rule, event.household, ctx, label)

    # -- time -------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> None:
        """Fire every ``for:`` timer and schedule due at ``now`` (default: the clock)."""
        with self._lock:
            ts = (now or self._clock.now()).timestamp()
            heap = self._heap
            owns = self._owns
            while heap and heap[0][0] <= ts:
                due, _, household, lkey = heapq.heappop(heap)
                if owns is not None and not owns(household):
                    continue  # another worker's household: its holder fires it (resync brings it back here)
                st = self._latches.get(household, {}).get(lkey)
                rule = self._rules.get(lkey[0])
                if st is None or st.fired or st.due != due or rule is None:
                    continue  # stale entry: cleared, fired or rule changed
                st.fired = True
                self._batch.writes.append(self._store.upsert_latch(rule, lkey, household, st))
                watch = next((x for x in rule.watches if x.idx == lkey[1]), None)
                if watch is None:
                    continue
                self._fire(
                    rule,
                    household,
                    self._reading_ctx(watch, st.reading),
                    f"{watch.describe()} for {watch.for_s:g}s",
                )
            for skey, next_at in list(self._schedules.items()) if owns is None or owns(None) else ():
                if next_at <= ts:
                    self._run_schedule(skey, next_at, ts)
            if self._batch and not self._defer:
                self._flush()

    def next_due(self) -> datetime | None:
        """The earliest pending timer or schedule (None when nothing is pending)."""
        with self._lock:
            heap = self._heap
            while heap:
                due, _, household, lkey = heap[0]
                st = self._latches.get(household, {}).get(lkey)
                if st is not None and not st.fired and st.due == due:
                    break
                heapq.heappop(heap)
            times = [heap[0][0]] if heap else []
            times.extend(self._schedules.values())
            return datetime.fromtimestamp(min(times), UTC) if times else None



    def _run_schedule(self, skey: tuple[str, int], next_at: float, now: float) -> None:
        rule = self._rules.get(skey[0])
        entry = next((s for s in rule.schedules if s.idx == skey[1]), None) if rule else None
        if rule is None or entry is None:
            self._schedules.pop(skey, None)
            return
        after = datetime.fromtimestamp(max(next_at, now), UTC)
        nxt = entry.next_after(after)
        if nxt is None:
            self._schedules.pop(skey, None)
            self._batch.writes.append(self._store.delete_schedule(skey))
        else:
            self._schedules[skey] = nxt.timestamp()
            self._batch.writes.append(self._store.upsert_schedule(rule, skey, nxt.timestamp()))
        households = entry.spec.households or sorted(self._known_households())
        label = f"schedule {entry.spec.cron or entry.spec.every or entry.spec.at}"
        ctx = {
            "trigger": {
                "kind": "schedule",
                "index": entry.idx,
                "scheduled": datetime.fromtimestamp(next_at, UTC).astimezone(rule.tz),
            }
        }
        for hh in households:
            self._fire(rule, hh, ctx, label)

    def _known_households(self) -> set[str]:
        if self._households is not None:
            return set(self._households())
        return set(self._store.household_ids()) | set(self._values) | set(self._latches)
