"""The one adapter between the dashboards and the rest of the hub.

Every view reads and writes through these functions: they take the hub and the logged-in
principal, enforce what that principal may see, and return plain dicts and lists. When a
package is not wired into the hub (yet), its functions return empty data and the view says
"nothing yet"; nothing here ever invents data.

Components are found as attributes of the hub (``hub.offers``) or in ``hub.components``
(``hub.components["offers"]``), whichever is present: the lead fixes any glue here, in one
place.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

logger = logging.getLogger(__name__)

HOUSEHOLD = "household"
PROVIDER = "provider"
ADMIN = "admin"


class PrincipalLike(Protocol):
    """Who is logged in (the identity package's ``Principal`` has these attributes)."""

    @property
    def account_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def household(self) -> str | None: ...
    @property
    def provider(self) -> str | None: ...
    @property
    def community(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a write did: ``ok`` and a sentence for the user."""

    ok: bool
    message: str


class Unavailable(Exception):
    """The component a function needs is not part of this hub."""


def component(hub: Any, name: str) -> Any | None:
    """``hub.<name>`` or ``hub.components[name]``, or None when neither is set."""
    found = getattr(hub, name, None)
    if found is None:
        found = getattr(hub, "components", {}).get(name)
    return found


def _actor(p: PrincipalLike) -> str:
    return f"{p.role}:{p.account_id}"


def _items(page: Any) -> list[dict[str, Any]]:
    """Items of an offers ``Page`` (or a plain list)."""
    items = getattr(page, "items", page)
    return [dict(i) for i in items]


# -- identity -------------------------------------------------------------------------------


def login(hub: Any, username: str, password: str, address: str = "") -> str:
    """Check a password; return a session token.

    Raises:
        Unavailable: no identity component.
        Exception: the identity's own refusal (wrong password, too many attempts); its
            message is shown to the user.
    """
    identity = component(hub, "identity")
    if identity is None:
        raise Unavailable("logins are not available on this hub yet")
    try:
        result = identity.login(username, password, address=address)
    except TypeError:
        result = identity.login(username, password)
    token = result[0] if isinstance(result, tuple) else result
    return str(token)


def principal_from_token(hub: Any, token: str) -> PrincipalLike | None:
    """The principal of a live session token, or None."""
    identity = component(hub, "identity")
    if identity is None or not token:
        return None
    check = getattr(identity, "authenticate", None) or getattr(identity, "principal_from_token", None)
    if check is None:
        return None
    try:
        principal: PrincipalLike | None = check(token)
    except Exception:  # an unknown, expired or revoked token: not logged in
        return None
    if principal is not None and principal.role == ADMIN and not principal.community:
        principal = _only_community(hub, principal)
    return principal


def _only_community(hub: Any, p: PrincipalLike) -> PrincipalLike:
    """An admin of no particular community, on a hub with exactly one, administers that one.

    This narrows what the admin sees (never widens it), and lets the community views work
    for an admin provisioned without a community.
    """
    rows = hub.db.query("SELECT id FROM communities ORDER BY id LIMIT 2")
    if len(rows) != 1:
        return p
    if dataclasses.is_dataclass(p) and not isinstance(p, type):
        scoped: PrincipalLike = dataclasses.replace(p, community=rows[0]["id"])
        return scoped
    return p


def logout(hub: Any, token: str) -> None:
    """End a session (ignored when there is none)."""
    identity = component(hub, "identity")
    if identity is not None and hasattr(identity, "logout"):
        try:
            identity.logout(token)
        except Exception:
            logger.info("logout of an unknown session")


def consents(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """The household's consent grants, newest first."""
    identity = component(hub, "identity")
    if identity is None or p.role != HOUSEHOLD or not p.household:
        return []
    store = getattr(identity, "consent", None)
    if store is not None and hasattr(store, "list_grants"):
        return [g.marshal() for g in store.list_grants(p.household)]
    if hasattr(identity, "consents"):
        return [dict(g) if isinstance(g, dict) else g.marshal() for g in identity.consents(p.household)]
    return []


def revoke_consent(hub: Any, p: PrincipalLike, grant_id: str) -> ActionResult:
    """Revoke one of the household's grants (and stop the data flow it allowed)."""
    identity = component(hub, "identity")
    if identity is None or p.role != HOUSEHOLD or not p.household:
        return ActionResult(False, "consents are not available")
    store = getattr(identity, "consent", None)
    revoke = getattr(store, "revoke", None) or getattr(identity, "revoke_consent", None)
    if revoke is None:
        return ActionResult(False, "consents are not available")
    # The identity's revocation hooks (wired by the hub) stop the feeds in the same transaction.
    revoke(grant_id, p.household)
    return ActionResult(True, "Consent revoked: nothing more is shared under it.")


# -- devices --------------------------------------------------------------------------------


def devices(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """The household's devices with their latest values (households only)."""
    if p.role != HOUSEHOLD or not p.household:
        return []
    out = []
    for twin in hub.twin.devices(p.household):
        d = twin.marshal()
        # A one-relay plug reports everything on channel "0": naming it adds nothing.
        channels = {m["channel"] for m in d["metrics"] if m["metric"] != "stock"}
        d["show_channels"] = len(channels) > 1
        out.append(d)
    return out


def pantry(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """Stock readings of the household's devices: item, amount, unit, device."""
    out = []
    for d in devices(hub, p):
        for m in d["metrics"]:
            if m["metric"] == "stock":
                out.append({"item": m["channel"] or "?", "amount": m["value"], "unit": m["unit"],
                            "device": d["name"] or d["device"], "device_id": d["device"],
                            "updated_at": m["updated_at"]})
    return sorted(out, key=lambda r: str(r["item"]))


def live_values(hub: Any, household: str) -> dict[str, Any]:
    """A flat snapshot ``{"device|metric|channel": value, "device|online": bool}`` for the stream."""
    snap: dict[str, Any] = {}
    for twin in hub.twin.devices(household):
        snap[f"{twin.device}|online"] = twin.online
        for (metric, channel), (value, unit, _ts, _at) in twin.metrics.items():
            snap[f"{twin.device}|{metric}|{channel}"] = [value, unit]
    return snap


#: metric -> (history helper, title, unit, chart kind)
CHARTS: dict[str, tuple[str, str, str, str]] = {
    "power": ("power_today", "Power today", "W", "line"),
    "temperature": ("temperature_series", "Temperature, 24 h", "°C", "line"),
    "energy": ("energy_per_day", "Energy per day", "kWh", "bars"),
    "gas": ("gas_per_day", "Gas per day", "m³", "bars"),
}


def device_charts(hub: Any, p: PrincipalLike, device: dict[str, Any]) -> list[dict[str, Any]]:
    """Small charts of one of the household's devices from the telemetry history.

    Returns a list of ``{"title", "unit", "kind", "values": [float | None], "labels"}``; a
    None value is a gap (device offline), drawn as a break, never interpolated.
    """
    history = component(hub, "history") or component(hub, "telemetry")
    if history is None or p.role != HOUSEHOLD or device.get("household") != p.household:
        return []
    seen: set[tuple[str, str | None]] = set()
    out = []
    for m in device["metrics"]:
        spec = CHARTS.get(m["metric"])
        key = (m["metric"], m["channel"])
        if spec is None or key in seen or not hasattr(history, spec[0]):
            continue
        seen.add(key)
        helper, title, unit, kind = spec
        try:
            points = getattr(history, helper)(p.household, device["device"], channel=m["channel"])
        except Exception:
            logger.exception("history %s failed for %s/%s", helper, p.household, device["device"])
            continue
        values = [_finite(getattr(pt, "value", None)) for pt in points]
        labels = [_label(pt) for pt in points]
        if any(v is not None for v in values):
            suffix = f" ({m['channel']})" if m["channel"] and device.get("show_channels", True) else ""
            out.append({"title": title + suffix, "unit": unit, "kind": kind, "values": values,
                        "labels": labels})
    return out


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _label(point: Any) -> str:
    day = getattr(point, "day", None)
    if day is not None:
        return str(day)
    ts = getattr(point, "ts", None)
    return ts.strftime("%H:%M") if isinstance(ts, datetime) else ""


# -- offers: households -----------------------------------------------------------------------


def suggestions(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """The household's open suggestions, each with ``slots`` to pick from when it needs one."""
    offers = component(hub, "offers")
    if offers is None or p.role != HOUSEHOLD or not p.household:
        return []
    found = _items(offers.suggestions.page(p.household, state="proposed", limit=50))
    needs_slot = [s for s in found if s["kind"] in {"grocery", "reschedule"}]
    free = slots(hub, p) if needs_slot else []
    for s in found:
        if s["kind"] == "grocery":
            s["slots"] = free
        elif s["kind"] == "reschedule":
            offered = s.get("data", {}).get("slots") or s.get("data", {}).get("alternatives")
            s["slots"] = _slot_choices(offered) or free
        else:
            s["slots"] = []
    return found


def _slot_choices(offered: Any) -> list[dict[str, Any]]:
    """Slots a suggestion carries in its data (ids or dicts), as picker choices."""
    out = []
    for item in offered or []:
        if isinstance(item, dict) and (item.get("id") or item.get("slot")):
            out.append({"id": item.get("id") or item.get("slot"), "provider": item.get("provider", ""),
                        "starts_at": item.get("starts_at", ""), "ends_at": item.get("ends_at", ""),
                        "free": item.get("free")})
        elif isinstance(item, str):
            out.append({"id": item, "provider": "", "starts_at": "", "ends_at": "", "free": None})
    return out


def slots(hub: Any, p: PrincipalLike, limit: int = 12) -> list[dict[str, Any]]:
    """Next free delivery slots of grocery providers the household consented to."""
    offers = component(hub, "offers")
    if offers is None or p.role != HOUSEHOLD or not p.household:
        return []
    return [{"id": s["slot"], "provider": s["provider"], "starts_at": s["starts_at"],
             "ends_at": s["ends_at"], "free": s["free"]}
            for s in offers.grocery.next_free_slots(p.household, limit)]


def accept(hub: Any, p: PrincipalLike, suggestion_id: str, slot_id: str | None) -> ActionResult:
    """Accept a suggestion (with a slot for deliveries and moves)."""
    offers = _offers_for(hub, p, HOUSEHOLD)
    result = offers.accept_suggestion(p.household, suggestion_id, slot=slot_id or None, actor=_actor(p))
    kind = result.get("kind", "")
    return ActionResult(True, {"grocery": "Delivery booked.", "reschedule": "Delivery moved."}.get(
        kind, "Suggestion accepted."))


def decline(hub: Any, p: PrincipalLike, suggestion_id: str) -> ActionResult:
    """Decline a suggestion."""
    offers = _offers_for(hub, p, HOUSEHOLD)
    offers.suggestions.decline(p.household, suggestion_id, _actor(p))
    return ActionResult(True, "Suggestion declined.")


def calendar(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """The household's bookings of every kind, soonest first, with clash flags.

    Movable bookings (deliveries) carry ``slots``: where they could move to.
    """
    offers = component(hub, "offers")
    if offers is None or p.role != HOUSEHOLD or not p.household:
        return []
    found = _items(offers.calendar.page(p.household, limit=50))
    if any(b["kind"] == "grocery" for b in found):
        free = slots(hub, p, limit=12)
        for b in found:
            if b["kind"] == "grocery":
                request = offers.grocery.get(p.household, b["ref"])
                b["request_state"] = request["state"]
                b["provider"] = request.get("provider")
                movable = request["state"] in {"accepted", "scheduled"}
                b["slots"] = [s for s in free if s["id"] != b.get("slot")] if movable else []
    return found


def rate(hub: Any, p: PrincipalLike, request_id: str, stars: int, comment: str) -> ActionResult:
    """Rate a fulfilled delivery, once (ratings are append-only)."""
    offers = _offers_for(hub, p, HOUSEHOLD)
    offers.grocery.rate(p.household, request_id, stars, comment, _actor(p))
    return ActionResult(True, f"Thank you: rated {stars}/5.")


def move(hub: Any, p: PrincipalLike, booking_id: str, slot_id: str) -> ActionResult:
    """Move a delivery to another slot in one step."""
    offers = _offers_for(hub, p, HOUSEHOLD)
    offers.move_booking(p.household, booking_id, slot_id, _actor(p))
    return ActionResult(True, "Delivery moved.")


def gatherings(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """Gatherings the household hosts or was invited to; for an admin, the community's."""
    offers = component(hub, "offers")
    if offers is None:
        return []
    if p.role == HOUSEHOLD and p.household:
        found = _items(offers.gatherings.page(p.household, limit=50))
        for g in found:
            g["you"] = _status_in(g, p.household)
        return found
    if p.role == ADMIN and p.community:
        return _items(offers.gatherings.list_community(p.community, limit=50))
    return []


def _status_in(g: dict[str, Any], household: str) -> str:
    if g.get("host") == household:
        return "host"
    for status, key in (("going", "going"), ("invited", "invited"), ("waitlisted", "waitlist"),
                        ("declined", "declined")):
        if household in g.get(key, []):
            return status
    return ""


def rsvp(hub: Any, p: PrincipalLike, gathering_id: str, going: bool) -> ActionResult:
    """Answer an invitation (waitlisted when the gathering is full)."""
    offers = _offers_for(hub, p, HOUSEHOLD)
    answer = offers.gatherings.rsvp(p.household, gathering_id, going, _actor(p))
    you = answer.get("you", "going" if going else "declined")
    return ActionResult(True, {"going": "You are going.", "waitlisted": "It is full: you are on the waitlist.",
                               "declined": "You declined."}.get(you, f"You are {you}."))


def book_gathering(hub: Any, p: PrincipalLike, suggestion_id: str, sitting: str, title: str, seats: int,
                   invite: list[str]) -> ActionResult:
    """Act on a gathering suggestion: create the gathering at one of the suggested sittings,
    book the provider's tables for ``seats`` and invite households."""
    offers = _offers_for(hub, p, HOUSEHOLD)
    from hub.offers.gatherings import Place  # the offers package's own value

    sug = offers.suggestions.get(p.household, suggestion_id)
    chosen = next((s for s in sug.data.get("sittings", []) if s.get("slot") == sitting), None)
    provider = sug.data.get("place")
    if chosen is None or not isinstance(provider, str):
        return ActionResult(False, "pick one of the suggested sittings")
    row = hub.db.query_one("SELECT name FROM providers WHERE id = ?", (provider,))
    starts = datetime.fromisoformat(str(chosen["starts_at"]).replace("Z", "+00:00"))
    offers.gatherings.create(
        p.household, title=title or sug.title, starts_at=starts, ends_at=None, capacity=None,
        place=Place(label=row["name"] if row else provider, provider=provider, seats=seats),
        invite=invite, suggestion=suggestion_id, actor=_actor(p))
    return ActionResult(True, f"Table for {seats} booked; invitations sent.")


#: request state -> how the community view counts it
DELIVERY_STATES = {"accepted": "deliveries booked", "claimed": "deliveries booked",
                   "scheduled": "deliveries booked", "fulfilled": "deliveries made", "rated": "deliveries made"}


def exchanged_this_week(hub: Any, p: PrincipalLike) -> dict[str, int]:
    """Counts of what the community exchanged in the last 7 days (no names, no contents)."""
    offers = component(hub, "offers")
    if offers is None or not p.community or p.role not in {HOUSEHOLD, ADMIN}:
        return {}
    clock = getattr(hub, "clock", None)
    now = clock.now() if clock is not None else datetime.now(UTC)
    since = (now.astimezone(UTC) - timedelta(days=7)).isoformat()
    counts: dict[str, int] = {}
    for r in _items(offers.grocery.community_page(p.community, limit=200)):
        if str(r.get("created_at", "")) >= since[:19]:
            key = DELIVERY_STATES.get(str(r["state"]), "deliveries cancelled or expired")
            counts[key] = counts.get(key, 0) + 1
    for g in _items(offers.gatherings.list_community(p.community, limit=200)):
        if str(g.get("created_at", "")) >= since[:19]:
            counts["gatherings"] = counts.get("gatherings", 0) + 1
            counts["people at gatherings"] = counts.get("people at gatherings", 0) + len(g.get("going", []))
    return counts


# -- offers: providers ------------------------------------------------------------------------


def provider_feed(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """Open requests sent to the provider (consent-filtered by the offers package)."""
    offers = component(hub, "offers")
    if offers is None or p.role != PROVIDER or not p.provider:
        return []
    return _items(offers.grocery.feed(p.provider, limit=50))


def provider_schedule(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """Requests the provider claimed, grouped later by slot."""
    offers = component(hub, "offers")
    if offers is None or p.role != PROVIDER or not p.provider:
        return []
    return _items(offers.grocery.schedule(p.provider, limit=100))


def provider_slots(hub: Any, p: PrincipalLike, limit: int = 24) -> list[dict[str, Any]]:
    """The provider's coming slots with capacity and what is taken."""
    offers = component(hub, "offers")
    if offers is None or p.role != PROVIDER or not p.provider:
        return []
    from hub.offers.slots import slots_of  # the offers package's own query

    now = hub.clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [{"id": s.id, "kind": s.kind, "starts_at": s.starts_at, "ends_at": s.ends_at,
             "capacity": s.capacity, "taken": s.taken, "free": s.free}
            for s in slots_of(hub.db, p.provider) if s.ends_at > now][:limit]


def provider_ratings(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """Ratings of the provider, newest first (stars, comment, when; not who)."""
    offers = component(hub, "offers")
    if offers is None or p.role != PROVIDER or not p.provider:
        return []
    from hub.offers.ratings import ratings_of

    return [{"stars": r["stars"], "comment": r["comment"], "created_at": r["created_at"]}
            for r in reversed(ratings_of(hub.db, p.provider))]


def claim(hub: Any, p: PrincipalLike, request_id: str) -> ActionResult:
    """Claim a request (exactly one provider wins)."""
    offers = _offers_for(hub, p, PROVIDER)
    offers.grocery.claim(p.provider, request_id, _actor(p))
    return ActionResult(True, "Claimed: it is on your schedule.")


def fulfil(hub: Any, p: PrincipalLike, request_id: str) -> ActionResult:
    """Mark a claimed request delivered."""
    offers = _offers_for(hub, p, PROVIDER)
    offers.grocery.fulfil(p.provider, request_id, _actor(p))
    return ActionResult(True, "Marked fulfilled.")


def _offers_for(hub: Any, p: PrincipalLike, role: str) -> Any:
    offers = component(hub, "offers")
    if offers is None:
        raise Unavailable("offers are not available on this hub yet")
    if p.role != role or not (p.household if role == HOUSEHOLD else p.provider):
        raise Unavailable(f"this is for {role}s")
    return offers


# -- notices ----------------------------------------------------------------------------------


def notices(hub: Any, p: PrincipalLike, *, whole_community: bool = False) -> list[dict[str, Any]]:
    """Active notices: a household's own (or its community's), an admin's community's."""
    book = component(hub, "notices")
    if book is None or not hasattr(book, "active"):
        return []
    if p.role == HOUSEHOLD and p.household and not whole_community:
        found = book.active(household=p.household)
    elif p.role in {HOUSEHOLD, ADMIN} and p.community:
        found = book.active(community=p.community)
    elif p.role == ADMIN:
        found = book.active()
    else:
        return []
    return [n.marshal() if hasattr(n, "marshal") else dict(n) for n in found]


def post_notice(hub: Any, p: PrincipalLike, fields: dict[str, Any]) -> ActionResult:
    """Post a notice for the admin's community (validated by the notices package)."""
    book = component(hub, "notices")
    if book is None:
        raise Unavailable("notices are not available on this hub yet")
    if p.role != ADMIN or not p.community:
        raise Unavailable("only a community admin posts notices")
    from hub.notices.api import NoticeIn  # the notices package's own validation

    posted = NoticeIn.model_validate(fields)
    clock = getattr(hub, "clock", None)
    sent = clock.now() if clock is not None else datetime.now(UTC)
    notice = posted.to_notice(community=p.community, sender=getattr(p, "username", "admin"), sent=sent)
    changes = book.ingest(notice, community=p.community, source=f"ui:{p.account_id}")
    rules = component(hub, "rules")
    if rules is not None and hasattr(rules, "on_event"):
        for change in changes:  # the rule packs react to notices (a gas outage -> dinner together)
            rules.on_event(change)
    reached = sum(len(getattr(c, "households", ())) for c in changes)
    return ActionResult(True, f"Notice posted; {reached} households reached.")


# -- admin ------------------------------------------------------------------------------------


def households_overview(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """The admin's community's households with their devices online, offline and unknown."""
    if p.role != ADMIN:
        return []
    if p.community:
        rows = hub.db.query("SELECT id, name, street FROM households WHERE community = ? ORDER BY id",
                            (p.community,))
    else:
        rows = hub.db.query("SELECT id, name, street FROM households ORDER BY id")
    out = []
    for r in rows:
        devs = hub.twin.devices(r["id"])
        out.append({
            "id": r["id"], "name": r["name"], "street": r["street"],
            "online": sum(1 for d in devs if d.online is True),
            "offline": sum(1 for d in devs if d.online is False),
            "unknown": sum(1 for d in devs if d.online is None),
            "devices": [{"device": d.device, "online": d.online, "last_seen": d.last_seen} for d in devs],
        })
    return out


def household_places(hub: Any, p: PrincipalLike) -> list[tuple[float, float, str]]:
    """Where the admin's community's households are (for the map); nothing for others."""
    if p.role != ADMIN or not p.community:
        return []
    rows = hub.db.query("SELECT name, lat, lon FROM households WHERE community = ? AND lat IS NOT NULL"
                        " AND lon IS NOT NULL ORDER BY id LIMIT 2000", (p.community,))
    return [(float(r["lat"]), float(r["lon"]), str(r["name"])) for r in rows]


def _community_households(hub: Any, p: PrincipalLike) -> set[str] | None:
    """Households an admin may see (None: every household, for an admin of no community)."""
    if not p.community:
        return None
    return {r["id"] for r in hub.db.query("SELECT id FROM households WHERE community = ?", (p.community,))}


def dead_letters(hub: Any, p: PrincipalLike, limit: int = 50) -> list[dict[str, Any]]:
    """Recent rejected messages with their reasons (of the admin's community)."""
    if p.role != ADMIN:
        return []
    mine = _community_households(hub, p)
    rows: Iterable[dict[str, Any]] = hub.dead_letters.recent(limit * (1 if mine is None else 4))
    return [r for r in rows if mine is None or r.get("household") in mine][:limit]


def rule_traces(hub: Any, p: PrincipalLike, limit: int = 100) -> list[dict[str, Any]]:
    """Recent rule decisions (why a rule fired or did not), newest first."""
    rules = component(hub, "rules")
    if p.role != ADMIN or rules is None or not hasattr(rules, "traces"):
        return []
    mine = _community_households(hub, p)
    found = [dict(t) for t in rules.traces() if mine is None or t.get("household") in mine]
    return list(reversed(found))[:limit]


def feed_status(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """The notice feeds' last poll, errors and next poll."""
    if p.role != ADMIN:
        return []
    poller = component(hub, "feeds")
    if poller is None:
        return []
    out = []
    for status in poller.status():
        row = status.marshal()
        if not p.community or row.get("community") in {None, p.community}:
            out.append(row)
    return out


#: Prometheus sample -> label on the admin view
HEALTH_SAMPLES = (
    ("hub_messages_in_total", "messages in"),
    ("hub_readings_total", "readings"),
    ("hub_dead_letters_total", "dead letters"),
    ("hub_ingest_backpressure_total", "reading paused (queue full)"),
    ("hub_messages_rate_limited_total", "rate limited"),
    ("hub_ingest_batches_total", "ingest batches"),
    ("hub_ingest_batch_errors_total", "failed batches"),
    ("hub_ingest_queue_depth", "queue depth"),
    ("hub_outbox_unsent", "outbox unsent"),
    ("hub_devices", "devices"),
    ("hub_history_dropped", "history points dropped"),
)


def health(hub: Any, p: PrincipalLike) -> dict[str, Any]:
    """Readiness checks (broker, storage, pipeline) and the main pipeline figures."""
    if p.role != ADMIN:
        return {}
    registry = hub.metrics.registry
    figures = []
    for sample, label in HEALTH_SAMPLES:
        value = registry.get_sample_value(sample)
        if value is not None:
            figures.append({"name": label, "value": value})
    return {"checks": hub.readiness(), "figures": figures}


# -- live updates -----------------------------------------------------------------------------


def audience(p: PrincipalLike) -> str | None:
    """The offers package's live-update audience of a principal."""
    if p.role == HOUSEHOLD and p.household:
        return f"household:{p.household}"
    if p.role == PROVIDER and p.provider:
        return f"provider:{p.provider}"
    if p.role == ADMIN and p.community:
        return f"community:{p.community}"
    return None


def offer_events(hub: Any, p: PrincipalLike) -> AsyncIterator[dict[str, Any]] | None:
    """The principal's stream of offers events (call on the event loop), or None."""
    offers = component(hub, "offers")
    live = getattr(offers, "live", None)
    name = audience(p)
    if live is None or name is None:
        return None
    stream: AsyncIterator[dict[str, Any]] = live.subscribe(name)
    return stream
