"""The reader's language (setting, else Accept-Language) and Babel formatting in their zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.i18n import Reader, negotiate, reader

EVENING = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)  # Saturday, 18:00 in Berlin, 01:00 in Shanghai


@pytest.mark.parametrize(("setting", "header", "expected"), [
    (None, "zh-CN", "zh"),
    (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    (None, "de", "de"),
    (None, "de-AT, en;q=0.5", "de"),
    (None, "fr-FR, de;q=0.7, en;q=0.9", "en"),      # q-values order the choice
    (None, "fr-FR, de;q=0.9, en;q=0.7", "de"),
    (None, "en;q=0, zh;q=0.1", "zh"),               # q=0 means "not this one"
    (None, "xx-!!, ;;;, de", "de"),                  # malformed parts are skipped
    (None, None, "en"),
    (None, "", "en"),
    ("zh", "de", "zh"),                             # the person's setting wins
    ("zh-Hans-CN", "de", "zh"),
    ("es", "de", "de"),                             # a setting the hub does not ship: the header
])
def test_the_language_comes_from_the_setting_else_accept_language(
        setting: str | None, header: str | None, expected: str) -> None:
    assert negotiate(setting, header) == expected


def test_times_are_in_the_communitys_zone_and_the_readers_locale() -> None:
    assert Reader("en", "Europe/Berlin").when(EVENING) == "Sat 18:00"
    assert Reader("de", "Europe/Berlin").when(EVENING) == "Sa., 18:00"
    assert Reader("zh", "Asia/Shanghai").when(EVENING) == "周日01:00"
    assert Reader("zh", "Asia/Shanghai").when("2026-11-28T17:00:00Z", "%H:%M") == "01:00"
    assert Reader("de", "Europe/Berlin").date(EVENING.timestamp()) == "28.11.2026"
    assert Reader("zh", "Asia/Shanghai").date(EVENING) == "2026年11月29日"
    assert Reader("en").when(EVENING) == "Sat 17:00"  # no zone known: UTC
    assert Reader("en", "Not/AZone").tz_label == "UTC"


def test_numbers_and_words_in_the_locale() -> None:
    assert Reader("de").number(1234.5) == "1.234,5"
    assert Reader("en").number(1234.5) == "1,234.5"
    assert Reader("en").number(0.2) == "0.2"
    assert Reader("de").number(True) == "ja"
    assert Reader("zh").number(False) == "否"
    assert Reader("zh").number(None) == ""


def test_an_unknown_language_falls_back_to_english() -> None:
    r = reader("tlh", None, "Europe/Berlin")
    assert (r.language, r.html_lang, r.gettext("Log in")) == ("en", "en", "Log in")
    assert Reader("zh").gettext("Log in") == "登录"
    assert Reader("de").gettext("Log in") == "Anmelden"
