"""The community hub: smart homes, community notices and local help, over MQTT.

The package is laid out by stage of the flow (see ``docs/architecture.md``)::

    broker/     the managed Mosquitto child process and its configuration
    transport/  the MQTT port: the paho adapter and an in-memory fake
    ingest/     batched pipeline from raw messages to readings, state and rules
    devices/    vendor payloads into canonical readings (adapters, profiles)
    state/      the digital twin: latest value per metric, availability
    rules/      YAML rule packs compiled into an indexed engine with durable timers
    notices/    CAP alerts and utility outage notices, targeted by area
    offers/     suggestions, offers, slots, bookings, gatherings, rides, ratings
    identity/   accounts, broker ACLs (dynamic security) and consent
    telemetry/  reading history (SQLite, InfluxDB)
    storage/    SQLite database with migrations and the transactional outbox
    api/        FastAPI app: REST, SSE and the dashboards
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
