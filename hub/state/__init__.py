"""The digital twin: each household's devices, their latest values and availability."""

from hub.events import DeviceAvailability
from hub.state.twin import DeviceTwin, Twin

__all__ = ["DeviceAvailability", "DeviceTwin", "Twin"]
