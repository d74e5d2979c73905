"""The sharing package's facade: things, loans, reminders (and, beside them, photos,
give-aways, swaps and wanted posts), built on the offers package's unit of work,
idempotency keys, calendar and hash-chained ratings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.offers.service import OffersService
from hub.sharing.appliances import Appliances
from hub.sharing.giveaways import Giveaways
from hub.sharing.loans import Loans
from hub.sharing.photos import Photos
from hub.sharing.reminders import Reminders
from hub.sharing.swaps import Swaps
from hub.sharing.things import NewThing, Things
from hub.sharing.wanted import Wanted


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
        self.wanted = Wanted(self.ctx, self.things)
        self.loans = Loans(self.ctx, self.things, offers.calendar, self.reminders, self.wanted)
        self.giveaways = Giveaways(self.ctx, self.things)
        self.swaps = Swaps(self.ctx, self.things)
        self.appliances = Appliances(self.ctx)
        self.photos = Photos(self.ctx, self.things, photos_dir)

    def create_thing(self, owner: str, new: NewThing, actor: str) -> dict[str, Any]:
        """List a thing, and match it to the community's open wanted posts."""
        with self.ctx.uow.tx() as conn:
            view = self.things.create(owner, new, actor)
            self.wanted.thing_listed(conn, self.things.owned(conn, view["id"], owner))
            if new.suggestion:  # listed in one tap from a "share it?" suggestion
                self.offers.suggestions.mark(conn, owner, new.suggestion, "accepted", actor,
                                             acted_ref=view["id"],
                                             event={"object": "thing", "title": view["title"]})
            return view

    def run_due(self) -> list[tuple[str, str]]:
        """Periodic work: due reminders, draws, lapsed pickups, expired wanted posts;
        returns (what, id) of each job done."""
        done = [(f"reminder-{kind}", loan) for loan, kind in self.reminders.run_due()]
        done += [("giveaway", tid) for tid in self.giveaways.run_due()]
        done += [("wanted-expired", wid) for wid in self.wanted.run_due()]
        done += [(kind, ref) for kind, _household, ref in self.appliances.scan()]
        return done
