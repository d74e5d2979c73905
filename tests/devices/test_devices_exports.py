"""The public names of hub.devices, pinned."""

from __future__ import annotations

import hub.devices
import hub.devices.bridges


def test_public_names() -> None:
    assert sorted(hub.devices.__all__) == sorted([
        "SOURCES", "Normalizer", "Profile", "crc16",
        "load_profiles", "split_household"])
    assert sorted(hub.devices.bridges.__all__) == sorted([
        "Backoff", "BridgeError", "GrocyPoller", "HomeConnectSSE", "Publish",
        "SmartThingsPoller"])
    for name in hub.devices.__all__:
        assert getattr(hub.devices, name) is not None
    assert hub.devices.SOURCES == ("smartthings", "homeconnect", "grocy")
