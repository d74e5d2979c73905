"""Which of the households' MQTT messages are worth a notification, and what it may say.

The notifier taps the outbox (:meth:`hub.storage.outbox.Outbox.tap`) under ``home/``: every
suggestion, notice, loan reminder, time-bank transfer and project deadline a household hears
of on its MQTT tree passes here, in the transaction that caused it. :func:`classify` keeps
the ones a person should hear of elsewhere and only the fields a message may carry: titles,
times, hours, the offered slot; never readings, addresses or other households' details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.i18n.locale import moment

#: Suggestion kinds whose accept needs more than one tap (a gathering needs a title and guests).
_NO_LINK = frozenset({"gathering"})


@dataclass(frozen=True, slots=True)
class Event:
    """Something a person may be told of.

    Attributes:
        household: whose it is.
        kind: ``suggestion``, ``notice``, ``loan``, ``timebank`` or ``project``.
        key: the event's identity (one delivery per person, event, channel and target).
        severity: a notice's CAP severity (else empty).
        data: what the message may show (see the module docstring).
        link: ``(action, target)`` of a one-tap link, or None.
        stale_at: epoch seconds after which sending it is pointless (an expired suggestion).
    """

    household: str
    kind: str
    key: str
    severity: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    link: tuple[str, str] | None = None
    stale_at: float | None = None


def _first_slot(data: dict[str, Any]) -> str | None:
    for name in ("slots", "alternatives"):
        for entry in data.get(name) or ():
            slot = entry.get("slot") if isinstance(entry, dict) else entry
            if isinstance(slot, str) and slot:
                return slot
    return None


def _suggestion(household: str, p: dict[str, Any]) -> Event | None:
    if p.get("type") != "suggestion" or p.get("state") != "proposed" or not p.get("id"):
        return None
    sid, data = str(p["id"]), p.get("data") or {}
    slot = _first_slot(data)
    items = [i.get("name") if isinstance(i, dict) else i for i in data.get("items") or ()]
    shown = {"id": sid, "kind": p.get("kind"), "title": p.get("title", ""),
             "message": p.get("message", ""), "slot": slot,
             "data": {"kind": data.get("kind"), "items": [{"name": str(i)} for i in items if i]}}
    expires = moment(p.get("expires_at"))
    link = None if p.get("kind") in _NO_LINK else ("accept_suggestion", f"{sid}|{slot}" if slot else sid)
    return Event(household, "suggestion", f"suggestion:{sid}", data=shown, link=link,
                 stale_at=expires.timestamp() if expires else None)


def _notice(household: str, p: dict[str, Any]) -> Event | None:
    if not p.get("id") or p.get("status", "Actual") != "Actual":
        return None
    shown = {"id": p["id"], "headline": p.get("headline") or p.get("event", ""),
             "instruction": p.get("instruction", ""), "onset": p.get("onset"),
             "expires": p.get("expires"), "language": p.get("language", "")}
    expires = moment(p.get("expires"))
    return Event(household, "notice", f"notice:{p['id']}", severity=str(p.get("severity") or "Unknown"),
                 data=shown, stale_at=expires.timestamp() if expires else None)


def _loan(household: str, p: dict[str, Any]) -> Event | None:
    kind = str(p.get("type", ""))
    if kind not in ("loan-pickup", "loan-return", "loan-overdue") or not p.get("loan"):
        return None
    shown = {"type": kind, "title": p.get("title", ""), "start": p.get("start"), "end": p.get("end")}
    return Event(household, "loan", f"{kind}:{p['loan']}", data=shown)


def _timebank(household: str, p: dict[str, Any]) -> Event | None:
    kind = str(p.get("type", ""))
    if kind not in ("timebank-transfer-recorded", "timebank-transfer-confirmed") or not p.get("id"):
        return None
    # Only the one who must act (the helper confirming hours) or the payer hearing it was confirmed.
    recorded = kind == "timebank-transfer-recorded"
    if (recorded and p.get("to") != household) or (not recorded and p.get("payer") != household):
        return None
    suffix = f"-{p.get('status')}-{household}"
    transfer = str(p["id"]).removesuffix(suffix)
    shown = {"type": kind, "hours": p.get("hours"), "transfer": transfer}
    return Event(household, "timebank", f"{kind}:{transfer}", data=shown)


def _project(household: str, p: dict[str, Any]) -> Event | None:
    kind = str(p.get("type", ""))
    if not kind.startswith("project-") or not p.get("project"):
        return None
    shown = {"type": kind, "title": p.get("title", "")}
    return Event(household, "project", f"{kind}:{p['project']}", data=shown)


_BY_BRANCH = {"suggestions": _suggestion, "notices": _notice, "sharing": _loan, "timebank": _timebank,
              "projects": _project}


def classify(topic: str, payload: dict[str, Any] | bytes) -> Event | None:
    """The event a message on ``home/<household>/hub/<branch>/...`` tells of, or None."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[0] != "home" or parts[2] != "hub" or not isinstance(payload, dict):
        return None
    handler = _BY_BRANCH.get(parts[3])
    return handler(parts[1], payload) if handler else None
