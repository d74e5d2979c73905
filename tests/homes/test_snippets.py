"""The snippets a household pastes: every kind points at the hub with the link's login."""

from __future__ import annotations

import pytest

from hub.identity.links import KINDS
from hub.identity.snippets import device_topic, snippet


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_names_the_login_and_the_household_prefix(kind: str) -> None:
    where, text = snippet(kind, host="hub.example", port=1884, username="ln-abc", password="s3cret",
                          household="h-ana", label="Kitchen plug")
    assert where
    assert "ln-abc" in text
    assert "s3cret" in text
    assert "home/h-ana" in text
    assert "1884" in text


def test_the_mosquitto_bridge_remaps_topics_both_ways() -> None:
    _, text = snippet("mosquitto", host="hub.example", port=1883, username="ln-abc", password="p",
                      household="h-ana", label="home broker")
    lines = text.splitlines()
    assert "topic # out 1 \"\" home/h-ana/" in lines
    assert "topic # in 1 homeassistant/ home/h-ana/homeassistant/" in lines
    assert "remote_clientid ln-abc" in lines


def test_a_label_becomes_a_safe_device_topic() -> None:
    assert device_topic("Kitchen plug #2/+", "tasmota") == "kitchen_plug_2"
    assert device_topic("ÄÖ", "tasmota") == "tasmota"


def test_an_unknown_kind_has_no_snippet() -> None:
    with pytest.raises(ValueError, match="no snippet"):
        snippet("x10", host="h", port=1, username="u", password="p", household="h", label="l")


def test_home_assistant_shares_its_entities_through_statestream() -> None:
    _, text = snippet("homeassistant", host="hub.example", port=1883, username="ln-abc",
                      password="p", household="h-ana", label="HA")
    lines = text.splitlines()
    # base_topic under the household: the hub reads home/<h>/statestream/<domain>/<id>/...
    i = lines.index("mqtt_statestream:")
    assert lines[i + 1:i + 3] == ['  base_topic: "home/h-ana/statestream"',
                                  "  publish_attributes: true"]
