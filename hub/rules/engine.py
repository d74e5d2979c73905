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
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.clock import Clock, iso_utc
from hub.errors import RuleError
from hub.events import Reading
from hub.rules.actions import Action, ActionSink
from hub.rules.compiler import (
    ACTIVE,
    CLEAR,
    TRACKED_KINDS,
    CompiledRule,
    Watch,
)
from hub.rules.context import iso, jsonable, reading_dict
from hub.rules.events import DeviceAvailability, NoticeChangeLike, OfferEventLike
from hub.rules.latch import Latch
from hub.rules.matching import notice_context, notice_matches, offer_context, offer_matches
from hub.rules.packset import PackSet, ReloadResult, read_packs
from hub.rules.store import RuleStore
from hub.rules.traces import DURABLE_OUTCOMES, Trace, trace_dict
from hub.rules.traces import from_dict as trace_from_dict
from hub.storage.database import Database

logger = logging.getLogger(__name__)

ConsentCheck = Callable[[str, str], bool]
HouseholdInfo = Callable[[str], Mapping[str, Any]]
HouseholdList = Callable[[], Iterable[str]]

_ROUTE_CACHE_MAX = 50_000
_NUMBER = (int, float)


@dataclass(slots=True)
class _Batch:
    writes: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.writes or self.actions or self.traces)


class RuleEngine:
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
        self._batch = _Batch()
        self._defer = 0
        self._started = False
        self._wakeup: Callable[[], None] | None = None

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
            while heap and heap[0][0] <= ts:
                due, _, household, lkey = heapq.heappop(heap)
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
            for skey, next_at in list(self._schedules.items()):
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

    def _push(self, due: float, household: str, lkey: tuple[str, int, str]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, household, lkey))
        if self._wakeup is not None and self._heap[0][1] == self._seq:
            try:
                self._wakeup()  # a new earliest timer: the timer loop should wake up
            except Exception:
                logger.exception("rules: wake-up callback failed")

    def set_wakeup(self, callback: Callable[[], None] | None) -> None:
        """Called (from the thread that evaluates) when a timer becomes the earliest one."""
        self._wakeup = callback

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

    # -- firing -----------------------------------------------------------------------

    def _reading_ctx(self, w: Watch, r: Reading) -> dict[str, Any]:
        return {"reading": r, "trigger": {"kind": "metric", "index": w.idx, "watch": w}}

    def _fire(self, rule: CompiledRule, household: str, extra: dict[str, Any], label: str) -> None:
        """Cooldown, conditions, de-duplication, actions; every outcome traced."""
        try:
            now = self._clock.now()
            ts = now.timestamp()
            until = self._cooldowns.get((rule.uid, household))
            if until is not None and ts < until:
                self._trace(
                    rule,
                    household,
                    "held",
                    "cooldown until " + iso_utc(datetime.fromtimestamp(until, UTC)),
                    label,
                )
                return
            ctx = self._context(rule, household, now, extra)
            for text, check in rule.conditions:
                ok, why = check(ctx, self)
                if not ok:
                    self._trace(rule, household, "condition-failed", f"{text}: {why}", label)
                    return
            emitted: list[Action] = []
            held: list[str] = []
            for spec in rule.actions:
                key = str(spec.key(ctx)) if spec.key else rule.id
                kind = spec.spec.kind
                if kind == "withdraw":
                    self._release(household, key)
                elif rule.spec.dedup and kind in TRACKED_KINDS:
                    opened = self._open.get((rule.uid, household, key))
                    if opened is not None and ts - opened < rule.spec.dedup_for:
                        held.append(key)
                        continue
                data = jsonable(spec.data(ctx))
                action = Action(
                    kind=kind,
                    household=household,
                    rule_id=rule.id,
                    pack=rule.pack,
                    key=key,
                    title=str(spec.title(ctx)),
                    message=str(spec.message(ctx)),
                    data=data if isinstance(data, dict) else {"value": data},
                    created_at=now,
                )
                emitted.append(action)
            if not emitted:
                self._trace(rule, household, "held", "open: " + ", ".join(held), label)
                return
            for a in emitted:
                if rule.spec.dedup and a.kind in TRACKED_KINDS:
                    self._open[(rule.uid, household, a.key)] = ts
                    self._batch.writes.append(self._store.insert_open(rule, household, a, ts))
            if rule.spec.cooldown:
                until = ts + rule.spec.cooldown
                self._cooldowns[(rule.uid, household)] = until
                self._batch.writes.append(self._store.upsert_cooldown(rule, household, until))
            self._batch.actions.extend(emitted)
            reason = "; ".join(f"{a.kind} {a.key}" for a in emitted)
            if held:
                reason += "; held open: " + ", ".join(held)
            self._trace(rule, household, "fired", reason, label)
        except Exception as exc:
            logger.exception("rule %s failed for household %s", rule.uid, household)
            self._trace(rule, household, "failed", f"{type(exc).__name__}: {exc}", label)

    def _context(
        self, rule: CompiledRule, household: str, now: datetime, extra: dict[str, Any]
    ) -> dict[str, Any]:
        ctx: dict[str, Any] = {"household": household, "now": now.astimezone(rule.tz)}
        reading = extra.get("reading")
        trig = dict(extra.get("trigger", {}))
        watch = trig.pop("watch", None)
        if isinstance(reading, Reading):
            ctx["reading"] = reading_dict(reading)
            trig.update(
                device=reading.device,
                metric=reading.metric,
                channel=reading.channel,
                condition=watch.describe() if watch else "",
            )
        for k, v in extra.items():
            if k not in {"reading", "trigger"}:
                ctx[k] = v
        ctx["trigger"] = trig
        if rule.watches:
            active = self._active_items(rule, household)
            ctx["active"] = active
            ctx["items"] = [a["item"] for a in active]
            ctx["low"] = [{"name": a["item"], "qty": a["value"], "unit": a["unit"]} for a in active]
        if rule.needs_home:
            ctx["home"] = dict(self._household_info(household))
        if "values" in rule.names:
            vals = self._values.get(household, {})
            ctx["values"] = {
                (m if c is None else f"{m}.{c}"): r.value for (m, c), r in vals.items()
            }
        return ctx

    def _active_items(self, rule: CompiledRule, household: str) -> list[dict[str, Any]]:
        out = []
        seen: set[str] = set()
        for (uid, idx, device), st in self._latches.get(household, {}).items():
            if uid != rule.uid:
                continue
            r = st.reading
            item = r.channel or r.metric
            if item in seen:
                continue
            seen.add(item)
            out.append(
                {
                    "item": item,
                    "device": device,
                    "metric": r.metric,
                    "value": r.value,
                    "unit": r.unit,
                    "trigger": idx,
                }
            )
        return out

    # -- EvalScope --------------------------------------------------------------------

    def value(self, household: str, metric: str, channel: str | None) -> Reading | None:
        """The household's latest reading of a metric the loaded rules mention."""
        return self._values.get(household, {}).get((metric, channel))

    def consent(self, household: str, purpose: str) -> bool:
        return bool(self._consent(household, purpose))

    # -- de-duplication ---------------------------------------------------------------

    def release(self, household: str, key: str, *, rule_id: str | None = None) -> int:
        """The suggestion raised under ``key`` closed (accepted, dismissed, expired):
        rules may raise that key again. Returns how many open entries were released."""
        with self._lock:
            n = self._release(household, key, rule_id)
            if not self._defer:
                self._flush()
            return n

    def _release(self, household: str, key: str, rule_id: str | None = None) -> int:
        hits = [
            k
            for k in self._open
            if k[1] == household
            and k[2] == key
            and (rule_id is None or k[0] == rule_id or k[0].endswith("/" + rule_id))
        ]
        for k in hits:
            del self._open[k]
            self._batch.writes.append(self._store.delete_open(k))
        return len(hits)

    # -- traces -----------------------------------------------------------------------

    def _trace(
        self,
        rule: CompiledRule,
        household: str | None,
        outcome: str,
        reason: str | Callable[[], str],
        trigger: str | Callable[[], str],
    ) -> None:
        """Record a decision. Text that costs formatting may be given as a callable: it is
        only called when the trace is read or persisted (the hot path stays cheap)."""
        entry: Trace = (
            self._clock.timestamp(),
            rule.id,
            rule.pack,
            household,
            trigger,
            outcome,
            reason,
        )
        ring = self._traces.get(rule.uid)
        if ring is None:
            ring = self._traces[rule.uid] = deque(maxlen=self._trace_limit)
        ring.append(entry)
        if self._persist_traces and outcome in DURABLE_OUTCOMES:
            # Timer starts and cancellations stay in memory: they churn with the data.
            self._batch.traces.append(entry)

    def traces(
        self, rule_id: str | None = None, household: str | None = None
    ) -> list[dict[str, Any]]:
        """Recent decisions, oldest first: ``at, rule, pack, household, trigger, outcome``
        (``fired``, ``pending``, ``held``, ``condition-failed``, ``cancelled``,
        ``no-match``, ``failed``, ``misfire-skipped``) and ``reason``."""
        with self._lock:
            found: list[Trace] = []
            for uid, ring in self._traces.items():
                if rule_id is not None and rule_id not in {uid, uid.split("/", 1)[1]}:
                    continue
                found.extend(t for t in ring if household is None or t[3] == household)
            found.sort(key=lambda t: t[0])
            return [trace_dict(t) for t in found]

    def pending(self) -> list[dict[str, Any]]:
        """Pending ``for:`` timers: rule, household, device, due."""
        with self._lock:
            return [
                {
                    "rule": lkey[0],
                    "household": hh,
                    "device": lkey[2],
                    "due": iso_utc(datetime.fromtimestamp(st.due, UTC)),
                }
                for hh, latches in self._latches.items()
                for lkey, st in latches.items()
                if st.due is not None and not st.fired
            ]

    # -- durability -------------------------------------------------------------------

    def _flush(self) -> None:
        batch = self._batch
        if not batch:
            return
        self._batch = _Batch()
        try:
            with self._db.transaction() as conn:
                for sql, params in batch.writes:
                    conn.execute(sql, params)
                if batch.traces:
                    self._store.insert_traces(conn, [trace_dict(t) for t in batch.traces])
                if batch.actions:
                    self._sink.submit(batch.actions)
        except Exception:
            logger.exception(
                "rules: committing %d actions and %d state changes failed; state restored",
                len(batch.actions),
                len(batch.writes),
            )
            self._restore(set(self._rules))
            self._sync_schedules()  # a rolled-back schedule firing is due again: retried
            return
        if batch.actions:
            after = getattr(self._sink, "after_commit", None)
            if callable(after):
                try:
                    after()
                except Exception:
                    logger.exception("rules: sink after_commit failed")

    def _restore(self, keep: set[str] | None = None) -> None:
        """Rebuild timers, latches, cooldowns and open keys from the database.

        Latches without a ``for:`` timer live in memory only; those of the rules in
        ``keep`` (unchanged by a reload) are carried over.
        """
        rules = self._rules
        carried = (
            {
                hh: {k: st for k, st in latches.items() if k[0] in keep and st.due is None}
                for hh, latches in self._latches.items()
            }
            if keep
            else {}
        )
        self._latches = {hh: d for hh, d in carried.items() if d}
        self._heap = []
        for row in self._store.latches():
            rule = rules.get(row.rule)
            if rule is None or row.rule_hash != rule.digest:
                continue
            lkey = (row.rule, row.trig, row.device)
            st = Latch(row.since, row.reading, row.due_at, row.fired)
            self._latches.setdefault(row.household, {})[lkey] = st
            if st.due is not None and not st.fired:
                self._push(st.due, row.household, lkey)
        self._cooldowns = self._store.cooldowns(self._clock.timestamp())
        self._open = self._store.open_keys()
        if not self._traces:
            for e in self._store.recent_traces(self._trace_limit):
                uid = f"{e['pack']}/{e['rule']}"
                entry = trace_from_dict(e)
                self._traces.setdefault(uid, deque(maxlen=self._trace_limit)).append(entry)

    def _sync_schedules(self) -> None:
        stored = self._store.schedules()
        now = self._clock.now()
        self._schedules = {}
        for rule in self._rules.values():
            for entry in rule.schedules:
                skey = (rule.uid, entry.idx)
                row = stored.get(skey)
                if row is not None and row[0] == rule.digest:
                    self._schedules[skey] = row[1]
                    continue
                nxt = entry.next_after(now)
                if nxt is not None:
                    self._schedules[skey] = nxt.timestamp()
                    self._batch.writes.append(
                        self._store.upsert_schedule(rule, skey, nxt.timestamp())
                    )

    def _apply_misfires(self) -> None:
        """At start: timers and schedules that came due while the hub was down."""
        now = self._clock.timestamp()
        for hh, latches in self._latches.items():
            for lkey, st in latches.items():
                rule = self._rules.get(lkey[0])
                if rule is None or st.fired or st.due is None or st.due > now:
                    continue
                if rule.spec.misfire == "skip":
                    st.fired = True
                    self._batch.writes.append(self._store.upsert_latch(rule, lkey, hh, st))
                    self._trace(
                        rule,
                        hh,
                        "misfire-skipped",
                        "came due while the hub was down "
                        f"({iso_utc(datetime.fromtimestamp(st.due, UTC))})",
                        "for:",
                    )
        for skey, next_at in list(self._schedules.items()):
            rule = self._rules[skey[0]]
            if next_at <= now and rule.spec.misfire == "skip":
                entry = next(s for s in rule.schedules if s.idx == skey[1])
                nxt = entry.next_after(self._clock.now())
                self._trace(
                    rule,
                    None,
                    "misfire-skipped",
                    "schedule came due while the hub was"
                    f" down ({iso_utc(datetime.fromtimestamp(next_at, UTC))})",
                    "schedule",
                )
                if nxt is None:
                    del self._schedules[skey]
                    self._batch.writes.append(self._store.delete_schedule(skey))
                else:
                    self._schedules[skey] = nxt.timestamp()
                    self._batch.writes.append(
                        self._store.upsert_schedule(rule, skey, nxt.timestamp())
                    )
