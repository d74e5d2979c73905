"""Broker configuration rendered for a port and a data folder.

The production configuration (``mosquitto/mosquitto.conf``, dynamic security, no anonymous
access) is rendered by :mod:`hub.identity.broker_config`. This module keeps only the plain
loopback configuration used by tests that need a bare broker.
"""

from __future__ import annotations

from pathlib import Path


def render_plain_config(port: int, data_dir: Path | None = None) -> str:
    """A loopback-only broker with anonymous access (tests and benchmarks only)."""
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        "set_tcp_nodelay true",
        "max_queued_messages 100000",
        "max_packet_size 262144",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
    ]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        lines += ["persistence true", f"persistence_location {data_dir}/", "autosave_interval 60"]
    else:
        lines.append("persistence false")
    return "\n".join(lines) + "\n"
