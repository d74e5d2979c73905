"""Which component implements which port, by mode (embedded, external broker, bench, demo).

Kept apart from :mod:`hub.service` so that the service's lifecycle code does not change
each time a package lands. :func:`build` runs at construction (no network);
:func:`connect` runs once the broker is up (accounts are administered over MQTT).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import Depends
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.broker.supervisor import BrokerSupervisor
from hub.clock import Clock, SystemClock
from hub.config import REPO_ROOT, Settings
from hub.errors import ConfigError, DomainError, PayloadRejected, StorageFull
from hub.ingest.pipeline import PipelinePorts
from hub.metrics import Metrics
from hub.state.twin import Twin
from hub.storage.database import Database
from hub.storage.factory import open_database
from hub.storage.outbox import Outbox

logger = logging.getLogger(__name__)

BROKER_ADMIN = "hub-admin"
HUB_ACCOUNT = "hub"


class Hub(Protocol):
    """What wiring needs of the composition root (:class:`hub.service.Hub` provides it).

    A protocol, not an import of :mod:`hub.service`: the service calls this module, never
    the other way round.
    """

    settings: Settings
    clock: Clock
    metrics: Metrics
    db: Database
    outbox: Outbox
    twin: Twin
    broker: Any
    broker_secrets: dict[str, str]
    identity: Any
    notices: Any
    history: Any
    rules: Any
    offers: Any
    sharing: Any
    body_limits: list[tuple[str, int]]
    mqtt_login: tuple[str | None, str | None]
    injected_ports: PipelinePorts | None
    dependency_overrides: dict[Any, Any]
    loop: asyncio.AbstractEventLoop | None
    components: dict[str, Any]

    def every(self, seconds: float, job: Callable[[], object], *, local: bool = False) -> None: ...

    def owns(self, household: str | None) -> bool: ...

    def add_router(self, router: Any) -> None: ...

    def add_exception_handler(self, exc: type[Exception], handler: Any) -> None: ...


def build(hub: Hub) -> dict[str, Any]:
    """Build the domain components for ``hub`` and register their jobs and routes."""
    from hub.identity import Identity
    from hub.identity import api as identity_api
    from hub.notices import NoticeBook
    from hub.notices import api as notices_api
    from hub.notices.intake import INTAKE_FILTER, NoticeIntake
    from hub.telemetry import build_history

    settings = hub.settings
    hub.every(5.0, hub.twin.flush, local=True)
    # Sent messages stay a day (for inspection and de-duplication), then go.
    hub.every(3600.0, hub.outbox.purge_sent)
    components: dict[str, Any] = {"tasks": [], "closers": [], "extra_subscriptions": []}

    # Identity first: everything else asks it who may see what. Its broker admin is
    # attached in connect(), once the broker runs.
    secret = settings.secret_key.get_secret_value() or secrets.token_urlsafe(32)
    # Sessions and consents run on the wall clock even when the demo's story clock runs fast:
    # a login lasts an hour of real time.
    hub.identity = Identity(hub.db, None, SystemClock(), secret)
    components["identity"] = hub.identity
    hub.add_router(identity_api.router)

    # Telemetry history in a file of its own, so that its flusher thread never holds the
    # main database's write lock.
    history_db = open_database(settings, sqlite_name="history.sqlite3", pool_size=2)
    hub.history = build_history(history_db, settings, clock=hub.clock)
    components["history"] = hub.history
    components["closers"].append(("history", lambda: _close_history(hub.history, history_db)))

    hub.notices = NoticeBook(hub.db, hub.outbox, hub.clock)
    components["notices"] = hub.notices
    hub.add_router(notices_api.router)
    hub.every(60.0, lambda: _expire_notices(hub))
    if settings.feeds:
        components["tasks"].append(("notice-feeds", lambda: _poll_feeds(hub)))
    intake = NoticeIntake(hub.notices, lambda publisher, community: notice_publisher_allowed(hub, publisher, community))
    components["notice_intake"] = intake
    components["extra_subscriptions"].append((INTAKE_FILTER, 1))

    _build_offers_and_rules(hub, components)
    _build_sharing(hub, components)
    from hub import wiring_sharing

    wiring_sharing.build(hub, components)  # time bank, pooled projects, trust export
    rules = components["rules"]
    offers = components["offers"]

    def handle_notice(_rest: str, message: Any, _conn: Any) -> None:
        for change in intake.handle(message.topic, message.payload):
            rules.on_event(change)

    def handle_claim(rest: str, message: Any, _conn: Any) -> None:
        provider, _, tail = rest.partition("/")
        if tail != "claims":
            raise PayloadRejected("provider commands go to providers/<provider>/claims")
        offers.handle_claim(provider, message.payload)

    def handle_accept(household: str, message: Any, _conn: Any) -> None:
        offers.handle_accept(household, message.payload)

    from hub.homeassistant import COMMAND_TOPIC, DiscoveryPublisher, handle_command

    timebank = components.get("timebank")
    sharing = components.get("sharing")
    ha = DiscoveryPublisher(hub.db, hub.outbox, offers=offers, notices=hub.notices,
                            balance=(lambda h: timebank.balance(h)["hours"]) if timebank else None,
                            loans=(lambda h: [dict(x) for x in sharing.loans.page(h, limit=50).items])
                            if sharing else None)
    components["homeassistant"] = ha
    if not settings.bench:  # the benchmark's households have no Home Assistant
        hub.every(5.0, ha.sync_all)

    def handle_ha_command(household: str, message: Any, _conn: Any) -> None:
        handle_command(offers, household, message.payload)
        ha.sync(household)

    if hub.injected_ports is not None:
        components["ports"] = hub.injected_ports
        return components
    from hub.devices import Normalizer

    normalizer = Normalizer(settings.devices_dir, clock=hub.clock)
    components["normalizer"] = normalizer
    # Availability: LWT and availability topics (readings of metric "online") and silence
    # past a profile's expiry both reach the rules as DeviceAvailability events.
    hub.twin.on_availability(rules.on_event)
    # Partitioned, a worker judges the silence of its own households' devices only.
    hub.every(5.0, lambda: hub.twin.expire(
        time.time(), lambda h, d: normalizer.expiry_for(h, d) if hub.owns(h) else None), local=True)
    components["ports"] = PipelinePorts(
        normalizer=normalizer,
        rules=rules,
        history=hub.history,
        commands={"publishers/": handle_notice, "providers/": handle_claim},
        household_commands={"commands/accept": handle_accept, COMMAND_TOPIC: handle_ha_command},
    )
    return components


def _build_offers_and_rules(hub: Hub, components: dict[str, Any]) -> None:
    """Offers (suggestions, bookings, feeds) and the rules engine that raises them."""
    from hub.dashboards import router as dashboards_router
    from hub.identity.auth import require_role
    from hub.offers import OffersService, http_problem_handler, problem_handler, validation_problem_handler
    from hub.offers import api as offers_api
    from hub.offers.problems import storage_full_handler
    from hub.rules import RuleEngine
    from hub.rules.api import build_router as rules_router
    from hub.rules.timers import run_timers
    from hub.rules.watch import watch_packs

    settings = hub.settings
    consent = hub.identity.consent
    offers = OffersService(hub.db, hub.outbox, hub.clock, consent=consent)
    hub.offers = offers
    components["offers"] = offers
    consent.on_revoke(lambda conn, grant: offers.drop_unsent_feed(
        conn, grant.household, consent.affected_providers(conn, grant)))

    sink = CountingSink(offers.sink, hub.db, hub.metrics.rule_actions.inc)
    engine = RuleEngine(hub.db, hub.clock, sink, consent_check=lambda h, purpose: has_consent(hub, h, purpose))
    hub.rules = engine
    components["rules"] = engine
    packs = [str(settings.rules_dir / "bench")] if settings.bench else (
        settings.rule_packs or [str(settings.rules_dir)])
    result = engine.reload(packs)
    if not result.ok:
        raise ConfigError(f"rule packs refused: {result.marshal()}")
    components["reload_rules"] = lambda: engine.reload()
    offers.set_on_event(lambda event: _offer_event_to_rules(hub, engine, event))

    components["tasks"].append(
        ("rules-timers", lambda: run_timers(engine, hub.clock, max_sleep=settings.timer_max_sleep_s))
    )
    if not settings.bench:
        components["tasks"].append(("rules-watch", lambda: watch_packs(engine, settings.rules_dir, 2.0)))
    hub.every(60.0, offers.expire_due)
    components["closers"].append(("offers", offers.close))

    hub.add_router(offers_api.router)
    hub.add_router(rules_router([Depends(require_role("admin"))]))
    hub.add_router(dashboards_router)
    hub.add_exception_handler(DomainError, problem_handler)
    hub.add_exception_handler(RequestValidationError, validation_problem_handler)
    hub.add_exception_handler(StarletteHTTPException, http_problem_handler)
    hub.add_exception_handler(StorageFull, storage_full_handler)


def _build_sharing(hub: Hub, components: dict[str, Any]) -> None:
    """Sharing (things, loans, give-aways) on the offers' unit of work and calendar."""
    from hub.dashboards.sharing import UPLOAD_PATH as UI_UPLOAD_PATH
    from hub.sharing import SharingService
    from hub.sharing import api as sharing_api
    from hub.sharing.photos import MAX_BYTES, UPLOAD_PATH

    sharing = SharingService(components["offers"], hub.settings.data_dir / "photos")
    hub.sharing = sharing
    components["sharing"] = sharing
    for router in sharing_api.routers:
        hub.add_router(router)
    hub.body_limits.append((UPLOAD_PATH, MAX_BYTES))
    hub.body_limits.append((UI_UPLOAD_PATH, MAX_BYTES))
    hub.every(10.0, sharing.run_due)


class CountingSink:
    """The offers sink, counting for ``/metrics`` the actions whose transaction committed."""

    def __init__(self, sink: Any, db: Database, count: Any) -> None:
        self._sink, self._db, self._count = sink, db, count

    def submit(self, actions: Any) -> None:
        self._sink.submit(actions)
        n = len(actions)
        if n:
            self._db.after_commit(lambda: self._count(n))


def has_consent(hub: Hub, household: str, purpose: str) -> bool:
    """Whether ``household`` has an active grant for ``purpose`` (rules' ``consent:`` check)."""
    row = hub.db.query_one(
        "SELECT 1 FROM consent_grants WHERE household = ? AND purpose = ? AND revoked_at IS NULL"
        " AND (until IS NULL OR until > ?) LIMIT 1",
        (household, purpose, hub.clock.timestamp()),
    )
    return row is not None


def _offer_event_to_rules(hub: Hub, engine: Any, event: Any) -> None:
    """Offer events reach the rules on the event loop, whichever thread committed them."""

    def deliver() -> None:
        try:
            engine.on_event(event)
        except Exception:
            logger.exception("rules failed on offer event %s", event.kind)

    loop = hub.loop
    if loop is None or _on_loop(loop):
        deliver()
    else:
        loop.call_soon_threadsafe(deliver)


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def connect(hub: Hub) -> None:
    """Attach what needs the running broker: the dynamic-security admin of the accounts."""
    from hub.identity import DynSecAdmin
    from hub.identity.sessions import SessionPurger

    if hub.broker is not None:
        admin_password = hub.broker_secrets["admin"]
        dynsec = DynSecAdmin("127.0.0.1", hub.broker.port, BROKER_ADMIN, admin_password).connect()
    elif hub.settings.broker_admin_username:
        host, port, _, _ = hub.settings.broker_address()
        dynsec = DynSecAdmin(
            host, port, hub.settings.broker_admin_username, hub.settings.broker_admin_password.get_secret_value()
        ).connect()
    else:
        _first_admin(hub)
        return
    hub.identity.dynsec = dynsec
    SessionPurger(dynsec).hook(hub.identity.consent)
    _first_admin(hub)
    hub.components["closers"].append(("dynsec", dynsec.close))


def _first_admin(hub: Hub) -> None:
    """Create the community admin of ``HUB_ADMIN_PASSWORD`` on the first start."""
    password = hub.settings.admin_password.get_secret_value()
    if not password:
        return
    exists = hub.db.query_one("SELECT 1 FROM accounts WHERE role = 'admin' LIMIT 1")
    if exists is None:
        hub.identity.create_admin(hub.settings.admin_username, password)
        logger.info("created the community admin %s", hub.settings.admin_username)


def make_broker(hub: Hub) -> BrokerSupervisor:
    """The managed Mosquitto of the embedded default, with dynamic security.

    Fresh random passwords for the broker's admin and the hub's own account are written
    into the dynamic-security file before every start (the broker is stopped then).
    """
    from hub.identity import init_dynsec, render_config

    data = (hub.settings.data_dir / "mosquitto").resolve()
    dynsec_file = data / "dynamic-security.json"
    hub.broker_secrets = {"admin": secrets.token_urlsafe(24), "hub": secrets.token_urlsafe(24)}
    hub.mqtt_login = (HUB_ACCOUNT, hub.broker_secrets["hub"])

    def render(port: int) -> str:
        data.mkdir(parents=True, exist_ok=True)
        init_dynsec(
            dynsec_file,
            BROKER_ADMIN,
            hub.broker_secrets["admin"],
            hub_user=HUB_ACCOUNT,
            hub_password=hub.broker_secrets["hub"],
            # The hub holds two connections (ingest and publishing), so its account is not
            # pinned to one client id; its secret is the hub's own.
            hub_clientid=None,
        )
        return render_config(REPO_ROOT / "mosquitto" / "mosquitto.conf", port=port, data_dir=data,
                             dynsec_file=dynsec_file)

    return BrokerSupervisor(render, data, port=hub.settings.broker_port, executable=hub.settings.mosquitto_bin)


async def _poll_feeds(hub: Hub) -> None:
    """Poll the configured notice feeds until cancelled; their changes reach the rules."""
    from hub.notices.feeds import FeedConfig, FeedPoller

    feeds = [FeedConfig(url=url, community=community)
             for community, _, url in (entry.partition("=") for entry in hub.settings.feeds)]

    def changed(changes: list[Any]) -> None:
        for change in changes:
            hub.rules.on_event(change)

    poller = FeedPoller(hub.notices, feeds, clock=hub.clock, on_changes=changed)
    hub.components["feeds"] = poller
    poller.start()
    try:
        await asyncio.Event().wait()
    finally:
        await poller.stop()


def notice_publisher_allowed(hub: Hub, publisher: str, community: str) -> bool:
    """Only a provider of kind ``utility`` of that community may send notices over MQTT."""
    row = hub.db.query_one("SELECT community, kinds FROM providers WHERE id = ?", (publisher,))
    if row is None or row["community"] != community:
        return False
    return "utility" in json.loads(row["kinds"])


def _expire_notices(hub: Hub) -> None:
    changes = hub.notices.expire()
    rules = hub.components.get("rules")
    if rules is not None:
        for change in changes:
            rules.on_event(change)
    if changes:
        hub.outbox.notify()


def _close_history(history: Any, db: Database) -> None:
    history.close()
    db.close()


__all__ = ["Hub", "build", "connect", "make_broker"]
