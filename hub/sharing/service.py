"""The sharing package's facade: things, loans, reminders (and, beside them, photos,
give-aways, swaps and wanted posts), built on the offers package's unit of work,
idempotency keys, calendar and hash-chained ratings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.offers.service import OffersService
from hub.sharing.loans import Loans
from hub.sharing.photos import Photos
from hub.sharing.reminders import Reminders
from hub.sharing.things import NewThing, Things


class SharingService:
    """Everything about sharing what households own.

    Args:
        offers: the offers service whose unit of work, calendar and idempotency it joins.
        photos_dir: where photo files go (outside any web root; served by an authorised
            route only).
    """

    def __init__(self, offers: OffersService, photos_dir: Path) -> None:
        self.offers = offers
        self.ctx = offers.ctx
        self.db = offers.db
        self.idempotency = offers.idempotency
        self.things = Things(self.ctx)
        self.reminders = Reminders(self.ctx)
        self.loans = Loans(self.ctx, self.things, offers.calendar, self.reminders)
        self.photos = Photos(self.ctx, self.things, photos_dir)

    def create_thing(self, owner: str, new: NewThing, actor: str) -> dict[str, Any]:
        """List a thing."""
        return self.things.create(owner, new, actor)

    def run_due(self) -> list[tuple[str, str]]:
        """Periodic work: send due reminders (more jobs join as the stage grows)."""
        return self.reminders.run_due()
