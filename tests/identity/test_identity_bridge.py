"""The bridged broker tier with real processes: a core Mosquitto with dynamic security (as
the hub renders it) and edge Mosquittos configured from ``hub broker bridge-config``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from bridge_support import REPO, Mosquitto, Recorder, bridge_config, hub_broker

from hub.broker.supervisor import free_port
from hub.config import Settings
from hub.identity import bridge
from hub.identity.broker_config import init_dynsec, render_config
from hub.identity.dynsec import DynSecAdmin
from hub.identity.errors import BrokerConfigError, InvalidName
from hub.ingest.pipeline import PipelinePorts
from hub.service import Hub
from tests.ingest.test_ingest_pipeline import JsonPowerAdapter
from tests.mqtt_helpers import wait_until
from tests.stores import on_postgresql


@dataclass
class Core:
    broker: Mosquitto
    admin_password: str
    hub_password: str
    root: Path

    @property
    def port(self) -> int:
        return self.broker.port

    def hub(self) -> Recorder:
        """The hub's account on the core, subscribed like the hub (persistent session)."""
        hub = Recorder(self.port, "hub", self.hub_password, "hub", persistent=True).connect()
        assert not hub.subscribe("home/+/#")[0].is_failure
        return hub


@pytest.fixture
def core(tmp_path: Path) -> Iterator[Core]:
    root = tmp_path / "core"
    root.mkdir()
    admin_password, hub_password = uuid.uuid4().hex, uuid.uuid4().hex
    dynsec_file = root / "dynsec.json"
    # As the hub's managed broker does: the hub's account is not pinned to one client id.
    init_dynsec(dynsec_file, "hub-admin", admin_password, hub_user="hub", hub_password=hub_password,
                hub_clientid=None)
    port = free_port()
    conf = root / "mosquitto.conf"
    conf.write_text(
        render_config(
            REPO / "mosquitto" / "mosquitto.conf", port=port, data_dir=root / "data",
            dynsec_file=dynsec_file,
        )
    )
    broker = Mosquitto(conf, port, root / "mosquitto.log").start()
    try:
        yield Core(broker, admin_password, hub_password, root)
    finally:
        broker.stop()


@pytest.fixture
def edges(tmp_path: Path, core: Core) -> Iterator[object]:
    started: list[Mosquitto] = []

    def make(edge: str, households: str, communities: str = "riverside") -> tuple[Mosquitto, dict[str, object]]:
        folder = tmp_path / edge
        port = free_port()
        done = bridge_config(
            core.port, core.admin_password, edge, "--households", households,
            "--communities", communities, "--out", str(folder), "--edge-port", str(port),
            data=tmp_path / "hubdata",
        )
        assert done.returncode == 0, done.stderr
        creds = orjson.loads((folder / "credentials.json").read_bytes())
        broker = Mosquitto(folder / "mosquitto.conf", port, folder / "mosquitto.log").start()
        started.append(broker)
        return broker, creds

    yield make
    for broker in started:
        broker.stop()


def device(edge: Mosquitto, creds: dict[str, object], household: str) -> Recorder:
    login = creds["households"][household]  # type: ignore[index]
    return Recorder(edge.port, login["username"], login["password"], login["username"]).connect()


def test_edge_device_reaches_the_hub_and_the_hub_reaches_the_device(core: Core, edges: object) -> None:
    hub = core.hub()
    edge, creds = edges("edge-a", "ha1,ha2")  # type: ignore[operator]
    gw = device(edge, creds, "ha1")
    assert not gw.subscribe("home/ha1/hub/#")[0].is_failure

    gw.publish("home/ha1/shellies/plug-1/relay/0/power", b"42.5")
    hub.wait(lambda: hub.payloads("home/ha1/shellies/plug-1/relay/0/power"), "the edge's reading")
    assert hub.payloads("home/ha1/shellies/plug-1/relay/0/power") == [b"42.5"]

    assert not hub.publish("home/ha1/hub/suggestions/s1", b'{"text": "dishwasher at 13:00"}').is_failure
    gw.wait(lambda: gw.payloads("home/ha1/hub/suggestions/s1"), "the hub's suggestion")
    assert gw.payloads("home/ha1/hub/suggestions/s1") == [b'{"text": "dishwasher at 13:00"}']
    other = device(edge, creds, "ha2")  # the other household of the same edge
    assert other.subscribe("home/ha1/hub/#")[0].is_failure
    other.close()
    gw.close()
    hub.close()


def test_core_away_the_edge_queues_and_delivers_every_qos1_message(core: Core, edges: object) -> None:
    hub = core.hub()
    edge, creds = edges("edge-q", "hq1")  # type: ignore[operator]
    gw = device(edge, creds, "hq1")
    gw.publish("home/hq1/meter/first", b"0")
    hub.wait(lambda: hub.payloads("home/hq1/meter/first"), "the bridge up")

    count = 500
    core.broker.stop()  # by its pid
    for seq in range(count):  # every PUBACK comes from the edge: it keeps accepting
        gw.publish("home/hq1/meter/power", str(seq).encode())
    # Devices often send QoS 0: the edge queues those for the bridge too.
    for seq in range(100):
        gw.client.publish("home/hq1/door/contact", str(seq).encode(), qos=0)
    gw.publish("home/hq1/meter/last", b"x")  # in order after them: the edge has them all
    core.broker.start()
    want = {str(seq).encode() for seq in range(count)}
    hub.wait(lambda: want <= set(hub.payloads("home/hq1/meter/power")), "all queued messages", 120)
    hub.wait(lambda: hub.payloads("home/hq1/meter/last"), "the last message")
    got = hub.payloads("home/hq1/meter/power")
    assert set(got) == want  # 0 lost at QoS 1 (copies of a message are allowed, none seen lost)
    assert len(got) >= count
    assert set(hub.payloads("home/hq1/door/contact")) == {str(seq).encode() for seq in range(100)}
    gw.close()
    hub.close()


def test_a_device_cannot_write_another_households_topics(core: Core, edges: object) -> None:
    hub = core.hub()
    edge_a, creds_a = edges("edge-a", "ha1")  # type: ignore[operator]
    edges("edge-b", "hb1")  # type: ignore[operator]
    gw = device(edge_a, creds_a, "ha1")
    assert gw.publish("home/hb1/meter/power", b"forged").is_failure  # refused by the edge
    assert gw.publish("home/ha1/hub/suggestions/fake", b"forged").is_failure  # the hub's subtree, own household
    gw.publish("home/ha1/meter/marker", b"after")
    hub.wait(lambda: hub.payloads("home/ha1/meter/marker"), "the marker")
    # Messages of one client arrive in order: had the forged ones passed, they would be here.
    assert hub.topics() == {"home/ha1/meter/marker"}
    assert gw.subscribe("home/hb1/hub/#")[0].is_failure
    gw.close()
    hub.close()


def test_a_tampered_edge_cannot_push_other_households_over_the_bridge(
    core: Core, tmp_path: Path
) -> None:
    """An edge whose operator lets anyone in and bridges more topics: the core still refuses."""
    hub = core.hub()
    section = bridge_config(
        core.port, core.admin_password, "edge-t", "--households", "ht1", "--communities",
        "riverside", data=tmp_path / "hubdata",
    )
    assert section.returncode == 0, section.stderr
    assert "topic home/ht1/# out 1" in section.stdout
    port = free_port()
    conf = tmp_path / "tampered.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        + section.stdout
        + "topic home/hb1/# out 1\ntopic # out 1\n"
    )
    edge = Mosquitto(conf, port, tmp_path / "tampered.log").start()
    try:
        intruder = Recorder(port, None, None, "intruder").connect()
        intruder.publish("home/hb1/meter/power", b"forged")
        intruder.publish("home/ht1/hub/suggestions/fake", b"forged")
        intruder.publish("community/riverside/notices/fake", b"forged")
        intruder.publish("home/ht1/meter/marker", b"after")
        hub.wait(lambda: hub.payloads("home/ht1/meter/marker"), "the marker")
        assert hub.topics() == {"home/ht1/meter/marker"}
        intruder.close()
    finally:
        edge.stop()
        hub.close()


def test_a_second_edges_bridge_login_cannot_write_the_first_edges_households(
    core: Core, edges: object, tmp_path: Path
) -> None:
    hub = core.hub()
    edges("edge-a", "ha1")  # type: ignore[operator]
    section = bridge_config(
        core.port, core.admin_password, "edge-b", "--households", "hb1", "--communities",
        "riverside", data=tmp_path / "hubdata",
    )
    assert section.returncode == 0, section.stderr
    password = next(
        line.split(" ", 1)[1] for line in section.stdout.splitlines() if line.startswith("remote_password ")
    )
    login_b = Recorder(core.port, "br-edge-b", password, "br-edge-b").connect()
    assert login_b.publish("home/ha1/meter/power", b"forged").is_failure
    login_b.publish("home/hb1/meter/marker", b"after")
    hub.wait(lambda: hub.payloads("home/hb1/meter/marker"), "the marker")
    assert hub.topics() == {"home/hb1/meter/marker"}
    assert login_b.subscribe("home/ha1/hub/#")[0].is_failure
    assert not login_b.subscribe("home/hb1/hub/#")[0].is_failure
    login_b.close()
    hub.close()


def test_bridge_config_refuses_bad_input_clearly(core: Core, tmp_path: Path) -> None:
    bad_name = bridge_config(
        core.port, core.admin_password, "Edge A", "--households", "ha1", "--communities", "c",
        data=tmp_path / "d",
    )
    assert bad_name.returncode == 2
    assert "edge id 'Edge A' refused" in bad_name.stderr
    no_db = bridge_config(core.port, core.admin_password, "edge-a", "--households", "ha1",
                          data=tmp_path / "d")
    assert no_db.returncode == 2
    if on_postgresql():  # the database is the server's, always there: the household is looked up
        assert "household 'ha1' is not known to the hub" in no_db.stderr
    else:
        assert "pass --communities" in no_db.stderr
    bad_port = bridge_config(core.port, core.admin_password, "edge-p", "--households", "ha1",
                             "--communities", "c", "--out", str(tmp_path / "e"), "--edge-port", "0",
                             data=tmp_path / "d")
    assert bad_port.returncode == 2
    assert "--edge-port must be 1-65535, not 0" in bad_port.stderr
    bad_core = bridge_config(core.port, core.admin_password, "edge-p", "--households", "ha1",
                             "--communities", "c", "--core", "bad host:1883", data=tmp_path / "d")
    assert bad_core.returncode == 2
    assert "core host 'bad host' is not an address" in bad_core.stderr
    with DynSecAdmin("127.0.0.1", core.port, "hub-admin", core.admin_password) as admin:
        assert "br-edge-p" not in admin.list_clients()  # refused before the core was touched
    wrong_admin = bridge_config(core.port, "wrong", "edge-a", "--households", "ha1",
                                "--communities", "c", data=tmp_path / "d")
    assert wrong_admin.returncode == 2
    assert "connect" in wrong_admin.stderr


def test_bridge_role_allows_exactly_the_edges_households() -> None:
    role = bridge.bridge_role("edge-a", ["ha1", "ha2"], ["riverside"])
    sends = {(a.topic, a.allow) for a in role.acls if a.acltype == "publishClientSend"}
    assert sends == {
        ("home/ha1/#", True), ("home/ha1/hub/#", False),
        ("home/ha2/#", True), ("home/ha2/hub/#", False),
    }
    reads = {a.topic for a in role.acls if a.acltype == "subscribePattern"}
    assert reads == {
        "home/ha1/hub/#", "home/ha1/homeassistant/#", "home/ha2/hub/#",
        "home/ha2/homeassistant/#", "community/riverside/notices/#",
    }
    with pytest.raises(InvalidName):
        bridge.bridge_role("edge-a", ["ha1/#"], [])
    with pytest.raises(BrokerConfigError):
        bridge.check_households([])
    spec = bridge.EdgeSpec("edge-a", ("ha1",), ("riverside",), "core.example", 1883, "s3cret")
    text = bridge.render_bridge_section(spec)
    elsewhere = bridge.EdgeHost(1884, "0.0.0.0", Path("/srv/edge-a"), "mosquitto", "/usr/lib/x.so")
    conf = bridge.render_edge_config(spec, elsewhere, Path("/tmp/out"))
    assert "plugin_opt_config_file /srv/edge-a/dynamic-security.json" in conf
    assert "user mosquitto" in conf
    assert "listener 1884 0.0.0.0" in conf
    with pytest.raises(BrokerConfigError, match="user"):
        bridge.render_edge_config(spec, bridge.EdgeHost(user="bad user"), Path("/tmp/out"))
    assert "cleansession false" in text
    assert "remote_clientid br-edge-a" in text
    with pytest.raises(BrokerConfigError):
        bridge.render_bridge_section(
            bridge.EdgeSpec("edge-a", ("ha1",), (), "core example", 1883, "s3cret")
        )


async def test_a_bridged_device_and_the_running_hub_reach_each_other(core: Core, tmp_path: Path) -> None:
    """The whole path: a household the hub knows, its edge made by the CLI from the hub's
    own database, a device on the edge, its reading on the hub's twin, and the hub's
    outbox message back on the device."""
    data = tmp_path / "hubdata"
    settings = Settings(
        mqtt_url=f"mqtt://hub:{core.hub_password}@127.0.0.1:{core.port}",
        mqtt_client_id="hub-main",
        data_dir=data,
        api_port=0,
        secret_key="x" * 32,
        broker_admin_username="hub-admin",
        broker_admin_password=core.admin_password,
    )
    hub = Hub(settings, ports=PipelinePorts(normalizer=JsonPowerAdapter()))
    stop = asyncio.Event()
    task = asyncio.create_task(hub.run(stop))
    await asyncio.wait_for(hub.ready.wait(), 60)
    folder, port = tmp_path / "edge-r", free_port()
    edge = Mosquitto(folder / "mosquitto.conf", port, tmp_path / "edge-r.log")
    try:
        hub.identity.create_household("h-ana", "riverside", "Ana", password="ana-password-1")
        done = await asyncio.to_thread(
            bridge_config, core.port, core.admin_password, "edge-r", "--households", "h-ana",
            "--out", str(folder), "--edge-port", str(port), data=data,
        )
        assert done.returncode == 0, done.stderr
        # The communities came from the hub's database.
        assert "topic community/riverside/notices/# in 1" in (folder / "mosquitto.conf").read_text()
        await asyncio.to_thread(edge.start)
        creds = orjson.loads((folder / "credentials.json").read_bytes())
        gw = await asyncio.to_thread(device, edge, creds, "h-ana")
        reason = await asyncio.to_thread(gw.publish, "home/h-ana/plug/kitchen", b'{"power": 75}')
        assert not reason.is_failure
        await wait_until(lambda: hub.twin.device("h-ana", "kitchen") is not None, within=60)
        assert hub.twin.device("h-ana", "kitchen").value("power") == 75  # type: ignore[union-attr]
        # Downstream: a message the hub commits to its outbox reaches the device on the edge.
        assert not (await asyncio.to_thread(gw.subscribe, "home/h-ana/hub/#"))[0].is_failure
        with hub.db.transaction() as conn:
            hub.outbox.add(conn, "home/h-ana/hub/suggestions/s-edge", {"id": "s-edge", "text": "hi"})
        hub.outbox.notify()
        await asyncio.to_thread(gw.wait, lambda: gw.payloads("home/h-ana/hub/suggestions/s-edge"),
                                "the hub's message")
        assert orjson.loads(gw.payloads("home/h-ana/hub/suggestions/s-edge")[0]) == {
            "id": "s-edge", "text": "hi"}
        await asyncio.to_thread(gw.close)
        unknown = await asyncio.to_thread(
            bridge_config, core.port, core.admin_password, "edge-x", "--households", "h-nobody",
            data=data,
        )
        assert unknown.returncode == 2
        assert "household 'h-nobody' is not known to the hub" in unknown.stderr
    finally:
        edge.stop()
        stop.set()
        await asyncio.wait_for(task, 30)


def _secret(section: str) -> str:
    return next(line.split(" ", 1)[1] for line in section.splitlines() if line.startswith("remote_password "))


def test_running_it_again_moves_households_and_replaces_the_secret(core: Core, tmp_path: Path) -> None:
    hub = core.hub()
    args = ("--communities", "riverside")
    first = bridge_config(core.port, core.admin_password, "edge-m", "--households", "hm1", *args,
                          data=tmp_path / "d")
    second = bridge_config(core.port, core.admin_password, "edge-m", "--households", "hm2", *args,
                           data=tmp_path / "d")
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    old, new = _secret(first.stdout), _secret(second.stdout)
    assert old != new
    stale = Recorder(core.port, "br-edge-m", old, "br-edge-m")
    with pytest.raises(AssertionError, match="Not authorized"):
        stale.connect()
    stale.client.loop_stop()
    login = Recorder(core.port, "br-edge-m", new, "br-edge-m").connect()
    assert login.publish("home/hm1/meter/power", b"moved away").is_failure
    assert not login.publish("home/hm2/meter/power", b"moved here").is_failure
    hub.wait(lambda: hub.payloads("home/hm2/meter/power"), "the moved household's reading")
    assert hub.topics() == {"home/hm2/meter/power"}
    login.close()
    removed = hub_broker(core.port, core.admin_password, "bridge-remove", "edge-m", data=tmp_path / "d")
    assert removed.returncode == 0, removed.stderr
    assert "bridge login br-edge-m removed" in removed.stdout
    gone = Recorder(core.port, "br-edge-m", new, "br-edge-m")
    with pytest.raises(AssertionError, match="Not authorized"):
        gone.connect()
    gone.client.loop_stop()
    again = hub_broker(core.port, core.admin_password, "bridge-remove", "edge-m", data=tmp_path / "d")
    assert again.returncode == 2
    assert "not found" in again.stderr.lower()
    hub.close()
