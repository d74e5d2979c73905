"""RELIABILITY rows 2-6 and 19 against a real Mosquitto with dynamic security."""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

import pytest
from identity_probe import Broker, Probe

from hub.errors import NotFound
from hub.identity import acl, names
from hub.identity.dynsec import DynSecAdmin
from hub.identity.errors import InvalidName
from hub.identity.service import Identity


def _gateway(
    identity: Identity, probes: Any, household: str, community: str, *, v5: bool = True
) -> Probe:
    creds = identity.create_household(household, community, household.title())
    probe: Probe = probes(creds.mqtt_username, creds.mqtt_password, v5=v5)
    assert str(probe.connect()) == "Success"
    return probe


@pytest.mark.parametrize("v5", [True, False], ids=["v5", "v311"])
def test_row2_publish_into_other_households(
    identity: Identity, probes: Any, hub_probe: Probe, uid: str, v5: bool
) -> None:
    victims = [f"{uid}-v{i}" for i in range(3)]
    for victim in victims:
        identity.create_household(victim, f"{uid}-c", victim)
    attacker = _gateway(identity, probes, f"{uid}-a", f"{uid}-c", v5=v5)
    hub_probe.subscribe("home/+/#")

    def hub_part(i: int) -> str:
        return "hub/" if i % 7 == 0 else ""

    # 1,000 topics of other households: real ones, unknown ones, their hub subtrees.
    topics = [
        f"home/{victims[i % 3] if i % 4 else f'{uid}-x{i}'}/dev{i}/{hub_part(i)}state"
        for i in range(1000)
    ]
    mids = [
        attacker.publish(t, json.dumps({"i": i}), qos=i % 2, retain=i % 5 == 0)
        for i, t in enumerate(topics)
    ]
    # Its own hub subtree is the hub's: forbidden too. Then a legitimate sentinel.
    attacker.publish(f"home/{uid}-a/hub/fake", b"x", qos=1)
    sentinel = f"home/{uid}-a/sentinel"
    attacker.publish(sentinel, b"done", qos=1)
    assert hub_probe.wait_for(sentinel), "the legitimate sentinel did not arrive"
    assert attacker.wait(lambda: all(mid in attacker.puback for mid in mids))
    foreign = [m for m in hub_probe.messages if not m.topic.startswith(f"home/{uid}-a/")]
    own_hub = [m for m in hub_probe.messages if m.topic.startswith(f"home/{uid}-a/hub/")]
    denied = sum(1 for mid in mids if mid in attacker.puback and attacker.puback[mid].is_failure)
    print(
        f"RELIABILITY row 2 ({'v5' if v5 else 'v3.1.1'}): {len(foreign) + len(own_hub)} delivered"
        f" of {len(topics) + 1}; QoS1 PUBACK failures visible: {denied}"
    )
    assert foreign == []
    assert own_hub == []
    # A fresh subscriber sees no retained message planted in a victim's tree.
    late = Probe(hub_probe.broker, "hub", hub_probe.broker.hub_password, "hub")
    hub_probe.close()
    assert str(late.connect()) == "Success"
    try:
        late.subscribe(*(f"home/{v}/#" for v in victims))
        late.publish(f"offers/{uid}/sentinel", b"x")
        late.subscribe(f"offers/{uid}/#")
        late.publish(f"offers/{uid}/sentinel2", b"x")
        assert late.wait_for(f"offers/{uid}/sentinel2")
        assert [m for m in late.messages if m.topic.startswith("home/")] == []
    finally:
        late.close()
    if v5:
        assert denied == 500  # every QoS 1 attempt was answered 0x87 under v5


def test_row3_subscriptions_get_no_foreign_message(
    identity: Identity, probes: Any, hub_probe: Probe, uid: str
) -> None:
    community = f"{uid}-c"
    victim = f"{uid}-b"
    identity.create_household(victim, community, "B")
    attacker = _gateway(identity, probes, f"{uid}-a", community)
    filters = [
        "#",
        "+/#",
        "home/+/#",
        "home/+/+/#",
        f"home/{victim}/#",
        f"home/{victim}/hub/#",
        "home/+/hub/#",
        f"community/{community}/notices/#",
        "providers/+/feed/#",
        "$SYS/#",
        "$CONTROL/#",
        "+/+/hub/#",
    ]
    codes = attacker.subscribe(*filters)  # several in one SUBSCRIBE
    singles = [attacker.subscribe(f)[0] for f in filters[:4]]
    own = attacker.subscribe(f"home/{uid}-a/hub/#")
    assert not own[0].is_failure
    for i in range(1000):
        kind = i % 4
        if kind == 0:
            hub_probe.publish(f"home/{victim}/hub/s{i}", b"private")
        elif kind == 1:
            hub_probe.publish(f"community/{community}/notices/n{i}", b"notice", retain=i < 10)
        elif kind == 2:
            hub_probe.publish(f"providers/{uid}-p/feed/r{i}", b"feed")
        else:
            hub_probe.publish(f"offers/{uid}/o{i}", b"offer")
    hub_probe.publish(f"home/{uid}-a/hub/sentinel", b"done")
    assert attacker.wait_for(f"home/{uid}-a/hub/sentinel")
    foreign = [m for m in attacker.messages if not m.topic.startswith(f"home/{uid}-a/")]
    granted = [f for f, c in zip(filters, codes, strict=True) if not c.is_failure]
    print(
        f"RELIABILITY row 3: {len(foreign)} foreign delivered of 1000; SUBACK granted for"
        f" {granted or 'none'} of {len(filters)} hostile filters;"
        f" singles {[str(c) for c in singles]}"
    )
    assert foreign == []
    assert granted == []


def test_row4_client_id_of_another_account(
    identity: Identity, probes: Any, hub_probe: Probe, broker: Broker, uid: str
) -> None:
    community = f"{uid}-c"
    victim_creds = identity.create_household(f"{uid}-b", community, "B")
    attacker_creds = identity.create_household(f"{uid}-a", community, "A")
    victim: Probe = probes(victim_creds.mqtt_username, victim_creds.mqtt_password)
    assert str(victim.connect(clean_start=True, expiry=3600)) == "Success"
    victim.subscribe(f"home/{uid}-b/hub/#")
    attempts = [
        (attacker_creds.mqtt_username, attacker_creds.mqtt_password),  # own login, victim's id
        (None, None),  # anonymous
        (victim_creds.mqtt_username, "wrong-password"),
        ("hub", broker.hub_password),  # even the hub is pinned to its own id
    ]
    refused = 0
    for user, password in attempts:
        intruder: Probe = probes(user, password, victim_creds.mqtt_username)
        reason = intruder.connect()
        refused += int(reason.is_failure)
        intruder.close()
    # Victim still connected: publish 100 and receive them all, online...
    for i in range(100):
        hub_probe.publish(f"home/{uid}-b/hub/m{i}", str(i))
    assert victim.wait(lambda: len(victim.messages) >= 100)
    # ...and offline: its session keeps its queue through another takeover attempt.
    victim.close()
    intruder = probes(
        attacker_creds.mqtt_username, attacker_creds.mqtt_password, victim_creds.mqtt_username
    )
    refused += int(intruder.connect().is_failure)
    intruder.close()
    for i in range(100, 200):
        hub_probe.publish(f"home/{uid}-b/hub/m{i}", str(i))
    hub_probe.publish(f"home/{uid}-b/hub/end", b"end")
    back: Probe = probes(victim_creds.mqtt_username, victim_creds.mqtt_password)
    assert str(back.connect(clean_start=False, expiry=3600)) == "Success"
    assert back.wait_for(f"home/{uid}-b/hub/end")
    got = {m.payload for m in victim.messages} | {m.payload for m in back.messages}
    lost = 200 - len({p for p in got if p != b"end"})
    kicks = len(victim.disconnects) - 1  # the one disconnect is its own close()
    print(
        f"RELIABILITY row 4: {refused} of {len(attempts) + 1} takeover attempts refused;"
        f" {kicks} kicks, {lost} lost"
    )
    assert refused == len(attempts) + 1
    assert kicks == 0
    assert lost == 0


BAD_NAMES = [
    "a+b",
    "a#",
    "+",
    "#",
    "a/b",
    "/",
    "a b",
    " a",
    "a\x00b",
    "a\nb",
    "a\tb",
    "a\x1bb",
    "A",
    "Ana",
    "",
    "x" * 65,
    "é",
    "a.b",
    "$sys",
    "a\u200bb",
    "a:b",
    "a*b",
]


def test_row5_bad_usernames_refused(identity: Identity, dynsec: DynSecAdmin, uid: str) -> None:
    before = set(dynsec.list_clients())
    refused = 0
    attempts = 0
    for bad in BAD_NAMES:
        for make in (
            lambda n: identity.create_household(n, f"{uid}-c", "x"),
            lambda n: identity.create_household(f"{uid}-h", n, "x"),
            lambda n: identity.create_household(f"{uid}-h2", f"{uid}-c", "x", username=n),
            lambda n: identity.create_provider(n, None, "x"),
            lambda n: identity.create_provider(f"{uid}-p", None, "x", kinds=[n]),
            lambda n: identity.create_admin(n),
            lambda n: dynsec.create_client(n, "secret-secret"),
            lambda n: acl.household_role(n),
        ):
            attempts += 1
            with pytest.raises(InvalidName) as info:
                make(bad)
            assert "refused: use 1-" in str(info.value) or "must be a string" in str(info.value)
            refused += 1
    after = set(dynsec.list_clients())
    accounts = identity.db.query_one("SELECT count(*) FROM accounts")[0]
    households = identity.db.query_one("SELECT count(*) FROM households")[0]
    created = len(after - before) + accounts + households
    print(
        f"RELIABILITY row 5: {created} accounts created from {attempts} attempts with"
        f" {len(BAD_NAMES)} bad names; {refused} refused with a reason"
    )
    assert created == 0
    assert refused == attempts


def _raw_connect_with_will(
    broker: Broker,
    client_id: str,
    user: str,
    password: str,
    will_topic: str,
    will_payload: bytes,
    retain: bool,
) -> None:
    """Send an MQTT 3.1.1 CONNECT with a will, then drop the socket without DISCONNECT."""

    def utf(s: str | bytes) -> bytes:
        b = s.encode() if isinstance(s, str) else s
        return struct.pack("!H", len(b)) + b

    flags = 0x02 | 0x04 | 0x08 | (0x20 if retain else 0) | 0x80 | 0x40  # qos1 will
    var = utf("MQTT") + bytes([4, flags]) + struct.pack("!H", 30)
    body = var + utf(client_id) + utf(will_topic) + utf(will_payload) + utf(user) + utf(password)
    length, encoded = len(body), b""
    while True:
        byte, length = length % 128, length // 128
        encoded += bytes([byte | (0x80 if length else 0)])
        if not length:
            break
    with socket.create_connection((broker.host, broker.port), timeout=5) as s:
        s.sendall(b"\x10" + encoded + body)
        s.recv(4)  # CONNACK (accepted or not), then drop without DISCONNECT


def test_row6_will_retained_and_control(
    identity: Identity,
    dynsec: DynSecAdmin,
    probes: Any,
    hub_probe: Probe,
    broker: Broker,
    uid: str,
) -> None:
    community = f"{uid}-c"
    victim = f"{uid}-b"
    identity.create_household(victim, community, "B")
    creds = identity.create_household(f"{uid}-a", community, "A")
    hub_probe.subscribe("home/+/#", "community/+/notices/#")
    changed = 0
    # (a) wills on foreign topics.
    for i, topic in enumerate(
        [
            f"home/{victim}/door/state",
            f"home/{victim}/hub/x",
            f"community/{community}/notices/fake",
            "$CONTROL/dynamic-security/v1",
        ]
    ):
        _raw_connect_with_will(
            broker,
            creds.mqtt_username,
            creds.mqtt_username,
            creds.mqtt_password,
            topic,
            b'{"fake": %d}' % i,
            retain=True,
        )
    # (b) retained after revocation: legit retained value first.
    gw: Probe = probes(creds.mqtt_username, creds.mqtt_password)
    assert str(gw.connect()) == "Success"
    state = f"home/{uid}-a/lock/state"
    gw.publish(state, b"before", retain=True)
    assert hub_probe.wait_for(state)
    dynsec.remove_client_role(creds.mqtt_username, acl.household_role(f"{uid}-a").rolename)
    gw.publish(state, b"after-role-removed", retain=True)
    gw.publish(f"home/{uid}-a/other", b"after-role-removed", retain=True)
    identity.disable_account(f"{uid}-a")
    assert gw.wait(lambda: len(gw.disconnects) >= 1), "disabling did not kick the gateway"
    again: Probe = probes(creds.mqtt_username, creds.mqtt_password)
    reconnect = again.connect()
    # A reader whose access was revoked gets no retained notice either.
    hub_probe.publish(f"community/{community}/notices/n1", b"notice", retain=True)
    user, secret = identity.create_member_mqtt(victim)
    member: Probe = probes(user, secret)
    assert str(member.connect()) == "Success"
    member.subscribe(f"community/{community}/notices/#")
    assert member.wait_for(f"community/{community}/notices/n1")
    member.close()
    dynsec.remove_client_role(user, acl.community_role(community).rolename)
    member2: Probe = probes(user, secret)
    assert str(member2.connect()) == "Success"
    codes = member2.subscribe(f"community/{community}/notices/#")
    member2.subscribe(f"home/{victim}/hub/#")
    hub_probe.publish(f"home/{victim}/hub/sentinel", b"s")
    assert member2.wait_for(f"home/{victim}/hub/sentinel")
    changed += sum(1 for m in member2.messages if m.topic.startswith("community/"))
    # (c) a non-admin writing $CONTROL: a createClient and a deleteClient of the hub.
    before = sorted(dynsec.list_clients())
    intruder: Probe = probes(user, secret)
    assert str(intruder.connect()) == "Success"
    control_codes = intruder.subscribe("$CONTROL/dynamic-security/#")
    cmd = {
        "commands": [
            {"command": "createClient", "username": f"{uid}-evil", "password": "x"},
            {"command": "deleteClient", "username": "hub"},
            {
                "command": "setDefaultACLAccess",
                "acls": [{"acltype": "publishClientSend", "allow": True}],
            },
        ]
    }
    mid = intruder.publish("$CONTROL/dynamic-security/v1", json.dumps(cmd))
    assert intruder.wait(lambda: mid in intruder.puback)
    intruder.publish(f"home/{victim}/nothing", b"x")
    intruder.subscribe("$SYS/broker/uptime")
    after = sorted(dynsec.list_clients())
    # The sentinel from the hub proves the hub's view is current before counting.
    hub_probe.publish(f"home/{victim}/hub/end", b"end")
    assert hub_probe.wait_for(f"home/{victim}/hub/end")
    leaked = [
        m
        for m in hub_probe.messages
        if m.payload.startswith(b'{"fake"') or m.payload == b"after-role-removed"
    ]
    fresh: Probe = probes("hub", broker.hub_password, "hub")
    hub_probe.close()
    assert str(fresh.connect()) == "Success"
    fresh.subscribe(f"home/{uid}-a/#", f"home/{victim}/#")
    assert fresh.wait_for(state)
    retained_now = [m.payload for m in fresh.messages if m.topic == state]
    changed += len(leaked) + (before != after) + len(intruder.messages)
    changed += int(retained_now != [b"before"])
    fresh.close()
    print(
        f"RELIABILITY row 6: {changed} delivered or changed (wills on 4 foreign topics,"
        f" retained after role removal and disable, revoked reader, $CONTROL by a non-admin);"
        f" reconnect after disable: {reconnect}; PUBACK on $CONTROL: {intruder.puback[mid]}"
    )
    assert reconnect.is_failure
    assert codes[0].is_failure
    assert control_codes[0].is_failure
    assert changed == 0
    with pytest.raises(NotFound):
        dynsec.get_client(f"{uid}-evil")


def test_row19_identity_from_topic_and_login(
    identity: Identity, probes: Any, hub_probe: Probe, uid: str
) -> None:
    community = f"{uid}-c"
    victim = f"{uid}-b"
    identity.create_household(victim, community, "B")
    attacker = _gateway(identity, probes, f"{uid}-a", community)
    hub_probe.subscribe(f"home/{uid}-a/#", f"home/{victim}/#")
    for i in range(1000):
        claim = {
            "household": victim,
            "device": f"{victim}-fridge",
            "device_id": f"{victim}/d{i}",
            "topic": f"home/{victim}/fridge",
        }
        topic = (
            f"home/{uid}-a/zigbee2mqtt/{victim}-fridge"
            if i % 2
            else f"home/{victim}/zigbee2mqtt/fridge"
        )
        attacker.publish(topic, json.dumps(claim))
    attacker.publish(f"home/{uid}-a/sentinel", b"done")
    assert hub_probe.wait_for(f"home/{uid}-a/sentinel")
    accepted_as_victim = 0
    for message in hub_probe.messages:
        parts = acl.split_household(message.topic)
        assert parts is not None
        household, _rest = parts
        accepted_as_victim += household == victim
        assert identity.mqtt_topic_owner(names.gateway_username(household)) == household
    gw = names.gateway_username(f"{uid}-a")
    mirror = sum(acl.topic_belongs_to(gw, f"home/{victim}/zigbee2mqtt/d{i}") for i in range(1000))
    print(
        f"RELIABILITY row 19: {accepted_as_victim} of 1000 payloads claiming household"
        f" {victim} attributed to it; topic_belongs_to granted {mirror}"
    )
    assert accepted_as_victim == 0
    assert mirror == 0
    assert len(hub_probe.messages) == 501
