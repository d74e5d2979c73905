"""Words that are written before anyone knows who will read them: lazy messages.

A dashboard action, a domain error or a chart label is made in code that has no reader;
it is shown later, to one person, in their language. :class:`Message` is that text: a
``str`` (its English form, so logs, tests and callers that only want text keep working)
that also knows its catalogue id and arguments, so that :meth:`hub.i18n.Reader.say`
can translate it. ``N_`` and ``ngettext`` here make them (and mark them for extraction).

Also here: the fixed vocabularies people read on the pages (CAP severity, urgency,
certainty and category words, account roles, metric names), each marked for the catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class Translator(Protocol):
    """What a message needs of a reader (:class:`hub.i18n.Reader` is one)."""

    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


class Message(str):
    """An English sentence that can be said again in another language.

    ``Message("Table for %(seats)s booked.", {"seats": 3})`` is the text
    ``"Table for 3 booked."``; :meth:`to` gives it in a reader's language. Arguments that
    are messages themselves (a severity word) are translated too.
    """

    msgid: str
    plural: str | None
    n: int | None
    args: Mapping[str, Any]

    def __new__(cls, msgid: str, args: Mapping[str, Any] | None = None, *,
                plural: str | None = None, n: int | None = None) -> Message:
        args = dict(args or {})
        form = msgid if plural is None or n == 1 else plural
        text = form % args if args or "%(" in form else form
        made = super().__new__(cls, text)
        made.msgid, made.plural, made.n, made.args = msgid, plural, n, args
        return made

    def to(self, reader: Translator) -> str:
        """The message in the reader's language (English when the catalogue lacks it)."""
        if self.plural is not None and self.n is not None:
            form = reader.ngettext(self.msgid, self.plural, self.n)
        else:
            form = reader.gettext(self.msgid)
        if not self.args and "%(" not in form:
            return form
        args = {k: v.to(reader) if isinstance(v, Message) else v for k, v in self.args.items()}
        try:
            return form % args
        except (KeyError, ValueError, TypeError):  # a broken translation: say it in English
            return str(self)


def N_(message: str, **args: Any) -> Message:
    """A message to translate where it is shown (``N_("Delivery moved.")``)."""
    return Message(message, args)


def ngettext(singular: str, plural: str, n: int, **args: Any) -> Message:
    """A message with a plural, chosen by ``n`` in the reader's language when shown.

    Unlike :func:`gettext.ngettext` this translates nothing now: it returns a
    :class:`Message`. ``n`` is also the ``%(num)d`` argument unless given.
    """
    args.setdefault("num", n)
    return Message(singular, args, plural=plural, n=n)


def said(error: BaseException) -> str:
    """An exception's sentence, keeping its :class:`Message` so that it can be translated."""
    first = error.args[0] if len(error.args) == 1 else None
    if isinstance(first, Message):
        return first
    return str(error) or type(error).__name__


# -- vocabularies --------------------------------------------------------------------------

#: CAP 1.2 ``severity`` values.
SEVERITY = {"Extreme": N_("Extreme"), "Severe": N_("Severe"), "Moderate": N_("Moderate"),
            "Minor": N_("Minor"), "Unknown": N_("Unknown severity")}
#: CAP 1.2 ``urgency`` values.
URGENCY = {"Immediate": N_("Immediate"), "Expected": N_("Expected"), "Future": N_("Future"),
           "Past": N_("Past"), "Unknown": N_("Unknown urgency")}
#: CAP 1.2 ``certainty`` values.
CERTAINTY = {"Observed": N_("Observed"), "Likely": N_("Likely"), "Possible": N_("Possible"),
             "Unlikely": N_("Unlikely"), "Unknown": N_("Unknown certainty")}
#: CAP 1.2 ``category`` values.
CATEGORY = {"Geo": N_("Geophysical"), "Met": N_("Weather"), "Safety": N_("Safety"),
            "Security": N_("Security"), "Rescue": N_("Rescue"), "Fire": N_("Fire"),
            "Health": N_("Health"), "Env": N_("Environment"), "Transport": N_("Transport"),
            "Infra": N_("Infrastructure"), "CBRNE": N_("Hazardous materials"), "Other": N_("Other")}
#: The account roles, as the page header names them.
ROLES = {"household": N_("household"), "provider": N_("provider"), "admin": N_("admin")}
#: The metrics the devices report, as a reading's label.
METRICS = {"power": N_("Power"), "energy": N_("Energy"), "temperature": N_("Temperature"),
           "humidity": N_("Humidity"), "voltage": N_("Voltage"), "current": N_("Current"),
           "gas": N_("Gas"), "water": N_("Water"), "battery": N_("Battery"),
           "illuminance": N_("Illuminance"), "pressure": N_("Pressure"), "co2": N_("CO₂"),
           "contact": N_("Contact"), "occupancy": N_("Occupancy"), "state": N_("State"),
           "online": N_("Online"), "linkquality": N_("Link quality")}
#: What a rule trace says happened.
OUTCOMES = {"fired": N_("fired"), "no-match": N_("no match"), "pending": N_("pending"),
            "cancelled": N_("cancelled"), "held": N_("held"), "failed": N_("failed"),
            "condition-failed": N_("condition failed"), "misfire-skipped": N_("skipped (missed)")}
#: What a consent lets a provider see, and what for.
SIGNALS = {"pantry_needs": N_("pantry needs"), "slot": N_("delivery slot"),
           "street_address": N_("street address"), "household_name": N_("household name"),
           "grocery_delivery": N_("grocery delivery"), "pooled_order": N_("pooled order")}

#: Which vocabulary a template's ``word`` filter looks a value up in.
VOCABULARIES: dict[str, Mapping[str, Message]] = {
    "severity": SEVERITY, "urgency": URGENCY, "certainty": CERTAINTY, "category": CATEGORY,
    "role": ROLES, "metric": METRICS, "outcome": OUTCOMES, "signal": SIGNALS,
}


def word(vocabulary: str, value: Any) -> Message | str:
    """The catalogued word for ``value`` in a vocabulary; unknown values as they are.

    A metric or signal without a word of its own reads as itself with spaces (``link_quality``).
    """
    known = VOCABULARIES.get(vocabulary, {}).get(str(value))
    if known is not None:
        return known
    text = "" if value is None else str(value)
    return text.replace("_", " ") if vocabulary in ("metric", "signal") else text
