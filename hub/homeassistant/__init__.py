"""Each household's hub entities inside its own Home Assistant, over MQTT discovery.

:mod:`hub.homeassistant.discovery` builds the retained configs and states (CONTRACTS.md:
``home/<household>/homeassistant/<component>/<object_id>/config``);
:mod:`hub.homeassistant.publisher` sends what changed through the outbox;
:mod:`hub.homeassistant.commands` turns HA button presses into the same accept and decline
calls the dashboard makes. See ``docs/homeassistant.md`` for wiring HA to it.
"""

from hub.homeassistant.commands import COMMAND_TOPIC, handle_command
from hub.homeassistant.discovery import Entity, household_entities
from hub.homeassistant.publisher import DiscoveryPublisher

__all__ = ["COMMAND_TOPIC", "DiscoveryPublisher", "Entity", "handle_command", "household_entities"]
