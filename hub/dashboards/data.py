"""The one adapter between the dashboards and the rest of the hub.

Every view reads and writes through these functions: they take the hub and the logged-in
principal, enforce what that principal may see, and return plain dicts and lists. When a
package is not wired into the hub (yet), its functions return empty data and the view says
"nothing yet"; nothing here ever invents data.

Components are found as attributes of the hub (``hub.offers``) or in ``hub.components``
(``hub.components["offers"]``), whichever is present: the lead fixes any glue here, in one
place.

The functions live by idea in :mod:`hub.dashboards.access` (principals, roles, components),
:mod:`hub.dashboards.household_data` and :mod:`hub.dashboards.community_data` (providers and
community admins); this module gathers them so that a view reads ``data.<name>``.
"""

from __future__ import annotations

from hub.dashboards.access import (
    ADMIN,
    HOUSEHOLD,
    PROVIDER,
    ActionResult,
    PrincipalLike,
    Unavailable,
    actor_of,
    audience,
    component,
    items_of,
    login,
    logout,
    offers_for,
    principal_from_token,
)
from hub.dashboards.community_data import (
    HEALTH_SAMPLES,
    claim,
    dead_letters,
    feed_status,
    fulfil,
    health,
    household_places,
    households_overview,
    notices,
    offer_events,
    post_notice,
    provider_feed,
    provider_ratings,
    provider_schedule,
    provider_slots,
    rule_traces,
)
from hub.dashboards.household_data import (
    DELIVERY_STATES,
    accept,
    book_gathering,
    calendar,
    consents,
    decline,
    device_charts,
    devices,
    exchanged_this_week,
    gatherings,
    live_values,
    move,
    pantry,
    rate,
    revoke_consent,
    rsvp,
    slots,
    suggestions,
)

__all__ = [
    "ADMIN",
    "DELIVERY_STATES",
    "HEALTH_SAMPLES",
    "HOUSEHOLD",
    "PROVIDER",
    "ActionResult",
    "PrincipalLike",
    "Unavailable",
    "accept",
    "actor_of",
    "audience",
    "book_gathering",
    "calendar",
    "claim",
    "component",
    "consents",
    "dead_letters",
    "decline",
    "device_charts",
    "devices",
    "exchanged_this_week",
    "feed_status",
    "fulfil",
    "gatherings",
    "health",
    "household_places",
    "households_overview",
    "items_of",
    "live_values",
    "login",
    "logout",
    "move",
    "notices",
    "offer_events",
    "offers_for",
    "pantry",
    "post_notice",
    "principal_from_token",
    "provider_feed",
    "provider_ratings",
    "provider_schedule",
    "provider_slots",
    "rate",
    "revoke_consent",
    "rsvp",
    "rule_traces",
    "slots",
    "suggestions",
]
