"""Every time a person sees or types, in their community's time zone (one place for it).

The API and the store speak UTC; the dashboards show and read local times of the viewer's
community (``communities.time_zone``, an IANA name, ``UTC`` when unset or unknown). Locale
formatting (names of days, 12/24 h) is :class:`hub.i18n.locale.Reader`; this module reads
zones and moments through it, so there is one parser of each.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from hub.i18n.locale import moment as to_datetime
from hub.i18n.locale import zone as zone_named

DEFAULT_FORMAT = "%a %H:%M"


def community_zone(db: Any, community: str | None) -> tzinfo:
    """The time zone of ``community`` (UTC when it has none, or there is no community)."""
    if not community:
        return UTC
    row = db.query_one("SELECT time_zone FROM communities WHERE id = ?", (community,))
    return zone_named(row["time_zone"] if row is not None else None)


def zone_label(zone: tzinfo) -> str:
    """``Europe/Amsterdam``, or ``UTC``."""
    return getattr(zone, "key", None) or "UTC"


def show(value: Any, zone: tzinfo = UTC, fmt: str = DEFAULT_FORMAT) -> str:
    """A time for people: in ``zone``, as ``fmt`` (``Sat 18:00``); unreadable text as it is."""
    dt = to_datetime(value)
    if dt is None:
        return "" if value in (None, "") else str(value)
    return dt.astimezone(zone).strftime(fmt)


def read_local(text: str, zone: tzinfo) -> datetime:
    """A time a person typed (``datetime-local``: no offset) as aware UTC.

    A text with its own offset keeps it. Raises ValueError for text that is not a time.
    """
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return dt.astimezone(UTC)


def local_input(value: Any, zone: tzinfo) -> str:
    """A time as a ``datetime-local`` input's value in ``zone`` (``2026-12-06T18:00``)."""
    dt = to_datetime(value)
    return "" if dt is None else dt.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
