"""Failed deliveries: retried with backoff, dead-lettered with their reason after N tries; a
push service's 404/410 removes the subscription; a refused recipient is dead at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.notify.peers import MailServer, PushEndpoint
from tests.notify.support import Rig, build_rig, opt_in

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with MailServer() as mail, PushEndpoint() as push:
        yield build_rig(tmp_path, mail, push, max_attempts=3)


def _push_row(rig: Rig) -> object:
    [row] = [d for d in rig.deliveries() if d.channel == "push"]
    return row


def test_a_failing_push_is_retried_with_backoff_then_dead_lettered(rig: Rig) -> None:
    opt_in(rig, channels=["push"])
    rig.push.status = 503
    rig.suggestion(expires="2026-11-30T00:00:00Z")
    start = rig.clock.timestamp()
    rig.notifier.work()
    rig.push.wait_attempts(1)
    first = _push_row(rig)
    assert (first.state, first.attempts, first.next_at) == ("pending", 1, start + 30)  # type: ignore[attr-defined]
    assert first.last_error.startswith("the push service answered 503")  # type: ignore[attr-defined]
    rig.notifier.work()  # not due yet: nothing tried
    assert rig.push.attempts == 1
    rig.clock.advance(timedelta(seconds=30))
    rig.notifier.work()
    second = _push_row(rig)
    assert (second.attempts, second.next_at) == (2, start + 30 + 60)  # type: ignore[attr-defined]  # doubled
    rig.clock.advance(timedelta(seconds=60))
    rig.notifier.work()
    dead = _push_row(rig)
    assert (dead.state, dead.attempts) == ("dead", 3)  # type: ignore[attr-defined]
    assert [d.id for d in rig.notifier.queue.dead_letters()] == [dead.id]  # type: ignore[attr-defined]
    assert rig.push.attempts == 3
    rig.clock.advance(timedelta(hours=2))
    rig.notifier.work()
    assert rig.push.attempts == 3  # a dead letter is never tried again


def test_a_push_that_recovers_is_sent_once(rig: Rig) -> None:
    opt_in(rig, channels=["push"])
    rig.push.status = 500
    rig.suggestion(expires="2026-11-30T00:00:00Z")
    rig.notifier.work()
    rig.push.status = 201
    rig.clock.advance(timedelta(seconds=30))
    rig.notifier.work()
    [push] = rig.push.wait_for(1)
    assert push.payload["title"] == "Groceries running low: milk, eggs. Delivery?"
    row = _push_row(rig)
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, None)  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_removed(rig: Rig, status: int) -> None:
    opt_in(rig, channels=["push"])
    rig.push.status = status
    rig.suggestion()
    rig.notifier.work()
    row = _push_row(rig)
    assert (row.state, row.last_error) == (  # type: ignore[attr-defined]
        "dropped", f"subscription removed: the push service answered {status}")
    assert rig.notifier.push.subscriptions(rig.ana) == []
    rig.suggestion("sug-2")  # the next event has no push target any more
    assert [d.event for d in rig.deliveries() if d.channel == "push"] == ["suggestion:sug-1"]


def test_a_refused_recipient_is_a_dead_letter_at_once(rig: Rig) -> None:
    opt_in(rig, channels=["email"])
    rig.mail.refuse = True
    rig.suggestion()
    rig.notifier.work()
    [row] = rig.deliveries()
    assert (row.state, row.attempts) == ("dead", 1)
    assert row.last_error == (f"127.0.0.1:{rig.mail.port} refused ana@example.org:"
                              " 550 5.1.1 ana@example.org: no such mailbox")


def test_an_unreachable_mail_server_is_retried(tmp_path: Path) -> None:
    mail = MailServer()  # never started: nothing listens on its port
    with PushEndpoint() as push:
        rig = build_rig(tmp_path, mail, push)
        opt_in(rig, channels=["email"])
        rig.suggestion(expires="2026-11-30T00:00:00Z")
        rig.notifier.work()
        [row] = rig.deliveries()
        assert (row.state, row.attempts) == ("pending", 1)
        assert row.last_error is not None
        assert row.last_error.startswith(f"cannot reach 127.0.0.1:{mail.port}")
        with mail:
            rig.clock.advance(timedelta(seconds=30))
            rig.notifier.work()
            [(to, _)] = mail.wait_for(1)
        assert to == ["ana@example.org"]
        assert [d.state for d in rig.deliveries()] == ["sent"]
