"""hub.telemetry"""
