"""The hub's own words to people, in their language: suggestions, and the items they name.

Rule packs write a suggestion's title and message in English; for the kinds the hub itself
knows (a grocery run, a dinner instead of cooking, a clashing delivery) the reader
sees the hub's catalogue text built from the suggestion's data. Anything else keeps the
rule's own words.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.i18n.locale import Reader
from hub.i18n.words import N_ as N_  # re-exported: the marker the hub's own texts use
from hub.i18n.words import ngettext

#: Pantry items the story's fridges report (the rule pack's stock channels).
ITEMS = {"milk": N_("milk"), "eggs": N_("eggs"), "butter": N_("butter"), "bread": N_("bread")}


def item_name(reader: Reader, name: str) -> str:
    """A pantry item's name in the reader's language (unknown items as reported)."""
    known = ITEMS.get(name)
    return reader.gettext(known) if known else name


def _item(reader: Reader, item: Any) -> str:
    if not isinstance(item, dict):
        return item_name(reader, str(item))
    text = item_name(reader, str(item.get("name", "")))
    if item.get("qty") is not None:
        text += " " + reader.number(item["qty"])
        if item.get("unit"):
            text += " " + str(item["unit"])
    return text


def _said_anew(reader: Reader, s: dict[str, Any], name_of: Callable[[str], str]) -> dict[str, Any] | None:
    """The suggestions the hub itself writes with a neighbour or a time in them, for every
    reader: the driver by name (not their household id), times in the community's zone."""
    data = s.get("data") or {}
    kind = s.get("kind") or data.get("kind")
    if kind == "ride" and data.get("driver") and data.get("pickup_at"):
        out = dict(s)
        place = data.get("place") or data.get("destination") or ""
        out["title"] = reader.say(N_("Ride to %(place)s with %(driver)s", place=place,
                                     driver=name_of(str(data["driver"]))))
        seats = int(data.get("seats_left") or 0)
        out["message"] = reader.say(ngettext(
            "Pickup %(time)s at your street; %(num)d seat left.",
            "Pickup %(time)s at your street; %(num)d seats left.", seats,
            time=reader.when(data["pickup_at"], "%H:%M")))
        return out
    if kind == "reschedule" and data.get("starts_at") and data.get("other"):
        out = dict(s)
        out["title"] = reader.say(N_("Your delivery clashes with %(other)s", other=str(data["other"])))
        out["message"] = reader.say(N_("Move it from %(start)s–%(end)s to a free slot?",
                                       start=reader.when(data["starts_at"], "%H:%M"),
                                       end=reader.when(data.get("ends_at"), "%H:%M")))
        return out
    return None


def suggestion(reader: Reader, s: dict[str, Any], name_of: Callable[[str], str] = str) -> dict[str, Any]:
    """A suggestion with its title and message in the reader's language, when the hub knows
    its kind; otherwise as the rule wrote it. English readers keep the rule's own words,
    except where the hub's own text names a neighbour or a time (``name_of`` gives the
    display name of a household id)."""
    anew = _said_anew(reader, s, name_of)
    if anew is not None:
        return anew
    if reader.language == "en":
        return s
    data = s.get("data") or {}
    kind = s.get("kind") or data.get("kind")
    out = dict(s)
    if kind == "grocery":
        items = data.get("items") or []
        names = [item_name(reader, str(i.get("name", "")) if isinstance(i, dict) else str(i)) for i in items]
        out["title"] = reader.gettext("Groceries running low: %(items)s. Delivery?") % {
            "items": reader.gettext(", ").join(names)}
        out["message"] = reader.gettext("%(items)s. Pick a delivery slot from a grocer you trust.") % {
            "items": reader.gettext(", ").join(_item(reader, i) for i in items)}
    elif kind == "gathering":
        out["title"] = reader.gettext("No gas for cooking tonight. Dinner together?")
        out["message"] = reader.gettext("Invite your neighbours to a restaurant nearby.")
    elif kind == "reschedule":
        out["title"] = reader.gettext("Your delivery clashes with another booking. Move it?")
        out["message"] = ""
    return out
