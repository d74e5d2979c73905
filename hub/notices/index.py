"""CAP index feeds (Atom and RSS) to notices.

An index feed lists alerts with a summary of each (the ``cap:`` elements of the NWS / CAP
Atom profile) and a link to the full alert. Each entry becomes a notice made from the
index fields, ``source="cap-index"``, with ``link`` kept so that a feed poller can fetch
the full alert. An entry that embeds a full CAP ``<alert>`` (in ``<content>``) yields that
alert instead.

Index notices take the entry id (Atom ``<id>``, RSS ``<guid>`` or ``<link>``) as their
id: the CAP identifier is only in the full alert.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import Element

from hub.errors import NoticeRejected
from hub.notices.cap import (
    CAP_NAMESPACES,
    is_cap_alert,
    local,
    msg_type_of,
    namespace,
    parse_alert,
    parse_circle,
    parse_polygon,
    parse_time,
    reference_ids,
    value_pairs,
)
from hub.notices.model import Area, Notice, NoticeInfo

ATOM = "http://www.w3.org/2005/Atom"


def _atom(el: Element, name: str) -> Element | None:
    return el.find(f"{{{ATOM}}}{name}")


def _atom_text(el: Element, name: str) -> str:
    found = _atom(el, name)
    return (found.text or "").strip() if found is not None else ""


def _plain(el: Element, name: str) -> str:
    found = el.find(name)
    return (found.text or "").strip() if found is not None else ""


def _cap(el: Element, name: str) -> list[Element]:
    return [c for c in el if local(c.tag) == name and namespace(c.tag) in CAP_NAMESPACES]


def _cap_text(el: Element, name: str) -> str:
    found = _cap(el, name)
    return (found[0].text or "").strip() if found else ""


def _embedded_alert(entry: Element) -> Element | None:
    for el in entry.iter():
        if is_cap_alert(el):
            return el
    return None


def _index_notice(
    entry: Element,
    *,
    nid: str,
    sender: str,
    sent: datetime | None,
    headline: str,
    summary: str,
    link: str | None,
    language: str | None,
) -> Notice:
    """A notice from the ``cap:`` index elements of one entry."""
    polygons = tuple(p for p in (parse_polygon(e.text or "") for e in _cap(entry, "polygon")) if p)
    circles = tuple(c for c in (parse_circle(e.text or "") for e in _cap(entry, "circle")) if c)
    area = Area(
        description=_cap_text(entry, "areaDesc"),
        codes=value_pairs(_cap(entry, "geocode"), split=True),
        polygons=polygons,
        circles=circles,
    )
    onset = parse_time(_cap_text(entry, "onset"), "cap:onset")
    effective = parse_time(_cap_text(entry, "effective"), "cap:effective")
    info = NoticeInfo(
        language=_cap_text(entry, "language") or "en-US",  # CAP 1.2 §3.2.2 default
        category=tuple((c.text or "").strip() for c in _cap(entry, "category") if c.text),
        event=_cap_text(entry, "event"),
        severity=_cap_text(entry, "severity") or "Unknown",
        urgency=_cap_text(entry, "urgency") or "Unknown",
        certainty=_cap_text(entry, "certainty") or "Unknown",
        headline=headline,
        description=summary,
        onset=onset or effective,
        expires=parse_time(_cap_text(entry, "expires"), "cap:expires"),
        area=area,
    )
    # MeteoAlarm's CAP-Atom feeds spell it cap:message_type.
    msg_type_text = _cap_text(entry, "msgType") or _cap_text(entry, "message_type")
    return Notice.from_infos(
        infos=[info],
        language=None,
        id=nid,
        sender=sender,
        sent=sent,
        msg_type=msg_type_of(msg_type_text) if msg_type_text else "alert",
        status=_cap_text(entry, "status") or "Actual",
        references=reference_ids(_cap_text(entry, "references")),
        link=link,
        source="cap-index",
    )


def parse_atom(feed: Element, *, language: str | None) -> list[Notice]:
    """An Atom CAP index feed: one notice per ``<entry>``."""
    feed_author = ""
    author = _atom(feed, "author")
    if author is not None:
        feed_author = _atom_text(author, "name")
    notices = []
    for entry in feed.findall(f"{{{ATOM}}}entry"):
        embedded = _embedded_alert(entry)
        if embedded is not None:
            notices.append(parse_alert(embedded, language=language))
            continue
        nid = _atom_text(entry, "id")
        if not nid:
            raise NoticeRejected("Atom entry has no <id>")
        entry_author = _atom(entry, "author")
        sender = _atom_text(entry_author, "name") if entry_author is not None else ""
        link = None
        for el in entry.findall(f"{{{ATOM}}}link"):
            if el.get("rel", "alternate") == "alternate" and el.get("href"):
                link = el.get("href")
                break
        sent_text = _atom_text(entry, "published") or _atom_text(entry, "updated")
        notices.append(
            _index_notice(
                entry,
                nid=nid,
                sender=sender or feed_author,
                sent=parse_time(sent_text, "Atom published"),
                headline=_atom_text(entry, "title"),
                summary=_atom_text(entry, "summary"),
                link=link,
                language=language,
            )
        )
    return notices


def _rfc822(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError) as exc:
        raise NoticeRejected(f"RSS pubDate {text!r} is not an RFC 822 date") from exc
    # RFC 5322 "-0000" means UTC with the origin's zone unknown.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_rss(rss: Element, *, language: str | None) -> list[Notice]:
    """An RSS 2.0 CAP index feed: one notice per ``<item>``."""
    channel = rss.find("channel")
    if channel is None:
        raise NoticeRejected("RSS document has no <channel>")
    feed_sender = _plain(channel, "managingEditor") or _plain(channel, "title")
    notices = []
    for item in channel.findall("item"):
        embedded = _embedded_alert(item)
        if embedded is not None:
            notices.append(parse_alert(embedded, language=language))
            continue
        link = _plain(item, "link") or None
        nid = _plain(item, "guid") or link
        if not nid:
            raise NoticeRejected("RSS item has neither <guid> nor <link>")
        notices.append(
            _index_notice(
                item,
                nid=nid,
                sender=_plain(item, "author") or feed_sender,
                sent=_rfc822(_plain(item, "pubDate")),
                headline=_plain(item, "title"),
                summary=_plain(item, "description"),
                link=link,
                language=language,
            )
        )
    return notices


__all__ = ["ATOM", "parse_atom", "parse_rss"]
