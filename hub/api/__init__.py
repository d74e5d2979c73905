"""The HTTP API (FastAPI): health, metrics, and every package's routes."""

from hub.api.app import create_app

__all__ = ["create_app"]
