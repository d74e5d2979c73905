"""Feed pollers: fetch CAP alerts, CAP index feeds and outage lists on a schedule.

One APScheduler 3.11 interval job per feed on an ``AsyncIOScheduler``: the scheduler owns
the timing (intervals, misfires, a shared scheduler with the rest of the hub), and each
poll runs as its own asyncio task (the scheduler's ``AsyncIOExecutor`` runs coroutine jobs
as tasks), so a slow or failing feed never delays another. ``max_instances=1`` and
``coalesce=True`` keep one feed from piling up runs behind a slow server.

Each poll:

* sends a conditional GET (``If-None-Match`` / ``If-Modified-Since`` from the last 200);
  a ``304`` is a successful poll with nothing new;
* is bounded by the feed's ``timeout_s`` as a whole (connect, headers and body: a server
  that trickles bytes is cut off too) and by ``max_bytes``;
* for an index feed, fetches the full alert behind each entry's link (a few at a time)
  and ingests that; links already fetched are not fetched again while they stay in the
  index. If a full alert cannot be fetched, the feed's validators are not kept, so the
  next poll gets the whole index again and retries it;
* on failure, reschedules the feed with exponential backoff and full jitter
  (:func:`backoff_delay`), and records the error in the feed's :class:`FeedStatus`.

Validators and fetched links are kept in memory: after a restart each feed is fetched in
full once, and the book ignores the notices it already has.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from hub.clock import Clock, SystemClock
from hub.errors import NoticeRejected
from hub.notices.book import NoticeBook, NoticeChange
from hub.notices.model import Notice
from hub.notices.parse import DEFAULT_MAX_BYTES, parse_document

logger = logging.getLogger(__name__)

_RNG = random.Random()

FULL_ALERT_CONCURRENCY = 4
"""Full alerts fetched at the same time for one index feed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedConfig:
    """One feed to poll.

    Attributes:
        url: the feed's URL (CAP alert, CAP Atom/RSS index, outage JSON).
        community: the community its notices are for.
        interval_s: time between polls when all is well.
        timeout_s: limit for one whole request (and for each full alert).
        language: preferred language for multi-language alerts.
        fetch_full: follow index entries' links to the full alerts (else ingest the
            index fields as they are).
    """

    url: str
    community: str
    interval_s: float = 300.0
    timeout_s: float = 10.0
    language: str | None = None
    fetch_full: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedStatus:
    """What the admin view shows of a feed."""

    url: str
    community: str
    last_ok: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    next_poll: datetime | None = None
    failures: int = 0
    etag: str | None = None
    last_modified: str | None = None
    polls: int = 0
    not_modified: int = 0

    def marshal(self) -> dict[str, Any]:
        """JSON form (times ISO 8601)."""
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out


class FeedError(Exception):
    """One poll failed (HTTP status, timeout, size, refused document); the message says why."""


def backoff_delay(
    failures: int, *, base_s: float, cap_s: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after ``failures`` failures in a row: full-jitter exponential backoff.

    Uniform in ``[0.5, 1] * min(cap_s, base_s * 2**(failures - 1))``: the half floor keeps
    a failing feed from being hammered, the jitter keeps many feeds from retrying in step.
    """
    ceiling = min(cap_s, base_s * 2.0 ** max(0, failures - 1))
    jitter: float = (rng or _RNG).uniform(0.5, 1.0)
    return ceiling * jitter


class FeedPoller:
    """Polls the configured feeds and ingests what they hold into the notice book.

    Args:
        book: where notices go.
        feeds: the feeds to poll.
        scheduler: a shared ``AsyncIOScheduler`` (left running by :meth:`stop`); None to
            use a private one started and stopped with the poller.
        client: an ``httpx.AsyncClient`` to use (not closed by :meth:`stop`); None for a
            private one.
        clock: time source for the status.
        on_changes: called with the changes each poll caused (the rules hook).
        on_status: called with a feed's new status after each poll (admin view, metrics).
        max_bytes: size limit for each document.
        backoff_base_s: first retry delay after a failure.
        backoff_max_s: longest retry delay.
    """

    def __init__(
        self,
        book: NoticeBook,
        feeds: Sequence[FeedConfig],
        *,
        scheduler: AsyncIOScheduler | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        on_changes: Callable[[list[NoticeChange]], None] | None = None,
        on_status: Callable[[FeedStatus], None] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backoff_base_s: float = 30.0,
        backoff_max_s: float = 3600.0,
        rng: random.Random | None = None,
    ) -> None:
        if len({f.url for f in feeds}) != len(feeds):
            raise ValueError("each feed URL may be configured only once")
        self._book = book
        self._feeds = {f.url: f for f in feeds}
        self._own_scheduler = scheduler is None
        self._scheduler = scheduler or AsyncIOScheduler()
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            follow_redirects=True, headers={"User-Agent": "community-hub notices"}
        )
        self._clock = clock or SystemClock()
        self._on_changes = on_changes
        self._on_status = on_status
        self._max_bytes = max_bytes
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._rng = rng or random.Random()
        self._status = {f.url: FeedStatus(url=f.url, community=f.community) for f in feeds}
        self._fetched_links: dict[str, set[str]] = {f.url: set() for f in feeds}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- life cycle -------------------------------------------------------------------

    def start(self) -> None:
        """Schedule every feed (first poll now); must be called on the running loop."""
        now = datetime.now(UTC)  # the scheduler runs on the wall clock
        for feed in self._feeds.values():
            self._scheduler.add_job(
                self._run,
                IntervalTrigger(seconds=feed.interval_s),
                args=[feed.url],
                id=self._job_id(feed.url),
                name=f"poll {feed.url}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
                next_run_time=now,
                replace_existing=True,
            )
        if self._own_scheduler and not self._scheduler.running:
            self._scheduler.start()
        logger.info("polling %d notice feeds", len(self._feeds))

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Remove the jobs, cancel polls in flight (time-boxed), close private resources."""
        for url in self._feeds:
            job = self._scheduler.get_job(self._job_id(url))
            if job is not None:
                job.remove()
        if self._own_scheduler and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        if self._own_client:
            await self._client.aclose()

    # -- status -----------------------------------------------------------------------

    def status(self) -> list[FeedStatus]:
        """Every feed's status, with its next scheduled poll."""
        return [self.status_of(url) for url in self._status]

    # -- polling ----------------------------------------------------------------------

    async def _run(self, url: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await self.poll(url)

    async def poll(self, url: str) -> list[NoticeChange]:
        """Poll one feed now; never raises (errors go to its status and its backoff)."""
        try:
            return await self._poll_once(url)
        finally:
            if self._on_status is not None:
                try:
                    self._on_status(self.status_of(url))
                except Exception:
                    logger.exception("feed %s: on_status callback failed", url)

    def status_of(self, url: str) -> FeedStatus:
        """One feed's status, with its next scheduled poll."""
        job = self._scheduler.get_job(self._job_id(url))
        next_poll = getattr(job, "next_run_time", None) if job is not None else None
        return replace(self._status[url], next_poll=next_poll)

    async def _poll_once(self, url: str) -> list[NoticeChange]:
        feed = self._feeds[url]
        status = self._status[url]
        status = replace(status, polls=status.polls + 1)
        self._status[url] = status
        try:
            changes, validators, partial_error = await self._poll(feed, status)
        except asyncio.CancelledError:
            raise
        except FeedError as exc:
            self._failed(feed, str(exc))
            return []
        except Exception as exc:  # one bad feed never stops the poller
            logger.exception("feed %s: unexpected error", url)
            self._failed(feed, f"unexpected error: {type(exc).__name__}: {exc}")
            return []
        now = self._clock.now()
        status = self._status[url]
        if validators is None:
            status = replace(status, not_modified=status.not_modified + 1)
        elif partial_error is None:
            status = replace(status, etag=validators[0], last_modified=validators[1])
        else:
            # Forget the validators so that the next poll fetches the index again.
            status = replace(status, etag=None, last_modified=None)
        self._status[url] = replace(
            status,
            last_ok=now,
            failures=0,
            last_error=partial_error or status.last_error,
            last_error_at=now if partial_error else status.last_error_at,
        )
        if changes and self._on_changes is not None:
            try:
                self._on_changes(changes)
            except Exception:
                logger.exception("feed %s: on_changes callback failed", url)
        return changes

    async def _poll(
        self, feed: FeedConfig, status: FeedStatus
    ) -> tuple[list[NoticeChange], tuple[str | None, str | None] | None, str | None]:
        headers = {}
        if status.etag:
            headers["If-None-Match"] = status.etag
        if status.last_modified:
            headers["If-Modified-Since"] = status.last_modified
        code, body, resp_headers = await self._get(feed.url, feed.timeout_s, headers)
        if code == 304:
            logger.info("feed %s: not modified", feed.url)
            return [], None, None
        try:
            notices = parse_document(body, language=feed.language, max_bytes=self._max_bytes)
        except NoticeRejected as exc:
            raise FeedError(f"document refused: {exc}") from exc
        changes, partial_error = await self._ingest_all(feed, notices)
        validators = (resp_headers.get("etag"), resp_headers.get("last-modified"))
        logger.info("feed %s: %d notices, %d changes", feed.url, len(notices), len(changes))
        return changes, validators, partial_error

    async def _ingest_all(
        self, feed: FeedConfig, notices: list[Notice]
    ) -> tuple[list[NoticeChange], str | None]:
        changes: list[NoticeChange] = []
        index_links = [
            n.link for n in notices if n.source == "cap-index" and n.link and feed.fetch_full
        ]
        fetched = self._fetched_links[feed.url]
        todo = [link for link in dict.fromkeys(index_links) if link not in fetched]
        for notice in notices:
            if notice.source == "cap-index" and notice.link and feed.fetch_full:
                continue
            changes += self._book.ingest(
                notice, community=feed.community, source=f"feed:{feed.url}"
            )
        gate = asyncio.Semaphore(FULL_ALERT_CONCURRENCY)

        async def full(link: str) -> tuple[str, list[Notice] | str]:
            async with gate:
                try:
                    code, body, _ = await self._get(link, feed.timeout_s, {})
                    if code != 200:
                        raise FeedError(f"HTTP {code}")
                    return link, parse_document(
                        body, language=feed.language, max_bytes=self._max_bytes
                    )
                except (FeedError, NoticeRejected) as exc:
                    return link, str(exc)

        results = await asyncio.gather(*(full(link) for link in todo))
        errors = []
        for link, result in results:
            if isinstance(result, str):
                errors.append(f"{link}: {result}")
                continue
            fetched.add(link)
            for notice in result:
                changes += self._book.ingest(
                    notice, community=feed.community, source=f"feed:{link}"
                )
        # Forget links that left the index, so the set stays the size of the index.
        fetched.intersection_update(index_links)
        partial = None
        if errors:
            partial = f"{len(errors)} of {len(todo)} full alerts failed; first: {errors[0]}"
            logger.warning("feed %s: %s", feed.url, partial)
        return changes, partial

    async def _get(
        self, url: str, timeout_s: float, headers: dict[str, str]
    ) -> tuple[int, bytes, httpx.Headers]:
        """GET with a whole-request deadline and a size limit; raise FeedError."""
        try:
            async with asyncio.timeout(timeout_s):
                async with self._client.stream(
                    "GET", url, headers=headers, timeout=timeout_s
                ) as resp:
                    if resp.status_code == 304:
                        return 304, b"", resp.headers
                    if resp.status_code != 200:
                        raise FeedError(f"HTTP {resp.status_code} from {url}")
                    declared = resp.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > self._max_bytes:
                        raise FeedError(f"{url}: {declared} bytes, above {self._max_bytes}")
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in resp.aiter_bytes():
                        size += len(chunk)
                        if size > self._max_bytes:
                            raise FeedError(f"{url}: body above {self._max_bytes} bytes")
                        chunks.append(chunk)
                    return 200, b"".join(chunks), resp.headers
        except TimeoutError as exc:
            raise FeedError(f"timed out after {timeout_s}s: {url}") from exc
        except httpx.HTTPError as exc:
            raise FeedError(f"{type(exc).__name__}: {exc} ({url})") from exc

    def _failed(self, feed: FeedConfig, reason: str) -> None:
        status = self._status[feed.url]
        failures = status.failures + 1
        delay = backoff_delay(
            failures, base_s=self._backoff_base_s, cap_s=self._backoff_max_s, rng=self._rng
        )
        now = self._clock.now()
        self._status[feed.url] = replace(
            status, failures=failures, last_error=reason, last_error_at=now
        )
        job = self._scheduler.get_job(self._job_id(feed.url))
        if job is not None:
            # The scheduler runs on the wall clock, whatever clock the status uses.
            job.modify(next_run_time=datetime.now(UTC) + timedelta(seconds=delay))
        logger.warning(
            "feed %s: poll failed (%s); failure %d, retry in %.0fs",
            feed.url,
            reason,
            failures,
            delay,
        )

    @staticmethod
    def _job_id(url: str) -> str:
        return f"notices-feed:{url}"


def add_expiry_job(
    scheduler: AsyncIOScheduler,
    book: NoticeBook,
    *,
    interval_s: float = 60.0,
    on_changes: Callable[[list[NoticeChange]], None] | None = None,
) -> Any:
    """Run :meth:`NoticeBook.expire` every ``interval_s`` on the scheduler; return the job.

    ``on_changes`` gets the ``expired`` changes (the rules hook). Errors are logged and the
    job keeps running.
    """

    async def expire() -> None:
        try:
            changes = book.expire()
            if changes and on_changes is not None:
                on_changes(changes)
        except Exception:
            logger.exception("notice expiry failed")

    return scheduler.add_job(
        expire,
        IntervalTrigger(seconds=interval_s),
        id="notices-expiry",
        name="expire notices",
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )


__all__ = [
    "FeedConfig",
    "FeedError",
    "FeedPoller",
    "FeedStatus",
    "add_expiry_job",
    "backoff_delay",
]
