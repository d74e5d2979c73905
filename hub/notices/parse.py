"""Safe parsing of notice documents: CAP alerts, CAP index feeds, JSON warnings, outages.

Every document is untrusted. Before anything is parsed the size is checked
(:data:`DEFAULT_MAX_BYTES`, configurable per call). XML goes through defusedxml with
``forbid_dtd=True``: a document type declaration is refused outright, which rules out
entity expansion ("billion laughs"), external entities and external DTDs before the
parser allocates anything for them. Whatever is refused raises
:class:`hub.errors.NoticeRejected` with the reason; nothing is half-parsed.
"""

from __future__ import annotations

import logging
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from hub.errors import NoticeRejected
from hub.notices.cap import CAP_NAMESPACES, is_cap_alert, local, namespace, parse_alert
from hub.notices.index import ATOM, parse_atom, parse_rss
from hub.notices.jsonalerts import is_alert_json, parse_alert_json
from hub.notices.model import Notice
from hub.notices.outage import looks_like_outage_json, parse_outage_json

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
"""Largest document accepted by default (5 MiB): CAP alerts with embedded resources fit."""


def parse_document(
    data: bytes, *, language: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[Notice]:
    """Parse one notice document into notices.

    Args:
        data: the raw document: CAP 1.1/1.2 ``<alert>`` XML, a CAP Atom or RSS index feed,
            a utility outage list in the Tauron JSON form, NWS alerts GeoJSON, a NINA
            dashboard list or NINA (CAP as JSON) warning details.
        language: preferred language (BCP 47) for alerts with several ``<info>`` blocks;
            the others stay in :attr:`Notice.infos`. None picks the first block.
        max_bytes: size limit; larger documents are refused unread.

    Returns:
        The notices: one for an alert, one per feed entry or outage item.

    Raises:
        NoticeRejected: the document is too large, hostile, malformed or of no known kind.
    """
    if len(data) > max_bytes:
        raise NoticeRejected(f"document is {len(data)} bytes, above the limit of {max_bytes}")
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        return _parse_json(data, language=language)
    if head[:1] != b"<":
        raise NoticeRejected("not a notice document (neither XML nor JSON)")
    root = parse_xml(data)
    tag = root.tag
    if is_cap_alert(root):
        return [parse_alert(root, language=language)]
    if tag == f"{{{ATOM}}}feed":
        return parse_atom(root, language=language)
    if tag == "rss":
        return parse_rss(root, language=language)
    if local(tag) == "alert":
        raise NoticeRejected(
            f"CAP namespace {namespace(tag)!r} is not supported (expected one of {CAP_NAMESPACES})"
        )
    raise NoticeRejected(f"XML root <{local(tag)}> is not a CAP alert, Atom or RSS feed")


def _parse_json(data: bytes, *, language: str | None) -> list[Notice]:
    """A JSON document: utility outage list, NWS GeoJSON, NINA dashboard or CAP JSON."""
    try:
        obj: Any = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise NoticeRejected(f"malformed JSON: {exc}") from exc
    if looks_like_outage_json(obj) or not is_alert_json(obj):
        return parse_outage_json(data, language=language)  # says what an outage list lacks
    return parse_alert_json(obj, language=language)


def parse_xml(data: bytes) -> Element:
    """Parse untrusted XML with defusedxml; no DTD, no entities, no external references.

    Raises:
        NoticeRejected: hostile or malformed XML, with the reason.
    """
    try:
        root: Element = fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise NoticeRejected(
            f"XML refused: {type(exc).__name__} (DTDs, entities and external references"
            " are not allowed)"
        ) from exc
    except ParseError as exc:
        raise NoticeRejected(f"malformed XML: {exc}") from exc
    return root
