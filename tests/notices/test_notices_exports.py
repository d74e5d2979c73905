"""The public names of hub.notices stay put (the lead wires them)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from notices_support import cap_xml

import hub.notices
from hub.notices.book import NoticeChange
from hub.notices.feeds import add_expiry_job


def test_public_names() -> None:
    assert set(hub.notices.__all__) == {
        "DEFAULT_MAX_BYTES",
        "INTAKE_FILTER",
        "Area",
        "FeedConfig",
        "FeedPoller",
        "FeedStatus",
        "Notice",
        "NoticeBook",
        "NoticeChange",
        "NoticeInfo",
        "NoticeIntake",
        "add_expiry_job",
        "community_topic",
        "household_topic",
        "households_for",
        "intake_topic",
        "parse_document",
        "parse_intake_topic",
        "topic_id",
    }
    for name in hub.notices.__all__:
        assert getattr(hub.notices, name) is not None


async def test_expiry_job_runs_on_the_scheduler(kit) -> None:  # type: ignore[no-untyped-def]
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    (notice,) = hub.notices.parse_document(cap_xml("exp-1"))
    kit.book.ingest(notice, community="riverside")
    kit.clock.advance(timedelta(hours=12))
    expired: asyncio.Queue[list[NoticeChange]] = asyncio.Queue()
    scheduler = AsyncIOScheduler()
    add_expiry_job(scheduler, kit.book, interval_s=0.05, on_changes=expired.put_nowait)
    scheduler.start()
    try:
        changes = await asyncio.wait_for(expired.get(), timeout=5)
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # let the loop run the scheduled shutdown
    assert [(c.action, c.notice.id) for c in changes] == [("expired", "exp-1")]
    assert kit.book.active() == []
