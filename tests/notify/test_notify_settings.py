"""Bad mail settings are said clearly: at load (a malformed address, a host without a sender),
at start (a refused login stops the hub; an unreachable server is one clear error line and
the emails wait), and as 422 for a person's own malformed address."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from hub.config import Settings, load_settings
from hub.errors import ConfigError
from hub.ingest.pipeline import PipelinePorts
from hub.notify.email import Mailer, SendFailed
from hub.notify.prefs import check
from hub.offers.problems import Unprocessable
from hub.service import Hub
from tests.conftest import Broker
from tests.ingest.test_ingest_pipeline import JsonPowerAdapter
from tests.notify.peers import MailServer

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(("overrides", "says"), [
    ({"smtp_from": "not an address"}, "HUB_SMTP_FROM 'not an address' is not an email address"),
    ({"smtp_from": "hub@riverside"}, "is not an email address"),
    ({"smtp_host": "mail.example.org"}, "HUB_SMTP_HOST is set but HUB_SMTP_FROM is not"),
    ({"smtp_host": "mail.example.org", "smtp_from": "hub@riverside.example", "smtp_user": "hub"},
     "HUB_SMTP_USER is set but HUB_SMTP_PASSWORD is not"),
    ({"smtp_port": 0}, "smtp_port"),
])
def test_bad_mail_settings_are_refused_at_load(overrides: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(**overrides)
    assert says in str(refused.value)


def _settings(tmp_path: Path, port: int, **extra: object) -> Settings:
    values: dict[str, object] = {"smtp_starttls": False} | extra
    return Settings(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=port,
                    smtp_from="hub@riverside.example", **values)  # type: ignore[arg-type]


def test_probe_says_what_is_wrong(tmp_path: Path) -> None:
    idle = MailServer()  # nothing listens on its port
    with pytest.raises(SendFailed) as unreachable:
        Mailer(_settings(tmp_path, idle.port), timeout_s=5).probe()
    assert not unreachable.value.permanent
    assert unreachable.value.reason.startswith(
        f"cannot reach the SMTP server 127.0.0.1:{idle.port} (HUB_SMTP_HOST, HUB_SMTP_PORT)")
    with MailServer() as plain:
        with pytest.raises(SendFailed) as no_tls:
            Mailer(_settings(tmp_path, plain.port, smtp_starttls=True), timeout_s=5).probe()
        assert no_tls.value.permanent
        assert no_tls.value.reason.startswith(f"the SMTP server 127.0.0.1:{plain.port} offers no STARTTLS")
        Mailer(_settings(tmp_path, plain.port), timeout_s=5).probe()  # good settings pass
    with MailServer(login=("hub", "right-password")) as guarded:
        with pytest.raises(SendFailed) as wrong:
            Mailer(_settings(tmp_path, guarded.port, smtp_user="hub", smtp_password="wrong"), timeout_s=5).probe()
        assert wrong.value.permanent
        assert wrong.value.reason.startswith(
            f"the SMTP server 127.0.0.1:{guarded.port} refused the login of HUB_SMTP_USER: 535")
        Mailer(_settings(tmp_path, guarded.port, smtp_user="hub", smtp_password="right-password"),
               timeout_s=5).probe()


async def _start(settings: Settings) -> tuple[Hub, asyncio.Event, asyncio.Task[None]]:
    hub = Hub(settings, ports=PipelinePorts(normalizer=JsonPowerAdapter()))
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    ready = asyncio.create_task(hub.ready.wait())
    await asyncio.wait({ready, task}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    ready.cancel()
    return hub, stop, task


async def test_a_refused_login_stops_the_start(broker: Broker, tmp_path: Path) -> None:
    with MailServer(login=("hub", "right-password")) as guarded:
        settings = _settings(tmp_path, guarded.port, smtp_user="hub", smtp_password="wrong",
                             mqtt_url=f"mqtt://127.0.0.1:{broker.port}", mqtt_client_id=f"n-{tmp_path.name}",
                             api_port=0, secret_key="k" * 32)
        hub, _stop, task = await _start(settings)
        assert task.done()
        with pytest.raises(ConfigError) as refused:
            task.result()
        # A start refused before the task group ran leaves the stores open: close them here.
        for _name, closer in hub.components["closers"]:
            closer()
        hub.db.close()
    assert str(refused.value).startswith(
        f"email notifications: the SMTP server 127.0.0.1:{guarded.port} refused the login of HUB_SMTP_USER")


async def test_an_unreachable_mail_server_is_one_clear_line_at_start(
        broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hub.wiring")
    idle = MailServer()
    settings = _settings(tmp_path, idle.port, mqtt_url=f"mqtt://127.0.0.1:{broker.port}",
                         mqtt_client_id=f"n-{tmp_path.name}", api_port=0, secret_key="k" * 32)
    hub, stop, task = await _start(settings)
    try:
        assert hub.ready.is_set()
        lines = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and r.name == "hub.wiring"]
        assert len(lines) == 1
        assert lines[0].startswith(f"email notifications: cannot reach the SMTP server 127.0.0.1:{idle.port}")
        assert lines[0].endswith("emails wait and are retried")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.mark.parametrize(("body", "says"), [
    ({"email": "ana at example"}, "email 'ana at example' is not an address like ana@example.org"),
    ({"email": "Ana <ana@example.org>"}, "is not an address"),
    ({"email": "ana@example.org\r\nBcc: eve@example.org"}, "is not an address"),
    ({"channels": ["sms"]}, "channels must be a list of email, push"),
    ({"kinds": "notice"}, "kinds must be a list of"),
    ({"notice_min": "Loud"}, "notice_min must be one of Extreme, Severe, Moderate, Minor, Unknown"),
    ({"quiet_start": "25:00", "quiet_end": "07:00"}, "quiet_start must be a time like 22:00"),
    ({"quiet_start": "22:00"}, "quiet hours need both a start and an end"),
    ({"language": "fr"}, "language must be one of en, de, zh"),
    ({"digest": "yes"}, "digest must be true or false"),
    ({"colour": "red"}, "unknown field(s): colour"),
])
def test_a_persons_bad_preferences_are_refused(body: dict[str, object], says: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        check(body)
    assert says in str(refused.value)
