"""CAP over MQTT from authorised publishers.

Topic (proposed, for the lead's subscription and the broker ACL):
``publishers/<publisher>/notices/<community>``, QoS 1, not retained. The payload is one
notice document as :func:`hub.notices.parse.parse_document` reads it (CAP XML, a CAP index
feed or outage JSON).

Why not ``community/<community>/notices/in``: that level is where the hub publishes
retained notices by id (a notice called ``in`` would collide), every member subscribed to
``community/<community>/notices/#`` would receive the raw inbound documents, and the topic
would not say who sent it. With the publisher in the topic, the broker ACL (a publisher's
account may write only ``publishers/<its id>/notices/+``) proves the sender, and
:class:`NoticeIntake` checks that the publisher may post for that community.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hub.errors import NoticeRejected, PayloadRejected
from hub.notices.book import NoticeBook, NoticeChange

logger = logging.getLogger(__name__)

INTAKE_FILTER = "publishers/+/notices/+"
"""The subscription the hub makes for notices sent over MQTT."""


def intake_topic(publisher: str, community: str) -> str:
    """The topic ``publisher`` sends notices for ``community`` on."""
    return f"publishers/{publisher}/notices/{community}"


def parse_intake_topic(topic: str) -> tuple[str, str] | None:
    """``(publisher, community)`` of an intake topic, or None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 4 and parts[0] == "publishers" and parts[2] == "notices":
        publisher, community = parts[1], parts[3]
        if publisher and community:
            return publisher, community
    return None


class NoticeIntake:
    """Turns MQTT messages from publishers into notices.

    Args:
        book: the notice book.
        authorised: ``authorised(publisher, community)`` says whether that publisher may
            post notices for that community (the identity package answers it).
        language: preferred language for multi-language alerts.
    """

    def __init__(
        self,
        book: NoticeBook,
        authorised: Callable[[str, str], bool],
        *,
        language: str | None = None,
    ) -> None:
        self._book = book
        self._authorised = authorised
        self._language = language

    def handle(self, topic: str, payload: bytes) -> list[NoticeChange]:
        """Ingest one message; return the changes it caused.

        Raises:
            PayloadRejected: not an intake topic, a publisher not allowed for the
                community, or a refused document (the reason says which); nothing changed.
        """
        parsed = parse_intake_topic(topic)
        if parsed is None:
            raise PayloadRejected("not a notice intake topic", topic=topic)
        publisher, community = parsed
        if not self._authorised(publisher, community):
            raise PayloadRejected(
                f"publisher {publisher!r} may not post notices for {community!r}", topic=topic
            )
        try:
            changes = self._book.ingest_bytes(
                payload, community=community, source=f"mqtt:{publisher}", language=self._language
            )
        except NoticeRejected as exc:
            raise PayloadRejected(f"notice refused: {exc}", topic=topic) from exc
        logger.info("notice intake from %s for %s: %d changes", publisher, community, len(changes))
        return changes
