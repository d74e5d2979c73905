"""Every message of a template or of the hub's code is translated in every shipped catalogue.

The messages are extracted the way ``make i18n-extract`` does (Babel, ``babel.cfg``) and
looked up in the compiled ``.mo`` files the package ships: a new ``_("...")`` in a template
without a German and a Chinese translation fails here.
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from hub.i18n import LANGUAGES, Reader, translations
from hub.i18n.locale import DOMAIN, LOCALES

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _extracted() -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    method_map = [("hub/**.py", "python"), ("dashboards/templates/**.html", "jinja2")]
    options = {"dashboards/templates/**.html": {"trim_blocks": "True", "lstrip_blocks": "True"}}
    for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(ROOT), method_map, options_map=options, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


MESSAGES = _extracted()
SHIPPED = [lang for lang in LANGUAGES if lang != "en"]


def test_the_extraction_finds_the_pages_and_the_hubs_own_messages() -> None:
    assert "Log in" in MESSAGES
    assert "Groceries running low: %(items)s. Delivery?" in MESSAGES
    assert ("%(num)d pantry item", "%(num)d pantry items") in MESSAGES
    assert len(MESSAGES) > 100


@pytest.mark.parametrize("language", SHIPPED)
def test_every_message_is_translated_in_the_shipped_catalogue(language: str) -> None:
    mo = LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    with open(mo, "rb") as f:
        catalogue = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
    missing = []
    for message in sorted(MESSAGES, key=str):
        if isinstance(message, tuple):
            forms = [catalogue.get((message[0], i)) for i in range(2 if language == "de" else 1)]
            if not all(forms):
                missing.append(message[0])
            continue
        translated = catalogue.get(message)
        if not translated:
            missing.append(message)
        elif set(PLACEHOLDER.findall(translated)) != set(PLACEHOLDER.findall(message)):
            missing.append(f"{message} (placeholders differ: {translated})")
    assert missing == [], f"{language}: untranslated or broken: {missing}"


@pytest.mark.parametrize("language", SHIPPED)
def test_the_compiled_catalogue_is_the_committed_po(language: str) -> None:
    """A .po edited without ``make i18n-compile`` would ship stale text."""
    from babel.messages.pofile import read_po

    with open(LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as f:
        po = read_po(f, locale=language)
    t = translations(language)
    for m in po:
        if m.id and isinstance(m.id, str):
            assert t.gettext(m.id) == m.string, m.id


def test_plurals_follow_each_languages_rule() -> None:
    de, zh, en = Reader("de"), Reader("zh"), Reader("en")
    assert de.ngettext("%(num)d place left", "%(num)d places left", 1) % {"num": 1} == "noch 1 Platz"
    assert de.ngettext("%(num)d place left", "%(num)d places left", 4) % {"num": 4} == "noch 4 Plätze"
    assert zh.ngettext("%(num)d place left", "%(num)d places left", 4) % {"num": 4} == "剩余 4 个名额"
    assert en.ngettext("%(num)d place left", "%(num)d places left", 1) % {"num": 1} == "1 place left"
