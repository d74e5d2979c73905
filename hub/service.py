"""The composition root: builds every component from the settings and runs them together.

Nothing in the hub reaches for a global: :class:`Hub` owns the components, wires their
ports, and :meth:`Hub.run` runs the long-lived tasks in one task group (named tasks,
readiness signalled through :attr:`Hub.ready`, shutdown bounded to 5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from fastapi import APIRouter

from hub import wiring
from hub.api.app import create_app
from hub.clock import Clock, SystemClock
from hub.cluster.solo import check_partitioned, lock_sqlite
from hub.config import Settings
from hub.ingest.dead_letters import DeadLetters
from hub.ingest.pipeline import Pipeline, PipelinePorts
from hub.metrics import Metrics
from hub.state.twin import Twin
from hub.storage.factory import open_database
from hub.storage.outbox import Outbox
from hub.transport.base import Transport
from hub.transport.relay import SWEEP_S as RELAY_SWEEP_S
from hub.transport.relay import OutboxRelay

logger = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 5.0


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the hub owns the process's signals."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.started_event = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        self.started_event.set()


class Hub:
    """Every component of one hub, wired together.

    Args:
        settings: the validated settings.
        clock: the time source (tests and the demo may pass their own).
        transport: an MQTT transport to use instead of building one (tests).
        ports: pipeline ports to use instead of building them (unit tests).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        transport: Transport | None = None,
        ports: PipelinePorts | None = None,
    ) -> None:
        check_partitioned(settings)  # before the store is opened: one clear line, nothing touched
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.metrics = Metrics()
        self.db = open_database(settings)
        self.outbox = Outbox(self.db)
        self.twin = Twin(self.db)
        self.dead_letters = DeadLetters(self.db, max_rows=settings.dead_letters_max)
        self.broker: Any = None
        self.broker_secrets: dict[str, str] = {}
        self.identity: Any = None
        self.notices: Any = None
        self.history: Any = None
        self.rules: Any = None
        self.offers: Any = None
        self.sharing: Any = None
        #: (path regex, bytes) for routes that take bodies over the app-wide limit.
        self.body_limits: list[tuple[str, int]] = []
        self.mqtt_login: tuple[str | None, str | None] = (None, None)
        self._transport = transport
        self.injected_ports = ports
        self.transport: Transport
        self.pipeline: Pipeline
        self.relay: OutboxRelay
        self.ready = asyncio.Event()
        self.api_port: int | None = None
        self._api_server: _QuietServer | None = None
        self._api_started = asyncio.Event()
        self._started = False
        self._periodic: list[tuple[float, Callable[[], object], bool]] = []
        #: The shares of a partitioned worker (hub.cluster, HUB_SHARES); None: one worker.
        self.cluster: Any = None
        self._sqlite_lock: Any = None
        self._routers: list[APIRouter] = []
        self._exception_handlers: list[tuple[type[Exception], Any]] = []
        self.dependency_overrides: dict[Any, Any] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.components = self._build_components()

    # -- assembly ---------------------------------------------------------------------

    def _build_components(self) -> dict[str, Any]:
        """Build the domain components. Extended as packages land (see hub/wiring.py)."""
        return wiring.build(self)

    def add_router(self, router: APIRouter) -> None:
        self._routers.append(router)

    def routers(self) -> list[APIRouter]:
        return list(self._routers)

    def add_exception_handler(self, exc: type[Exception], handler: Any) -> None:
        self._exception_handlers.append((exc, handler))

    def exception_handlers(self) -> list[tuple[type[Exception], Any]]:
        return list(self._exception_handlers)

    def every(self, seconds: float, job: Callable[[], object], *, local: bool = False) -> None:
        """Run ``job`` on the event loop every ``seconds`` (errors logged, never fatal).

        Partitioned workers run it on the holder of share 0 only (once for the whole hub),
        unless it is ``local``: about this worker's own memory (the twin, its gauges).
        """
        self._periodic.append((seconds, job, local))

    def owns(self, household: str | None) -> bool:
        """Whether this worker handles ``household`` (always, unless partitioned)."""
        return self.cluster is None or self.cluster.owns(household)

    def subscriptions(self) -> list[tuple[str, int]]:
        """What the hub subscribes to (CONTRACTS.md, MQTT topics)."""
        subs = [("home/+/#", 1), ("providers/+/claims", 1)]
        subs.extend(self.components.get("extra_subscriptions", []))
        return subs

    def readiness(self) -> dict[str, bool]:
        """The checks behind ``/readyz``."""
        storage_ok = True
        try:
            self.db.query_one("SELECT 1")
        except Exception:
            storage_ok = False
        broker_ok = self._started and self.transport.connected
        checks = {"broker": broker_ok, "storage": storage_ok, "pipeline": self._started}
        if self.cluster is not None:
            checks["shares"] = self.cluster.ready
        return checks

    def cluster_status(self) -> dict[str, object] | None:
        """Which shares this worker holds (``/readyz``); None when not partitioned."""
        return None if self.cluster is None else self.cluster.status()

    # -- running ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Run until ``stop`` is set or the task is cancelled; then shut down within 5 s."""
        stop = stop or asyncio.Event()
        self.loop = asyncio.get_running_loop()
        if not self.settings.database_url:
            self._sqlite_lock = lock_sqlite(self.settings.data_dir)
        await self._start_broker()
        await asyncio.to_thread(wiring.connect, self)
        self.transport = self._transport or self._make_transport()
        partitioned = bool(self.settings.shares)
        # Partitioned, one worker relays the shared outbox (share 0's holder), polling it.
        self.relay = OutboxRelay(self.outbox, self.transport, active=self.owns_share_0 if partitioned else None,
                                 poll_s=0.05 if partitioned else RELAY_SWEEP_S)
        self.pipeline = self.make_pipeline(self.transport.ack)
        self.db.start_checkpointer()  # the WAL's copies and fsyncs leave the event loop's commits
        self._register_gauges()
        if partitioned:
            from hub.cluster.node import build_cluster

            self.cluster = build_cluster(self)
        await self.transport.start(self.pipeline.handle_batch, [] if partitioned else self.subscriptions())
        self._started = True
        self.relay.kick()  # resend what was committed but not acknowledged before a restart
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._serve_api(), name="api")
                if self.cluster is not None:
                    group.create_task(self.cluster.run(), name="cluster")
                for seconds, job, local in self._periodic:
                    group.create_task(self._repeat(seconds, job, local), name=f"every-{seconds}s-{job.__name__}")
                for name, factory in self.components.get("tasks", []):
                    group.create_task(factory(), name=name)
                if self.broker is not None:
                    group.create_task(self.broker.watch(), name="broker-watch")
                group.create_task(self._signal_ready(), name="ready")
                await stop.wait()
                raise _Stop
        except* _Stop:
            pass
        finally:
            await self._shutdown()

    async def _signal_ready(self) -> None:
        await self._api_started.wait()
        _settle_heap()
        self.ready.set()
        logger.info("hub ready: api http://%s:%s", self.settings.api_host, self.api_port)

    async def _start_broker(self) -> None:
        if not self.settings.embedded_broker or self._transport is not None:
            return
        self.broker = wiring.make_broker(self)
        await asyncio.to_thread(self.broker.start)

    def make_pipeline(self, ack: Callable[[Any], None]) -> Pipeline:
        """A pipeline that acknowledges on ``ack`` (each share's session has its own)."""
        return Pipeline(
            self.db,
            self.outbox,
            self.twin,
            self.components["ports"],
            self.metrics,
            dead_letters=self.dead_letters,
            ack=ack,
            device_rate_limit=self.settings.device_rate_limit,
            history_min_interval_s=self.settings.history_min_interval_s,
        )

    def owns_share_0(self) -> bool:
        return self.cluster is not None and self.cluster.leads()

    def mqtt_address(self) -> tuple[str, int, str | None, str | None]:
        """Host, port and login of the broker the hub's connections use."""
        if self.settings.embedded_broker:
            username, password = self.mqtt_login
            return "127.0.0.1", self.broker.port, username, password
        return self.settings.broker_address()

    def _make_transport(self) -> Transport:
        from hub.cluster.node import worker_name
        from hub.transport.mqtt import MqttTransport

        host, port, username, password = self.mqtt_address()
        partitioned = bool(self.settings.shares)
        client_id = self.settings.mqtt_client_id
        return MqttTransport(
            host,
            port,
            # Partitioned, the shares' sessions receive: this worker only publishes, under a
            # client id of its own (workers sharing one would take each other's connection).
            client_id=f"{client_id}-{worker_name(self.settings)}" if partitioned else client_id,
            ingest=not partitioned,
            username=username,
            password=password,
            session_expiry_s=self.settings.mqtt_session_expiry_s,
            queue_max=self.settings.ingest_queue_max,
            shed_at=self.settings.ingest_shed_at,
            batch_max=self.settings.ingest_batch_max,
            connect_wait_s=self.settings.mqtt_connect_wait_s,
        )

    def _register_gauges(self) -> None:
        m = self.metrics
        m.gauge_from(m.queue_depth, lambda: float(self.transport.stats.queue_depth))
        m.gauge_from(m.outbox_unsent, lambda: float(self.outbox.unsent_count()))
        m.gauge_from(m.devices, lambda: float(len(self.twin)))
        checkpointer = self.db.checkpointer
        if checkpointer is not None:
            m.gauge_from(m.checkpoint_frames, lambda: float(checkpointer.stats.frames_copied))
            m.gauge_from(m.checkpoint_failures, lambda: float(checkpointer.stats.failures))
        stats = self.transport.stats

        def dead_letter_kinds() -> None:
            for kind, count in self.dead_letters.by_kind.items():
                m.dead_letter_kinds.labels(kind=kind).set(count)

        self.every(5.0, dead_letter_kinds, local=True)

        seen: dict[str, int] = {}

        def transport_counts() -> None:
            # The transport counts on its hot path in plain ints; /metrics catches up here.
            for reason, counter in (("backpressure", m.backpressure), *(
                    (r, m.dropped_by_reason[r]) for r in ("superseded", "bad_topic"))):
                now = stats.extra.get(reason, 0)
                if now > seen.get(reason, 0):
                    counter.inc(now - seen.get(reason, 0))
                    seen[reason] = now

        self.every(1.0, transport_counts, local=True)

    async def _serve_api(self) -> None:
        config = uvicorn.Config(
            create_app(self),
            host=self.settings.api_host,
            port=self.settings.api_port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            limit_concurrency=1000,
            # The caller of a login is the peer, or the X-Forwarded-For client of a trusted proxy.
            proxy_headers=True,
            forwarded_allow_ips=self.settings.trusted_proxies or [],
            http="httptools",  # the C parser (a dependency); h11 parses in Python
        )
        server = _QuietServer(config)
        self._api_server = server
        serve = asyncio.create_task(server.serve(), name="uvicorn")
        started = asyncio.create_task(server.started_event.wait())
        await asyncio.wait({serve, started}, return_when=asyncio.FIRST_COMPLETED)
        if not server.started_event.is_set():
            started.cancel()
            serve.result()
            raise RuntimeError("the API server stopped at start")
        self.api_port = server.servers[0].sockets[0].getsockname()[1]
        self._api_started.set()
        try:
            await asyncio.shield(serve)
        except asyncio.CancelledError:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(serve, 1.5)
            raise

    async def _repeat(self, seconds: float, job: Callable[[], object], local: bool = True) -> None:
        while True:
            await asyncio.sleep(seconds)
            if not local and self.cluster is not None and not self.cluster.leads():
                continue  # the holder of share 0 runs it for the whole hub
            try:
                job()
            except Exception:
                logger.exception("periodic job %s failed", getattr(job, "__name__", job))

    async def _shutdown(self) -> None:
        """Stop everything within :data:`SHUTDOWN_BUDGET_S`, the broker last.

        Each closer runs on a worker thread with its own time box, so that one that hangs
        (a client library waiting on a dead socket) cannot hold up the others.
        """
        gc.unfreeze()  # what start-up built may be collected again (tests start many hubs)
        started = time.monotonic()
        per_closer = 1.0
        try:
            for name, closer in self.components.get("closers", []):
                try:
                    result = await asyncio.wait_for(asyncio.to_thread(closer), per_closer)
                    if asyncio.iscoroutine(result):
                        await asyncio.wait_for(result, per_closer)
                except TimeoutError:
                    logger.error("closing %s took over %.1f s; going on", name, per_closer)
                except Exception:
                    logger.exception("closing %s failed", name)
            if self._started:
                await asyncio.wait_for(self.transport.stop(), 1.5)
                self.relay.close()  # the acknowledgements still gathering are recorded
            self.twin.flush()
        except TimeoutError:
            logger.error("the MQTT connection did not close in time; going on")
        finally:
            if self.broker is not None:
                await asyncio.to_thread(self.broker.stop, 1.0)
            self._started = False
            self.db.close()
            if self._sqlite_lock is not None:
                self._sqlite_lock.close()
                self._sqlite_lock = None
            logger.info("hub stopped in %.2f s", time.monotonic() - started)

    def reload_rules(self) -> None:
        """Reload the rule packs (SIGHUP, the API); a broken pack never replaces a working one."""
        reload = self.components.get("reload_rules")
        if reload is None:
            logger.info("no rule engine to reload")
            return
        try:
            reload()
        except Exception:
            logger.exception("rule reload failed")


class _Stop(Exception):
    """Raised inside the task group to stop every task."""


GC_GEN0_THRESHOLD = 10_000  # Python's default is 700 allocations


def _settle_heap() -> None:
    """Move everything built at start-up out of the collector's way, once the hub is ready.

    The hub starts with a few hundred thousand long-lived objects (the API's routes and
    models, compiled profiles and rules, the restored twin). Python's cyclic collector walks
    all of them at every full collection, each a pause of tens of milliseconds on the event
    loop, that is, on the ingest path's latency. ``gc.freeze()`` puts them in a permanent
    generation the collector skips; a larger first-generation threshold collects the
    per-message garbage (readings, tuples) in fewer, no longer passes.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)
