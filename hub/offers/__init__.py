"""Offers, bookings and provider feeds: grocery delivery, gatherings and rides.

The lead wires :class:`OffersService` (``hub.offers``), its :attr:`~OffersService.sink`
as the rules engine's ``ActionSink``, :meth:`~OffersService.handle_claim` for
``providers/<provider>/claims``, and ``hub.offers.api.router`` with
:func:`~hub.offers.problems.problem_handler`.
"""

from hub.offers.consent import AllowAll, ConsentPort
from hub.offers.events import EVENT_KINDS, OfferEvent
from hub.offers.grocery import ClaimResult
from hub.offers.live import LiveUpdates
from hub.offers.problems import http_problem_handler, problem_handler, validation_problem_handler
from hub.offers.ratings import ChainReport, verify_chain
from hub.offers.seed import StorySeed, seed_story
from hub.offers.service import OffersService
from hub.offers.sink import OffersSink

__all__ = [
    "EVENT_KINDS",
    "AllowAll",
    "ChainReport",
    "ClaimResult",
    "ConsentPort",
    "LiveUpdates",
    "OfferEvent",
    "OffersService",
    "OffersSink",
    "StorySeed",
    "http_problem_handler",
    "problem_handler",
    "seed_story",
    "validation_problem_handler",
    "verify_chain",
]
