"""One-tap action links on a real SQLite store: once, only their action, never after expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.clock import FakeClock
from hub.notify import ActionLinks, LinkRefused
from hub.storage.database import Database
from tests.stores import open_db


@pytest.fixture
def links(tmp_path: Path) -> tuple[ActionLinks, FakeClock, Database]:
    db = open_db(tmp_path / "hub.sqlite3")
    clock = FakeClock(datetime(2026, 11, 28, 7, 0, tzinfo=UTC))
    return ActionLinks(db, clock), clock, db


def test_a_link_works_once_then_answers_410(links: tuple[ActionLinks, FakeClock, Database]) -> None:
    al, _clock, _db = links
    token = al.issue("h-ana", "accept_suggestion", "sug-1|fresh-grocer@2026-11-28T18:00:00Z")
    assert al.check(token, "accept_suggestion").target == "sug-1|fresh-grocer@2026-11-28T18:00:00Z"
    link = al.redeem(token, "accept_suggestion")
    assert (link.household, link.action) == ("h-ana", "accept_suggestion")
    with pytest.raises(LinkRefused) as again:
        al.redeem(token, "accept_suggestion")
    assert (again.value.status, again.value.reason) == (410, "this link was already used")


def test_a_link_allows_only_its_own_action(links: tuple[ActionLinks, FakeClock, Database]) -> None:
    al, _clock, _db = links
    token = al.issue("h-ana", "accept_suggestion", "sug-1")
    with pytest.raises(LinkRefused) as other:
        al.redeem(token, "confirm_hours")
    assert other.value.status == 409
    assert al.redeem(token, "accept_suggestion").target == "sug-1"  # still good for its own


def test_a_link_expires(links: tuple[ActionLinks, FakeClock, Database]) -> None:
    al, clock, _db = links
    token = al.issue("h-ana", "accept_suggestion", "sug-1", ttl_s=3600)
    clock.advance(timedelta(seconds=3601))
    with pytest.raises(LinkRefused) as expired:
        al.redeem(token, "accept_suggestion")
    assert (expired.value.status, expired.value.reason) == (410, "this link has expired")


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),   # another signature
    lambda t: "x" + t,                                               # another id
    lambda t: t.split(".")[0],                                       # no signature
    lambda t: "",
])
def test_a_forged_link_is_unknown(links: tuple[ActionLinks, FakeClock, Database], mangle: object) -> None:
    al, _clock, _db = links
    token = al.issue("h-ana", "accept_suggestion", "sug-1")
    with pytest.raises(LinkRefused) as forged:
        al.redeem(mangle(token), "accept_suggestion")  # type: ignore[operator]
    assert forged.value.status == 404


def test_a_row_re_pointed_in_the_store_no_longer_matches_its_signature(
        links: tuple[ActionLinks, FakeClock, Database]) -> None:
    al, _clock, db = links
    token = al.issue("h-ana", "accept_suggestion", "sug-1")
    db.execute("UPDATE action_links SET household = ? WHERE id = ?", ("h-ben", token.split(".")[0]))
    with pytest.raises(LinkRefused) as moved:
        al.redeem(token, "accept_suggestion")
    assert moved.value.status == 404


def test_bad_links_are_refused_at_issue(links: tuple[ActionLinks, FakeClock, Database]) -> None:
    al, _clock, _db = links
    with pytest.raises(ValueError, match="unknown action"):
        al.issue("h-ana", "delete_everything", "x")
    with pytest.raises(ValueError, match="positive lifetime"):
        al.issue("h-ana", "accept_suggestion", "sug-1", ttl_s=0)


def test_the_secret_is_made_once_and_kept_in_the_store(links: tuple[ActionLinks, FakeClock, Database]) -> None:
    al, clock, db = links
    token = al.issue("h-ana", "accept_suggestion", "sug-1")
    again = ActionLinks(db, clock)  # a restarted hub reads the same secret
    assert again.check(token, "accept_suggestion").target == "sug-1"
    assert len(db.query("SELECT name FROM notify_secrets")) == 1
