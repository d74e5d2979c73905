"""Device adapters: vendor MQTT/HTTP formats into canonical readings (CONTRACTS.md).

Public API::

    from hub.devices import Normalizer, split_household

    norm = Normalizer(Path("devices"))            # built-in adapters + YAML profiles
    household, vendor_topic = split_household("home/h17/zigbee2mqtt/KT_fridge_plug")
    result = norm.normalize(vendor_topic, payload, household=household)
    result.readings, result.registrations          # may both be empty (command echo)
    norm.normalize_source("grocy", body, household="h17")
    norm.expiry_for("h17", "fridge-17")           # seconds of silence -> offline, or None

Every refusal is a :class:`hub.errors.PayloadRejected` with a reason and the topic; the
ingest pipeline keeps it in the dead-letter store (:mod:`hub.ingest.dead_letters`).
"""

from hub.devices._dsmr import crc16
from hub.devices._normalizer import SOURCES, Normalizer, split_household
from hub.devices._profiles import Profile, load_profiles

__all__ = [
    "SOURCES",
    "Normalizer",
    "Profile",
    "crc16",
    "load_profiles",
    "split_household",
]
