"""STORY.md section 6, the afternoon and evening: the time bank, the pooled pellet order
and Ana's record export, played by the story's actors through the hub's public doors.

The chapters run on a :class:`~hub.demo.story.StoryPlayer` (its logins, timeline, observer
and fresh-grocer's MQTT feed listener), in story-time order:

- 14:00 :func:`bike_repair`: Ana records 1.5 h to Chen, Chen confirms, both balances move,
  any household verifies the ledger;
- 16:00 :func:`pellets_proposed`: Ben proposes "Heating pellets, bulk, 6 households needed
  by Friday" with the 3-3-3-1 split; Ana and Chen pledge, four more by Wednesday. The
  missed variant, a second round of pellets only Ana and Chen pledge to, is proposed too;
- 20:00 :func:`record_export`: Ana exports her record; another hub verifies it offline
  with only the published keys;
- Friday 18:00 :func:`pellets_deadline`: the met project is one order on fresh-grocer's
  feed, the missed one releases every pledge and tells everyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta

import httpx

from hub.demo.story import GROCER, StoryFailed, StoryPlayer
from hub.trust.record import verify_document

SPLIT = {"buyers": 3, "organiser": 3, "community_fund": 3, "provider": 1}
BIKE = time(14, 0)
PELLETS = time(16, 0)
EXPORT = time(20, 0)
DEADLINE = time(18, 0)

Chapter = Callable[[StoryPlayer], Awaitable[None]]


def sunday(player: StoryPlayer, t: time) -> datetime:
    """That time on the day after the story's Saturday."""
    return player.day.at(t) + timedelta(days=1)


def friday(player: StoryPlayer) -> datetime:
    """18:00 on the Friday after the story's Sunday."""
    return player.day.at(DEADLINE) + timedelta(days=6)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


async def bike_repair(player: StoryPlayer) -> None:
    """14:00 Chen fixed Ana's bike: Ana records 1.5 h, Chen confirms."""
    await player.timeline.until(sunday(player, BIKE))
    before = await player._get("h-ana", "/timebank/balance")
    t = await player._post("h-ana", "/timebank/transfers",
                           {"to": "h-chen", "hours": 1.5, "note": "fixed Ana's bike"})
    player.ids["bike_transfer"] = t["id"]
    pending = await player._get("h-ana", "/timebank/balance")
    await player._step("ana-records-bike-repair", transfer=t["id"], status=t["status"],
                       hours=t["hours"], ana_hours_while_pending=pending["hours"])
    done = await player._post("h-chen", f"/timebank/transfers/{t['id']}/confirm", {})
    ana = await player._get("h-ana", "/timebank/balance")
    chen = await player._get("h-chen", "/timebank/balance")
    ledger = await player._get("h-ben", "/timebank/ledger")  # any household can verify
    await player._step("chen-confirms", status=done["status"], ana_before=before["hours"],
                       ana_after=ana["hours"], chen_after=chen["hours"],
                       credit_limit=ana["credit_limit"], ledger_ok=ledger["ledger_ok"],
                       ledger_sum=ledger["sum"], ledger_entries=ledger["entries"],
                       ledger_head=ledger["head"])


async def pellets_proposed(player: StoryPlayer) -> None:
    """16:00 Ben's pooled order; pledges; the missed variant beside it."""
    await player.timeline.until(sunday(player, PELLETS))
    deadline = _iso(friday(player))
    body = {"title": "Heating pellets, bulk", "goal_pledges": 6, "deadline": deadline,
            "description": "6 households needed by Friday", "provider": GROCER, "split": SPLIT}
    met = await player._post("h-ben", "/projects", body)
    player.ids["pellets"] = met["id"]
    missed = await player._post("h-ben", "/projects", {
        **body, "title": "Heating pellets, bulk (second round)"})
    player.ids["pellets_missed"] = missed["id"]
    for who in ("h-ana", "h-chen"):
        for pid in (met["id"], missed["id"]):
            await player._post(who, f"/projects/{pid}/pledges", {"amount": 1})
    now = await player._get("h-ana", f"/projects/{met['id']}")
    await player._step("ben-proposes-pellets", project=met["id"], variant=missed["id"],
                       goal=now["goal_pledges"], pledges=now["pledges"], split=now["split"],
                       deadline=now["deadline"], progress=now["progress"])
    others = [h for h in sorted(player.credentials.get("households", {}))
              if h not in ("h-ana", "h-chen")][:4]
    for who in others:
        await player._post(who, f"/projects/{met['id']}/pledges", {"amount": 1})
    full = await player._get("h-ana", f"/projects/{met['id']}")
    variant = await player._get("h-ana", f"/projects/{missed['id']}")
    await player._step("households-pledge", pledgers=["h-ana", "h-chen", *others],
                       pledges=full["pledges"], progress=full["progress"],
                       variant_pledges=variant["pledges"], state=full["state"])


async def record_export(player: StoryPlayer) -> None:
    """20:00 Ana exports her record; another hub verifies it with the published keys only."""
    await player.timeline.until(sunday(player, EXPORT))
    r = await player.request("h-ana", "GET", "/trust/export")
    if r.status_code != 200:
        raise StoryFailed(f"GET /trust/export as h-ana: {r.status_code} {r.text[:300]}")
    async with httpx.AsyncClient(base_url=player.api_url, timeout=10) as http:
        keys = (await http.get("/.well-known/jwks.json")).json()  # public: no login
    doc = await asyncio.to_thread(verify_document, r.text, keys)
    subject = doc["credentialSubject"]
    player.ids["record"] = doc["id"]
    altered = r.text[:40] + ("A" if r.text[40] != "A" else "B") + r.text[41:]
    try:
        verify_document(altered, keys)
        refused = False
    except ValueError:
        refused = True
    await player._step("ana-exports-record", issuer=doc["issuer"]["id"],
                       media_type=r.headers.get("content-type"), kid=keys["keys"][0]["kid"],
                       balance=subject["timebank"]["balance"],
                       entries=len(subject["timebank"]["entries"]),
                       ratings=len(subject["ratings_received"]), verified=True,
                       altered_refused=refused)


async def pellets_deadline(player: StoryPlayer) -> None:
    """Friday 18:00: one order on fresh-grocer's feed; the variant's pledges released."""
    await player.timeline.until(friday(player) + timedelta(minutes=1))
    met, missed = player.ids["pellets"], player.ids["pellets_missed"]
    done = await player._poll(lambda: player._get("h-ana", f"/projects/{met}"),
                              lambda p: p["state"] != "open", "the pellet order to close")
    assert player.feed is not None
    topic, order = await player.feed.wait_for(lambda m: m[1].get("project") == met)
    await player._step("pellets-ordered", state=done["state"], provider=done["outcome"]["provider"],
                       feed_topic=topic, order_type=order.get("type"), pledges=order.get("pledges"),
                       split=order.get("split"), my_pledge=done["my_pledge"])
    gone = await player._poll(lambda: player._get("h-ana", f"/projects/{missed}"),
                              lambda p: p["state"] != "open", "the second round to close")
    await player._step("second-round-missed", state=gone["state"],
                       reason=gone["outcome"]["reason"], my_pledge=gone["my_pledge"],
                       orders=[m for m in player.feed.snapshot() if m[1].get("project") == missed])


#: Section 6 from 14:00, in story-time order (the sharing chapters of 09:00-09:30 go first).
CHAPTERS: tuple[Chapter, ...] = (bike_repair, pellets_proposed, record_export, pellets_deadline)

