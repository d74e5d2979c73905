"""Helpers shared by the offers tests (imported by name: test dirs have no __init__)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from hub.clock import FakeClock
from hub.offers.events import OfferEvent
from hub.offers.seed import StorySeed
from hub.offers.service import OffersService
from hub.storage.database import Database
from hub.storage.outbox import Outbox

SATURDAY = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """The rules engine's Action, as its contract describes it."""

    kind: str
    household: str
    rule_id: str = "r"
    pack: str = "p"
    key: str = "k"
    title: str = ""
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = SATURDAY


class Grants:
    """A consent port with explicit grants: (household, provider, purpose) -> signals."""

    def __init__(self) -> None:
        self.grants: dict[tuple[str, str, str], set[str]] = {}
        self.asked: list[tuple[str, str, tuple[str, ...], str, str]] = []

    def grant(self, household: str, provider: str, purpose: str, *signals: str) -> None:
        self.grants.setdefault((household, provider, purpose), set()).update(signals)

    def revoke(self, household: str, provider: str, purpose: str) -> None:
        self.grants.pop((household, provider, purpose), None)

    def allowed(self, household: str, provider: str, provider_kinds: Sequence[str],
                purpose: str, signal: str) -> bool:
        self.asked.append((household, provider, tuple(provider_kinds), purpose, signal))
        return signal in self.grants.get((household, provider, purpose), set())


@dataclass
class Hub:
    db: Database
    outbox: Outbox
    clock: FakeClock
    offers: OffersService
    events: list[OfferEvent]
    seed: StorySeed
    grants: Grants

    def feed(self, provider: str) -> list[tuple[str, dict[str, Any]]]:
        """Outbox messages for a provider's feed, oldest first."""
        rows = self.db.query("SELECT topic, payload FROM outbox WHERE topic LIKE ?"
                             " ORDER BY created_at, rowid", (f"providers/{provider}/%",))
        return [(r["topic"], orjson.loads(r["payload"])) for r in rows]

    def messages(self, prefix: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self.db.query("SELECT topic, payload FROM outbox WHERE topic LIKE ?"
                             " ORDER BY created_at, rowid", (f"{prefix}%",))
        return [(r["topic"], orjson.loads(r["payload"])) for r in rows]

    def kinds(self, kind: str) -> list[OfferEvent]:
        return [e for e in self.events if e.kind == kind]

