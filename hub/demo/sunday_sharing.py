"""STORY.md section 6, the sharing part: the drill (09:00), the idle carpet cleaner
(09:30), Dana's child seat (a give-away), the drill's return (11:50) and the ratings.

Played by the actors through the hub's public doors, like :mod:`hub.demo.story`: each
person with their own HTTP login, Ben's smart plug over MQTT with his gateway's login.
Story time is the day after the story's Saturday. :func:`seed_sharing` is the one thing
written straight into the store before the story: Ben's plug, known to the hub for two
months (the device registry remembers when it first saw a device).

Dana is played by household ``h-dan`` (the seed's cast has no Dana).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol

import httpx
import orjson

from hub.clock import Clock
from hub.demo.mqtt import publish_once
from hub.errors import HubError
from hub.storage.database import Database

CARPET_PLUG = "carpet-cleaner"
PLUG_IDLE_DAYS = 61
DRILL = {"title": "Cordless drill", "category": "tools", "mode": "lend",
         "description": "18 V, two batteries, a set of bits", "condition": "good",
         "pickup_place": "Mill Lane 3, the blue shed by the gate",
         "terms": {"free": True, "max_days": 3}}


class SharingFailed(HubError):
    """A step of the Sunday sharing story did not show what it should."""


class Player(Protocol):
    """What this part needs of :class:`hub.demo.story.StoryPlayer`."""

    mqtt: tuple[str, int]
    credentials: Mapping[str, Any]
    ids: dict[str, Any]

    async def request(self, who: str, method: str, path: str, body: Any = None) -> httpx.Response: ...
    async def _post(self, who: str, path: str, body: Any) -> Any: ...
    async def _get(self, who: str, path: str) -> Any: ...
    async def _step(self, name: str, **facts: Any) -> None: ...
    async def _poll(self, fetch: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], what: str) -> Any: ...
    def _mqtt_login(self, kind: str, who: str) -> dict[str, str]: ...

    @property
    def timeline(self) -> Any: ...

    @property
    def day(self) -> Any: ...


class Sunday:
    """Times of the Sunday sharing story (UTC)."""

    CHEN_LISTS = time(8, 55)
    WANTED = time(9, 0)
    DRILL = (time(10, 0), time(12, 0))
    CARPET = time(9, 30)
    CHILD_SEAT = time(9, 40)
    HANDOVER = time(10, 0)
    RETURN = time(11, 50)
    PICKUP_BY = time(18, 0)  # Monday evening


def seed_sharing(db: Database, clock: Clock, saturday: datetime) -> None:
    """Ben's carpet cleaner plug, first seen by the hub two months before the Sunday."""
    sunday = saturday + timedelta(days=1)
    first_seen = (sunday - timedelta(days=PLUG_IDLE_DAYS)).timestamp()
    del clock
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO devices (household, device, kind, model, manufacturer, name, metrics,"
            " first_seen, last_seen, online) VALUES ('h-ben', ?, 'plug', 'TS011F_plug_1',"
            " 'TuYa', 'Carpet cleaner', '[]', ?, ?, 1) ON CONFLICT (household, device) DO"
            " NOTHING", (CARPET_PLUG, first_seen, first_seen))


def _at(p: Player, t: time, day_offset: int = 1) -> datetime:
    return datetime.combine(p.day.day + timedelta(days=day_offset), t, UTC)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


async def _until(p: Player, t: time) -> None:
    await p.timeline.until(_at(p, t))


async def _suggestion(p: Player, who: str, kind: str) -> dict[str, Any]:
    async def fetch() -> list[dict[str, Any]]:
        page = await p._get(who, "/suggestions?state=proposed")
        return [s for s in page["items"] if s["kind"] == kind]

    found = await p._poll(fetch, bool, f"a {kind} suggestion for {who}")
    return found[0]  # type: ignore[no-any-return]


async def play(p: Player) -> None:
    """Play the sharing part of Sunday."""
    for chapter in CHAPTERS:
        await chapter(p)


async def drill(p: Player) -> None:
    """09:00 Ana wants a drill; Chen's is matched, asked, accepted; a second ask refused."""
    start, end = _at(p, Sunday.DRILL[0]), _at(p, Sunday.DRILL[1])
    await _until(p, Sunday.CHEN_LISTS)
    thing = await p._post("h-chen", "/things", DRILL)
    p.ids["drill"] = thing["id"]
    await p._step("chen-lists-drill", thing=thing["id"], mode=thing["mode"],
                  pickup=thing["pickup"])

    await _until(p, Sunday.WANTED)
    post = await p._post("h-ana", "/wanted", {"text": "Wanted: a drill, today 10:00-12:00",
                                              "start": _iso(start), "end": _iso(end)})
    p.ids["wanted"] = post["id"]
    asked = await _suggestion(p, "h-chen", "lend")
    await p._step("ana-posts-wanted", wanted=post["id"],
                  matches=[m.get("thing") for m in post["matches"]], chen_asked=asked["title"])

    loan = await p._post("h-ana", f"/things/{thing['id']}/loans", {
        "start": _iso(start), "end": _iso(end), "wanted": post["id"],
        "message": "For two shelves, back before noon."})
    p.ids["loan"] = loan["id"]
    before = (await p._get("h-ana", f"/things/{thing['id']}"))["pickup"]
    accepted = await p._post("h-chen", f"/loans/{loan['id']}/accept", {})
    after = await p._get("h-ana", f"/loans/{loan['id']}")
    await p._step("chen-accepts-loan", loan=loan["id"], requested=loan["status"],
                  status=accepted["status"], pickup_before=before,
                  pickup_after=after["pickup_place"])

    second = await p.request("h-ben", "POST", f"/things/{thing['id']}/loans", {
        "start": _iso(start + timedelta(minutes=30)), "end": _iso(end)})
    if second.status_code != 409:
        raise SharingFailed(f"a second request for the same hours got {second.status_code}")
    await p._step("second-request-refused", status=second.status_code,
                  clash=second.json().get("clash"))


async def carpet_cleaner(p: Player) -> None:
    """09:30 Ben's plug: no power for 60 days -> "share it?" -> listed in one tap."""
    await _until(p, Sunday.CARPET)
    login = p._mqtt_login("households", "h-ben")
    bridge = [{"friendly_name": CARPET_PLUG, "ieee_address": "0x00158d0000c1ea01",
               "type": "EndDevice", "supported": True,
               "definition": {"model": "TS011F_plug_1", "vendor": "TuYa", "exposes": [
                   {"access": 5, "name": "power", "property": "power", "type": "numeric",
                    "unit": "W"}]}}]
    await asyncio.to_thread(publish_once, p.mqtt, login, "home/h-ben/zigbee2mqtt/bridge/devices",
                            orjson.dumps(bridge), retain=True)
    await asyncio.to_thread(publish_once, p.mqtt, login, f"home/h-ben/zigbee2mqtt/{CARPET_PLUG}",
                            orjson.dumps({"power": 0, "state": "OFF", "linkquality": 120}))
    sug = await _suggestion(p, "h-ben", "share")
    listed = await p._post("h-ben", "/things", {
        "title": sug["data"]["title"], "category": "cleaning", "mode": "lend",
        "device": sug["data"]["device"], "suggestion": sug["id"],
        "description": "Wet carpet cleaner, with upholstery nozzle"})
    p.ids["carpet_cleaner"] = listed["id"]
    await p._step("ben-shares-carpet-cleaner", suggestion=sug["title"], thing=listed["id"],
                  state=listed["state"])


async def child_seat(p: Player) -> None:
    """Dana gives away a child seat: the first neighbour to claim it picks it up by Monday
    evening."""
    await _until(p, Sunday.CHILD_SEAT)
    monday = _at(p, Sunday.PICKUP_BY, day_offset=2)
    seat = await p._post("h-dan", "/things", {
        "title": "Child car seat", "category": "kids", "mode": "give", "condition": "good",
        "description": "Group 1, 9-18 kg", "pickup_until": _iso(monday), "pickup_hours": 24,
        "pickup_place": "Mill Lane 40, in the porch"})
    p.ids["child_seat"] = seat["id"]
    first = await p._post("h-eve", f"/things/{seat['id']}/claims", {})
    second = await p._post("h-fay", f"/things/{seat['id']}/claims", {})
    claims = await p._get("h-dan", f"/things/{seat['id']}/claims")
    winner = next(c for c in claims["claims"] if c["status"] == "won")
    await p._step("dana-gives-child-seat", thing=seat["id"], first=first["you"],
                  second=second["you"], winner=winner["household"], pickup_by=winner["pickup_by"])


async def drill_back(p: Player) -> None:
    """10:00 the handover, 11:50 the return (both confirm), ratings both ways."""
    lid = p.ids["loan"]
    await _until(p, Sunday.HANDOVER)
    await p._post("h-ana", f"/loans/{lid}/handover", {})
    out = await p._post("h-chen", f"/loans/{lid}/handover", {})
    await p._step("drill-handed-over", status=out["status"])

    await _until(p, Sunday.RETURN)
    await p._post("h-ana", f"/loans/{lid}/return", {"condition_note": "Works fine, bits cleaned"})
    back = await p._post("h-chen", f"/loans/{lid}/return", {"condition_note": "All there"})
    by_ana = await p._post("h-ana", f"/loans/{lid}/rate", {"stars": 5, "comment": "Great drill"})
    by_chen = await p._post("h-chen", f"/loans/{lid}/rate", {"stars": 5, "comment": "On time"})
    chain = await p._get("h-ana", "/ratings/verify")
    await p._step("drill-returned-and-rated", status=back["status"],
                  condition=back["condition_note"], ratings=[by_ana["subject"], by_chen["subject"]],
                  chain_ok=chain["ok"], chain_count=chain["count"])


#: The sharing chapters of Sunday, in story-time order (``StoryPlayer.play(chapters=...)``).
CHAPTERS: tuple[Callable[[Any], Awaitable[None]], ...] = (drill, carpet_cleaner, child_seat,
                                                          drill_back)
