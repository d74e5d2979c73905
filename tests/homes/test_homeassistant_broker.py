"""Home Assistant discovery on the real broker: configs per household, a button press
accepts a suggestion end to end, and no household sees another's entities."""

from __future__ import annotations

import json
import time

from hub.identity.links import Links
from tests.homes.conftest import Embedded
from tests.mqtt_helpers import Collector, client, wait_until


def _configs(collector: Collector, household: str, *, retained: bool = False) -> dict[str, dict]:
    """The configs received; ``retained``: only those the broker kept (a late subscriber's)."""
    out = {}
    for topic, payload, retain in collector.messages:
        ours = topic.startswith(f"home/{household}/homeassistant/") and topic.endswith("/config")
        if ours and payload and (retain or not retained):
            out[topic] = json.loads(payload)
    return out


def _last(collector: Collector, topic: str) -> bytes | None:
    found = [p for t, p, _ in collector.messages if t == topic]
    return found[-1] if found else None


async def test_discovery_per_household_and_a_button_press_accepts_a_suggestion(
    embedded: Embedded, household: str
) -> None:
    hub = embedded.hub
    a, b = household + "a", household + "b"
    ca = hub.identity.create_household(a, "riverside", "Ana Alvarez", password="ana-password")
    cb = hub.identity.create_household(b, "riverside", "Ben Brook", password="ben-password")
    with hub.db.transaction() as conn:
        sug, _ = hub.offers.suggestions.create(conn, household=a, kind="advice", key="bins",
                                               title="Storm tonight: bring the bins in?", message="", data={})
    keep = 1
    subs = [(f"home/{a}/homeassistant/#", keep), (f"home/{a}/hub/homeassistant/#", keep),
            (f"home/{b}/homeassistant/#", keep)]
    with client(embedded.mqtt_port, client_id=ca.mqtt_username, username=ca.mqtt_username,
                password=ca.mqtt_password, subscribe=subs) as (ha_a, seen_a), \
         client(embedded.mqtt_port, client_id=cb.mqtt_username, username=cb.mqtt_username,
                password=cb.mqtt_password, subscribe=[(f"home/{a}/homeassistant/#", keep),
                                                      (f"home/{b}/homeassistant/#", keep)]) as (_ha_b, seen_b):
        hub.components["homeassistant"].sync_all()
        accept_topic = f"home/{a}/homeassistant/button/hub_{a}_accept_{sug.id}/config"
        await wait_until(lambda: accept_topic in _configs(seen_a, a), within=20)
        configs = _configs(seen_a, a)
        button = configs[accept_topic]
        sensor = configs[f"home/{a}/homeassistant/sensor/hub_{a}_suggestions/config"]
        assert button["name"] == "Accept: Storm tonight: bring the bins in?"
        assert button["command_topic"] == f"home/{a}/homeassistant/command"
        assert json.loads(button["payload_press"]) == {"action": "accept", "suggestion": sug.id}
        for config in (button, sensor):
            assert config["device"]["identifiers"] == [f"community-hub-{a}"]
            assert config["device"]["name"] == "Community hub: Ana Alvarez"
            assert config["availability_topic"] == f"home/{a}/hub/homeassistant/availability"
        assert f"home/{a}/homeassistant/button/hub_{a}_decline_{sug.id}/config" in configs
        await wait_until(lambda: _last(seen_a, sensor["state_topic"]) == b"1", within=20)
        await wait_until(lambda: _last(seen_a, button["availability_topic"]) == b"online", within=20)

        # B sees its own entities and none of A's, although it asked for them.
        await wait_until(lambda: bool(_configs(seen_b, b)), within=20)
        assert not [t for t, _, _ in seen_b.messages if t.startswith(f"home/{a}/")]
        assert not [t for t, _, _ in seen_a.messages if t.startswith(f"home/{b}/")]

        # Pressing the button in HA: its payload on its command topic, with A's login.
        ha_a.publish(button["command_topic"], button["payload_press"], qos=1).wait_for_publish(5)
        await wait_until(lambda: hub.offers.suggestions.get(a, sug.id).state == "accepted", within=20)
        assert hub.db.query_one("SELECT actor FROM offer_transitions WHERE object_id = ? AND to_state = 'accepted'",
                                (sug.id,))["actor"] == f"homeassistant:{a}"
        # The answered suggestion's buttons go away (empty retained config), the count drops.
        await wait_until(lambda: _last(seen_a, accept_topic) == b"", within=20)
        await wait_until(lambda: _last(seen_a, sensor["state_topic"]) == b"0", within=20)


async def test_a_login_made_for_home_assistant_reads_its_household_configs(
    embedded: Embedded, household: str
) -> None:
    hub = embedded.hub
    hub.identity.create_household(household, "riverside", "Chen", password="chen-password")
    link, secret = Links(hub.db, hub.identity, time.time).create(household, "homeassistant", "HA", actor="test")
    assert hub.components["homeassistant"].sync_all() > 0
    await wait_until(lambda: hub.outbox.unsent_count() == 0, within=20)
    with client(embedded.mqtt_port, client_id=link.mqtt_username, username=link.mqtt_username, password=secret,
                subscribe=[(f"home/{household}/homeassistant/#", 1)]) as (_c, seen):
        # Synced before this login connected: what it gets, the broker retained (in any order).
        wanted = {f"home/{household}/homeassistant/sensor/hub_{household}_{name}/config"
                  for name in ("notices", "timebank_balance", "loans")}
        await wait_until(lambda: wanted <= set(_configs(seen, household, retained=True)), within=20)
        balance = _configs(seen, household, retained=True).get(
            f"home/{household}/homeassistant/sensor/hub_{household}_timebank_balance/config")
        assert balance is not None
        assert balance["unit_of_measurement"] == "h"
        loans = _configs(seen, household, retained=True).get(
            f"home/{household}/homeassistant/sensor/hub_{household}_loans/config")
        assert loans is not None
        state_prefix = f"home/{household}/hub/homeassistant/sensor/hub_{household}_loans"
        assert loans["json_attributes_topic"] == f"{state_prefix}/attributes"
        assert loans["state_topic"] == f"{state_prefix}/state"
