"""What a household sees and does: consents, devices, suggestions, slots, bookings, gatherings.

Each function takes the hub and the logged-in principal and returns plain dicts (see
:mod:`hub.dashboards.data`).
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from hub.dashboards import localtime
from hub.dashboards.access import (
    ADMIN,
    HOUSEHOLD,
    ActionResult,
    PrincipalLike,
    actor_of,
    component,
    items_of,
    offers_for,
)
from hub.i18n.words import N_, Message

logger = logging.getLogger(__name__)


# -- consent ----------------------------------------------------------------------------------


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
        return ActionResult(False, N_("consents are not available"))
    store = getattr(identity, "consent", None)
    revoke = getattr(store, "revoke", None) or getattr(identity, "revoke_consent", None)
    if revoke is None:
        return ActionResult(False, N_("consents are not available"))
    # The identity's revocation hooks (wired by the hub) stop the feeds in the same transaction.
    revoke(grant_id, p.household)
    return ActionResult(True, N_("Consent revoked: nothing more is shared under it."))


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


#: metric -> (title, unit) of the 24 h range charts (mean line, min-max band, gaps as gaps)
RANGE_CHARTS: dict[str, tuple[Message, str]] = {
    "power": (N_("Power, 24 h"), "W"),
    "temperature": (N_("Temperature, 24 h"), "°C"),
    "humidity": (N_("Humidity, 24 h"), "%"),
}
#: metric -> (history helper, title, unit) of the per-day bar charts of counters
DAY_CHARTS: dict[str, tuple[str, Message, str]] = {
    "energy": ("energy_per_day", N_("Energy per day"), "kWh"),
    "gas": ("gas_per_day", N_("Gas per day"), "m³"),
}
RANGE_HOURS = 24
RANGE_STEP_S = 900


def device_charts(hub: Any, p: PrincipalLike, device: dict[str, Any], *, zone: tzinfo = UTC,
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """Small charts of one of the household's devices from the telemetry history.

    Line metrics cover the last 24 h in 15-minute buckets (mean, and the bucket's min and
    max as a band); counters get bars per day. Returns a list of ``{"title", "unit",
    "kind", "values", "mins", "maxs", "labels", "span"}``; a None value is a gap (no
    reading in that bucket), drawn as a break, never interpolated. Labels are local times.
    """
    history = component(hub, "history") or component(hub, "telemetry")
    if history is None or p.role != HOUSEHOLD or device.get("household") != p.household:
        return []
    end = (now or datetime.now(UTC)).astimezone(UTC)
    seen: set[tuple[str, str | None]] = set()
    out = []
    for m in device["metrics"]:
        key = (m["metric"], m["channel"])
        if key in seen or (m["metric"] not in RANGE_CHARTS and m["metric"] not in DAY_CHARTS):
            continue
        seen.add(key)
        try:
            if m["metric"] in RANGE_CHARTS:
                title, unit = RANGE_CHARTS[m["metric"]]
                kind = "line"
                points = history.query(p.household, device["device"], m["metric"], channel=m["channel"],
                                       start=end - timedelta(hours=RANGE_HOURS), end=end, step_s=RANGE_STEP_S)
            else:
                helper, title, unit = DAY_CHARTS[m["metric"]]
                kind = "bars"
                if not hasattr(history, helper):
                    continue
                points = getattr(history, helper)(p.household, device["device"], channel=m["channel"])
        except Exception:
            logger.exception("history of %s failed for %s/%s", m["metric"], p.household, device["device"])
            continue
        values = [_finite(getattr(pt, "value", None)) for pt in points]
        if any(v is not None for v in values):
            if m["channel"] and device.get("show_channels", True):
                title = N_("%(chart)s (%(channel)s)", chart=title, channel=m["channel"])
            labels = [_label(pt, zone) for pt in points]
            out.append({"title": title, "unit": unit, "kind": kind, "values": values,
                        "mins": [_finite(getattr(pt, "min", None)) for pt in points],
                        "maxs": [_finite(getattr(pt, "max", None)) for pt in points],
                        "labels": labels,
                        "span": f"{labels[0]}–{labels[-1]}" if kind == "line" and labels else ""})
    return out


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _label(point: Any, zone: tzinfo) -> str:
    day = getattr(point, "day", None)
    if day is not None:
        return str(day)
    return localtime.show(getattr(point, "ts", None), zone, "%H:%M")


# -- offers: households -----------------------------------------------------------------------


def suggestions(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """The household's open suggestions, each with ``slots`` to pick from when it needs one."""
    offers = component(hub, "offers")
    if offers is None or p.role != HOUSEHOLD or not p.household:
        return []
    found = items_of(offers.suggestions.page(p.household, state="proposed", limit=50))
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
    offers = offers_for(hub, p, HOUSEHOLD)
    result = offers.accept_suggestion(p.household, suggestion_id, slot=slot_id or None, actor=actor_of(p))
    kind = result.get("kind", "")
    return ActionResult(True, {"grocery": N_("Delivery booked."), "reschedule": N_("Delivery moved.")}.get(
        kind, N_("Suggestion accepted.")))


def decline(hub: Any, p: PrincipalLike, suggestion_id: str) -> ActionResult:
    """Decline a suggestion."""
    offers = offers_for(hub, p, HOUSEHOLD)
    offers.suggestions.decline(p.household, suggestion_id, actor_of(p))
    return ActionResult(True, N_("Suggestion declined."))


def calendar(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """The household's bookings of every kind, soonest first, with clash flags.

    Movable bookings (deliveries) carry ``slots``: where they could move to.
    """
    offers = component(hub, "offers")
    if offers is None or p.role != HOUSEHOLD or not p.household:
        return []
    found = items_of(offers.calendar.page(p.household, limit=50))
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
    offers = offers_for(hub, p, HOUSEHOLD)
    offers.grocery.rate(p.household, request_id, stars, comment, actor_of(p))
    return ActionResult(True, N_("Thank you: rated %(stars)s/5.", stars=stars))


def move(hub: Any, p: PrincipalLike, booking_id: str, slot_id: str) -> ActionResult:
    """Move a delivery to another slot in one step."""
    offers = offers_for(hub, p, HOUSEHOLD)
    offers.move_booking(p.household, booking_id, slot_id, actor_of(p))
    return ActionResult(True, N_("Delivery moved."))


def gatherings(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """Gatherings the household hosts or was invited to; for an admin, the community's."""
    offers = component(hub, "offers")
    if offers is None:
        return []
    if p.role == HOUSEHOLD and p.household:
        found = items_of(offers.gatherings.page(p.household, limit=50))
        for g in found:
            g["you"] = _status_in(g, p.household)
        return found
    if p.role == ADMIN and p.community:
        return items_of(offers.gatherings.list_community(p.community, limit=50))
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
    offers = offers_for(hub, p, HOUSEHOLD)
    answer = offers.gatherings.rsvp(p.household, gathering_id, going, actor_of(p))
    you = answer.get("you", "going" if going else "declined")
    return ActionResult(True, {"going": N_("You are going."),
                               "waitlisted": N_("It is full: you are on the waitlist."),
                               "declined": N_("You declined.")}.get(you, N_("Answer saved.")))


def book_gathering(hub: Any, p: PrincipalLike, suggestion_id: str, sitting: str, title: str, seats: int,
                   invite: list[str]) -> ActionResult:
    """Act on a gathering suggestion: create the gathering at one of the suggested sittings,
    book the provider's tables for ``seats`` and invite households."""
    offers = offers_for(hub, p, HOUSEHOLD)
    from hub.offers.gatherings import Place  # the offers package's own value

    sug = offers.suggestions.get(p.household, suggestion_id)
    chosen = next((s for s in sug.data.get("sittings", []) if s.get("slot") == sitting), None)
    provider = sug.data.get("place")
    if chosen is None or not isinstance(provider, str):
        return ActionResult(False, N_("pick one of the suggested sittings"))
    row = hub.db.query_one("SELECT name FROM providers WHERE id = ?", (provider,))
    starts = datetime.fromisoformat(str(chosen["starts_at"]).replace("Z", "+00:00"))
    offers.gatherings.create(
        p.household, title=title or sug.title, starts_at=starts, ends_at=None, capacity=None,
        place=Place(label=row["name"] if row else provider, provider=provider, seats=seats),
        invite=invite, suggestion=suggestion_id, actor=actor_of(p))
    return ActionResult(True, N_("Table for %(seats)s booked; invitations sent.", seats=seats))


#: request state -> how the community view counts it
DELIVERY_STATES = {"accepted": N_("deliveries booked"), "claimed": N_("deliveries booked"),
                   "scheduled": N_("deliveries booked"), "fulfilled": N_("deliveries made"),
                   "rated": N_("deliveries made")}


def exchanged_this_week(hub: Any, p: PrincipalLike) -> dict[str, int]:
    """Counts of what the community exchanged in the last 7 days (no names, no contents)."""
    offers = component(hub, "offers")
    if offers is None or not p.community or p.role not in {HOUSEHOLD, ADMIN}:
        return {}
    clock = getattr(hub, "clock", None)
    now = clock.now() if clock is not None else datetime.now(UTC)
    since = (now.astimezone(UTC) - timedelta(days=7)).isoformat()
    counts: dict[str, int] = {}
    for r in items_of(offers.grocery.community_page(p.community, limit=200)):
        if str(r.get("created_at", "")) >= since[:19]:
            key = DELIVERY_STATES.get(str(r["state"]), N_("deliveries cancelled or expired"))
            counts[key] = counts.get(key, 0) + 1
    for g in items_of(offers.gatherings.list_community(p.community, limit=200)):
        if str(g.get("created_at", "")) >= since[:19]:
            counts[N_("gatherings")] = counts.get("gatherings", 0) + 1
            counts[N_("people at gatherings")] = counts.get("people at gatherings", 0) + len(g.get("going", []))
    return counts
