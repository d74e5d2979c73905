"""Fixtures for the offers tests: a real SQLite file, a fake clock, the story's cast."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from offers_fixtures import SATURDAY, Grants, Hub

from hub.clock import FakeClock
from hub.offers.events import OfferEvent
from hub.offers.seed import seed_story
from hub.offers.service import OffersService
from hub.storage.outbox import Outbox
from tests.stores import open_db


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    db = open_db(tmp_path / "hub.db")
    clock = FakeClock(SATURDAY)
    outbox = Outbox(db)
    events: list[OfferEvent] = []
    grants = Grants()
    offers = OffersService(db, outbox, clock, consent=grants, on_event=events.append)
    seed = seed_story(db, clock)
    for hid in seed.households:
        grants.grant(hid, "fresh-grocer", "grocery_delivery", "pantry_needs", "slot",
                     "street_address")
    yield Hub(db, outbox, clock, offers, events, seed, grants)
    offers.close()
    db.close()
