"""Deliveries to a real SMTP server (aiosmtpd) and a real push endpoint (decrypting with
http_ece): once per person and event, quiet hours, digest, unsubscribe, what a message
carries and what it never does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from hub.notify.links import LinkRefused
from tests.notify.peers import MailServer, PushEndpoint
from tests.notify.support import BASE, Rig, build_rig, opt_in

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with MailServer() as mail, PushEndpoint() as push:
        yield build_rig(tmp_path, mail, push)


def test_a_suggestion_reaches_ana_once_by_email_and_push_with_one_tap_link(rig: Rig) -> None:
    opt_in(rig)
    rig.suggestion()
    rig.suggestion()  # the same event again (a replay): nothing twice
    assert rig.notifier.work() == 2
    [(to, mail)] = rig.mail.wait_for(1)
    [push] = rig.push.wait_for(1)
    assert to == ["ana@example.org"]
    assert mail["Subject"] == "Groceries running low: milk, eggs. Delivery?"
    assert mail["From"] == "Riverside hub <hub@riverside.example>"
    # RFC 8058: one-click unsubscribe, by an HTTPS POST to the link in the header.
    unsubscribe = mail["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{BASE}/ui/unsubscribe/")
    assert unsubscribe.endswith(">")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(("plain",)).get_content()
    assert unsubscribe[1:-1] in text
    # Sat 19:00 in Berlin for the 18:00 UTC slot: the community's time zone.
    assert "Soonest slot: Sat 19:00 · fresh-grocer" in text
    link = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Accept: "))
    assert link.startswith(f"{BASE}/ui/a/")
    # The push was encrypted for Ana's browser and signed with the hub's VAPID key.
    assert push.vapid_key == rig.notifier.push.public_key()
    assert push.payload["title"] == "Groceries running low: milk, eggs. Delivery?"
    assert push.payload["url"] == link  # one event, one link: the first tap acts
    assert push.payload["lang"] == "en"
    # Only what the message may say: no readings, no address.
    for raw in (mail.as_string(), str(push.payload)):
        for secret in ("temp_c", "23.456", "Elm Street"):
            assert secret not in raw
    token = link.rsplit("/", 1)[1]
    assert rig.notifier.links.redeem(token, "accept_suggestion").target == \
        "sug-1|fresh-grocer@2026-11-28T18:00:00Z"
    with pytest.raises(LinkRefused) as again:
        rig.notifier.links.redeem(token, "accept_suggestion")
    assert again.value.status == 410
    assert [d.state for d in rig.deliveries()] == ["sent", "sent"]


def test_quiet_hours_hold_all_but_a_severe_notice(rig: Rig) -> None:
    # 22:00-07:00 in Berlin; 23:30 UTC is 00:30 there.
    opt_in(rig, quiet_start="22:00", quiet_end="07:00")
    rig.clock.set(rig.clock.now().replace(hour=23, minute=30))
    rig.suggestion(expires="2026-11-29T12:00:00Z")
    rig.notice("gas-moderate", "Moderate")
    rig.notice("gas-severe", "Severe")
    rig.notifier.work()
    [(_, mail)] = rig.mail.wait_for(1)
    [push] = rig.push.wait_for(1)
    assert mail["Subject"] == push.payload["title"] == "Severe notice gas-severe"
    held = rig.deliveries("pending")
    assert sorted({d.event for d in held}) == ["notice:gas-moderate", "suggestion:sug-1"]
    # They wait for the end of the quiet hours: 07:00 Berlin = 06:00 UTC.
    assert {d.next_at for d in held} == {rig.clock.now().replace(day=29, hour=6, minute=0).timestamp()}
    rig.clock.set(rig.clock.now().replace(day=29, hour=6, minute=0))
    rig.notifier.work()
    assert len(rig.mail.wait_for(3)) == 3
    assert len(rig.push.wait_for(3)) == 3
    assert rig.deliveries("pending") == []


def test_an_expired_suggestion_held_by_quiet_hours_is_dropped_not_sent(rig: Rig) -> None:
    opt_in(rig, quiet_start="22:00", quiet_end="07:00")
    rig.clock.set(rig.clock.now().replace(hour=23, minute=30))
    rig.suggestion(expires="2026-11-29T01:00:00Z")
    rig.clock.set(rig.clock.now().replace(day=29, hour=6, minute=0))
    rig.notifier.work()
    assert [(d.state, d.last_error) for d in rig.deliveries()] == [
        ("dropped", "its event was over before it could be sent")] * 2
    assert rig.mail.received == []
    assert rig.push.received == []


def test_kinds_and_severity_choices(rig: Rig) -> None:
    opt_in(rig, kinds=["notice"], notice_min="Severe")
    rig.suggestion()
    rig.notice("minor", "Minor")
    rig.notice("extreme", "Extreme")
    rig.notifier.work()
    assert sorted({d.event for d in rig.deliveries()}) == ["notice:extreme"]


def test_no_preferences_no_notification(rig: Rig) -> None:
    rig.suggestion()
    assert rig.notifier.work() == 0
    assert rig.deliveries() == []


def test_the_daily_digest_sends_the_day_in_one_email(rig: Rig) -> None:
    opt_in(rig, digest=True, digest_at="18:00")
    rig.suggestion(expires="2026-11-29T12:00:00Z")
    rig.notice("gas-moderate", "Moderate")
    rig.notice("gas-severe", "Severe")  # breaks through at once, by email and push
    rig.notifier.work()
    [(_, first)] = rig.mail.wait_for(1)
    assert first["Subject"] == "Severe notice gas-severe"
    assert sorted(d.event for d in rig.deliveries("digest")) == ["notice:gas-moderate", "suggestion:sug-1"]
    rig.clock.set(rig.clock.now().replace(hour=17, minute=0))  # 18:00 in Berlin
    rig.notifier.work()
    [_, (_, digest)] = rig.mail.wait_for(2)
    assert digest["Subject"] == "Your day at the community hub: 2 messages"
    text = digest.get_body(("plain",)).get_content()
    assert "Groceries running low: milk, eggs. Delivery?" in text
    assert "Moderate notice gas-moderate" in text
    rig.clock.advance(timedelta(hours=1))
    rig.notifier.work()  # once a day
    assert len(rig.mail.received) == 2
    assert len(rig.push.received) == 1


def test_unsubscribe_stops_email_only(rig: Rig) -> None:
    opt_in(rig)
    token = rig.notifier.unsubscribe_token(rig.ana)
    assert rig.notifier.account_of(token) == rig.ana
    assert rig.notifier.account_of(token[:-2] + "xx") is None
    assert rig.notifier.prefs.unsubscribe(rig.ana) is True
    rig.suggestion()
    rig.notifier.work()
    assert [d.channel for d in rig.deliveries()] == ["push"]
    rig.push.wait_for(1)
    assert rig.mail.received == []


def test_ana_reads_in_her_language(rig: Rig) -> None:
    opt_in(rig, language="de")
    rig.suggestion()
    rig.notifier.work()
    [(_, mail)] = rig.mail.wait_for(1)
    [push] = rig.push.wait_for(1)
    assert mail["Subject"] == push.payload["title"] == "Lebensmittel werden knapp: Milch, Eier. Lieferung?"
    assert mail["Content-Language"] == "de"
    assert push.payload["lang"] == "de"
    assert "Sa., 19:00 · fresh-grocer" in mail.get_body(("plain",)).get_content()
