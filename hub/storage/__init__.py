"""Durable storage: the SQLite database with migrations, and the transactional outbox."""

from hub.storage.database import Database
from hub.storage.outbox import Outbox, OutboxMessage

__all__ = ["Database", "Outbox", "OutboxMessage"]
