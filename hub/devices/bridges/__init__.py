"""HTTP bridges: bring cloud-only devices into the household's MQTT namespace.

SmartThings, Home Connect (cloud) and Grocy speak HTTP, not MQTT. A bridge fetches their
documents and republishes each one, unchanged, on the household's topic tree, where the
normal ingest path reads it like any device message:

============================  ================================================================
bridge                        publishes (raw vendor bytes)
============================  ================================================================
:class:`SmartThingsPoller`    ``home/<h>/bridge/smartthings/<deviceId>/status`` (device status)
:class:`HomeConnectSSE`       ``home/<h>/bridge/homeconnect/events`` (one SSE frame each)
:class:`GrocyPoller`          ``home/<h>/bridge/grocy/quantity_units``, ``.../stock``,
                              ``.../volatile``
============================  ================================================================

Publishing the raw document (not readings) keeps one parser, lets a replay reproduce what
was received, and lets the dead-letter store keep the original on rejection.

Every bridge takes a ``publish(topic, payload)`` callable (sync or async), uses an
``httpx.AsyncClient`` with timeouts, caps response sizes, and on any failure waits with
jittered exponential backoff (:class:`Backoff`) before trying again. ``run(stop)`` runs
until the ``stop`` event is set.
"""

from hub.devices.bridges._backoff import Backoff
from hub.devices.bridges._base import BridgeError, Publish
from hub.devices.bridges.grocy import GrocyPoller
from hub.devices.bridges.homeconnect import HomeConnectSSE
from hub.devices.bridges.smartthings import SmartThingsPoller

__all__ = ["Backoff", "BridgeError", "GrocyPoller", "HomeConnectSSE", "Publish",
           "SmartThingsPoller"]
