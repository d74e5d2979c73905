"""hub.devices"""
