"""The digital twin: each household's devices, their latest values and availability."""

from hub.state.twin import DeviceAvailability, DeviceTwin, Twin

__all__ = ["DeviceAvailability", "DeviceTwin", "Twin"]
