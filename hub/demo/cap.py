"""The gas utility's CAP 1.2 documents for the story (alert, update, cancel).

The area is a polygon around Elm Street (Ana at 52.0225,5.0 and Ben at 52.0230,5.002 in
:mod:`hub.offers.seed`); Chen on Mill Lane (52.0,5.0) lies 2.5 km south of it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.sax.saxutils import escape

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
SENDER = "outages@riverside-gas.example"

#: lat,lon pairs of a closed ring around Elm Street (CAP 1.2 §3.2.4: first = last point).
ELM_STREET_POLYGON: tuple[tuple[float, float], ...] = (
    (52.0215, 4.9975),
    (52.0215, 5.0075),
    (52.0255, 5.0075),
    (52.0255, 4.9975),
    (52.0215, 4.9975),
)


def cap_time(dt: datetime) -> str:
    """CAP 1.2 §3.3.2 date-time in UTC, written ``-00:00`` as the spec asks ("Z" is not allowed)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S-00:00")


def reference(identifier: str, sent: datetime) -> str:
    """One CAP ``<references>`` entry: ``sender,identifier,sent``."""
    return f"{SENDER},{identifier},{cap_time(sent)}"


def gas_outage(
    identifier: str,
    *,
    sent: datetime,
    onset: datetime,
    expires: datetime,
    msg_type: str = "Alert",
    references: tuple[str, ...] = (),
) -> bytes:
    """A CAP 1.2 ``<alert>`` for the planned gas supply interruption.

    Args:
        identifier: this message's id (each alert, update and cancel has its own).
        sent: when the utility sends it.
        onset, expires: the interruption's window.
        msg_type: ``Alert``, ``Update`` or ``Cancel``.
        references: earlier messages this one updates or cancels (:func:`reference`).
    """
    polygon = " ".join(f"{lat},{lon}" for lat, lon in ELM_STREET_POLYGON)
    refs = f"\n  <references>{escape(' '.join(references))}</references>" if references else ""
    hours = f"{onset:%H:%M}–{expires:%H:%M} UTC"
    headline = (
        "Gas supply interruption cancelled"
        if msg_type == "Cancel"
        else f"Planned gas supply interruption, {hours}"
    )
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="{CAP_NS}">
  <identifier>{escape(identifier)}</identifier>
  <sender>{SENDER}</sender>
  <sent>{cap_time(sent)}</sent>
  <status>Actual</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>{refs}
  <info>
    <language>en-GB</language>
    <category>Infra</category>
    <event>Planned gas supply interruption</event>
    <responseType>Prepare</responseType>
    <urgency>Expected</urgency>
    <severity>Moderate</severity>
    <certainty>Likely</certainty>
    <onset>{cap_time(onset)}</onset>
    <expires>{cap_time(expires)}</expires>
    <senderName>Riverside Gas</senderName>
    <headline>{escape(headline)}</headline>
    <description>Maintenance on the Elm Street main: no gas supply {hours}.</description>
    <instruction>Do not use gas appliances during the interruption.</instruction>
    <area>
      <areaDesc>Elm Street, Riverside</areaDesc>
      <polygon>{polygon}</polygon>
    </area>
  </info>
</alert>
"""
    return xml.encode("utf-8")
