"""The reader's language, locale and time zone, and formatting through Babel in them."""

from __future__ import annotations

import gettext as _gettext
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, dates, numbers
from babel.core import UnknownLocaleError

from hub.i18n.words import N_, Message

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
DEFAULT = "en"

#: The shipped languages: catalogue folder -> Babel locale used for formatting.
LANGUAGES: dict[str, str] = {"en": "en", "de": "de_DE", "zh": "zh_Hans_CN"}

#: The strftime patterns the templates use, as Babel skeletons (each locale orders them).
_SKELETONS: dict[str, tuple[str, ...]] = {
    "%a %H:%M": ("EHm",),
    "%H:%M": ("Hm",),
    "%a %H:%M:%S": ("EHms",),
    "%a %d %b %H:%M": ("MMMEd", "Hm"),
    "%d %b": ("MMMd",),
}


def _language_of(tag: str) -> str | None:
    """The shipped language a BCP 47 / POSIX tag asks for (``zh-CN`` -> ``zh``), or None."""
    tag = tag.strip().replace("_", "-")
    if not tag or tag == "*":
        return None
    try:
        parsed = Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        return None
    return parsed.language if parsed.language in LANGUAGES else None


def negotiate(setting: str | None = None, accept_language: str | None = None) -> str:
    """The language to use: the person's setting if shipped, else ``Accept-Language``.

    ``Accept-Language`` is read with its q-values (RFC 9110 §12.5.4); anything unknown or
    malformed is skipped, and English is the last resort.
    """
    if setting:
        chosen = _language_of(setting)
        if chosen:
            return chosen
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "")[:1000].split(",")):
        tag, _, params = part.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if q <= 0:
            continue
        weighted.append((-q, i, tag))
    for _q, _i, tag in sorted(weighted):
        chosen = _language_of(tag)
        if chosen:
            return chosen
    return DEFAULT


@cache
def translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalogue of a shipped language (English: the messages themselves)."""
    if language == DEFAULT or language not in LANGUAGES:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir=str(LOCALES), languages=[language])


def zone(name: str | None) -> tzinfo:
    """An IANA time zone by name; UTC for none or an unknown name."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def valid_zone(name: str) -> str:
    """``name`` when it is an IANA time zone this machine knows (``Europe/Berlin``).

    Raises:
        ValueError: with a sentence (a :class:`Message`) saying what is wrong.
    """
    text = name.strip()
    if not text:
        raise ValueError(N_("time zone: give an IANA name, such as Europe/Berlin"))
    if len(text) > 64 or text.startswith("/") or ".." in text or "\\" in text:
        raise ValueError(N_("time zone: %(name)s is not an IANA time zone name (such as Europe/Berlin)",
                            name=text[:64]))
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(N_("time zone: %(name)s is not an IANA time zone name (such as Europe/Berlin)",
                            name=text)) from None
    return text


def moment(value: Any) -> datetime | None:
    """An ISO 8601 text, epoch seconds or a datetime as an aware datetime; None if unreadable."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, int | float):
            dt = datetime.fromtimestamp(value, UTC)
        else:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Reader:
    """Who reads: their language, and the community's time zone.

    Every date, time, number and plural shown to a person goes through one of these.
    """

    language: str = DEFAULT
    time_zone: str = "UTC"
    _tz: tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            object.__setattr__(self, "language", DEFAULT)
        object.__setattr__(self, "_tz", zone(self.time_zone))

    @property
    def locale(self) -> Locale:
        """The Babel locale of the language."""
        return Locale.parse(LANGUAGES[self.language])

    @property
    def html_lang(self) -> str:
        """The BCP 47 tag for ``<html lang>``."""
        return {"zh": "zh-Hans", "de": "de", "en": "en"}[self.language]

    @property
    def tz_label(self) -> str:
        """The time zone as the reader sees it named (``Europe/Berlin``)."""
        return self.time_zone if self._tz is not UTC else "UTC"

    def gettext(self, message: str) -> str:
        """The message in the reader's language."""
        return translations(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The plural form of a message for ``n``, by the language's plural rule."""
        return translations(self.language).ngettext(singular, plural, n)

    def say(self, text: Any) -> str:
        """A text for this reader: a :class:`Message` in their language; any other text
        translated when the catalogue has it (a word of the pages), else as it is."""
        if isinstance(text, Message):
            return text.to(self)
        if text is None:
            return ""
        return self.gettext(str(text)) if str(text) else ""

    def when(self, value: Any, fmt: str = "%a %H:%M") -> str:
        """A moment (ISO 8601 text, epoch seconds or datetime) in the community's zone."""
        dt = moment(value)
        if dt is None:
            return "" if value in (None, "") else str(value)
        local = dt.astimezone(self._tz)
        skeletons = _SKELETONS.get(fmt)
        if skeletons is None:
            return local.strftime(fmt)
        return " ".join(dates.format_skeleton(s, local, locale=self.locale) for s in skeletons)

    def date(self, value: Any, format: str = "medium") -> str:
        """The calendar date of a moment, in the community's zone."""
        dt = moment(value)
        return "" if dt is None else dates.format_date(dt.astimezone(self._tz), format, locale=self.locale)

    def datetime(self, value: Any, format: str = "medium") -> str:
        """A full date and time, in the community's zone."""
        dt = moment(value)
        if dt is None:
            return ""
        return dates.format_datetime(dt, format, tzinfo=self._tz, locale=self.locale)

    def number(self, value: Any) -> str:
        """A reading: booleans as words, numbers with the locale's separators."""
        if isinstance(value, bool):
            return self.gettext("yes") if value else self.gettext("no")
        if isinstance(value, float):
            return numbers.format_decimal(round(value, 2), format="#,##0.##", locale=self.locale)
        if isinstance(value, int):
            return numbers.format_decimal(value, locale=self.locale)
        return "" if value is None else str(value)


def reader(setting: str | None = None, accept_language: str | None = None,
           time_zone: str | None = None) -> Reader:
    """The :class:`Reader` for a person's setting or request header, in a community's zone."""
    return Reader(negotiate(setting, accept_language), time_zone or "UTC")
