"""Provisioning against the real broker: every login works for exactly its own topics."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from identity_probe import Probe

from hub.errors import NotFound
from hub.identity import AsyncDynSecAdmin, provision
from hub.identity.dynsec import DynSecAdmin
from hub.identity.errors import AccountExists, DynSecError
from hub.identity.service import Identity


def test_provision_a_community(identity: Identity, probes: Any, hub_probe: Probe, uid: str) -> None:
    c = f"{uid}-c"
    creds = provision(
        identity,
        admin_username=f"{uid}-admin",
        households=[
            {
                "id": f"{uid}-h{i}",
                "community": c,
                "name": f"H{i}",
                "street": "Lane",
                "lat": 52.0,
                "lon": 4.0,
                "area_codes": {"postcode": ["1234"]},
            }
            for i in range(3)
        ],
        providers=[
            {"id": f"{uid}-p{i}", "community": c, "name": f"P{i}", "kinds": ["grocer"]}
            for i in range(2)
        ],
    )
    assert sorted(creds) == ["admin", "households", "providers"]
    json.dumps(creds)  # the credentials file is JSON
    hub_probe.subscribe(f"home/{uid}-h0/#", f"providers/{uid}-p0/claims")
    h0 = creds["households"][f"{uid}-h0"]
    assert h0["mqtt"]["username"] == f"gw-{uid}-h0"
    gw: Probe = probes(h0["mqtt"]["username"], h0["mqtt"]["password"])
    assert str(gw.connect()) == "Success"
    gw.subscribe(f"home/{uid}-h0/hub/#")
    gw.publish(f"home/{uid}-h0/fridge/state", b'{"temperature": 4}')
    assert hub_probe.wait_for(f"home/{uid}-h0/fridge/state")
    hub_probe.publish(f"home/{uid}-h0/hub/suggestion", b"{}")
    assert gw.wait_for(f"home/{uid}-h0/hub/suggestion")
    p0 = creds["providers"][f"{uid}-p0"]
    prov: Probe = probes(p0["mqtt"]["username"], p0["mqtt"]["password"])
    assert str(prov.connect()) == "Success"
    prov.subscribe(f"providers/{uid}-p0/feed/#")
    hub_probe.publish(f"providers/{uid}-p0/feed/r1", b"{}")
    assert prov.wait_for(f"providers/{uid}-p0/feed/r1")
    prov.publish(f"providers/{uid}-p0/claims", b'{"request": "r1"}')
    assert hub_probe.wait_for(f"providers/{uid}-p0/claims")
    _token, principal, _ = identity.login(f"{uid}-h1", creds["households"][f"{uid}-h1"]["password"])
    assert principal.household == f"{uid}-h1"
    assert identity.authenticate(p0["api_token"]).provider == f"{uid}-p0"
    with pytest.raises(AccountExists):
        identity.create_household(f"{uid}-h0", c, "again")
    # A gateway can be disabled alone; its household's login keeps working.
    h1 = creds["households"][f"{uid}-h1"]
    identity.disable_account(h1["mqtt"]["username"])
    assert probes(h1["mqtt"]["username"], h1["mqtt"]["password"]).connect().is_failure
    assert identity.login(f"{uid}-h1", h1["password"])[1].role == "household"
    # Disabling and deleting kick the live connections.
    identity.disable_account(f"{uid}-p0")
    assert prov.wait(lambda: len(prov.disconnects) >= 1)
    identity.delete_account(f"{uid}-h0")
    assert gw.wait(lambda: len(gw.disconnects) >= 1)
    with pytest.raises(NotFound):
        identity.dynsec.get_client(f"gw-{uid}-h0")  # type: ignore[union-attr]


def test_hub_shared_subscription_and_packet_limit(
    identity: Identity, probes: Any, hub_probe: Probe, uid: str
) -> None:
    """The hub may scale out with ``$share``; a 300 KB payload never reaches it (row 1)."""
    codes = hub_probe.subscribe(f"$share/hub/home/{uid}-a/#", f"home/{uid}-b/#")
    assert [c.is_failure for c in codes] == [False, False]
    a = identity.create_household(f"{uid}-a", f"{uid}-c", "A")
    b = identity.create_household(f"{uid}-b", f"{uid}-c", "B")
    big: Probe = probes(a.mqtt_username, a.mqtt_password)
    assert str(big.connect()) == "Success"
    big.publish(f"home/{uid}-a/huge", b"x" * 300_000)
    assert big.wait(lambda: len(big.disconnects) >= 1), "the broker kept a 300 KB sender"
    small: Probe = probes(a.mqtt_username, a.mqtt_password)
    assert str(small.connect()) == "Success"
    small.publish(f"home/{uid}-a/ok", b"fine")
    other: Probe = probes(b.mqtt_username, b.mqtt_password)
    assert str(other.connect()) == "Success"
    other.publish(f"home/{uid}-b/ok", b"fine")
    assert hub_probe.wait_for(f"home/{uid}-a/ok")
    assert hub_probe.wait_for(f"home/{uid}-b/ok")
    huge = [m for m in hub_probe.messages if m.topic.endswith("/huge")]
    print(
        f"RELIABILITY row 1 (broker config): {len(huge)} of 1 payloads of 300 KB reached the"
        f" hub; the sender was disconnected ({big.disconnects[0]}); others unaffected"
    )
    assert huge == []


def test_dynsec_admin_errors_and_async(dynsec: DynSecAdmin, broker: Any, uid: str) -> None:
    with pytest.raises(NotFound):
        dynsec.delete_client(f"{uid}-nobody")
    dynsec.create_client(f"{uid}-x", "secret-secret")
    with pytest.raises(AccountExists):
        dynsec.create_client(f"{uid}-x", "secret-secret")
    with pytest.raises(NotFound):
        dynsec.add_client_role(f"{uid}-x", f"{uid}-no-role")
    with pytest.raises(DynSecError, match="Invalid/missing"):
        dynsec.command("createRole")  # no role name: the plugin's own refusal
    with pytest.raises(DynSecError, match="refused"):
        DynSecAdmin(broker.host, broker.port, "hub-admin", "wrong", timeout=2).connect()
    with pytest.raises(DynSecError, match=r"cannot|refused|no answer"):
        DynSecAdmin("127.0.0.1", 1, "hub-admin", "x", timeout=1).connect()

    async def main() -> list[str]:
        result: list[str] = await AsyncDynSecAdmin(dynsec).list_clients()
        return result

    assert f"{uid}-x" in asyncio.run(main())
    dynsec.delete_client(f"{uid}-x")


def test_reprovisioning_and_leftover_mqtt_login(
    identity: Identity, dynsec: DynSecAdmin, probes: Any, hub_probe: Probe, uid: str
) -> None:
    """A household deleted and made again, and an MQTT login left by a crashed provisioning."""
    c = f"{uid}-c"
    identity.create_household(f"{uid}-a", c, "A")
    identity.delete_account(f"{uid}-a")
    again = identity.create_household(f"{uid}-a", c, "A")  # its role exists: ACLs rewritten
    role = dynsec.command("getRole", rolename=f"household-{uid}-a")["role"]
    assert len(role["acls"]) == 4
    dynsec.create_client(f"gw-{uid}-b", "left-over-secret", clientid="someone-else")
    dynsec.disable_client(f"gw-{uid}-b")
    b = identity.create_household(f"{uid}-b", c, "B")
    client = dynsec.get_client(f"gw-{uid}-b")
    assert client["clientid"] == f"gw-{uid}-b"
    assert not client.get("disabled", False)
    hub_probe.subscribe(f"home/{uid}-a/#", f"home/{uid}-b/#")
    for creds in (again, b):
        gw: Probe = probes(creds.mqtt_username, creds.mqtt_password)
        assert str(gw.connect()) == "Success"
        gw.publish(f"home/{creds.username}/x", b"1")
        assert hub_probe.wait_for(f"home/{creds.username}/x")
    stale: Probe = probes(f"gw-{uid}-b", "left-over-secret")
    assert stale.connect().is_failure
