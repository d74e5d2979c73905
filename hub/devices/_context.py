"""Per-household state the adapters keep between messages.

Discovery makes normalization stateful: a Home Assistant config tells how to read a state
topic that arrives later; a zigbee2mqtt ``bridge/devices`` list gives each property's unit;
a Shelly ``events/rpc`` message names the device behind a custom topic prefix. This state
lives per household (discovery in one home never changes how another home is read) and
every map is bounded, so a hostile household cannot grow the hub's memory without limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub.events import Normalized

MAX_ENTRIES = 10_000
"""Most entries one household may hold in any one map (entities, devices, aliases)."""


@dataclass(slots=True)
class HAEntity:
    """A Home Assistant discovered entity, compiled for reading its state topic."""

    config_topic: str
    device: str
    metric: str
    unit: str | None
    component: str
    read: Callable[[str, Any], Any]
    """``read(raw_payload, decoded_json_or_None) -> value or None``."""
    convert: Callable[[Any], Any]
    """Turns the template's result into the reading value (None: skip)."""


@dataclass(slots=True)
class StreamEntity:
    """What Home Assistant's statestream has told about one entity (``sensor.kitchen``)."""

    unit: str | None = None
    device_class: str | None = None
    name: str | None = None
    described: bool = False
    """True once an attribute (unit, device class or name) arrived: states read at once."""
    held: str | None = None
    """The latest state that came before any attribute, read when one arrives."""


@dataclass(slots=True)
class Household:
    """What the normalizer remembers about one household's devices."""

    id: str | None
    ha_state: dict[str, list[HAEntity]] = field(default_factory=dict)
    """state topic -> the entities read from it."""
    ha_avail: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)
    """availability topic -> [(config topic, device, payload_available, payload_not_available)]."""
    ha_quiet: set[str] = field(default_factory=set)
    """Topics discovery declared that carry no readings (device triggers)."""
    ha_configs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """config topic -> the state/availability topics it registered (to undo on removal)."""
    ha_stream: dict[str, StreamEntity] = field(default_factory=dict)
    """entity id -> what its statestream attributes said (``_statestream``)."""
    z2m_units: dict[str, dict[str, str]] = field(default_factory=dict)
    tasmota_topics: dict[str, str] = field(default_factory=dict)
    """Tasmota MAC -> its MQTT topic (the device id), from ``tasmota/discovery/<mac>/config``."""
    """zigbee2mqtt friendly name -> {property: unit} from ``bridge/devices``."""
    shelly_alias: dict[str, str] = field(default_factory=dict)
    """Shelly custom topic prefix -> device id (``src``) seen on ``events/rpc``."""
    grocy_units: dict[str, str] = field(default_factory=dict)
    """Grocy quantity unit id -> name."""
    profile_expiry: dict[str, float | None] = field(default_factory=dict)
    """device -> availability expiry (s) of the profile that last read it."""


def bounded_set(mapping: dict[str, Any], key: str, value: Any) -> None:
    """``mapping[key] = value`` unless that would grow it past :data:`MAX_ENTRIES`."""
    if key in mapping or len(mapping) < MAX_ENTRIES:
        mapping[key] = value


Handler = Callable[[Household, list[str], str, bytes], Normalized]
"""An adapter entry point: (household, topic parts, topic, payload) -> Normalized."""
