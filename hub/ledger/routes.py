"""Shared helpers of the time-bank, projects and trust routes.

The caller, the role checks, the common parameters and the idempotent POST are the ones of
every domain router (:mod:`hub.offers.routing`); what is the time bank's own is finding a
component the hub wired and the caller's community.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from hub.errors import NotFound
from hub.i18n.words import N_
from hub.offers.routing import (
    AnyAdminP,
    HouseholdP,
    IdemKey,
    ObjId,
    Principal,
    PrincipalLike,
    ProviderP,
    actor,
    change_route,
    domain_router,
    idempotent_post,
)

#: Any community admin: one without a community administers the only one (:func:`community_of`).
AdminP = AnyAdminP
#: The idempotent POST of every domain router, under the name these routes use.
post = idempotent_post


def component(request: Request, name: str) -> Any:
    """A component the hub built (``hub.components[name]``), 404 when not wired."""
    found = request.app.state.hub.components.get(name)
    if found is None:
        raise NotFound(N_("%(name)s is not enabled on this hub", name=name))
    return found


def community_of(request: Request, p: PrincipalLike) -> str:
    """The caller's community (an admin without one administers the only community).

    A household's or provider's principal names its community; the lookups below serve the
    admins and principals made before it did.
    """
    if p.community:
        return p.community
    if p.household:
        row = request.app.state.hub.db.query_one("SELECT community FROM households WHERE id = ?",
                                                 (p.household,))
        if row is not None:
            return str(row[0])
    rows = request.app.state.hub.db.query("SELECT id FROM communities ORDER BY id LIMIT 2")
    if len(rows) == 1:
        return str(rows[0][0])
    raise NotFound(N_("no community for this account"))


__all__ = [
    "AdminP", "HouseholdP", "IdemKey", "ObjId", "Principal", "PrincipalLike", "ProviderP", "actor",
    "change_route", "community_of", "component", "domain_router", "post",
]
