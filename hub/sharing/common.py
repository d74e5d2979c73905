"""What the sharing services share: errors with details, times, scoping and notices.

Every change goes through the offers package's unit of work (:class:`hub.offers.uow.UnitOfWork`):
rows, transitions and outbox messages commit together; live updates run after the commit.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from hub.clock import iso_utc
from hub.errors import Conflict, NotFound
from hub.i18n.words import N_
from hub.offers.context import Context
from hub.offers.directory import Household
from hub.offers.directory import household as load_household
from hub.offers.problems import Unprocessable
from hub.storage.database import Database

#: Seconds a loan may start before "now" and still count as not in the past (clock skew).
PAST_GRACE_S = 60


class PeriodTaken(Conflict):
    """The period overlaps an accepted loan or a blocked day; ``extra`` names which."""

    code = "period-taken"

    def __init__(self, message: str, clash: dict[str, Any]) -> None:
        super().__init__(message)
        self.extra = {"clash": clash}


def iso(dt: datetime) -> str:
    """ISO 8601 UTC text with a ``Z`` and whole seconds (the stored form)."""
    return iso_utc(dt.astimezone(UTC).replace(microsecond=0))


def parse(text: str) -> datetime:
    """The datetime of stored ISO text."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def member(db: Database, hid: str) -> Household:
    """The caller's household (its community scopes everything it sees)."""
    return load_household(db, hid)


def same_community(db: Database, me: Household, other: str, what: str) -> Household:
    """The other household, or NotFound naming ``what`` when it is of another community."""
    try:
        them = load_household(db, other)
    except NotFound:
        raise NotFound(N_("no %(what)s %(other)s in your community", what=what, other=other)) from None
    if them.community != me.community:
        raise NotFound(N_("no %(what)s %(other)s in your community", what=what, other=other))
    return them


def check_window(now: datetime, start: datetime, end: datetime) -> tuple[str, str]:
    """Validate a loan period: 422 when it ends before it starts or lies in the past."""
    if end <= start:
        raise Unprocessable(N_("the period ends (%(end)s) before it starts (%(start)s)",
                               end=iso(end), start=iso(start)))
    if (now - start).total_seconds() > PAST_GRACE_S:
        raise Unprocessable(N_("the period starts in the past (%(start)s; now is %(now)s)",
                               start=iso(start), now=iso(now)))
    return iso(start), iso(end)


def notify(ctx: Context, conn: sqlite3.Connection, household: str, path: str,
           payload: dict[str, Any]) -> None:
    """Tell a household: MQTT under ``home/<household>/hub/sharing/<path>`` through the
    outbox (in the caller's transaction) and a live update after the commit."""
    ctx.uow.outbox.add(conn, f"home/{household}/hub/sharing/{path}", dict(payload))
    ctx.push(f"household:{household}", {"type": f"sharing.{payload.get('type', 'update')}",
                                        **{k: v for k, v in payload.items() if k != "type"}})
