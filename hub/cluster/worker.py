"""One partitioned worker's side of the shares: heartbeat, fair claims, sessions per share.

Every ``heartbeat_s`` the worker renews its row and its leases (:class:`~hub.cluster.leases.Leases`)
and then evens out: with ``L`` workers alive, each should hold ``ceil(N / L)`` of the ``N``
shares. A worker under that claims free or lapsed shares; one over it gives the extra ones
up. Taking a share, it first reads the share's durable state (the rules' timers, cooldowns
and open keys; the devices) that the previous holder committed, then resumes the share's
MQTT session (:class:`ShareSession`). Giving one up (or finding its lease lost), it stops the
session first and releases the lease after, so two workers never consume one share: the
broker queues the share's QoS 1 messages in the session meanwhile. Should the database stay
out of reach for most of a lease's time to live, the worker stops consuming all its shares
(others may hold them soon).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from hub.cluster.leases import Leases
from hub.cluster.shares import share_of
from hub.storage.database import Database

logger = logging.getLogger(__name__)


class ShareSession(Protocol):
    """A share's persistent MQTT session with the pipeline that handles its messages."""

    @property
    def connected(self) -> bool: ...

    async def start(self, subscriptions: Sequence[tuple[str, int]]) -> None: ...

    def add_subscriptions(self, subscriptions: Sequence[tuple[str, int]]) -> None: ...

    async def stop(self) -> None: ...


SessionFactory = Callable[[int], ShareSession]


class Cluster:
    """This worker's shares.

    Args:
        db: the shared PostgreSQL store.
        shares: ``HUB_SHARES``.
        worker_id: this worker's name (unique among the live workers).
        open_session: builds the (not yet started) session of a share.
        common: topic filters of the non-household topics, subscribed by share 0's session.
        on_acquire: called (on the loop) when a share arrives, before its session starts.
        ttl_s: a lease's time to live past its last renewal.
        heartbeat_s: how often leases are renewed and shares evened out.
        api: this worker's API address, shown by ``hub status``.
    """

    def __init__(self, db: Database, *, shares: int, worker_id: str, open_session: SessionFactory,
                 common: Sequence[tuple[str, int]] = (), on_acquire: Callable[[int], object] | None = None,
                 ttl_s: float = 5.0, heartbeat_s: float = 1.5, api: Callable[[], str] = lambda: "") -> None:
        self._db = db
        self.leases = Leases(db, shares)
        self.shares = shares
        self.worker_id = worker_id
        self._open_session = open_session
        self._common = list(common)
        self._on_acquire = on_acquire
        self._ttl = ttl_s
        self._heartbeat = heartbeat_s
        self._api = api
        self.held: set[int] = set()
        self._sessions: dict[int, ShareSession] = {}
        self._households: dict[int, list[str]] = {}
        self._household_count = -1
        self._last_ok = 0.0
        self.beats = 0
        self.on_lead: list[Callable[[], object]] = []

    # -- what the rest of the worker asks ------------------------------------------------

    def owns(self, household: str | None) -> bool:
        """Whether this worker handles ``household`` now (None: the hub-wide work of share 0)."""
        if household is None:
            return 0 in self.held
        return share_of(household, self.shares) in self.held

    def leads(self) -> bool:
        """Whether this worker holds share 0 (the outbox relay, periodic jobs, common topics)."""
        return 0 in self.held

    @property
    def ready(self) -> bool:
        """The first heartbeat went through and every held share's session is connected."""
        return self.beats > 0 and all(s.connected for s in self._sessions.values())

    def status(self) -> dict[str, object]:
        """This worker's view, for ``/readyz``."""
        return {"worker": self.worker_id, "shares": sorted(self.held), "of": self.shares,
                "sessions_up": sorted(k for k, s in self._sessions.items() if s.connected)}

    # -- running --------------------------------------------------------------------------

    async def run(self) -> None:
        """Heartbeat until cancelled; then stop every session and release every lease."""
        await asyncio.to_thread(self.leases.seed)
        try:
            while True:
                await self._beat_safely()
                await asyncio.sleep(self._heartbeat)  # the heartbeat's period, not a wait for readiness
        finally:
            for share in sorted(self.held):
                await self._drop(share, release=False)
            try:
                await asyncio.to_thread(self.leases.retire, self.worker_id)
            except Exception:
                logger.exception("could not release the leases of %s", self.worker_id)

    async def _beat_safely(self) -> None:
        try:
            await self.beat()
        except Exception:
            logger.exception("cluster heartbeat of %s failed", self.worker_id)
            if self.held and time.time() - self._last_ok > self._ttl - self._heartbeat:
                logger.error("%s cannot renew its leases: it stops consuming shares %s",
                             self.worker_id, sorted(self.held))
                for share in sorted(self.held):
                    await self._drop(share, release=False)

    async def beat(self) -> None:
        """One heartbeat: renew, let go of what was lost, even out, subscribe new households."""
        now = time.time()
        renewed = await asyncio.to_thread(self.leases.beat, self.worker_id, self._api(), now, self._ttl)
        self._last_ok = now
        for share in sorted(self.held - renewed):
            logger.warning("%s lost the lease of share %d", self.worker_id, share)
            await self._drop(share, release=False)
        await asyncio.to_thread(self._refresh_households)
        live = max(1, await asyncio.to_thread(self.leases.live_workers, now))
        fair = math.ceil(self.shares / live)
        if len(self.held) > fair:
            # Share 0 is given up last: moving the relay and the hub-wide jobs costs more.
            for share in sorted(self.held, key=lambda k: (k == 0, -k))[: len(self.held) - fair]:
                await self._drop(share, release=True)
        elif len(self.held) < fair:
            for share in await asyncio.to_thread(self.leases.free, now):
                if len(self.held) >= fair:
                    break
                if await asyncio.to_thread(self.leases.claim, self.worker_id, share, now, self._ttl):
                    await self._take(share)
        for share, session in self._sessions.items():
            session.add_subscriptions(self._filters(share))
        self.beats += 1

    def _refresh_households(self) -> None:
        """Re-read the households when their number changed (a household was provisioned)."""
        row = self._db.query_one("SELECT COUNT(*) FROM households")
        count = int(row[0]) if row else 0
        if count == self._household_count:
            return
        by_share: dict[int, list[str]] = {}
        for r in self._db.query("SELECT id FROM households ORDER BY id"):
            by_share.setdefault(share_of(r["id"], self.shares), []).append(r["id"])
        self._households, self._household_count = by_share, count

    def _filters(self, share: int) -> list[tuple[str, int]]:
        filters = [(f"home/{h}/#", 1) for h in self._households.get(share, ())]
        return filters + self._common if share == 0 else filters

    async def _take(self, share: int) -> None:
        self.held.add(share)  # first: the state read next is then this worker's to act on
        logger.info("%s took share %d", self.worker_id, share)
        if self._on_acquire is not None:
            self._on_acquire(share)
        session = self._open_session(share)
        self._sessions[share] = session
        await session.start(self._filters(share))
        if share == 0:
            for callback in self.on_lead:
                callback()

    async def _drop(self, share: int, *, release: bool) -> None:
        self.held.discard(share)  # first: no timer of the share fires from here on
        session = self._sessions.pop(share, None)
        if session is not None:
            await session.stop()  # unacknowledged messages stay in the broker's session
        if release:
            await asyncio.to_thread(self.leases.release, self.worker_id, share)
            logger.info("%s gave up share %d", self.worker_id, share)

