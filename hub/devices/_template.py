"""A tiny, safe subset of Home Assistant's ``value_template`` language.

Discovery configs say how to read their state topic with a Jinja template. Running real
Jinja on templates sent by devices would hand every device a template engine, so only the
forms devices actually use are accepted, compiled once at discovery time into a plain
function:

- ``{{ value }}`` (the raw payload text) and ``{{ value_json }}``
- ``{{ value_json.a.b }}``, ``{{ value_json['x']["y"] }}``, ``{{ value_json.list[0] }}``
- filters ``| float``, ``| float(0)``, ``| int``, ``| int(0)``, ``| round(n)``, ``| lower``,
  ``| upper``, ``| trim``

Anything else (``if``, arithmetic, function calls) is refused with
:class:`UnsupportedTemplate`: its entity registers, but is not read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

_MISSING = object()
_EXPR = re.compile(r"^\{\{-?\s*(.*?)\s*-?\}\}$", re.S)
_ACCESS = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:'([^']*)'|"([^"]*)"|(\d+))\s*\]""")
_FILTER = re.compile(r"^([a-z_]+)\s*(?:\(\s*([^()]*?)\s*\))?$")

Reader = Callable[[str, Any], Any]
"""``reader(raw_text, decoded_json_or_MISSING) -> value`` (None when absent)."""


class UnsupportedTemplate(ValueError):
    """The template uses more than the safe subset."""


def _path(expr: str) -> tuple[bool, tuple[str | int, ...]]:
    """(uses value_json, access path) for ``value_json.a['b'][0]`` or ``value``."""
    if expr == "value":
        return False, ()
    if not expr.startswith("value_json"):
        raise UnsupportedTemplate(f"unsupported expression {expr[:40]!r}")
    rest = expr[len("value_json") :]
    path: list[str | int] = []
    pos = 0
    while pos < len(rest):
        m = _ACCESS.match(rest, pos)
        if m is None:
            raise UnsupportedTemplate(f"unsupported access {rest[pos:pos + 20]!r}")
        name, sq, dq, idx = m.groups()
        if idx is not None:
            path.append(int(idx))
        else:
            path.append(name if name is not None else (sq if sq is not None else dq or ""))
        pos = m.end()
        if len(path) > 16:
            raise UnsupportedTemplate("path too long")
    return True, tuple(path)


def _to_float(value: Any, default: Any) -> Any:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return default
    return f if math.isfinite(f) else default


def _to_int(value: Any, default: Any) -> Any:
    f = _to_float(value, None)
    return int(f) if f is not None else default


def _literal(arg: str) -> Any:
    if arg == "":
        return None
    try:
        return float(arg) if "." in arg else int(arg)
    except ValueError:
        raise UnsupportedTemplate(f"unsupported filter argument {arg[:20]!r}") from None


def _filter(spec: str) -> Callable[[Any], Any]:
    m = _FILTER.match(spec.strip())
    if m is None:
        raise UnsupportedTemplate(f"unsupported filter {spec[:30]!r}")
    name, arg = m.group(1), m.group(2)
    if name in ("float", "int"):
        default = _literal(arg) if arg else None
        conv = _to_float if name == "float" else _to_int
        return lambda v: conv(v, default)
    if name == "round":
        digits = int(_literal(arg) or 0) if arg else 0
        return lambda v: round(v, digits) if type(v) in (int, float) else v
    if name in ("lower", "upper", "trim") and not arg:
        methods: dict[str, Callable[[str], str]] = {
            "lower": str.lower, "upper": str.upper, "trim": str.strip}
        method = methods[name]
        return lambda v: method(v) if type(v) is str else v
    raise UnsupportedTemplate(f"unsupported filter {name!r}")


def compile_template(template: str | None) -> tuple[Reader, bool]:
    """Compile a ``value_template``; returns (reader, needs_json).

    Raises:
        UnsupportedTemplate: beyond the safe subset.
    """
    if template is None or not template.strip():
        return (lambda raw, _obj: raw), False
    if len(template) > 512:
        raise UnsupportedTemplate("template too long")
    m = _EXPR.match(template.strip())
    if m is None or "{{" in m.group(1) or "{%" in template:
        raise UnsupportedTemplate("only a single {{ expression }} is supported")
    pieces = m.group(1).split("|")
    uses_json, path = _path(pieces[0].strip())
    filters = [_filter(p) for p in pieces[1:]]

    def read(raw: str, obj: Any) -> Any:
        value: Any = obj if uses_json else raw
        if value is _MISSING:
            return None
        for step in path:
            if type(step) is int:
                if type(value) is not list or step >= len(value):
                    return None
            elif type(value) is not dict:
                return None
            else:
                value = value.get(step, _MISSING)
                if value is _MISSING:
                    return None
                continue
            value = value[step]
        for fn in filters:
            value = fn(value)
        return value

    return read, uses_json


MISSING = _MISSING
"""Passed as the decoded JSON when the payload is not JSON."""
