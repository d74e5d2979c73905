"""A community's own settings that its admin changes: today its IANA time zone.

Every time the dashboards show or read is in the community's zone (``communities.time_zone``,
see :mod:`hub.dashboards.localtime`); the API and the store stay in UTC. A name that is not
an IANA time zone this machine knows is refused with a sentence saying so, and nothing is
written.
"""

from __future__ import annotations

import logging
from typing import Any

from hub.errors import NotFound
from hub.i18n.locale import valid_zone
from hub.i18n.words import N_

logger = logging.getLogger(__name__)


def time_zone(db: Any, community: str) -> str:
    """The community's IANA time zone name (``UTC`` when it has none).

    Raises:
        NotFound: no such community.
    """
    row = db.query_one("SELECT time_zone FROM communities WHERE id = ?", (community,))
    if row is None:
        raise NotFound(N_("no community %(community)s", community=community))
    return str(row["time_zone"] or "UTC")


def set_time_zone(db: Any, community: str, name: str, *, actor: str) -> str:
    """Set the community's time zone to the IANA zone ``name``; returns the stored name.

    Raises:
        ValueError: ``name`` is not an IANA time zone (the message says so).
        NotFound: no such community.
    """
    zone = valid_zone(name)
    with db.transaction() as conn:
        done = conn.execute("UPDATE communities SET time_zone = ? WHERE id = ?", (zone, community))
        if done.rowcount == 0:
            raise NotFound(N_("no community %(community)s", community=community))
    logger.info("community %s time zone set to %s by %s", community, zone, actor)
    return zone
