"""How a rule fires: cooldown, conditions, de-duplication of open keys, actions, traces.

A part of :class:`~hub.rules.engine.RuleEngine` (see its module docstring); it also serves
the compiled conditions as their :class:`~hub.rules.compiler.EvalScope`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hub.clock import iso_utc
from hub.events import Reading
from hub.rules.actions import Action
from hub.rules.compiler import (
    TRACKED_KINDS,
    CompiledRule,
    Watch,
)
from hub.rules.context import jsonable, reading_dict
from hub.rules.engine_state import EngineState
from hub.rules.traces import DURABLE_OUTCOMES, Trace, trace_dict

logger = logging.getLogger("hub.rules.engine")


class Firing(EngineState):
    """Firing, de-duplication and traces of the engine."""

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

    def value(self, household: str, metric: str, channel: str | None) -> Reading | None:
        """The household's latest reading of a metric the loaded rules mention."""
        return self._values.get(household, {}).get((metric, channel))

    def consent(self, household: str, purpose: str) -> bool:
        return bool(self._consent(household, purpose))

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
