"""The exact configuration a household pastes into its device or home broker for a link.

Every snippet points the device at the hub's broker with the link's login and makes it
publish under ``home/<household>/`` (the topic names the household: CONTRACTS.md, MQTT).
Values are quoted for the format they go into; the secret appears only here, once.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any

_TOPIC_SAFE = re.compile(r"[^a-z0-9_-]+")


def device_topic(label: str, fallback: str) -> str:
    """A Tasmota/ESPHome topic from the link's label: ``Kitchen plug`` -> ``kitchen_plug``."""
    topic = _TOPIC_SAFE.sub("_", label.lower()).strip("_")[:32]
    return topic or fallback


class _Fill(string.Formatter):
    """``str.format`` with one more conversion: ``{x!q}`` is ``x`` escaped for the inside of
    a YAML double-quoted scalar (a JSON string, whose escaping goes character by character,
    so ``"{a!q}/b"`` is the quoted ``a/b``)."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "q":
            return json.dumps(str(value))[1:-1]
        return super().convert_field(value, conversion)


_FILL = _Fill()

#: kind -> (where the text goes, its lines). The lines are templates over ``host``, ``port``,
#: ``username``, ``password``, ``base`` (``home/<household>``) and ``topic`` (from the label).
_SNIPPETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "zigbee2mqtt": ("configuration.yaml of Zigbee2MQTT, replacing its mqtt: block", (
        "mqtt:",
        '  server: "mqtt://{host!q}:{port!q}"',
        '  base_topic: "{base!q}/zigbee2mqtt"',
        '  user: "{username!q}"',
        '  password: "{password!q}"',
        '  client_id: "{username!q}"',
    )),
    # One Backlog line for the device's web console; FullTopic puts it under the home.
    "tasmota": ("the Tasmota web console (Tools > Console), one line", (
        "Backlog MqttHost {host}; MqttPort {port}; MqttUser {username}; MqttPassword {password};"
        " MqttClient {username}; Topic {topic}; FullTopic {base}/%prefix%/%topic%/",
    )),
    "shelly": ("the Shelly web page (Settings > MQTT), field by field", (
        "Enable: on",
        "Server: {host}:{port}",
        "Client ID: {username}",
        "Username: {username}",
        "Password: {password}",
        "MQTT prefix: {base}/shelly/{topic}",
    )),
    "esphome": ("your ESPHome device's YAML, replacing its mqtt: block", (
        "mqtt:",
        '  broker: "{host!q}"',
        "  port: {port}",
        '  username: "{username!q}"',
        '  password: "{password!q}"',
        '  client_id: "{username!q}"',
        '  topic_prefix: "{base!q}/esphome/{topic!q}"',
        '  discovery_prefix: "{base!q}/homeassistant-esphome"',
    )),
    "homeassistant": ("Home Assistant: Settings > Devices > MQTT > Configure, then its options", (
        "Broker: {host}",
        "Port: {port}",
        "Username: {username}",
        "Password: {password}",
        "Client ID: {username}",
        "Discovery prefix: {base}/homeassistant",
        "",
        "# and, to share your entities' readings with the hub, in configuration.yaml:",
        "mqtt_statestream:",
        '  base_topic: "{base!q}/statestream"',
        "  publish_attributes: true",
    )),
    "dsmr": ("your DSMR reader's MQTT settings (DSMR-reader, dsmr2mqtt)", (
        "Host: {host}",
        "Port: {port}",
        "Username: {username}",
        "Password: {password}",
        "Client ID: {username}",
        "Topic prefix: {base}/dsmr",
    )),
    "mosquitto": ("a file in your Mosquitto's conf.d/, e.g. community-hub.conf", (
        "connection community-hub",
        "address {host}:{port}",
        "remote_username {username}",
        "remote_password {password}",
        "remote_clientid {username}",
        "cleansession false",
        "try_private true",
        "# your devices' topics go up under the household's prefix",
        'topic # out 1 "" {base}/',
        "# what the hub sends the household comes down",
        "topic # in 1 hub/ {base}/hub/",
        "# the hub's Home Assistant entities appear under your local discovery prefix",
        "topic # in 1 homeassistant/ {base}/homeassistant/",
    )),
}


def snippet(kind: str, *, host: str, port: int, username: str, password: str, household: str,
            label: str) -> tuple[str, str]:
    """``(where it goes, the text)`` for a link of ``kind``."""
    if kind not in _SNIPPETS:
        raise ValueError(f"no snippet for {kind!r}")
    where, lines = _SNIPPETS[kind]
    values = {"host": host, "port": port, "username": username, "password": password,
              "base": f"home/{household}", "topic": device_topic(label, kind)}
    return where, "\n".join(_FILL.format(line, **values) for line in lines)
