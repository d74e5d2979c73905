"""Trace entries: why a rule fired or did not.

Entries are tuples in memory (cheap on the hot path); text that costs formatting may be a
callable, called only when the trace is read or persisted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.clock import iso_utc

DURABLE_OUTCOMES = frozenset({"fired", "held", "condition-failed", "failed", "misfire-skipped"})
"""Outcomes also written to ``rules_traces``; timer starts and cancellations churn with the
data and stay in memory."""

Trace = tuple[float, str, str, "str | None", Any, str, Any]
"""(ts, rule id, pack, household, trigger label, outcome, reason); labels may be callables."""


def trace_dict(t: Trace) -> dict[str, Any]:
    ts, rule_id, pack, household, trigger, outcome, reason = t
    return {
        "at": iso_utc(datetime.fromtimestamp(ts, UTC)),
        "rule": rule_id,
        "pack": pack,
        "household": household,
        "trigger": trigger if isinstance(trigger, str) else trigger(),
        "outcome": outcome,
        "reason": reason if isinstance(reason, str) else reason(),
    }


def from_dict(e: dict[str, Any]) -> Trace:
    """A persisted trace (``trace_dict`` form) back as an entry."""
    at = datetime.fromisoformat(e["at"]).timestamp()
    return (at, e["rule"], e["pack"], e["household"], e["trigger"], e["outcome"], e["reason"])
