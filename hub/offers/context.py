"""What every offers service shares: the unit of work, consent, event and live listeners."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from hub.offers.consent import ConsentPort
from hub.offers.events import EventCallback, OfferEvent
from hub.offers.uow import UnitOfWork

logger = logging.getLogger(__name__)


class LivePort(Protocol):
    """Where live updates for the web UI go (see :class:`hub.offers.live.LiveUpdates`)."""

    def publish(self, audience: str, event: dict[str, Any]) -> None: ...


@dataclass(slots=True)
class Context:
    """Shared collaborators of the offers services."""

    uow: UnitOfWork
    consent: ConsentPort
    on_event: EventCallback | None = None
    live: LivePort | None = None

    def emit(self, kind: str, household: str, obj_id: str, data: dict[str, Any]) -> None:
        """Queue an event for the rules engine and the household's live view (after commit)."""
        event = OfferEvent(kind=kind, household=household, offer_id=obj_id, data=data,
                           at=self.uow.now())
        callback = self.on_event
        if callback is not None:
            self.uow.after_commit(lambda: callback(event))
        self.push(f"household:{household}", {"type": kind, "id": obj_id, **data})

    def push(self, audience: str, event: dict[str, Any]) -> None:
        """Queue a live update for an audience (``household:h-ana``, ``provider:p``, ...)."""
        live = self.live
        if live is not None:
            self.uow.after_commit(lambda: live.publish(audience, event))
