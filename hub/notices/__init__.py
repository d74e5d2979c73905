"""Community notices: CAP alerts, CAP index feeds, JSON warning services, utility outages.

Flow: a document arrives (feed poller, MQTT intake, REST POST) -> :func:`parse_document`
(safe: size limit, no DTD/entities) -> :class:`Notice` values -> :class:`NoticeBook`
decides what changes (arrived, updated, cancelled, expired), targets households
(:func:`households_for`) and publishes retained messages through the outbox ->
:class:`NoticeChange` values go to the rules.

Modules: ``model`` (values), ``parse`` / ``cap`` / ``index`` / ``jsonalerts`` (NWS GeoJSON,
NINA) / ``outage`` (reading),
``geo`` (targeting), ``book`` (lifecycle, storage, publishing), ``feeds`` (pollers),
``intake`` (CAP over MQTT), ``api`` (REST routes), ``cli`` (``hub notices parse``).
"""

from hub.notices.book import NoticeBook, NoticeChange, community_topic, household_topic, topic_id
from hub.notices.feeds import FeedConfig, FeedPoller, FeedStatus, add_expiry_job
from hub.notices.geo import households_for
from hub.notices.intake import INTAKE_FILTER, NoticeIntake, intake_topic, parse_intake_topic
from hub.notices.model import Area, Notice, NoticeInfo
from hub.notices.parse import DEFAULT_MAX_BYTES, parse_document

__all__ = [
    "DEFAULT_MAX_BYTES",
    "INTAKE_FILTER",
    "Area",
    "FeedConfig",
    "FeedPoller",
    "FeedStatus",
    "Notice",
    "NoticeBook",
    "NoticeChange",
    "NoticeInfo",
    "NoticeIntake",
    "add_expiry_job",
    "community_topic",
    "household_topic",
    "households_for",
    "intake_topic",
    "parse_document",
    "parse_intake_topic",
    "topic_id",
]
