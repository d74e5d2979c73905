"""Give-aways (first come, draws, lapsed pickups), swaps and wanted posts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sharing_support import World, who


def _thing(api: httpx.Client, owner: str, **fields: Any) -> dict[str, Any]:
    r = api.post("/things", json={"category": "other", **fields}, headers=who(owner))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _claim(api: httpx.Client, tid: str, household: str) -> httpx.Response:
    return api.post(f"/things/{tid}/claims", headers=who(household))


def test_first_come_give_away_and_the_pickup_deadline(api: httpx.Client, world: World) -> None:
    seat = _thing(api, "h-dan", title="Child seat", category="kids", mode="give",
                  pickup_place="Mill Lane 40, porch", pickup_hours=33)
    assert seat["give"] == {"policy": "first_come", "claim_until": None, "pickup_hours": 33,
                            "pickup_until": None}
    first = _claim(api, seat["id"], "h-ana")
    assert first.status_code == 201
    assert first.json()["you"] == "won"
    assert _claim(api, seat["id"], "h-eve").json()["you"] == "waiting"
    assert _claim(api, seat["id"], "h-dan").status_code == 409  # one's own
    won = world.messages("home/h-ana/hub/sharing/things/")[-1][1]
    assert won["type"] == "giveaway-won"
    assert won["pickup_by"] == "2026-11-30T17:00:00Z"  # Monday evening
    assert won["pickup_place"] == "Mill Lane 40, porch"
    assert api.get(f"/things/{seat['id']}", headers=who("h-ana")).json()["pickup"]["place"] == \
        "Mill Lane 40, porch"
    assert api.get(f"/things/{seat['id']}", headers=who("h-eve")).json()["pickup"]["place"] is None
    # The owner sees every claim; a claimant only their own.
    owner_view = api.get(f"/things/{seat['id']}/claims", headers=who("h-dan")).json()
    assert [(c["household"], c["status"]) for c in owner_view["claims"]] == [
        ("h-ana", "won"), ("h-eve", "waiting")]
    assert [c["household"] for c in api.get(f"/things/{seat['id']}/claims",
                                            headers=who("h-eve")).json()["claims"]] == ["h-eve"]

    # Ana does not come by Monday evening: Eve gets it.
    world.clock.advance(timedelta(hours=34))
    assert ("giveaway", seat["id"]) in world.sharing.run_due()
    claims = api.get(f"/things/{seat['id']}/claims", headers=who("h-dan")).json()["claims"]
    assert [(c["household"], c["status"]) for c in claims] == [("h-ana", "lapsed"),
                                                               ("h-eve", "won")]
    assert world.messages("home/h-ana/hub/sharing/things/")[-1][1]["type"] == "giveaway-lapsed"
    assert world.messages("home/h-eve/hub/sharing/things/")[-1][1]["type"] == "giveaway-won"
    assert world.sharing.run_due() == []  # nothing more is due
    r = api.post(f"/things/{seat['id']}/given", headers=who("h-dan"))
    assert r.json()["state"] == "given"
    assert _claim(api, seat["id"], "h-fay").status_code == 409


def test_a_draw_among_claimants_at_the_deadline(api: httpx.Client, world: World) -> None:
    lamp = _thing(api, "h-ben", title="Desk lamp", mode="give", give_policy="draw",
                  claim_until="2026-11-29T18:00:00Z")
    for h in ("h-ana", "h-chen", "h-eve"):
        assert _claim(api, lamp["id"], h).json()["you"] == "waiting"
    assert world.sharing.run_due() == []  # before the deadline, nobody wins
    world.clock.advance(timedelta(hours=11))
    assert world.sharing.run_due() == [("giveaway", lamp["id"])]
    claims = api.get(f"/things/{lamp['id']}/claims", headers=who("h-ben")).json()["claims"]
    winners = [c["household"] for c in claims if c["status"] == "won"]
    assert len(winners) == 1
    assert winners[0] in {"h-ana", "h-chen", "h-eve"}
    assert _claim(api, lamp["id"], "h-fay").status_code == 409  # the draw was held
    # A draw needs its deadline.
    r = api.post("/things", json={"title": "Lamp", "mode": "give", "give_policy": "draw"},
                 headers=who("h-ben"))
    assert r.status_code == 422


def test_swaps_thing_for_thing(api: httpx.Client, world: World) -> None:
    tent = _thing(api, "h-ben", title="Two-person tent", mode="swap")
    bike = _thing(api, "h-ana", title="Kids bike", mode="swap")
    saw = _thing(api, "h-eve", title="Hand saw", mode="swap")
    r = api.post(f"/things/{tent['id']}/swaps", json={"offered": bike["id"]}, headers=who("h-ana"))
    assert r.status_code == 201
    swap = r.json()
    other = api.post(f"/things/{tent['id']}/swaps", json={"offered": saw["id"]},
                     headers=who("h-eve")).json()
    # Offering someone else's thing is refused.
    r = api.post(f"/things/{tent['id']}/swaps", json={"offered": saw["id"]}, headers=who("h-ana"))
    assert r.status_code == 404
    assert api.post(f"/swaps/{swap['id']}/accept", headers=who("h-ana")).status_code == 404
    done = api.post(f"/swaps/{swap['id']}/accept", headers=who("h-ben")).json()
    assert done["status"] == "accepted"
    assert api.get(f"/things/{tent['id']}", headers=who("h-ana")).json()["state"] == "swapped"
    assert api.get(f"/things/{bike['id']}", headers=who("h-ben")).json()["pickup"]["level"] == "exact"
    eve = {s["id"]: s["status"] for s in api.get("/swaps", headers=who("h-eve")).json()}
    assert eve == {other["id"]: "declined"}
    assert world.messages("home/h-eve/hub/sharing/swaps/")[-1][1]["type"] == "swap-declined"


def test_wanted_posts_match_things_and_owners_and_expire(api: httpx.Client, world: World) -> None:
    drill = _thing(api, "h-chen", title="Cordless drill", category="tools")
    with world.db.transaction() as conn:  # Gus owns a drill on a smart plug, not listed
        conn.execute("INSERT INTO devices (household, device, name, first_seen, last_seen)"
                     " VALUES ('h-gus', 'plug-7', 'Hammer drill', 0, 0)")
    r = api.post("/wanted", json={"text": "Wanted: a drill, today 10:00-12:00",
                                  "start": "2026-11-29T10:00:00Z", "end": "2026-11-29T12:00:00Z"},
                 headers=who("h-ana"))
    assert r.status_code == 201, r.text
    post = r.json()
    assert post["expires_at"] == "2026-11-29T12:00:00Z"
    assert post["matches"] == [
        {"kind": "thing", "thing": drill["id"], "title": "Cordless drill", "mode": "lend",
         "household": "h-chen"},
        {"kind": "owner", "household": "h-gus", "device": "plug-7", "title": "Hammer drill"}]
    chen = world.messages("home/h-chen/hub/sharing/wanted/")[-1][1]
    assert chen["type"] == "wanted-match"
    assert chen["message"] == "Ana needs a drill today 10:00-12:00; lend your Cordless drill?"
    assert world.messages("home/h-gus/hub/sharing/wanted/")[-1][1]["device"] == "plug-7"
    assert world.messages("home/h-ana/hub/sharing/wanted/")[-1][1]["type"] == "wanted-matched"
    # Others see the post, not its matches; another community sees nothing.
    seen = api.get(f"/wanted/{post['id']}", headers=who("h-ben")).json()
    assert seen["matches"] is None
    assert api.get(f"/wanted/{post['id']}", headers=who("h-zed")).status_code == 404
    # A ladder listed later matches a ladder post made before it.
    ladder_post = api.post("/wanted", json={"text": "a ladder, Saturday morning",
                                            "expires_at": "2026-12-05T12:00:00Z"},
                           headers=who("h-eve")).json()
    assert ladder_post["matches"] == []
    ladder = _thing(api, "h-tom", title="Aluminium ladder", category="tools")
    got = api.get(f"/wanted/{ladder_post['id']}", headers=who("h-eve")).json()["matches"]
    assert [m["thing"] for m in got] == [ladder["id"]]
    # Nothing to match on, or an end before the start: 422.
    assert api.post("/wanted", json={"text": "a an it"}, headers=who("h-ana")).status_code == 422
    r = api.post("/wanted", json={"text": "drill", "start": "2026-11-29T12:00:00Z",
                                  "end": "2026-11-29T10:00:00Z"}, headers=who("h-ana"))
    assert r.status_code == 422
    # A loan requested for the post and accepted fulfils it; the ladder post expires.
    lid = api.post(f"/things/{drill['id']}/loans", json={
        "start": "2026-11-29T10:00:00Z", "end": "2026-11-29T12:00:00Z", "wanted": post["id"]},
        headers=who("h-ana")).json()["id"]
    api.post(f"/loans/{lid}/accept", headers=who("h-chen"))
    assert api.get(f"/wanted/{post['id']}", headers=who("h-ana")).json()["state"] == "fulfilled"
    world.clock.advance(timedelta(days=7))
    assert ("wanted-expired", ladder_post["id"]) in world.sharing.run_due()
    assert api.get(f"/wanted/{ladder_post['id']}", headers=who("h-eve")).json()["state"] == "expired"
    assert api.get("/wanted", headers=who("h-eve")).json() == []
