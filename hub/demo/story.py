"""The weekend story of STORY.md, played by its actors against a running hub.

Every step is what a real actor does, through the hub's public doors only: people call
the HTTP API with their own login, Ana's pantry fridge publishes over MQTT with the
household's gateway login, fresh-grocer listens to its feed and claims over MQTT with its
own login, and the gas utility sends CAP 1.2 documents over MQTT. Time passes on a
:class:`Timeline` (the demo's scaled story clock, or a test's fake clock), so the rule
pack's ``for: 30m`` is honoured by waiting story time.

    player = StoryPlayer(api_url, (host, port), credentials, timeline)
    results = await player.play(observer=print_step)
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time as monotonic
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

import httpx
import orjson

from hub.demo.cap import gas_outage, reference
from hub.demo.mqtt import FeedListener, publish_once
from hub.errors import HubError

logger = logging.getLogger(__name__)

COMMUNITY = "riverside"
LAKE_PIER = {"label": "Lake Pier", "lat": 52.1304, "lon": 5.0}
GROCER = "fresh-grocer"
BISTRO = "river-bistro"
UTILITY = "gas-utility"
FRIDGE = "fridge"
WAIT_S = 20.0


class StoryFailed(HubError):
    """A step did not see what the story expects (the message says what and where)."""


class Timeline(Protocol):
    """Story time: what time it is, and a way to wait until a later story time."""

    def now(self) -> datetime: ...

    async def until(self, when: datetime) -> None: ...


class StoryDay:
    """The story's times of day (UTC), as in STORY.md."""

    CHEN_RIDE = time(7, 20)
    BEN_GATHERING = time(7, 30)
    ANA_ACCEPTS = time(7, 35)
    RIDE_DEPARTS = time(8, 30)
    FISHING = (time(9, 0), time(14, 0))
    FRIDGE_LOW = time(8, 0)
    FRIDGE_AGAIN = time(8, 15)
    FRIDGE_FOR = timedelta(minutes=30)
    NOTICE = time(11, 0)
    OUTAGE = (time(17, 0), time(23, 0))
    UPDATE = time(15, 0)
    OUTAGE_UPDATED_END = time(21, 0)
    DINNER = time(18, 30)
    DELIVERY = (time(18, 0), time(19, 0))
    DELIVERY_MOVED = (time(21, 0), time(22, 0))
    FULFILLED = time(21, 20)

    def __init__(self, day: date) -> None:
        self.day = day

    def at(self, t: time) -> datetime:
        """That time of the story's day, UTC."""
        return datetime.combine(self.day, t, UTC)

    def iso(self, t: time) -> str:
        """``YYYY-MM-DDThh:mm:ssZ``, as the API writes times."""
        return self.at(t).strftime("%Y-%m-%dT%H:%M:%SZ")

    def slot(self, provider: str, t: time) -> str:
        """A provider's slot id (``<provider>@<start>``)."""
        return f"{provider}@{self.iso(t)}"


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step of the story: its name, the story time it happened, what it showed."""

    name: str
    story_time: datetime
    facts: dict[str, Any] = field(default_factory=dict)


Observer = Callable[[StepResult], Awaitable[None] | None]


class StoryPlayer:
    """Plays STORY.md against a running hub.

    Args:
        api_url: the hub's HTTP API, e.g. ``http://127.0.0.1:8080``.
        mqtt: the broker's ``(host, port)``.
        credentials: ``var/demo/credentials.json`` (CONTRACTS.md): ``admin``,
            ``households`` and ``providers``, each with ``username``, ``password`` and
            ``mqtt`` (``username``, ``password``). Needs h-ana, h-ben, h-chen, three more
            households (the other riders), fresh-grocer and gas-utility (river-bistro to
            show its capacity).
        timeline: story time.

    Attributes:
        results: the steps played so far.
        ids: the objects the story created (ride, gatherings, request, bookings, ...).
        feed: fresh-grocer's own MQTT subscriber (``providers/fresh-grocer/feed/#``).
    """

    def __init__(
        self, api_url: str, mqtt: tuple[str, int], credentials: Mapping[str, Any], timeline: Timeline
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.mqtt = (mqtt[0], int(mqtt[1]))
        self.credentials = credentials
        self.timeline = timeline
        self.day = StoryDay(timeline.now().astimezone(UTC).date())
        self.results: list[StepResult] = []
        self.ids: dict[str, str] = {}
        self.feed: FeedListener | None = None
        self._tokens: dict[str, str] = {}
        self._seq = 0
        self._notice_sent: dict[str, datetime] = {}
        self._observer: Observer | None = None
        households = credentials.get("households", {})
        for needed in ("h-ana", "h-ben", "h-chen"):
            if needed not in households:
                raise StoryFailed(f"the story needs household {needed} in the credentials")
        self.riders = [h for h in sorted(households) if h not in ("h-ana", "h-ben", "h-chen")][:3]

    # -- the story ---------------------------------------------------------------------

    async def play(self, observer: Observer | None = None, *, cancel_notice: bool = False,
                   saturday: bool = True,
                   chapters: Sequence[Callable[[StoryPlayer], Awaitable[None]]] = ()) -> list[StepResult]:
        """Play every step in order; ``observer`` sees each result (and may be async).

        Args:
            observer: called after every step, before the story moves on.
            cancel_notice: the variant run: at 15:00 the utility cancels the notice
                instead of updating it.
            saturday: play sections 1-5 (off: only ``chapters``).
            chapters: more of the story after Saturday, in story-time order (section 6:
                ``hub.demo.sunday_timebank.CHAPTERS``).
        """
        self._observer = observer
        self.feed = FeedListener(self.mqtt, self._mqtt_login("providers", GROCER), f"providers/{GROCER}/feed/#")
        await asyncio.to_thread(self.feed.start)
        try:
            if saturday:
                await self.morning()
                await self.fridge()
                await self.notice()
                if cancel_notice:
                    await self.cancel()
                else:
                    await self.update()
                await self.evening()
            for chapter in chapters:
                await chapter(self)
        finally:
            await asyncio.to_thread(self.feed.stop)
        return self.results

    async def morning(self) -> None:
        """1. Chen offers a ride, Ben's fishing gathering, Ana goes and takes a seat."""
        d = self.day
        await self._at(StoryDay.CHEN_RIDE)
        ride = await self._post("h-chen", "/rides", {
            "destination": LAKE_PIER, "depart_earliest": d.iso(StoryDay.RIDE_DEPARTS), "seats": 3})
        self.ids["ride"] = ride["id"]
        await self._step("chen-offers-ride", ride=ride["id"], seats=ride["seats"],
                         seats_left=ride["seats_left"], depart=ride["depart_earliest"])

        await self._at(StoryDay.BEN_GATHERING)
        fishing = await self._post("h-ben", "/gatherings", {
            "title": "Fishing at the lake", "starts_at": d.iso(StoryDay.FISHING[0]),
            "ends_at": d.iso(StoryDay.FISHING[1]), "capacity": 6, "place": LAKE_PIER,
            "invite": ["h-ana"]})
        self.ids["fishing"] = fishing["id"]
        await self._step("ben-creates-gathering", gathering=fishing["id"], title=fishing["title"],
                         capacity=fishing["capacity"], invited=fishing.get("invited"))

        await self._at(StoryDay.ANA_ACCEPTS)
        rsvp = await self._post("h-ana", f"/gatherings/{fishing['id']}/rsvp", {"going": True})
        offer = await self._wait_suggestion("h-ana", "ride")
        await self._step("ana-accepts-invitation", going=sorted(rsvp["going"]),
                         places_left=rsvp["places_left"], ride_offer=offer["id"],
                         offered_ride=offer["data"].get("ride"), pickup_at=offer["data"].get("pickup_at"))

        took = await self._post("h-ana", f"/suggestions/{offer['id']}/accept", {})
        seat = took["result"]
        chen = await self._get("h-chen", f"/rides/{self.ids['ride']}")
        await self._step("ana-takes-seat", you=seat.get("you"), seats_left=seat["seats_left"],
                         chen_sees=[(r["household"], r["pickup_at"], r.get("pickup_label"))
                                    for r in chen["riders"]])

        answers = [await self._post(h, f"/rides/{self.ids['ride']}/request", {}) for h in self.riders]
        await self._step("ride-fills-up", riders=self.riders, answers=[a["you"] for a in answers],
                         seats_left=answers[-1]["seats_left"] if answers else None)

    async def fridge(self) -> None:
        """2. Ana's fridge runs low for 30 minutes: one grocery suggestion, 18:00, claimed."""
        d = self.day
        await self._at(StoryDay.FRIDGE_LOW)
        low = {"milk": (0.2, "l"), "eggs": (0, "pcs"), "butter": (0.25, "kg"), "bread": (2, "pcs")}
        await self.fridge_reports(low)
        due = await self.wait_pending("h-ana", FRIDGE)
        await self._step("fridge-reports-low", device=FRIDGE, items={"milk": 0.2, "eggs": 0}, due=due)

        await self._at(StoryDay.FRIDGE_AGAIN)
        await self.fridge_reports(low)  # still low: the same low state, no second timer
        before = await self._suggestions("h-ana", "grocery")
        await self._step("fridge-still-low", grocery_suggestions=len(before))

        await self.timeline.until(datetime.fromisoformat(due.replace("Z", "+00:00")))
        sug = await self._wait_suggestion("h-ana", "grocery")
        self.ids["grocery_suggestion"] = sug["id"]
        await self._step("grocery-suggested", title=sug["title"],
                         items=[i["name"] for i in sug["data"].get("items", [])],
                         slots=[s["slot"] for s in sug["data"].get("slots", [])],
                         count=len(await self._suggestions("h-ana", "grocery")))

        picked = await self._post("h-ana", f"/suggestions/{sug['id']}/accept",
                                  {"slot": d.slot(GROCER, StoryDay.DELIVERY[0])})
        self.ids["request"] = picked["result"]["id"]
        booking = await self._booking_of("h-ana", self.ids["request"])
        self.ids["delivery"] = booking["id"]
        assert self.feed is not None
        topic, msg = await self.feed.wait_for(
            lambda m: m[1].get("request") == self.ids["request"] and m[1].get("type") == "request")
        await self._step("ana-picks-slot", request=self.ids["request"], slot=booking["slot"],
                         feed_topic=topic, feed_message=msg)

        claim_id = f"claim-{self.ids['request']}"
        await asyncio.to_thread(self.feed.publish, f"providers/{GROCER}/claims",
                                {"request": self.ids["request"], "id": claim_id})
        _, claimed = await self.feed.wait_for(
            lambda m: m[1].get("request") == self.ids["request"] and m[1].get("type") == "claimed")
        state = (await self._get("h-ana", f"/requests/{self.ids['request']}"))["state"]
        await self._step("grocer-claims", claim=claim_id, feed_type=claimed["type"], state=state)

    async def notice(self) -> None:
        """3. 11:00 the gas outage notice, the dinner, the clash and the move."""
        d = self.day
        await self._at(StoryDay.NOTICE)
        sent = self.timeline.now()
        alert_id = f"riverside-gas-{d.day:%Y%m%d}-1"
        self._notice_sent[alert_id] = sent
        await self._utility(gas_outage(alert_id, sent=sent, onset=d.at(StoryDay.OUTAGE[0]),
                                       expires=d.at(StoryDay.OUTAGE[1])))
        self.ids["notice"] = alert_id
        ana = await self._poll(lambda: self._get("h-ana", "/households/h-ana/notices"),
                               lambda ns: any(n["id"] == alert_id for n in ns), "Ana's notices")
        dinner = await self._wait_suggestion("h-ana", "gathering")
        self.ids["dinner_suggestion"] = dinner["id"]
        await self._step("utility-publishes-notice", notice=alert_id,
                         ana_notices=[n["id"] for n in ana], dinner_title=dinner["title"],
                         sittings=[s.get("starts_at") for s in dinner["data"].get("sittings", [])])

        before = await self._slot_free(BISTRO, d.slot(BISTRO, StoryDay.DINNER))
        g = await self._post("h-ana", "/gatherings", {
            "title": "Dinner at river-bistro", "starts_at": d.iso(StoryDay.DINNER),
            "place": {"label": "River Bistro", "provider": BISTRO, "seats": 3},
            "invite": ["h-ben", "h-chen"], "suggestion": dinner["id"]})
        self.ids["dinner"] = g["id"]
        after = await self._slot_free(BISTRO, d.slot(BISTRO, StoryDay.DINNER))
        await self._step("ana-books-dinner", gathering=g["id"], capacity=g["capacity"],
                         invited=g.get("invited"), bistro_free_before=before, bistro_free_after=after)

        resched = await self._wait_suggestion("h-ana", "reschedule")
        delivery = await self._get("h-ana", f"/bookings/{self.ids['delivery']}")
        await self._step("clash-flagged", booking=delivery["id"], clash=delivery["clash"],
                         suggestion=resched["id"], title=resched["title"],
                         alternatives=[a["slot"] for a in resched["data"].get("alternatives", [])])

        new_slot = d.slot(GROCER, StoryDay.DELIVERY_MOVED[0])
        await self._post("h-ana", f"/suggestions/{resched['id']}/accept", {"slot": new_slot})
        moved = await self._get("h-ana", f"/bookings/{self.ids['delivery']}")
        assert self.feed is not None
        _, update = await self.feed.wait_for(
            lambda m: m[1].get("request") == self.ids["request"] and m[1].get("type") == "update")
        await self._step("ana-moves-delivery", slot=moved["slot"], starts_at=moved["starts_at"],
                         clash=moved["clash"], feed_slot=update.get("slot"),
                         old_slot_free=await self._slot_free(GROCER, d.slot(GROCER, StoryDay.DELIVERY[0])))

    async def update(self) -> None:
        """4. 15:00 the utility moves the end of the outage to 21:00."""
        d = self.day
        await self._at(StoryDay.UPDATE)
        sent = self.timeline.now()
        first = self.ids["notice"]
        update_id = f"riverside-gas-{d.day:%Y%m%d}-2"
        await self._utility(gas_outage(update_id, sent=sent, onset=d.at(StoryDay.OUTAGE[0]),
                                       expires=d.at(StoryDay.OUTAGE_UPDATED_END), msg_type="Update",
                                       references=(reference(first, self._notice_sent[first]),)))
        ana = await self._poll(lambda: self._get("h-ana", "/households/h-ana/notices"),
                               lambda ns: any(n["id"] == update_id for n in ns), "Ana's updated notice")
        dinners = await self._suggestions("h-ana", "gathering", state=None)
        await self._step("utility-updates-notice", notice=update_id,
                         ana_notices=[(n["id"], n.get("expires")) for n in ana],
                         dinner_suggestions=len(dinners))

    async def cancel(self) -> None:
        """4 (variant). 15:00 the utility cancels the notice."""
        d = self.day
        await self._at(StoryDay.UPDATE)
        sent = self.timeline.now()
        first = self.ids["notice"]
        cancel_id = f"riverside-gas-{d.day:%Y%m%d}-c"
        await self._utility(gas_outage(cancel_id, sent=sent, onset=d.at(StoryDay.OUTAGE[0]),
                                       expires=d.at(StoryDay.OUTAGE[1]), msg_type="Cancel",
                                       references=(reference(first, self._notice_sent[first]),)))
        ana = await self._poll(lambda: self._get("h-ana", "/households/h-ana/notices"),
                               lambda ns: not ns, "Ana's notices to clear")
        told = await self._poll(lambda: self._suggestions("h-ana", None, state=None),
                                lambda ss: any("cancelled" in s["title"].lower() for s in ss),
                                "Ana to be told of the cancellation")
        dinner = await self._get("h-ana", f"/gatherings/{self.ids['dinner']}")
        await self._step("utility-cancels-notice", notice=cancel_id, ana_notices=len(ana),
                         told=[s["title"] for s in told if "cancelled" in s["title"].lower()],
                         dinner_state=dinner["state"])

    async def evening(self) -> None:
        """5. 21:20 the delivery is fulfilled; Ana rates fresh-grocer 5/5."""
        await self._at(StoryDay.FULFILLED)
        rid = self.ids["request"]
        done = await self._post(GROCER, f"/provider/requests/{rid}/fulfil", {})
        await self._step("delivery-fulfilled", request=rid, state=done["state"])
        rating = await self._post("h-ana", f"/requests/{rid}/rate", {"stars": 5, "comment": "Quick and friendly"})
        chain = await self._get("h-ana", "/ratings/verify")
        await self._step("ana-rates", stars=rating["stars"], subject=rating["subject"],
                         chain_ok=chain["ok"], ratings=chain["count"])

    # -- actors ------------------------------------------------------------------------

    async def fridge_reports(self, items: Mapping[str, tuple[float, str]]) -> None:
        """Ana's pantry fridge reports, in the ``bench_fridge`` profile's format."""
        self._seq += 1
        payload = orjson.dumps({
            "device": FRIDGE, "household": "h-ana",
            "items": {k: {"qty": q, "unit": u} for k, (q, u) in items.items()},
            "door_open": False, "temp_c": 4.1, "ts": round(self.timeline.now().timestamp(), 6),
            "seq": self._seq})
        login = self._mqtt_login("households", "h-ana")
        await asyncio.to_thread(publish_once, self.mqtt, login, f"home/h-ana/{FRIDGE}/telemetry", payload)

    async def _utility(self, document: bytes) -> None:
        login = self._mqtt_login("providers", UTILITY)
        await asyncio.to_thread(publish_once, self.mqtt, login, f"publishers/{UTILITY}/notices/{COMMUNITY}", document)

    def _mqtt_login(self, kind: str, who: str) -> dict[str, str]:
        try:
            entry = self.credentials[kind][who]
            # A household's devices speak with its devices login when it has one (the
            # gateway login is its Home Assistant's).
            login = entry.get("devices") or entry["mqtt"]
        except KeyError as exc:
            raise StoryFailed(f"no MQTT login for {who} in the credentials") from exc
        return {"username": login["username"], "password": login["password"]}

    # -- HTTP --------------------------------------------------------------------------

    async def _token(self, who: str, *, fresh: bool = False) -> str:
        if who in self._tokens and not fresh:
            return self._tokens[who]
        if who == "admin":
            creds = self.credentials.get("admin")
        else:
            creds = self.credentials.get("households", {}).get(who) or self.credentials.get("providers", {}).get(who)
        if not creds:
            raise StoryFailed(f"no login for {who} in the credentials")
        async with httpx.AsyncClient(base_url=self.api_url, timeout=10) as http:
            r = await http.post("/auth/login", json={"username": creds["username"], "password": creds["password"]})
        if r.status_code != 200:
            raise StoryFailed(f"{who} could not sign in: {r.status_code} {r.text[:200]}")
        token: str = r.json()["access_token"]
        self._tokens[who] = token
        return token

    async def request(self, who: str, method: str, path: str, body: Any = None) -> httpx.Response:
        """One API call as ``who`` (signs in again once when the session is gone)."""
        for attempt in (0, 1):
            token = await self._token(who, fresh=attempt == 1)
            async with httpx.AsyncClient(base_url=self.api_url, timeout=10) as http:
                r = await http.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
            if r.status_code != 401:
                return r
        return r

    async def _get(self, who: str, path: str) -> Any:
        r = await self.request(who, "GET", path)
        if r.status_code != 200:
            raise StoryFailed(f"GET {path} as {who}: {r.status_code} {r.text[:300]}")
        return r.json()

    async def _post(self, who: str, path: str, body: Any) -> Any:
        r = await self.request(who, "POST", path, body)
        if r.status_code not in (200, 201):
            raise StoryFailed(f"POST {path} as {who}: {r.status_code} {r.text[:300]}")
        return r.json()

    async def _suggestions(self, who: str, kind: str | None, state: str | None = "proposed") -> list[dict[str, Any]]:
        path = "/suggestions?limit=100" + (f"&state={state}" if state else "")
        items: list[dict[str, Any]] = (await self._get(who, path))["items"]
        return [s for s in items if kind is None or s["kind"] == kind]

    async def _wait_suggestion(self, who: str, kind: str) -> dict[str, Any]:
        found = await self._poll(lambda: self._suggestions(who, kind), bool, f"a {kind} suggestion for {who}")
        return dict(found[0])

    async def _booking_of(self, who: str, ref: str) -> dict[str, Any]:
        items = (await self._get(who, "/calendar?limit=100"))["items"]
        for b in items:
            if b["ref"] == ref:
                return dict(b)
        raise StoryFailed(f"{who} has no booking for {ref}")

    async def _slot_free(self, provider: str, slot: str) -> int | None:
        if provider not in self.credentials.get("providers", {}):
            return None
        for s in await self._get(provider, "/provider/slots"):
            if s["id"] == slot:
                return int(s["free"])
        raise StoryFailed(f"{provider} has no slot {slot}")

    async def wait_pending(self, household: str, device: str) -> str:
        """The due time of the household's pending ``for:`` timer (admin view of the rules)."""
        state = await self._poll(lambda: self._get("admin", "/api/rules"),
                                 lambda s: any(p["household"] == household and p["device"] == device
                                               for p in s["pending"]),
                                 f"a pending timer for {household}/{device}")
        return str(next(p["due"] for p in state["pending"] if p["household"] == household and p["device"] == device))

    async def _poll(self, fetch: Callable[[], Awaitable[Any]], ok: Callable[[Any], bool], what: str) -> Any:
        deadline = monotonic.monotonic() + WAIT_S
        while True:
            value = await fetch()
            if ok(value):
                return value
            if monotonic.monotonic() > deadline:
                raise StoryFailed(f"waited {WAIT_S:g} s for {what}; last seen: {str(value)[:300]}")
            await asyncio.sleep(0.05)

    # -- time and reporting --------------------------------------------------------------

    async def _at(self, t: time) -> None:
        await self.timeline.until(self.day.at(t))

    async def _step(self, name: str, **facts: Any) -> None:
        step = StepResult(name, self.timeline.now(), facts)
        self.results.append(step)
        logger.info("story %s %s: %s", f"{step.story_time:%H:%M}", name,
                    ", ".join(f"{k}={v}" for k, v in facts.items() if k != "feed_message"))
        if self._observer is not None:
            result = self._observer(step)
            if inspect.isawaitable(result):
                await result


__all__ = ["StepResult", "StoryDay", "StoryFailed", "StoryPlayer", "Timeline"]
