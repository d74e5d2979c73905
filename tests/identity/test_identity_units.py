"""Fast checks of the identity package's pieces (no broker): config, names, ACL mirror,
consent rules with a controlled clock, tokens, login limits, body limits."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from identity_api_app import serve
from identity_probe import FAST_PASSWORDS, REPO

from hub.clock import FakeClock
from hub.errors import Conflict, NotFound
from hub.identity import acl, names
from hub.identity.accounts import Credentials
from hub.identity.broker_config import (
    dynsec_plugin_path,
    init_dynsec,
    render_config,
    verify_password,
)
from hub.identity.errors import AuthFailed, BrokerConfigError, InvalidName, TooManyAttempts
from hub.identity.limits import BodySizeLimitMiddleware, LoginLimiter
from hub.identity.service import Identity
from hub.storage.outbox import Outbox
from tests.stores import open_db

TEMPLATE = REPO / "mosquitto" / "mosquitto.conf"


def test_render_config_fills_every_placeholder(tmp_path: Path) -> None:
    text = render_config(
        TEMPLATE,
        port=18999,
        data_dir=tmp_path / "data",
        dynsec_file=tmp_path / "dynsec.json",
        user="mosquitto",
    )
    lines = {
        line.split(" ", 1)[0]: line
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert "{{" not in text
    assert lines["listener"] == "listener 18999 127.0.0.1"
    assert lines["allow_anonymous"] == "allow_anonymous false"
    assert lines["per_listener_settings"] == "per_listener_settings false"
    assert lines["max_packet_size"] == "max_packet_size 262144"
    assert lines["max_queued_messages"] == "max_queued_messages 1000000"
    assert lines["plugin_opt_config_file"] == f"plugin_opt_config_file {tmp_path}/dynsec.json"
    assert lines["persistence_location"] == f"persistence_location {tmp_path}/data/"
    assert lines["user"] == "user mosquitto"
    assert (tmp_path / "data").is_dir()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"port": 0}, "port must be"),
        ({"port": 70000}, "port must be"),
        ({"bind_address": "0.0.0.0\nallow_anonymous true"}, "bind address"),
        ({"dynsec_file": Path("/tmp/with space/d.json")}, "cannot hold spaces"),
        ({"user": "root\nallow_anonymous true"}, "not a user name"),
    ],
)
def test_render_config_refuses_bad_values(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {
        "port": 1883,
        "data_dir": tmp_path / "d",
        "dynsec_file": tmp_path / "x.json",
        **kwargs,
    }
    with pytest.raises(BrokerConfigError, match=message):
        render_config(TEMPLATE, **args)  # type: ignore[arg-type]


def test_render_config_refuses_unknown_placeholder(tmp_path: Path) -> None:
    template = tmp_path / "t.conf"
    template.write_text("listener {{port}}\nfoo {{nope}}\n")
    with pytest.raises(BrokerConfigError, match="unknown placeholder"):
        render_config(template, port=1, data_dir=tmp_path, dynsec_file=tmp_path / "x")


def test_dynsec_plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = dynsec_plugin_path()
    assert found.name == "mosquitto_dynamic_security.so"
    assert found.is_file()
    fake = tmp_path / "lib" / "mosquitto_dynamic_security.so"
    fake.parent.mkdir()
    fake.write_bytes(b"")
    assert dynsec_plugin_path([str(tmp_path / "nowhere"), str(tmp_path / "l*")]) == fake
    with pytest.raises(BrokerConfigError, match="not found"):
        dynsec_plugin_path([str(tmp_path / "nowhere")])
    monkeypatch.setenv("HUB_DYNSEC_PLUGIN", str(tmp_path / "missing.so"))
    with pytest.raises(BrokerConfigError, match="not a file"):
        dynsec_plugin_path()


def test_init_dynsec_is_idempotent_and_private(tmp_path: Path) -> None:
    path = tmp_path / "dynsec.json"
    init_dynsec(path, "hub-admin", "first-password", hub_user="hub", hub_password="hub-pw-1")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(path.read_text())
    data["clients"].append({"username": "gw-h-ana", "clientid": "gw-h-ana", "roles": []})
    path.write_text(json.dumps(data))
    init_dynsec(
        path,
        "hub-admin",
        "second-password",
        hub_user="hub",
        hub_password="hub-pw-2",
        hub_clientid=None,
    )
    data = json.loads(path.read_text())
    clients = {c["username"]: c for c in data["clients"]}
    assert sorted(clients) == ["gw-h-ana", "hub", "hub-admin"]
    assert verify_password(clients["hub-admin"], "second-password")
    assert not verify_password(clients["hub-admin"], "first-password")
    assert verify_password(clients["hub"], "hub-pw-2")
    assert "clientid" not in clients["hub"]
    assert "clientid" not in clients["hub-admin"]
    assert data["defaultACLAccess"] == {
        "publishClientSend": False,
        "publishClientReceive": False,
        "subscribe": False,
        "unsubscribe": True,
    }
    assert "first-password" not in path.read_text()
    with pytest.raises(BrokerConfigError):
        init_dynsec(path, "hub-admin", "")


def test_names() -> None:
    assert names.check_name("h-ana_2") == "h-ana_2"
    assert names.gateway_username("h-ana") == "gw-h-ana"
    for bad in ["h-ana\n", "H", "a/b", "x" * 65, "", "+", 3]:
        with pytest.raises(InvalidName):
            names.check_name(bad)
    with pytest.raises(InvalidName):
        names.check_id("x" * 62)


@pytest.mark.parametrize(
    ("user", "topic", "ok"),
    [
        ("gw-h-ana", "home/h-ana/zigbee2mqtt/fridge", True),
        ("gw-h-ana", "home/h-ana/hub/notice", False),
        ("gw-h-ana", "home/h-ana/hub", False),
        ("gw-h-ana", "home/h-anb/zigbee2mqtt/fridge", False),
        ("gw-h-ana", "home/h-ana", False),
        ("gw-h-ana", "home/h-ana/+/x", False),
        ("gw-h-ana", "providers/p/claims", False),
        ("pv-fresh", "providers/fresh/claims", True),
        ("pv-fresh", "providers/other/claims", False),
        ("pv-fresh", "providers/fresh/feed/x", False),
        ("hub", "community/c/notices/n1", True),
        ("hub", "providers/p/feed/r1", True),
        ("hub", "home/h/hub/s", True),
        ("hub", "home/h/zigbee2mqtt/x", False),
        ("hm-h-ana", "home/h-ana/x", False),
        ("someone", "home/h-ana/x", False),
    ],
)
def test_topic_belongs_to(user: str, topic: str, ok: bool) -> None:
    assert acl.topic_belongs_to(user, topic) is ok


def test_split_household() -> None:
    assert acl.split_household("home/h-ana/zigbee2mqtt/x") == ("h-ana", "zigbee2mqtt/x")
    assert acl.split_household("home/H/x") is None
    assert acl.split_household("home/h-ana/") is None
    assert acl.split_household("homes/h/x") is None


def test_credentials_repr_hides_secrets() -> None:
    creds = Credentials(
        account_id="a",
        username="u",
        role="household",
        password="pw-secret",
        api_token="hub_tok",
        mqtt_username="gw-u",
        mqtt_password="mq-secret",
    )
    text = repr(creds)
    assert "pw-secret" not in text
    assert "hub_tok" not in text
    assert "mq-secret" not in text
    assert creds.marshal()["mqtt"] == {"username": "gw-u", "password": "mq-secret"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ident(tmp_path: Path, clock: FakeClock) -> Identity:
    identity = Identity(
        open_db(tmp_path / "u.db"),
        None,
        clock,
        "unit-secret-0123456789",
        passwords=FAST_PASSWORDS,
        session_ttl_s=600,
    )
    identity.create_household("h-ana", "riverside", "Ana", password="ana-password")
    identity.create_household("h-ben", "riverside", "Ben", password="ben-password")
    identity.create_provider("fresh", "riverside", "Fresh", kinds=["grocer"])
    identity.create_provider("bakery", "riverside", "Bakery", kinds=["baker"])
    return identity


FIELDS: dict[str, str | None] = {
    "id": None,
    "pantry_needs": "pantry_needs",
    "slot": "slot",
    "street_address": "street_address",
}


def test_consent_rules(ident: Identity, clock: FakeClock) -> None:
    consent = ident.consent
    assert not consent.allowed("h-ana", "fresh", None, "grocery_delivery", "slot")
    until = clock.now() + timedelta(hours=1)
    g1 = consent.grant(
        "h-ana", "fresh", purpose="grocery_delivery", signals=["pantry_needs", "slot"], until=until
    )
    consent.grant("h-ana", grantee_kind="baker", purpose="bread", signals=["street_address"])
    assert consent.allowed("h-ana", "fresh", None, "grocery_delivery", "slot")
    assert not consent.allowed("h-ana", "fresh", None, "grocery_delivery", "street_address")
    assert not consent.allowed("h-ana", "fresh", None, "marketing", "slot")
    assert not consent.allowed("h-ben", "fresh", None, "grocery_delivery", "slot")
    assert consent.allowed("h-ana", "bakery", None, "bread", "street_address")
    assert consent.allowed("h-ana", "anyone", ["baker"], "bread", "street_address")
    payload = {
        "id": "r1",
        "pantry_needs": ["milk"],
        "slot": "18:00",
        "street_address": "1 Lane",
        "undeclared": "x",
    }
    assert consent.filter_payload("h-ana", "fresh", "grocery_delivery", payload, FIELDS) == {
        "id": "r1",
        "pantry_needs": ["milk"],
        "slot": "18:00",
    }
    assert consent.filter_payload("h-ben", "fresh", "grocery_delivery", payload, FIELDS) is None
    assert consent.filter_payload("h-ana", "fresh", "grocery_delivery", {"id": "r"}, FIELDS) is None
    clock.advance(timedelta(hours=1))
    assert not consent.allowed("h-ana", "fresh", None, "grocery_delivery", "slot")
    with pytest.raises(NotFound):
        consent.revoke(g1.id, "h-ben")
    revoked = consent.revoke(g1.id, "h-ana")
    assert revoked.revoked_at is not None
    assert consent.revoke(g1.id, "h-ana").revoked_at == revoked.revoked_at
    consent.record_use("h-ana", "bakery", "bread", ["street_address"], ref="offer-1")
    events = [(e["event"], e["provider"]) for e in consent.audit_export("h-ana")]
    assert events == [("grant", "fresh"), ("grant", None), ("revoke", "fresh"), ("use", "bakery")]
    assert json.loads(json.dumps(consent.audit_export("h-ana")))[3]["detail"]["ref"] == "offer-1"
    assert consent.audit_export("h-ben") == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"grantee_provider": "fresh", "grantee_kind": "grocer"}, Conflict),
        ({}, Conflict),
        ({"grantee_provider": "nobody"}, NotFound),
        ({"grantee_provider": "fresh", "signals": []}, Conflict),
        ({"grantee_provider": "fresh", "signals": ["a/b"]}, InvalidName),
        ({"grantee_provider": "fresh", "purpose": "#"}, InvalidName),
        ({"grantee_provider": "fresh", "until": 0.0}, Conflict),
    ],
)
def test_consent_refuses(ident: Identity, kwargs: dict[str, object], error: type) -> None:
    args: dict[str, object] = {"purpose": "p", "signals": ["slot"], **kwargs}
    with pytest.raises(error):
        ident.consent.grant("h-ana", **args)  # type: ignore[arg-type]
    assert ident.consent.audit_export("h-ana") == []


def test_revoke_drops_only_uncovered_outbox_copies(ident: Identity) -> None:
    consent = ident.consent
    g = consent.grant("h-ana", "fresh", purpose="grocery_delivery", signals=["slot"])
    consent.grant("h-ben", grantee_kind="grocer", purpose="grocery_delivery", signals=["slot"])
    outbox = Outbox(ident.db)
    with ident.db.transaction() as conn:
        outbox.add(conn, "providers/fresh/feed/a1", {"household": "h-ana", "slot": "x"})
        outbox.add(conn, "providers/fresh/feed/b1", {"household": "h-ben", "slot": "x"})
        outbox.add(conn, "providers/freshest/feed/a2", {"household": "h-ana", "slot": "x"})
        outbox.add(conn, "home/h-ana/hub/a3", {"household": "h-ana"})
    consent.revoke(g.id, "h-ana")
    assert sorted(m.topic for m in outbox.pending()) == [
        "home/h-ana/hub/a3",
        "providers/fresh/feed/b1",
        "providers/freshest/feed/a2",
    ]


def test_tokens_and_login(ident: Identity, clock: FakeClock) -> None:
    token, principal, _ = ident.login("h-ana", "ana-password", address="10.0.0.1")
    assert principal.household == "h-ana"
    assert principal.community == "riverside"
    assert ident.authenticate(token) == principal
    other = Identity(ident.db, None, clock, "another-secret-0123456789", passwords=FAST_PASSWORDS)
    with pytest.raises(AuthFailed):
        other.authenticate(token)  # the stored hash is keyed with the secret
    clock.advance(timedelta(seconds=601))
    with pytest.raises(AuthFailed):
        ident.authenticate(token)
    token2, _, _ = ident.login("h-ana", "ana-password")
    ident.logout(token2)
    with pytest.raises(AuthFailed):
        ident.authenticate(token2)
    api_token = ident.create_api_token(principal.account_id, label="bridge")
    assert ident.authenticate(api_token).username == "h-ana"
    ident.disable_account("h-ana")
    with pytest.raises(AuthFailed):
        ident.authenticate(api_token)
    with pytest.raises(AuthFailed):
        ident.login("h-ana", "ana-password")
    stored = ident.db.query("SELECT token_hash FROM api_tokens")
    assert all(token not in r["token_hash"] for r in stored)
    assert "ana-password" not in str([dict(r) for r in ident.db.query("SELECT * FROM accounts")])


def test_login_limiter(clock: FakeClock) -> None:
    limiter = LoginLimiter(clock, max_failures=3, max_failures_per_ip=5, window_s=60)
    for _ in range(3):
        limiter.check("ana", "1.1.1.1")
        limiter.failed("ana", "1.1.1.1")
    with pytest.raises(TooManyAttempts) as info:
        limiter.check("ana", "2.2.2.2")
    assert 0 < info.value.retry_after <= 61
    for user in ("u1", "u2"):
        limiter.check(user, "1.1.1.1")
        limiter.failed(user, "1.1.1.1")
    with pytest.raises(TooManyAttempts):
        limiter.check("fresh-user", "1.1.1.1")  # the address is over its limit
    clock.advance(timedelta(seconds=61))
    limiter.check("ana", "1.1.1.1")
    limiter.failed("ana", "3.3.3.3")
    limiter.succeeded("ana")
    limiter.check("ana", "3.3.3.3")


def test_body_size_middleware_over_http() -> None:
    app = FastAPI()
    app.add_middleware(BodySizeLimitMiddleware, max_body=1000)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    def chunks() -> object:
        for _ in range(10):
            yield b"x" * 500

    with serve(app) as url, httpx.Client(base_url=url) as client:
        assert client.post("/echo", content=b"x" * 1000).json() == {"size": 1000}
        assert client.post("/echo", content=b"x" * 1001).status_code == 413
        assert client.post("/echo", content=chunks()).status_code == 413  # type: ignore[arg-type]


def test_public_names() -> None:
    import hub.identity

    assert sorted(hub.identity.__all__) == [
        "AsyncDynSecAdmin",
        "BodySizeLimitMiddleware",
        "Consent",
        "Credentials",
        "DynSecAdmin",
        "Grant",
        "Identity",
        "LoginLimiter",
        "Principal",
        "SessionPurger",
        "current_principal",
        "dynsec_plugin_path",
        "init_dynsec",
        "provision",
        "render_config",
        "require_role",
        "route_security",
        "split_household",
        "topic_belongs_to",
    ]
    assert all(hasattr(hub.identity, name) for name in hub.identity.__all__)


def test_reserved_account_names(ident: Identity) -> None:
    for name in ("hub", "hub-admin", "gw-h-ana", "pv-fresh", "hm-x", "purge-1"):
        with pytest.raises(InvalidName, match="reserved"):
            ident.create_admin(name)
    with pytest.raises(InvalidName, match="reserved"):
        ident.create_household("gw-x", "riverside", "X")
    assert ident.db.query_one("SELECT count(*) FROM accounts WHERE role = 'admin'")[0] == 0


def test_short_secret_refused(tmp_path: Path) -> None:
    from hub.errors import ConfigError

    with pytest.raises(ConfigError, match="16 characters"):
        Identity(open_db(tmp_path / "s.db"), None, FakeClock(), "short")
