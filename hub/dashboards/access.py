"""Who is logged in and what the dashboards may reach: roles, principals, components, results.

The dashboards' data modules (:mod:`hub.dashboards.household_data`,
:mod:`hub.dashboards.community_data`) build on these; :mod:`hub.dashboards.data` re-exports
them all for the views.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from hub.offers.routing import PrincipalLike as PrincipalLike  # who is logged in: the API caller

logger = logging.getLogger(__name__)


HOUSEHOLD = "household"
PROVIDER = "provider"
ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a write did: ``ok`` and a sentence for the user."""

    ok: bool
    message: str


class Unavailable(Exception):
    """The component a function needs is not part of this hub."""


def component(hub: Any, name: str) -> Any | None:
    """``hub.<name>`` or ``hub.components[name]``, or None when neither is set."""
    found = getattr(hub, name, None)
    if found is None:
        found = getattr(hub, "components", {}).get(name)
    return found


def actor_of(p: PrincipalLike) -> str:
    return f"{p.role}:{p.account_id}"


def items_of(page: Any) -> list[dict[str, Any]]:
    """Items of an offers ``Page`` (or a plain list)."""
    items = getattr(page, "items", page)
    return [dict(i) for i in items]


# -- identity -------------------------------------------------------------------------------


def login(hub: Any, username: str, password: str, address: str = "") -> str:
    """Check a password; return a session token.

    Raises:
        Unavailable: no identity component.
        Exception: the identity's own refusal (wrong password, too many attempts); its
            message is shown to the user.
    """
    identity = component(hub, "identity")
    if identity is None:
        raise Unavailable("logins are not available on this hub yet")
    try:
        result = identity.login(username, password, address=address)
    except TypeError:
        result = identity.login(username, password)
    token = result[0] if isinstance(result, tuple) else result
    return str(token)


def principal_from_token(hub: Any, token: str) -> PrincipalLike | None:
    """The principal of a live session token, or None."""
    identity = component(hub, "identity")
    if identity is None or not token:
        return None
    check = getattr(identity, "authenticate", None) or getattr(identity, "principal_from_token", None)
    if check is None:
        return None
    try:
        principal: PrincipalLike | None = check(token)
    except Exception:  # an unknown, expired or revoked token: not logged in
        return None
    if principal is not None and principal.role == ADMIN and not principal.community:
        principal = _only_community(hub, principal)
    return principal


def _only_community(hub: Any, p: PrincipalLike) -> PrincipalLike:
    """An admin of no particular community, on a hub with exactly one, administers that one.

    This narrows what the admin sees (never widens it), and lets the community views work
    for an admin provisioned without a community.
    """
    rows = hub.db.query("SELECT id FROM communities ORDER BY id LIMIT 2")
    if len(rows) != 1:
        return p
    if dataclasses.is_dataclass(p) and not isinstance(p, type):
        scoped: PrincipalLike = dataclasses.replace(p, community=rows[0]["id"])
        return scoped
    return p


def logout(hub: Any, token: str) -> None:
    """End a session (ignored when there is none)."""
    identity = component(hub, "identity")
    if identity is not None and hasattr(identity, "logout"):
        try:
            identity.logout(token)
        except Exception:
            logger.info("logout of an unknown session")


def offers_for(hub: Any, p: PrincipalLike, role: str) -> Any:
    offers = component(hub, "offers")
    if offers is None:
        raise Unavailable("offers are not available on this hub yet")
    if p.role != role or not (p.household if role == HOUSEHOLD else p.provider):
        raise Unavailable(f"this is for {role}s")
    return offers




def audience(p: PrincipalLike) -> str | None:
    """The offers package's live-update audience of a principal."""
    if p.role == HOUSEHOLD and p.household:
        return f"household:{p.household}"
    if p.role == PROVIDER and p.provider:
        return f"provider:{p.provider}"
    if p.role == ADMIN and p.community:
        return f"community:{p.community}"
    return None
