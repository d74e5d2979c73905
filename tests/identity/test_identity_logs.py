"""RELIABILITY row 27: no password, token or secret in any log line.

A full identity scenario runs over the real HTTP API and the real broker with every
logger at DEBUG (the hub's, uvicorn's, httpx's), then every captured line and the
broker's own log are searched for every secret the scenario handled.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import httpx
import pytest
from identity_api_app import build_app, serve
from identity_probe import FAST_PASSWORDS, HUB_USER, Broker, Probe

from hub.clock import SystemClock
from hub.identity.dynsec import DynSecAdmin
from hub.identity.service import Identity
from tests.stores import open_db


def test_row27_no_secret_in_logs(
    tmp_path: Path,
    broker: Broker,
    dynsec: DynSecAdmin,
    caplog: pytest.LogCaptureFixture,
    uid: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    token_secret = "row27-" + secrets.token_hex(16)
    db = open_db(tmp_path / "hub.db")
    identity = Identity(db, dynsec, SystemClock(), token_secret, passwords=FAST_PASSWORDS)
    found: list[str] = []
    admin = identity.create_admin(f"{uid}-root")
    assert admin.password is not None
    handled = {broker.admin_password, broker.hub_password, token_secret, admin.password}
    app = build_app(identity)
    with serve(app) as url, httpx.Client(base_url=url) as client:
        r = client.post(
            "/auth/login", json={"username": admin.username, "password": admin.password}
        )
        admin_token = r.json()["access_token"]
        auth = {"Authorization": f"Bearer {admin_token}"}
        household_password = "correct horse " + secrets.token_hex(6)
        h = client.post(
            "/admin/households",
            headers=auth,
            json={
                "id": f"{uid}-h",
                "community": f"{uid}-c",
                "name": "H",
                "password": household_password,
            },
        ).json()
        p = client.post(
            "/admin/providers",
            headers=auth,
            json={
                "id": f"{uid}-p",
                "community": f"{uid}-c",
                "name": "P",
                "kinds": ["grocer"],
            },
        ).json()
        handled |= {
            admin_token,
            household_password,
            h["mqtt"]["password"],
            p["password"],
            p["api_token"],
            p["mqtt"]["password"],
        }
        # Wrong passwords are secrets too: a typo is often one character off the real one.
        for wrong in (household_password + "x", "hunter2-" + secrets.token_hex(4)):
            handled.add(wrong)
            assert (
                client.post(
                    "/auth/login", json={"username": h["username"], "password": wrong}
                ).status_code
                == 401
            )
        r = client.post(
            "/auth/login", json={"username": h["username"], "password": household_password}
        )
        htoken = r.json()["access_token"]
        handled.add(htoken)
        hauth = {"Authorization": f"Bearer {htoken}"}
        grant = client.post(
            "/consents",
            headers=hauth,
            json={
                "grantee_provider": f"{uid}-p",
                "purpose": "grocery_delivery",
                "signals": ["slot"],
            },
        ).json()
        assert (
            client.get(
                "/me", headers={"Authorization": "Bearer hub_forged-" + "x" * 30}
            ).status_code
            == 401
        )
        handled.add("hub_forged-" + "x" * 30)
        # MQTT logins in use, then the revocation's session purge, disabling, deleting.
        gw = Probe(broker, h["mqtt"]["username"], h["mqtt"]["password"], h["mqtt"]["username"])
        assert str(gw.connect()) == "Success"
        gw.close()
        bad = Probe(
            broker, p["mqtt"]["username"], p["mqtt"]["password"] + "x", p["mqtt"]["username"]
        )
        assert bad.connect().is_failure
        bad.close()
        handled.add(p["mqtt"]["password"] + "x")
        assert client.post(f"/consents/{grant['id']}/revoke", headers=hauth).status_code == 200
        member_user, member_secret = identity.create_member_mqtt(f"{uid}-h")
        handled.add(member_secret)
        assert client.post("/auth/logout", headers=hauth).status_code == 204
        assert (
            client.post(f"/admin/accounts/{p['username']}/disable", headers=auth).status_code == 204
        )
        assert client.delete(f"/admin/accounts/{h['username']}", headers=auth).status_code == 204
    hashes = [
        r["password_hash"] for r in db.query("SELECT password_hash FROM accounts WHERE password_hash IS NOT NULL")
    ]
    db.close()
    lines = [caplog.text, broker.log.read_text(errors="replace")]
    for text in lines:
        found += [s[:6] + "..." for s in handled | set(hashes) if s and s in text]
    print(
        f"RELIABILITY row 27: {len(found)} secrets found in {len(caplog.records)} log records"
        f" and {lines[1].count(chr(10))} broker log lines ({len(handled)} secrets handled,"
        f" hub user {HUB_USER!r} and member {member_user!r} named only)"
    )
    assert found == []
    assert len(caplog.records) > 20  # the scenario was logged, at DEBUG

