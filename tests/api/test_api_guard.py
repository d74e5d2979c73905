"""Unit tests of the input guard's rule and of the OpenAPI document that publishes it."""

from __future__ import annotations

import re

from hub.api.guard import TEXT_PATTERN, control_in, find_control


def test_the_published_pattern_is_the_guards_rule() -> None:
    pattern = re.compile(TEXT_PATTERN)
    disagree = [hex(c) for c in range(0x3000)
                if (pattern.fullmatch(chr(c)) is not None) != (control_in(chr(c)) is None)]
    assert disagree == []
    assert control_in("line one\r\nline two\tend") is None
    assert control_in("a\rb") == "U+000D"
    assert pattern.fullmatch("a\rb") is None
    assert control_in("\x7f") == "U+007F"
    assert control_in("\x85") == "U+0085"


def test_find_control_names_the_field_at_any_depth() -> None:
    body = {"title": "ok", "place": {"label": "fine", "tags": ["x", "b\x1b[31m"]}}
    assert find_control(body) == (("body", "place", "tags", "1"), "U+001B")
    assert find_control({"k\x00": 1}) == (("body", "k\\x00"), "U+0000")
    assert find_control({"a": [1, 2.5, None, True, "plain\n"]}) is None
