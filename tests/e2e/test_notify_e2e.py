"""Done-when of issue 20, notifications: on a real embedded hub (Mosquitto, SQLite, HTTP on
loopback), Ana's fridge running low produces exactly one email (received by a real SMTP
server, aiosmtpd) and one push (decrypted by a real push endpoint with http_ece and her
browser's private key), each with a one-tap accept that works once and then answers 410.
During quiet hours only a severe notice gets through."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import httpx
import pytest
from story_support import FakeTimeline, RunningHub

from hub.clock import FakeClock
from hub.demo.cap import gas_outage
from hub.demo.story import StoryDay, StoryPlayer
from tests.mqtt_helpers import wait_until
from tests.notify.peers import MailServer, PushEndpoint

pytestmark = pytest.mark.timeout(180)

SATURDAY = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
D = StoryDay(SATURDAY.date())
LOW = {"milk": (0.2, "l"), "eggs": (0, "pcs"), "butter": (0.25, "kg"), "bread": (2, "pcs")}


async def test_the_fridge_reaches_ana_by_email_and_push_and_quiet_hours_hold(tmp_path: Path) -> None:
    clock = FakeClock(SATURDAY)
    with MailServer() as mail, PushEndpoint() as phone:
        running = RunningHub(tmp_path / "hub", clock, smtp_host="127.0.0.1", smtp_port=mail.port,
                             smtp_from="Riverside hub <hub@riverside.example>", smtp_starttls=False)
        await running.start()
        try:
            await _play(running, clock, mail, phone)
        finally:
            await running.stop()


async def _play(running: RunningHub, clock: FakeClock, mail: MailServer, phone: PushEndpoint) -> None:
    creds = running.provision()
    player = StoryPlayer(running.api_url, ("127.0.0.1", running.broker_port), creds, FakeTimeline(running))
    notifier = running.h.components["notifier"]

    async def as_ana(method: str, path: str, body: Any = None) -> Any:
        r = await player.request("h-ana", method, path, body)
        assert r.status_code in (200, 201), (path, r.status_code, r.text)
        return r.json()

    # Ana chooses email and push, quiet from 21:30 to 07:00, and her phone subscribes.
    prefs = await as_ana("PUT", "/me/notifications", {
        "email": "ana@example.org", "channels": ["email", "push"], "quiet_start": "21:30", "quiet_end": "07:00",
        "kinds": ["suggestion", "notice", "loan", "timebank", "project"]})
    assert prefs["channels"] == ["email", "push"]
    await as_ana("POST", "/me/push-subscriptions", phone.subscription())
    refused = await player.request("h-ana", "PUT", "/me/notifications", {"email": "ana at home"})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")

    # 08:00 the fridge reports low; 30 minutes later the rule raises one grocery suggestion.
    await player.timeline.until(D.at(time(8, 0)))
    await player.fridge_reports(LOW)
    due = await player.wait_pending("h-ana", "fridge")
    await player.timeline.until(datetime.fromisoformat(due.replace("Z", "+00:00")))
    # The peers' waits block: off the event loop the hub runs on.
    [(to, email)] = await asyncio.to_thread(mail.wait_for, 1)
    [push] = await asyncio.to_thread(phone.wait_for, 1)
    await wait_until(notifier.idle, within=30)
    await running.settle()
    assert len(mail.received) == 1  # exactly one email ...
    assert len(phone.received) == 1  # ... and one push
    assert to == ["ana@example.org"]
    assert email["Subject"] == push.payload["title"] == "Groceries running low: milk, eggs. Delivery?"
    assert push.vapid_key == notifier.push.public_key()
    text = email.get_body(("plain",)).get_content()
    link = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Accept: "))
    assert link == push.payload["url"]
    assert link.startswith(f"{running.api_url}/ui/a/")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    async with httpx.AsyncClient(timeout=10) as http:
        shown = await http.get(link)  # a mail scanner's prefetch changes nothing
        assert shown.status_code == 200
        done = await http.post(link)
        assert done.status_code == 200, done.text
        again_from_email = await http.post(link)
        again_from_phone = await http.post(str(push.payload["url"]))
    assert (again_from_email.status_code, again_from_phone.status_code) == (410, 410)
    grocery = [s for s in (await as_ana("GET", "/suggestions?limit=100"))["items"] if s["kind"] == "grocery"]
    assert [s["state"] for s in grocery] == ["accepted"]

    # 22:00, quiet hours: a moderate notice waits, a severe one gets through at once.
    await player.timeline.until(D.at(time(22, 0)))
    sent = clock.now()
    moderate = gas_outage(f"riverside-gas-{D.day:%Y%m%d}-9", sent=sent, onset=D.at(time(22, 30)),
                          expires=D.at(time(23, 50)))
    severe = moderate.replace(b"<severity>Moderate</severity>", b"<severity>Severe</severity>").replace(
        f"riverside-gas-{D.day:%Y%m%d}-9".encode(), f"riverside-gas-{D.day:%Y%m%d}-10".encode())
    await player._utility(moderate)
    await player._utility(severe)
    await wait_until(lambda: len(running.h.notices.active()) == 2, within=20)
    await asyncio.to_thread(mail.wait_for, 2)
    await asyncio.to_thread(phone.wait_for, 2)
    await running.settle()
    await wait_until(notifier.idle, within=30)
    assert len(mail.received) == 2
    assert len(phone.received) == 2
    assert mail.received[1][1]["Subject"] == phone.received[1].payload["title"]
    assert phone.received[1].payload["tag"] == f"notice:riverside-gas-{D.day:%Y%m%d}-10"
    held = notifier.queue.of_account(_ana(running), "pending")
    # The moderate notice, and whatever else came at night (the rules' dinner suggestion), wait.
    assert f"notice:riverside-gas-{D.day:%Y%m%d}-9" in {d.event for d in held}
    assert all(d.severity != "Severe" for d in held)
    assert {d.next_at for d in held} == {datetime(2026, 11, 29, 7, 0, tzinfo=UTC).timestamp()}


def _ana(running: RunningHub) -> str:
    row = running.h.db.query_one("SELECT id FROM accounts WHERE household = 'h-ana' AND role = 'household'")
    assert row is not None
    return str(row["id"])
