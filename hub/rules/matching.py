"""Matching notice changes and offer events against triggers; building their context."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.rules.compiler import resolve_path
from hub.rules.events import NoticeChangeLike, OfferEventLike
from hub.rules.model import NoticeSpec, OfferSpec

TONIGHT_FROM = 17
"""``tonight`` is 17:00 to midnight in the pack's time zone."""


def as_datetime(value: Any) -> datetime | None:
    """A datetime from a datetime or an ISO 8601 string (naive means UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def window(name: str | float, now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The time window a notice must overlap: tonight, today, tomorrow or the next N s."""
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if isinstance(name, int | float):
        return now, now + timedelta(seconds=float(name))
    if name == "tonight":
        return midnight.replace(hour=TONIGHT_FROM), midnight + timedelta(days=1)
    if name == "today":
        return midnight, midnight + timedelta(days=1)
    return midnight + timedelta(days=1), midnight + timedelta(days=2)


def notice_matches(
    spec: NoticeSpec, change: NoticeChangeLike, now: datetime, tz: ZoneInfo
) -> tuple[bool, str]:
    """Whether a notice change fires a notice trigger; (ok, why not)."""
    notice = change.notice
    if change.action not in spec.when:
        return False, f"notice {change.action}, not {'/'.join(spec.when)}"
    if spec.category:
        cats = {c.lower() for c in (notice.category or ())}
        if not cats & {c.lower() for c in spec.category}:
            return False, f"category {sorted(cats)} not in {spec.category}"
    event = (notice.event or "").lower()
    if spec.event is not None and event != spec.event.lower():
        return False, f"event {notice.event!r} is not {spec.event!r}"
    if spec.event_contains is not None and spec.event_contains.lower() not in event:
        return False, f"event {notice.event!r} does not mention {spec.event_contains!r}"
    if spec.overlaps is not None:
        start, end = window(spec.overlaps, now, tz)
        onset = as_datetime(notice.onset) or now
        expires = as_datetime(notice.expires)
        if onset >= end or (expires is not None and expires <= start):
            return False, f"notice time does not overlap {spec.overlaps}"
    return True, ""


def notice_context(change: NoticeChangeLike, tz: ZoneInfo) -> dict[str, Any]:
    """What templates see as ``notice`` (times in the pack's time zone)."""
    n = change.notice
    onset, expires = as_datetime(n.onset), as_datetime(n.expires)
    return {
        "id": n.id,
        # The first notice of its update chain: stable across updates (the notices
        # package's NoticeChange.thread); key what a notice causes on it.
        "thread": getattr(change, "thread", "") or n.id,
        "previous": getattr(change, "previous", None),
        "action": change.action,
        "event": n.event,
        "category": list(n.category or ()),
        "onset": onset.astimezone(tz) if onset else None,
        "expires": expires.astimezone(tz) if expires else None,
        "headline": getattr(n, "headline", "") or "",
        "severity": getattr(n, "severity", "") or "",
        "area": _area(n.area),
    }


def _area(area: Any) -> Any:
    if area is None or isinstance(area, str | Mapping | list):
        return area
    return {"description": getattr(area, "description", str(area))}


def offer_matches(spec: OfferSpec, event: OfferEventLike) -> tuple[bool, str]:
    """Whether an offer event fires an offer trigger; (ok, why not)."""
    if event.kind not in spec.when:
        return False, f"offer {event.kind}, not {'/'.join(spec.when)}"
    for path, expected in spec.where.items():
        found, value = resolve_path(event.data, path)
        if not found or value != expected:
            return False, f"data.{path} is {value!r}, not {expected!r}"
    return True, ""


def offer_context(event: OfferEventLike) -> dict[str, Any]:
    return {"kind": event.kind, "offer_id": event.offer_id, "data": dict(event.data)}
