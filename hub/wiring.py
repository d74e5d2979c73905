"""Which component implements which port, by mode (embedded, external broker, bench, demo).

Kept apart from :mod:`hub.service` so that the service's lifecycle code does not change
each time a package lands. :func:`build` runs at construction (no network);
:func:`connect` runs once the broker is up (accounts are administered over MQTT).
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse

from hub.broker.supervisor import BrokerSupervisor
from hub.config import REPO_ROOT
from hub.errors import HubError
from hub.ingest.pipeline import PipelinePorts
from hub.storage.database import Database

if TYPE_CHECKING:
    from hub.service import Hub

logger = logging.getLogger(__name__)

BROKER_ADMIN = "hub-admin"
HUB_ACCOUNT = "hub"


def build(hub: Hub) -> dict[str, Any]:
    """Build the domain components for ``hub`` and register their jobs and routes."""
    from hub.identity import Identity
    from hub.identity import api as identity_api
    from hub.notices import NoticeBook
    from hub.notices import api as notices_api
    from hub.notices.intake import INTAKE_FILTER, NoticeIntake
    from hub.telemetry import build_history

    settings = hub.settings
    hub.every(2.0, hub.twin.flush)
    components: dict[str, Any] = {"tasks": [], "closers": [], "extra_subscriptions": []}

    # Identity first: everything else asks it who may see what. Its broker admin is
    # attached in connect(), once the broker runs.
    secret = settings.secret_key.get_secret_value() or secrets.token_urlsafe(32)
    hub.identity = Identity(hub.db, None, hub.clock, secret)
    components["identity"] = hub.identity
    hub.add_router(identity_api.router)

    # Telemetry history in a file of its own, so that its flusher thread never holds the
    # main database's write lock.
    history_db = Database(settings.data_dir / "history.sqlite3")
    hub.history = build_history(history_db, settings, clock=hub.clock)
    components["history"] = hub.history
    components["closers"].append(("history", lambda: _close_history(hub.history, history_db)))

    hub.notices = NoticeBook(hub.db, hub.outbox, hub.clock)
    components["notices"] = hub.notices
    hub.add_router(notices_api.router)
    hub.every(60.0, lambda: _expire_notices(hub))
    intake = NoticeIntake(hub.notices, lambda publisher, community: notice_publisher_allowed(hub, publisher, community))
    components["notice_intake"] = intake
    components["extra_subscriptions"].append((INTAKE_FILTER, 1))

    if hub.injected_ports is not None:
        components["ports"] = hub.injected_ports
        return components
    from hub.devices import Normalizer

    normalizer = Normalizer(settings.devices_dir)
    components["normalizer"] = normalizer
    components["ports"] = PipelinePorts(
        normalizer=normalizer,
        history=hub.history,
        commands={"publishers/": lambda rest, message, conn: intake.handle(message.topic, message.payload)},
    )
    return components


def connect(hub: Hub) -> None:
    """Attach what needs the running broker: the dynamic-security admin of the accounts."""
    from hub.identity import DynSecAdmin

    if hub.broker is not None:
        admin_password = hub.broker_secrets["admin"]
        dynsec = DynSecAdmin("127.0.0.1", hub.broker.port, BROKER_ADMIN, admin_password).connect()
    elif hub.settings.broker_admin_username:
        host, port, _, _ = hub.settings.broker_address()
        dynsec = DynSecAdmin(
            host, port, hub.settings.broker_admin_username, hub.settings.broker_admin_password.get_secret_value()
        ).connect()
    else:
        return
    hub.identity.dynsec = dynsec
    hub.components["closers"].append(("dynsec", dynsec.close))


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
            hub_clientid=hub.settings.mqtt_client_id,
        )
        return render_config(REPO_ROOT / "mosquitto" / "mosquitto.conf", port=port, data_dir=data,
                             dynsec_file=dynsec_file)

    return BrokerSupervisor(render, data, port=hub.settings.broker_port, executable=hub.settings.mosquitto_bin)


def problem(status: int, title: str, detail: str) -> JSONResponse:
    """An RFC 9457 problem response."""
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail},
                        status_code=status, media_type="application/problem+json")


async def hub_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Domain errors become problem details; anything else of ours is a 400."""
    status = getattr(exc, "status", 400)
    return problem(status, getattr(exc, "code", "invalid"), str(exc))


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


def repo_path(*parts: str) -> Path:
    """A path inside the repository (profiles, packs, templates)."""
    return REPO_ROOT.joinpath(*parts)


__all__ = ["HubError", "build", "connect", "make_broker"]
