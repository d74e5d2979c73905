"""Provision a whole community at once (the demo, the embedded default).

``hub demo`` calls :func:`provision` with its cast and writes the result, plus the API
URL and the broker address, to ``var/demo/credentials.json`` (CONTRACTS.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from hub.identity.service import Identity

logger = logging.getLogger(__name__)


def provision(
    identity: Identity,
    *,
    admin_username: str = "admin",
    admin_password: str | None = None,
    households: Iterable[Mapping[str, Any]] = (),
    providers: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Create the admin, every household and every provider; return their secrets.

    Args:
        identity: the hub's identity service (with its dynsec admin, so that every
            household gets its gateway's MQTT login and every provider its own).
        admin_username: the community admin's login.
        admin_password: its password; random when omitted.
        households: keyword arguments of :meth:`Identity.create_household` each
            (``id``, ``community``, ``name``, ``street``, ``lat``, ``lon``, ``area_codes``,
            ``language``, optionally ``password``).
        providers: keyword arguments of :meth:`Identity.create_provider` each
            (``id``, ``community``, ``name``, ``kinds``, ``lat``, ``lon``, ``radius_km``).

    Returns:
        ``{"admin": {"username", "password"}, "households": {id: {"username",
        "password", "mqtt": {"username", "password"}}}, "providers": {id: {...,
        "api_token"}}}``: the shape of ``var/demo/credentials.json`` without ``api`` and
        ``mqtt``, which the caller adds.
    """
    admin = identity.create_admin(admin_username, admin_password)
    out: dict[str, Any] = {
        "admin": {"username": admin.username, "password": admin.password},
        "households": {},
        "providers": {},
    }
    for spec in households:
        creds = identity.create_household(**dict(spec))
        out["households"][spec["id"]] = creds.marshal()
    for spec in providers:
        creds = identity.create_provider(**dict(spec))
        out["providers"][spec["id"]] = creds.marshal()
    logger.info(
        "provisioned %d households and %d providers",
        len(out["households"]),
        len(out["providers"]),
    )
    return out
