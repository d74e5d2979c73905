"""Sharing what households already own: lend, give away and swap (STORY.md section 6).

The lead wires :class:`SharingService` (``hub.sharing``) beside the offers service and
mounts ``hub.sharing.api.routers`` (OpenAPI tags ``things`` and ``loans``).
"""

from hub.sharing.service import SharingService

__all__ = ["SharingService"]
