"""An async, typed client of the hub for providers and households, on aiomqtt and httpx.

It imports nothing else of the hub: an integration can vendor this package alone.
See ``docs/client.md`` and ``examples/provider_bot.py``.
"""

from hub.client.session import ClaimOutcome, FeedMessage, HubClient, HubError

__all__ = ["ClaimOutcome", "FeedMessage", "HubClient", "HubError"]
