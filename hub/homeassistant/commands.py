"""Home Assistant button presses: ``home/<household>/homeassistant/command``.

The payload is the button's ``payload_press``: ``{"action": "accept"|"decline",
"suggestion": id}``. The household is the one in the topic (only its logins may write
there). Accept and decline go through the offers service exactly as the dashboard's forms
do; a grocery delivery or a move is booked in the first free slot (HA has no picker). A
press on a suggestion that is no longer open changes nothing and is logged.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from hub.errors import HubError, PayloadRejected

logger = logging.getLogger(__name__)

COMMAND_TOPIC = "homeassistant/command"
ACTIONS = frozenset({"accept", "decline"})


def parse(payload: bytes) -> tuple[str, str]:
    """``(action, suggestion id)`` of a press, or :class:`PayloadRejected` saying why."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadRejected("a Home Assistant command is a JSON object") from exc
    if not isinstance(body, dict):
        raise PayloadRejected("a Home Assistant command is a JSON object")
    action, sid = body.get("action"), body.get("suggestion")
    if action not in ACTIONS:
        raise PayloadRejected("action must be accept or decline")
    if not isinstance(sid, str) or not 0 < len(sid) <= 160:
        raise PayloadRejected("suggestion must be a suggestion id")
    return action, sid


def handle_command(offers: Any, household: str, payload: bytes) -> str:
    """Apply one press; returns what happened (``accepted``, ``declined`` or ``refused: ...``)."""
    action, sid = parse(payload)
    actor = f"homeassistant:{household}"
    try:
        if action == "decline":
            offers.suggestions.decline(household, sid, actor)
            return "declined"
        slot = None
        kind = getattr(offers.suggestions.get(household, sid), "kind", None)
        if kind in {"grocery", "reschedule"}:
            free = offers.grocery.next_free_slots(household, 1)
            slot = free[0]["slot"] if free else None
        offers.accept_suggestion(household, sid, slot=slot, actor=actor)
        return "accepted"
    except HubError as exc:
        logger.info("Home Assistant %s of %s by %s refused: %s", action, sid, household, exc)
        return f"refused: {exc}"
