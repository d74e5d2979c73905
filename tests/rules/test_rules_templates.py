"""Templates run in Jinja's sandbox: no attribute tricks, no eval, typed data values."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from hub.rules.loader import PackInvalid, load_pack
from hub.rules.templates import compile_data, compile_template

ATTACKS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ reading.__class__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ household.__len__() }}",
    "{% set x = items.append(1) %}{{ items }}",
    "{{ items.pop() }}",
    "{{ ''|attr('__class__') }}",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_sandbox_refuses_attribute_tricks(text: str) -> None:
    render, _ = compile_template(text)
    with pytest.raises((SecurityError, Exception)) as info:
        render({"household": "h-ana", "items": ["milk"], "reading": {"value": 1}})
    assert isinstance(info.value, SecurityError) or "undefined" in str(info.value).lower()


def test_rendering_and_native_values() -> None:
    render, names = compile_template("Low: {{ items | join(', ') }}")
    assert render({"items": ["milk", "eggs"]}) == "Low: milk, eggs"
    assert names == {"items"}
    data, names = compile_data(
        {
            "ts": "{{ reading.ts }}",
            "qty": "{{ reading.value }}",
            "label": "{{ reading.value }} l",
            "n": 3,
            "l": ["{{ household }}"],
        }
    )
    out = data({"reading": {"ts": 1764072000.123456, "value": 0.4}, "household": "h17"})
    assert out == {"ts": 1764072000.123456, "qty": 0.4, "label": "0.4 l", "n": 3, "l": ["h17"]}


def test_undefined_names_raise() -> None:
    render, _ = compile_template("{{ nope }}")
    with pytest.raises(Exception, match="'nope' is undefined"):
        render({})


def test_a_bad_template_is_a_load_error(write_pack: Callable[..., Path]) -> None:
    path = write_pack(
        """\
        rules:
          - id: t
            triggers: [{metric: stock, below: 1}]
            actions:
              - kind: notify
                data: {x: "{% for %}"}
        """
    )
    with pytest.raises(PackInvalid) as info:
        load_pack(path)
    assert info.value.errors[0].line == 6
    assert info.value.errors[0].message.startswith("actions.0.data: template error")


@pytest.mark.parametrize(
    ("text", "ctx"),
    [
        ("offers/grocery/{{ household }}", {"household": "h17"}),
        ("{{ reading.device }}: {{reading.value}} {{ reading.unit }}", {"reading": {"device": "f", "value": 0.2,
                                                                                     "unit": None}}),
        ("flag {{ on }} at {{ n }}", {"on": True, "n": 3}),
        ("{{ a.b }} and {{ a.c }}", {"a": {"b": "x"}}),  # a.c is missing: Jinja's error, not ours
        ("{{ a.keys }}", {"a": {"keys": 1}}),  # Jinja reads the dict's method first
        ("ends with a newline {{ x }}\n", {"x": 1}),
    ],
)
def test_text_and_name_templates_render_as_jinja_does(text: str, ctx: dict[str, object]) -> None:
    from hub.rules.templates import ENV

    render, _ = compile_template(text)
    try:
        expected: object = ENV.from_string(text).render(ctx)
    except Exception as exc:  # the same error, raised the same way
        with pytest.raises(type(exc)):
            render(ctx)
        return
    assert render(ctx) == expected
