"""Languages, locales and time zones: what a reader sees is in their language and zone.

One module knows the language (the person's setting, else ``Accept-Language``), the Babel
locale and the community's IANA time zone; pages (Jinja's i18n extension), emails and pushes
all format through a :class:`Reader`. Catalogues: ``hub/i18n/locales/<lang>/LC_MESSAGES``
(``make i18n-extract``, ``make i18n-compile``); the compiled ``.mo`` files ship in the package.
"""

from hub.i18n.locale import DEFAULT, LANGUAGES, Reader, negotiate, reader, translations

__all__ = ["DEFAULT", "LANGUAGES", "Reader", "negotiate", "reader", "translations"]
