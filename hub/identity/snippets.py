"""The exact configuration a household pastes into its device or home broker for a link.

Every snippet points the device at the hub's broker with the link's login and makes it
publish under ``home/<household>/`` (the topic names the household: CONTRACTS.md, MQTT).
Values are quoted for the format they go into; the secret appears only here, once.
"""

from __future__ import annotations

import json
import re

_TOPIC_SAFE = re.compile(r"[^a-z0-9_-]+")


def device_topic(label: str, fallback: str) -> str:
    """A Tasmota/ESPHome topic from the link's label: ``Kitchen plug`` -> ``kitchen_plug``."""
    topic = _TOPIC_SAFE.sub("_", label.lower()).strip("_")[:32]
    return topic or fallback


def _yaml(value: str) -> str:
    # JSON strings are valid YAML double-quoted scalars.
    return json.dumps(value)


def snippet(kind: str, *, host: str, port: int, username: str, password: str, household: str,
            label: str) -> tuple[str, str]:
    """``(where it goes, the text)`` for a link of ``kind``."""
    base = f"home/{household}"
    topic = device_topic(label, kind)
    if kind == "zigbee2mqtt":
        return "configuration.yaml of Zigbee2MQTT, replacing its mqtt: block", "\n".join([
            "mqtt:",
            f"  server: {_yaml(f'mqtt://{host}:{port}')}",
            f"  base_topic: {_yaml(f'{base}/zigbee2mqtt')}",
            f"  user: {_yaml(username)}",
            f"  password: {_yaml(password)}",
            f"  client_id: {_yaml(username)}",
        ])
    if kind == "tasmota":
        # One Backlog line for the device's web console; FullTopic puts it under the home.
        return "the Tasmota web console (Tools > Console), one line", (
            f"Backlog MqttHost {host}; MqttPort {port}; MqttUser {username}; MqttPassword {password};"
            f" MqttClient {username}; Topic {topic}; FullTopic {base}/%prefix%/%topic%/"
        )
    if kind == "shelly":
        return "the Shelly web page (Settings > MQTT), field by field", "\n".join([
            "Enable: on",
            f"Server: {host}:{port}",
            f"Client ID: {username}",
            f"Username: {username}",
            f"Password: {password}",
            f"MQTT prefix: {base}/shelly/{topic}",
        ])
    if kind == "esphome":
        return "your ESPHome device's YAML, replacing its mqtt: block", "\n".join([
            "mqtt:",
            f"  broker: {_yaml(host)}",
            f"  port: {port}",
            f"  username: {_yaml(username)}",
            f"  password: {_yaml(password)}",
            f"  client_id: {_yaml(username)}",
            f"  topic_prefix: {_yaml(f'{base}/esphome/{topic}')}",
            f"  discovery_prefix: {_yaml(f'{base}/homeassistant-esphome')}",
        ])
    if kind == "homeassistant":
        return "Home Assistant: Settings > Devices > MQTT > Configure, then its options", "\n".join([
            f"Broker: {host}",
            f"Port: {port}",
            f"Username: {username}",
            f"Password: {password}",
            f"Client ID: {username}",
            f"Discovery prefix: {base}/homeassistant",
            "",
            "# and, to share your entities' readings with the hub, in configuration.yaml:",
            "mqtt_statestream:",
            f"  base_topic: {_yaml(f'{base}/statestream')}",
            "  publish_attributes: true",
        ])
    if kind == "dsmr":
        return "your DSMR reader's MQTT settings (DSMR-reader, dsmr2mqtt)", "\n".join([
            f"Host: {host}",
            f"Port: {port}",
            f"Username: {username}",
            f"Password: {password}",
            f"Client ID: {username}",
            f"Topic prefix: {base}/dsmr",
        ])
    if kind == "mosquitto":
        return "a file in your Mosquitto's conf.d/, e.g. community-hub.conf", "\n".join([
            "connection community-hub",
            f"address {host}:{port}",
            f"remote_username {username}",
            f"remote_password {password}",
            f"remote_clientid {username}",
            "cleansession false",
            "try_private true",
            "# your devices' topics go up under the household's prefix",
            f"topic # out 1 \"\" {base}/",
            "# what the hub sends the household comes down",
            f"topic # in 1 hub/ {base}/hub/",
            "# the hub's Home Assistant entities appear under your local discovery prefix",
            f"topic # in 1 homeassistant/ {base}/homeassistant/",
        ])
    raise ValueError(f"no snippet for {kind!r}")
