"""Fixtures of the sharing tests: a real SQLite file, a fake clock, the story's cast,
and the API on a real uvicorn server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sharing_support import SUNDAY, World, add_other_community, build_app

from hub.clock import FakeClock
from hub.offers.seed import seed_story
from hub.offers.service import OffersService
from hub.sharing.service import SharingService
from hub.storage.outbox import Outbox
from tests.offers.offers_fixtures import Server
from tests.stores import open_db


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = open_db(tmp_path / "hub.db")
    clock = FakeClock(SUNDAY)
    outbox = Outbox(db)
    offers = OffersService(db, outbox, clock)
    sharing = SharingService(offers, tmp_path / "photos")
    seed_story(db, clock)
    add_other_community(db)
    yield World(db, outbox, clock, offers, sharing)
    offers.close()
    db.close()


@pytest.fixture
def api(world: World) -> Iterator[httpx.Client]:
    with Server(build_app(world)) as server, httpx.Client(base_url=server.url,
                                                          timeout=30) as client:
        yield client
