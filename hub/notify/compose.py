"""What an email or a push says, in the person's language and the community's time zone.

Rendered when it is sent (so a language changed meanwhile applies), from the few fields
:mod:`hub.notify.events` kept. Every text goes through the catalogues (``hub/i18n``); HTML
is escaped. A message names what happened and offers its one-tap link; the dashboard shows
the rest to the person once they are logged in.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from hub.i18n import messages
from hub.i18n.locale import Reader
from hub.i18n.messages import N_


def _loan_title(kind: str, title: str, when: str) -> Any:
    if kind == "loan-pickup":
        return N_("Pickup soon: %(title)s, %(when)s", title=title, when=when)
    if kind == "loan-overdue":
        return N_("Overdue: %(title)s was due back %(when)s", title=title, when=when)
    return N_("Return soon: %(title)s, %(when)s", title=title, when=when)


def _project_title(kind: str, title: str) -> Any:
    if kind == "project-met":
        return N_("Project funded: %(title)s", title=title)
    if kind == "project-missed":
        return N_("Project did not reach its goal: %(title)s", title=title)
    return N_("Project closed: %(title)s", title=title)


@dataclass(frozen=True, slots=True)
class Message:
    """One notification's words: a title, a body, the link to act (or to look)."""

    title: str
    body: str
    url: str
    action: str | None = None  # the one-tap button's label, when the link acts


def _slot(reader: Reader, slot: str | None) -> str:
    if not slot:
        return ""
    provider, _, start = slot.partition("@")
    return f"{reader.when(start)} · {provider}" if start else slot


def message(reader: Reader, kind: str, data: dict[str, Any], *, base_url: str, link: str | None) -> Message:
    """The words of one event for ``reader``; ``link`` is the one-tap token, if any."""
    home = f"{base_url}/ui/household"
    if kind == "suggestion":
        shown = messages.suggestion(reader, {"kind": data.get("kind"), "title": data.get("title", ""),
                                             "message": data.get("message", ""), "data": data.get("data") or {}})
        body = str(shown.get("message") or "")
        if data.get("slot"):
            body = (body + "\n" if body else "") + reader.gettext("Soonest slot: %(slot)s") % {
                "slot": _slot(reader, data["slot"])}
        if link:
            return Message(str(shown.get("title") or ""), body, f"{base_url}/ui/a/{link}", reader.gettext("Accept"))
        return Message(str(shown.get("title") or ""), body, home)
    if kind == "notice":
        window = ""
        if data.get("onset") or data.get("expires"):
            window = reader.gettext("From %(start)s to %(end)s") % {
                "start": reader.when(data.get("onset"), "%a %d %b %H:%M"),
                "end": reader.when(data.get("expires"), "%a %d %b %H:%M")}
        body = "\n".join(x for x in (window, str(data.get("instruction") or "")) if x)
        return Message(str(data.get("headline") or reader.gettext("A notice for your street")), body, home)
    if kind == "loan":
        when = data.get("end") if data.get("type") != "loan-pickup" else data.get("start")
        title = reader.say(_loan_title(str(data.get("type")), str(data.get("title", "")), reader.when(when)))
        return Message(title, "", f"{base_url}/ui/loans")
    if kind == "timebank":
        hours = reader.number(float(data.get("hours") or 0))
        if data.get("type") == "timebank-transfer-recorded":
            title = reader.gettext("%(hours)s h recorded for you: please confirm") % {"hours": hours}
        else:
            title = reader.gettext("Your %(hours)s h were confirmed") % {"hours": hours}
        return Message(title, "", f"{base_url}/ui/timebank")
    if kind == "project":
        title = reader.say(_project_title(str(data.get("type")), str(data.get("title", ""))))
        return Message(title, "", f"{base_url}/ui/projects")
    return Message(reader.gettext("News from your community hub"), "", home)


def email_text(reader: Reader, items: list[Message], *, unsubscribe_url: str, prefs_url: str) -> tuple[str, str]:
    """The plain-text and HTML bodies of an email of one or more messages."""
    text_parts, html_parts = [], []
    for m in items:
        text = m.title + ("\n" + m.body if m.body else "")
        text += f"\n{m.action or reader.gettext('Open')}: {m.url}"
        text_parts.append(text)
        body = "".join(f"<p>{escape(line)}</p>" for line in m.body.splitlines() if line)
        html_parts.append(f"<h2>{escape(m.title)}</h2>{body}"
                          f'<p><a href="{escape(m.url)}">{escape(m.action or reader.gettext("Open"))}</a></p>')
    footer = reader.gettext("You get this because you asked your community hub to tell you by email.")
    change = reader.gettext("Change what reaches you")
    stop = reader.gettext("Unsubscribe from these emails")
    plain = "\n\n".join(text_parts) + f"\n\n--\n{footer}\n{change}: {prefs_url}\n{stop}: {unsubscribe_url}\n"
    html = (f'<!doctype html><html lang="{escape(reader.html_lang)}"><body>' + "".join(html_parts) +
            f'<hr><p>{escape(footer)}</p><p><a href="{escape(prefs_url)}">{escape(change)}</a> · '
            f'<a href="{escape(unsubscribe_url)}">{escape(stop)}</a></p></body></html>')
    return plain, html


def digest_title(reader: Reader, count: int) -> str:
    """The subject of a daily digest."""
    return reader.ngettext("Your day at the community hub: %(num)d message",
                           "Your day at the community hub: %(num)d messages", count) % {"num": count}
