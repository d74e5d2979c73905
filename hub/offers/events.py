"""Events the offers package tells the rest of the hub about (the rules engine listens).

Kinds: ``accepted``, ``declined``, ``expired``, ``cancelled``, ``clashing``, ``claimed``,
``scheduled``, ``moved``, ``fulfilled``, ``rated``, ``withdrawn``, ``waitlisted``,
``booked``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub.events import OFFER_EVENT_KINDS

EVENT_KINDS = frozenset(OFFER_EVENT_KINDS)


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferEvent:
    """Something happened to an offer, a booking or a suggestion.

    Attributes:
        kind: one of :data:`EVENT_KINDS`.
        household: the household it concerns.
        offer_id: the object's id (offer, booking, suggestion, gathering or ride).
        data: details (object kind, slot, clashing booking ids, ...).
        at: ISO 8601 UTC time of the change.
    """

    kind: str
    household: str
    offer_id: str
    data: dict[str, Any] = field(default_factory=dict)
    at: str = ""

    def marshal(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": self.kind,
            "household": self.household,
            "offer_id": self.offer_id,
            "data": self.data,
            "at": self.at,
        }

    @classmethod
    def unmarshal(cls, raw: dict[str, Any]) -> OfferEvent:
        """The inverse of :meth:`marshal`."""
        return cls(
            kind=str(raw["kind"]),
            household=str(raw["household"]),
            offer_id=str(raw["offer_id"]),
            data=dict(raw.get("data") or {}),
            at=str(raw.get("at") or ""),
        )


EventCallback = Callable[[OfferEvent], None]
