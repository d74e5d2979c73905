"""What a provider and a community admin see and do: feeds, claims, notices, health, live events.

Each function takes the hub and the logged-in principal and returns plain dicts (see
:mod:`hub.dashboards.data`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from hub.dashboards.access import (
    ADMIN,
    HOUSEHOLD,
    PROVIDER,
    ActionResult,
    PrincipalLike,
    Unavailable,
    actor_of,
    audience,
    component,
    items_of,
    offers_for,
)
from hub.i18n.words import N_, ngettext

logger = logging.getLogger(__name__)


# -- offers: providers ------------------------------------------------------------------------


def provider_feed(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """Open requests sent to the provider (consent-filtered by the offers package)."""
    offers = component(hub, "offers")
    if offers is None or p.role != PROVIDER or not p.provider:
        return []
    return items_of(offers.grocery.feed(p.provider, limit=50))


def provider_schedule(hub: Any, p: PrincipalLike) -> list[dict[str, Any]]:
    """Requests the provider claimed, grouped later by slot."""
    offers = component(hub, "offers")
    if offers is None or p.role != PROVIDER or not p.provider:
        return []
    return items_of(offers.grocery.schedule(p.provider, limit=100))


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
    offers = offers_for(hub, p, PROVIDER)
    offers.grocery.claim(p.provider, request_id, actor_of(p))
    return ActionResult(True, N_("Claimed: it is on your schedule."))


def fulfil(hub: Any, p: PrincipalLike, request_id: str) -> ActionResult:
    """Mark a claimed request delivered."""
    offers = offers_for(hub, p, PROVIDER)
    offers.grocery.fulfil(p.provider, request_id, actor_of(p))
    return ActionResult(True, N_("Marked fulfilled."))


# -- notices ----------------------------------------------------------------------------------


def notices(hub: Any, p: PrincipalLike, *, whole_community: bool = False,
            language: str | None = None) -> list[dict[str, Any]]:
    """Active notices: a household's own (or its community's), an admin's community's; each
    in ``language`` when it comes in that language (CAP ``info`` blocks)."""
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
    if language:
        found = [n.in_language(language) if hasattr(n, "in_language") else n for n in found]
    return [n.marshal() if hasattr(n, "marshal") else dict(n) for n in found]


def post_notice(hub: Any, p: PrincipalLike, fields: dict[str, Any]) -> ActionResult:
    """Post a notice for the admin's community (validated by the notices package)."""
    book = component(hub, "notices")
    if book is None:
        raise Unavailable(N_("notices are not available on this hub yet"))
    if p.role != ADMIN or not p.community:
        raise Unavailable(N_("only a community admin posts notices"))
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
    return ActionResult(True, ngettext("Notice posted; %(num)d household reached.",
                                      "Notice posted; %(num)d households reached.", reached))


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
    ("hub_messages_in_total", N_("messages in")),
    ("hub_readings_total", N_("readings")),
    ("hub_dead_letters_total", N_("dead letters")),
    ("hub_ingest_backpressure_total", N_("reading paused (queue full)")),
    ("hub_messages_rate_limited_total", N_("rate limited")),
    ("hub_ingest_batches_total", N_("ingest batches")),
    ("hub_ingest_batch_errors_total", N_("failed batches")),
    ("hub_ingest_queue_depth", N_("queue depth")),
    ("hub_outbox_unsent", N_("outbox unsent")),
    ("hub_devices", N_("devices")),
    ("hub_history_dropped", N_("history points dropped")),
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


# -- live updates ---------------------------------------------------------------------------


def offer_events(hub: Any, p: PrincipalLike) -> AsyncIterator[dict[str, Any]] | None:
    """The principal's stream of offers events (call on the event loop), or None."""
    offers = component(hub, "offers")
    live = getattr(offers, "live", None)
    name = audience(p)
    if live is None or name is None:
        return None
    stream: AsyncIterator[dict[str, Any]] = live.subscribe(name)
    return stream
