"""The :class:`Normalizer`: one vendor message in, canonical readings out.

Dispatch is by the topic's first segment (a dict lookup), then by the last segment for
profiles whose first segment is the device (``{device}/telemetry``), then by the shapes
that can sit under any prefix (Home Assistant state topics registered by discovery, Tasmota
``.../tele/SENSOR``, Shelly ``.../events/rpc``, dsmr2mqtt ``<prefix>/gas``, OpenMQTTGateway
``.../BTtoMQTT/<mac>``, ESPHome ``<node>/status``); Home Assistant's statestream has the
first segment ``statestream``. A topic none of
them claims is rejected. Adapters never see more than the household's own state.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

from hub.clock import Clock
from hub.errors import PayloadRejected
from hub.events import Normalized

from . import (
    _convert,
    _dsmr,
    _esphome,
    _fridge,
    _homeassistant,
    _omg,
    _shelly,
    _statestream,
    _tasmota,
    _tasmota_discovery,
    _z2m,
)
from ._context import Handler, Household
from ._payload import MAX_PAYLOAD
from ._profiles import Profile, load_profiles

logger = logging.getLogger(__name__)

HOUSEHOLD_ID = re.compile(r"^[a-z0-9_-]{1,64}$")
MAX_TOPIC = 512
MAX_ROUTES = 100_000
"""Topics remembered as belonging to a profile (cleared, not grown, when full)."""
SOURCES = ("smartthings", "homeconnect", "grocy")

# Errors an adapter can hit on a payload shaped unlike anything it expects. They become a
# rejection, never a crash: one odd device must not stop the pipeline.
_SHAPE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
                 RecursionError, UnicodeError)


def split_household(topic: str) -> tuple[str | None, str]:
    """``home/<household>/<rest>`` -> (household, rest); any other topic -> (None, topic).

    Raises:
        PayloadRejected: a ``home/`` topic whose household id is not ``[a-z0-9_-]{1,64}`` or
            that has nothing after it.
    """
    if not topic.startswith("home/"):
        return None, topic
    _, household, rest = [*topic.split("/", 2), "", ""][:3]
    if not HOUSEHOLD_ID.match(household):
        raise PayloadRejected("household id must be 1-64 of a-z, 0-9, _ and -", topic=topic)
    if not rest:
        raise PayloadRejected("nothing after the household prefix", topic=topic)
    return household, rest


class Normalizer:
    """Turns vendor messages into :class:`hub.events.Normalized` readings and registrations.

    Stateful per household: discovery configs and bridge device lists change how later
    messages of the same household are read. Not thread-safe; use one per ingest worker.

    Args:
        profiles_dir: folder of YAML device profiles (``devices/`` in the repository);
            None loads the built-in adapters only.
        clock: the hub's clock, against which source timestamps are judged to be in the
            future (default: the wall clock). One setting for the process: the hub has
            one clock.

    Raises:
        ConfigError: a profile that cannot be read or validated.
    """

    def __init__(self, profiles_dir: Path | None = None, *, clock: Clock | None = None) -> None:
        _convert.use_clock(clock.timestamp if clock is not None else None)
        self.profiles: list[Profile] = load_profiles(profiles_dir) if profiles_dir else []
        self._households: dict[str | None, Household] = {}
        self._routes: dict[str, tuple[Profile, str]] = {}
        self._first: dict[str, Handler] = {
            "zigbee2mqtt": _z2m.handle,
            "tele": _tasmota.handle,
            "stat": _tasmota.handle,
            "cmnd": _tasmota.handle,
            "homeassistant": self._homeassistant,
            "dsmr": _dsmr.handle,
            "gas2mqtt": _dsmr.gas2mqtt,
            "homeconnect": _fridge.hcpy,
            "bridge": self._bridge,
            "tasmota": _tasmota_discovery.handle,
            "esphome": lambda h, parts, topic, payload: _esphome.discover(parts, topic, payload),
            "statestream": _statestream.handle,
        }
        # Profiles: indexed by a literal first segment, else by (segment count, last).
        self._profile_first: dict[str, list[tuple[Profile, int]]] = {}
        self._profile_last: dict[tuple[int, str], list[tuple[Profile, int]]] = {}
        self._profile_any: list[tuple[Profile, int]] = []
        for profile in self.profiles:
            for i, pattern in enumerate(profile.patterns):
                lits = dict(pattern.literals)
                if 0 in lits:
                    self._profile_first.setdefault(lits[0], []).append((profile, i))
                elif pattern.size - 1 in lits:
                    key = (pattern.size, lits[pattern.size - 1])
                    self._profile_last.setdefault(key, []).append((profile, i))
                else:
                    self._profile_any.append((profile, i))

    # --- public API --------------------------------------------------------------------

    def normalize(self, topic: str, payload: bytes, *, household: str | None = None
                  ) -> Normalized:
        """Normalize one MQTT message.

        Args:
            topic: the vendor-native topic, household prefix already stripped
                (``zigbee2mqtt/KT_fridge_plug``, ``tele/plug/SENSOR``).
            payload: the raw payload bytes.
            household: whose message it is (from the topic prefix and the login, never
                from the payload); discovery state is kept per household.

        Returns:
            The readings and registrations; both empty for a message that is understood
            but carries none (a command echo, ``bridge/info``).

        Raises:
            PayloadRejected: unknown topic, or a malformed or hostile payload.
        """
        if len(payload) > MAX_PAYLOAD:
            raise PayloadRejected(
                f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD} byte limit",
                topic=topic,
            )
        h = self._households.get(household)
        if h is None:
            h = self._household(household)
        try:
            # Profile devices (the bench fridge) publish on the same few topics again and
            # again: remember which profile and device a topic is, skip split and matching.
            routed = self._routes.get(topic)
            if routed is not None:
                return routed[0].read(h, routed[1], topic, payload)
            parts = topic.split("/")
            handler = self._first.get(parts[0])
            if handler is not None:
                return handler(h, parts, topic, payload)
            found = self._profile_last.get((len(parts), parts[-1]))
            if found is not None:
                for profile, i in found:
                    device = profile.patterns[i].device(parts)
                    if device is not None:
                        if len(self._routes) >= MAX_ROUTES:
                            self._routes.clear()
                        self._routes[topic] = (profile, device)
                        return profile.read(h, device, topic, payload)
            return self._fallback(h, parts, topic, payload)
        except PayloadRejected as exc:
            if exc.topic is None:
                exc.topic = topic
            raise
        except _SHAPE_ERRORS as exc:
            logger.debug("payload on %s broke an adapter: %r", topic, exc)
            raise PayloadRejected(f"payload not understood ({type(exc).__name__})",
                                  topic=topic) from None

    def normalize_source(self, source: str, payload: bytes, *, household: str | None = None,
                         device: str | None = None) -> Normalized:
        """Normalize a document from an HTTP-bridged source.

        Args:
            source: ``smartthings`` (device status or subscription event), ``homeconnect``
                (server-sent event frames) or ``grocy`` (stock, volatile stock, product,
                quantity units, shopping list).
            payload: the HTTP response body or event frames.
            household: whose document it is.
            device: the device id when the document does not carry one (a SmartThings
                status fetched by device id); defaults sensibly per source.

        Raises:
            PayloadRejected: an unknown source or a document that is not understood.
        """
        topic = f"bridge/{source}"
        if len(payload) > MAX_PAYLOAD:
            raise PayloadRejected(
                f"payload of {len(payload)} bytes is over the {MAX_PAYLOAD} byte limit",
                topic=topic,
            )
        h = self._households.get(household) or self._household(household)
        try:
            if source == "smartthings":
                return _fridge.smartthings(payload, topic, device)
            if source == "homeconnect":
                return _fridge.homeconnect(payload, topic)
            if source == "grocy":
                return _fridge.grocy(h, payload, topic, device or "grocy")
        except PayloadRejected:
            raise
        except _SHAPE_ERRORS as exc:
            logger.debug("document from %s broke an adapter: %r", source, exc)
            raise PayloadRejected(f"document not understood ({type(exc).__name__})",
                                  topic=topic) from None
        raise PayloadRejected(f"unknown source {source[:32]!r}; known: {', '.join(SOURCES)}",
                              topic=topic)

    def expiry_for(self, household: str | None, device: str) -> float | None:
        """Seconds of silence after which ``device`` counts as offline, or None.

        Known once the device has been read through a profile that sets ``expiry``;
        built-in adapters rely on their LWT/availability topics and give None.
        """
        h = self._households.get(household)
        return h.profile_expiry.get(device) if h is not None else None

    def forget(self, household: str) -> None:
        """Drop everything remembered about a household (it left the community)."""
        self._households.pop(household, None)

    # --- internals ---------------------------------------------------------------------

    def _household(self, household: str | None) -> Household:
        if household is not None and not HOUSEHOLD_ID.match(household):
            raise PayloadRejected("household id must be 1-64 of a-z, 0-9, _ and -")
        h = self._households[household] = Household(household)
        return h

    def _homeassistant(self, h: Household, parts: list[str], topic: str, payload: bytes
                       ) -> Normalized:
        if len(parts) in (4, 5) and parts[-1] == "config":
            return _homeassistant.discovery(h, parts, topic, payload)
        if topic == "homeassistant/status":
            return Normalized()  # Home Assistant's own birth/will message
        found = _homeassistant.read_state(h, topic, payload)
        if found is None:
            raise PayloadRejected(
                "no discovery config declares this topic (Home Assistant's statestream is"
                " read under the base topic statestream, not homeassistant)", topic=topic)
        return found

    def _bridge(self, h: Household, parts: list[str], topic: str, payload: bytes
                ) -> Normalized:
        """``bridge/<source>[/<device>/...]``: what the hub's HTTP bridges republish."""
        if len(parts) < 2 or parts[1] not in SOURCES:
            raise PayloadRejected("unknown bridge source", topic=topic)
        device = parts[2] if len(parts) >= 4 and parts[1] == "smartthings" else None
        if parts[1] == "smartthings":
            return _fridge.smartthings(payload, topic, device)
        if parts[1] == "homeconnect":
            return _fridge.homeconnect(payload, topic)
        return _fridge.grocy(h, payload, topic)

    def _fallback(self, h: Household, parts: list[str], topic: str, payload: bytes
                  ) -> Normalized:
        n = len(parts)
        if n >= 3 and parts[-2] in _tasmota.PREFIXES:
            # Tasmota also announces itself through HA discovery; its own format says more.
            return _tasmota.handle(h, parts, topic, payload)
        found = _homeassistant.read_state(h, topic, payload) if h.ha_state or h.ha_avail or \
            h.ha_quiet else None
        if found is not None:
            return found
        for profile, i in self._profile_first.get(parts[0], ()):
            device = profile.patterns[i].device(parts)
            if device is not None:
                return profile.read(h, device, topic, payload)
        for profile, i in self._profile_any:
            device = profile.patterns[i].device(parts)
            if device is not None:
                return profile.read(h, device, topic, payload)
        last = parts[-1]
        if (n >= 3 and (parts[-2] == "status" or (parts[-2] == "events" and last == "rpc"))) \
                or (n == 2 and last == "online"):
            return _shelly.handle(h, parts, topic, payload)
        if n == 2 and last in ("gas", "el"):
            return _dsmr.dsmr2mqtt(h, parts, topic, payload)
        if n >= 2 and last == "p1":
            return _dsmr.parse_telegram(payload, topic)
        if n >= 3 and parts[-2] == "BTtoMQTT":
            return _omg.handle(parts, topic, payload)
        if n == 2 and last == "status":
            found = _esphome.status(parts, topic, payload)
            if found is not None:
                return found
        if n == 4 and last == "state" and parts[1] in _esphome.COMPONENTS:
            raise _esphome.undeclared_state(topic)
        if n >= 4 and parts[-3] in _statestream.DOMAINS:
            raise PayloadRejected("unknown topic: no adapter or profile matches (Home"
                                  " Assistant's statestream is read under the base topic"
                                  " statestream)", topic=topic)
        raise PayloadRejected("unknown topic: no adapter or profile matches", topic=topic)


_: Callable[..., object] = split_household
