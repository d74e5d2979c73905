"""The managed Mosquitto: a child process of the hub, configured from ``mosquitto/``."""

from hub.broker.supervisor import BrokerSupervisor, free_port, wait_for_port

__all__ = ["BrokerSupervisor", "free_port", "wait_for_port"]
