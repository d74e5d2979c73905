"""The ingest pipeline: batches of MQTT messages into readings, state, rules and actions."""

from hub.ingest.pipeline import Pipeline, PipelinePorts

__all__ = ["Pipeline", "PipelinePorts"]
