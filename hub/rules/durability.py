"""The engine's durable state: one commit per batch, restore after a start or a failed commit,
timers and schedules that came due while the hub was down (``misfire``).

A part of :class:`~hub.rules.engine.RuleEngine`; the SQL is in :mod:`hub.rules.store`.
"""

from __future__ import annotations

import heapq
import logging
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from hub.clock import iso_utc
from hub.rules.engine_state import Batch
from hub.rules.firing import Firing
from hub.rules.latch import Latch
from hub.rules.traces import from_dict as trace_from_dict
from hub.rules.traces import trace_dict

logger = logging.getLogger("hub.rules.engine")


class Durability(Firing):
    """Commit, restore and misfire handling of the engine."""

    def _push(self, due: float, household: str, lkey: tuple[str, int, str]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, household, lkey))
        if self._wakeup is not None and self._heap[0][1] == self._seq:
            try:
                self._wakeup()  # a new earliest timer: the timer loop should wake up
            except Exception:
                logger.exception("rules: wake-up callback failed")

    def set_owner(self, owns: Callable[[str | None], bool] | None) -> None:
        """Fire only the timers of households for which ``owns(household)`` is true, and the
        schedules only while ``owns(None)`` is (partitioned workers, hub.cluster); None: all."""
        self._owns = owns

    def resync(self) -> None:
        """Read the durable state again: a share moved here, its timers, cooldowns and open
        keys (and, for share 0, the schedules) were another worker's until now (they are in the
        database, committed per batch)."""
        with self._lock:
            self._flush()
            self._restore(set(self._rules))
            # The schedules' next times too: share 0's previous holder advanced them.
            self._sync_schedules()
            self._flush()

    def set_wakeup(self, callback: Callable[[], None] | None) -> None:
        """Called (from the thread that evaluates) when a timer becomes the earliest one."""
        self._wakeup = callback

    def _flush(self) -> None:
        batch = self._batch
        if not batch:
            return
        self._batch = Batch()
        try:
            with self._db.transaction() as conn:
                for sql, params in batch.writes:
                    conn.execute(sql, params)
                if batch.traces:
                    self._store.insert_traces(conn, [trace_dict(t) for t in batch.traces],
                                              [t[0] for t in batch.traces])
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
