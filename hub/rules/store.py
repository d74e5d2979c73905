"""The engine's durable state in SQLite (tables of migration ``0010_rules.sql``).

Writers return ``(sql, params)`` pairs that the engine executes in its batch transaction;
readers run at load and after a failed commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from hub.events import Reading
from hub.rules.latch import Latch
from hub.storage.database import Database

if TYPE_CHECKING:
    from hub.rules.actions import Action
    from hub.rules.compiler import CompiledRule

Write = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class LatchRow:
    rule: str
    trig: int
    household: str
    device: str
    rule_hash: str
    since: float
    due_at: float | None
    fired: bool
    reading: Reading


class RuleStore:
    """SQL of the rules tables."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._trace_inserts = 0

    # -- latches and timers -----------------------------------------------------------

    def upsert_latch(
        self, rule: CompiledRule, lkey: tuple[str, int, str], household: str, st: Latch
    ) -> Write:
        return (
            "INSERT INTO rules_state (rule, trig, household, device, rule_hash, since, due_at,"
            " fired, reading) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (rule, trig, household, device) DO UPDATE SET"
            " rule_hash = excluded.rule_hash, since = excluded.since, due_at = excluded.due_at,"
            " fired = excluded.fired, reading = excluded.reading",
            (
                lkey[0],
                lkey[1],
                household,
                lkey[2],
                rule.digest,
                st.since,
                st.due,
                int(st.fired),
                orjson.dumps(st.reading.marshal()).decode(),
            ),
        )

    def delete_latch(self, lkey: tuple[str, int, str], household: str) -> Write:
        return (
            "DELETE FROM rules_state WHERE rule = ? AND trig = ? AND household = ? AND device = ?",
            (lkey[0], lkey[1], household, lkey[2]),
        )

    def latches(self) -> list[LatchRow]:
        out = []
        for r in self._db.query("SELECT * FROM rules_state"):
            try:
                data = orjson.loads(r["reading"])
                reading = Reading(
                    **{
                        k: data.get(k)
                        for k in ("device", "metric", "value", "unit", "channel", "ts")
                    }
                )
            except (orjson.JSONDecodeError, TypeError):
                reading = Reading(device=r["device"], metric="", value=0)
            out.append(
                LatchRow(
                    r["rule"],
                    r["trig"],
                    r["household"],
                    r["device"],
                    r["rule_hash"],
                    r["since"],
                    r["due_at"],
                    bool(r["fired"]),
                    reading,
                )
            )
        return out

    def prune(self, keep: Mapping[str, str]) -> None:
        """Drop timers and schedules of rules that are gone or changed (uid -> digest)."""
        with self._db.transaction() as conn:
            for table in ("rules_state", "rules_schedules"):
                rows = conn.execute(f"SELECT DISTINCT rule, rule_hash FROM {table}").fetchall()
                for rule, digest in rows:
                    if keep.get(rule) != digest:
                        conn.execute(
                            f"DELETE FROM {table} WHERE rule = ? AND rule_hash = ?", (rule, digest)
                        )

    # -- schedules --------------------------------------------------------------------

    def upsert_schedule(self, rule: CompiledRule, skey: tuple[str, int], next_at: float) -> Write:
        return (
            "INSERT INTO rules_schedules (rule, trig, rule_hash, next_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (rule, trig) DO UPDATE SET rule_hash = excluded.rule_hash,"
            " next_at = excluded.next_at",
            (skey[0], skey[1], rule.digest, next_at),
        )

    def delete_schedule(self, skey: tuple[str, int]) -> Write:
        return ("DELETE FROM rules_schedules WHERE rule = ? AND trig = ?", skey)

    def schedules(self) -> dict[tuple[str, int], tuple[str, float]]:
        return {
            (r["rule"], r["trig"]): (r["rule_hash"], r["next_at"])
            for r in self._db.query("SELECT * FROM rules_schedules")
        }

    # -- cooldowns and open keys ------------------------------------------------------

    def upsert_cooldown(self, rule: CompiledRule, household: str, until: float) -> Write:
        return (
            "INSERT INTO rules_cooldowns (rule, household, until) VALUES (?, ?, ?)"
            " ON CONFLICT (rule, household) DO UPDATE SET until = excluded.until",
            (rule.uid, household, until),
        )

    def cooldowns(self, now: float) -> dict[tuple[str, str], float]:
        return {
            (r["rule"], r["household"]): r["until"]
            for r in self._db.query("SELECT * FROM rules_cooldowns WHERE until > ?", (now,))
        }

    def insert_open(self, rule: CompiledRule, household: str, action: Action, now: float) -> Write:
        return (
            "INSERT INTO rules_open (rule, household, action_key, action_id, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (rule, household, action_key) DO UPDATE SET"
            " action_id = excluded.action_id, created_at = excluded.created_at",
            (rule.uid, household, action.key, action.id, now),
        )

    def delete_open(self, k: tuple[str, str, str]) -> Write:
        return ("DELETE FROM rules_open WHERE rule = ? AND household = ? AND action_key = ?", k)

    def open_keys(self) -> dict[tuple[str, str, str], float]:
        return {
            (r["rule"], r["household"], r["action_key"]): r["created_at"]
            for r in self._db.query("SELECT * FROM rules_open")
        }

    # -- traces -----------------------------------------------------------------------

    def insert_traces(self, conn: sqlite3.Connection, traces: list[dict[str, Any]],
                      at: list[float] | None = None) -> None:
        """Persist traces (``trace_dict`` form); ``at``: their epoch seconds, when the caller
        has them (else read back from each trace's ISO text)."""
        conn.executemany(
            "INSERT INTO rules_traces (rule, household, at, body) VALUES (?, ?, ?, ?)",
            [
                (
                    f"{t['pack']}/{t['rule']}",
                    t["household"],
                    at[i] if at is not None else datetime.fromisoformat(t["at"]).timestamp(),
                    orjson.dumps(t).decode(),
                )
                for i, t in enumerate(traces)
            ],
        )
        self._trace_inserts += len(traces)
        if self._trace_inserts >= 5000:
            # Bounded: keep the newest 20,000 decisions (a rule's own last N stay in memory).
            self._trace_inserts = 0
            conn.execute(
                "DELETE FROM rules_traces WHERE id <= (SELECT MAX(id) FROM rules_traces) - 20000"
            )

    def recent_traces(self, per_rule: int) -> list[dict[str, Any]]:
        rows = self._db.query(
            "SELECT body FROM rules_traces WHERE id > (SELECT COALESCE(MAX(id), 0) FROM"
            " rules_traces) - ? ORDER BY id",
            (per_rule * 50,),
        )
        return [orjson.loads(r["body"]) for r in rows]

    # -- households -------------------------------------------------------------------

    def household_info(self, household: str) -> Mapping[str, Any]:
        """A household's row with its attributes merged in (``members``, ``preferences``,
        ``opt_outs``, ...); empty when unknown."""
        try:
            row = self._db.query_one("SELECT * FROM households WHERE id = ?", (household,))
        except sqlite3.Error:
            return {}
        if row is None:
            return {}
        info: dict[str, Any] = {
            "id": row["id"],
            "community": row["community"],
            "name": row["name"],
            "street": row["street"],
            "language": row["language"],
        }
        for col in ("area_codes", "attributes"):
            try:
                value = orjson.loads(row[col] or "{}")
            except orjson.JSONDecodeError:
                value = {}
            if col == "attributes" and isinstance(value, dict):
                info.update(value)
            else:
                info[col] = value
        return info

    def household_ids(self) -> list[str]:
        try:
            return [r["id"] for r in self._db.query("SELECT id FROM households")]
        except sqlite3.Error:
            return []
