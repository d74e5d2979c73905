"""Domain events and values shared by every stage of the flow.

Events are frozen dataclasses: cheap to build on the ingest hot path, safe to share
between components. ``marshal()`` gives the JSON-ready form fixed in CONTRACTS.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Value = float | int | bool | str

#: What can happen to an offer, a booking or a gathering: the offers package emits these
#: and rule packs trigger on them (``offer: {when: [...]}``).
OFFER_EVENT_KINDS = (
    "accepted",
    "declined",
    "expired",
    "cancelled",
    "clashing",
    "claimed",
    "scheduled",
    "moved",
    "fulfilled",
    "rated",
    "withdrawn",
    "waitlisted",
    "booked",
    # Sharing (hub.sharing): an appliance on a plug unused for days, a wanted post that
    # matches what the household owns, a shared appliance's use starting and ending.
    "appliance-idle",
    "wanted-match",
    "appliance-use-started",
    "appliance-use-ended",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One canonical reading (CONTRACTS.md, "Canonical readings").

    Attributes:
        device: the vendor's own id for the device.
        metric: a metric of the vocabulary (``power``, ``stock``, ...).
        value: converted to the metric's unit.
        unit: exactly as in the vocabulary, or None for unitless metrics.
        channel: sub-part (phase, tariff, relay, compartment, pantry item), or None.
        ts: the source's own timestamp as ISO 8601 UTC (``...Z``), or None.
    """

    device: str
    metric: str
    value: Value
    unit: str | None = None
    channel: str | None = None
    ts: str | None = None

    def marshal(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "metric": self.metric,
            "value": self.value,
            "unit": self.unit,
            "channel": self.channel,
            "ts": self.ts,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSpec:
    """A metric a registered device says it exposes."""

    metric: str
    unit: str | None = None
    channel: str | None = None

    def marshal(self) -> dict[str, Any]:
        return {"metric": self.metric, "unit": self.unit, "channel": self.channel}


@dataclass(frozen=True, slots=True, kw_only=True)
class Registration:
    """A device announced by discovery (``kind="discovery"``) or a bridge (``"device"``)."""

    kind: Literal["discovery", "device"]
    device: str
    model: str | None = None
    manufacturer: str | None = None
    name: str | None = None
    metrics: tuple[MetricSpec, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def marshal(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "device": self.device,
            "model": self.model,
            "manufacturer": self.manufacturer,
            "name": self.name,
            "metrics": [m.marshal() for m in self.metrics],
        }
        out.update(self.extra)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceAvailability:
    """A device went online or offline: from its LWT or availability topic, or from silence.

    Attributes:
        household: whose device.
        device: the vendor's id of the device.
        online: the new state.
        ts: the source's timestamp (ISO 8601 UTC) when it gave one.
        reason: ``reported`` (LWT, availability topic), ``message`` (it spoke again) or
            ``silence`` (quiet past its profile's expiry).
        at: when the hub noticed (epoch seconds).
    """

    household: str
    device: str
    online: bool
    ts: str | None = None
    reason: str = "reported"
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class Normalized:
    """What one inbound message means: readings and device registrations (both may be empty)."""

    readings: tuple[Reading, ...] = ()
    registrations: tuple[Registration, ...] = ()


EMPTY = Normalized()
