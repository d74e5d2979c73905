"""Message templates: Jinja2 in its sandbox, compiled once at load time.

Rule authors write ``"Groceries running low: {{ items | join(', ') }}"``. Templates run in
:class:`jinja2.sandbox.ImmutableSandboxedEnvironment`: no access to underscore attributes
(``__class__``, ``__globals__``, ...), no calls to unsafe callables, no mutation of the
context, and no Python ``eval`` anywhere. Undefined names raise, so that a typo in a pack
shows up as a failed (and logged, and traced) firing instead of an empty message.

A data value that is exactly one expression (``"{{ reading.ts }}"``) keeps its native type
(a number stays a number); any other text renders to a string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*$")
_NAME_EXPR = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*)\s*\}\}")
_SINGLE_EXPR = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}|\{\{|\{%|\{#).)*)\}\}$", re.S)


def _hhmm(value: Any) -> str:
    """``18:30`` from a datetime (already in the pack's time zone)."""
    if isinstance(value, datetime):
        return value.strftime("%H:%M")
    return str(value)


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _build_env() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["hhmm"] = _hhmm
    env.filters["date"] = _date
    return env


ENV = _build_env()
"""The one sandboxed environment every pack template is compiled in."""


Renderer = Callable[[Mapping[str, Any]], Any]


def compile_template(text: str, *, native: bool = False) -> tuple[Renderer, frozenset[str]]:
    """Compile ``text``; return a renderer and the top-level names it reads.

    Args:
        text: the template source.
        native: when the whole text is one ``{{ expression }}``, return the expression's
            value with its own type instead of a string.

    Raises:
        ValueError: the template does not compile (the message says where and why).
    """
    try:
        names = frozenset(meta.find_undeclared_variables(ENV.parse(text)))
    except TemplateSyntaxError as exc:
        raise ValueError(f"template error: {exc.message} in {text!r}") from exc
    if "{{" not in text and "{%" not in text and "{#" not in text:
        return (lambda _ctx: text), frozenset()
    if native:
        match = _SINGLE_EXPR.match(text.strip())
        if match:
            source = match.group("expr").strip()
            expr = ENV.compile_expression(source, undefined_to_none=False)
            if _PATH.match(source):
                # A plain dotted name (reading.ts): looked up in mappings directly, which is
                # ten times cheaper than a Jinja context; anything else goes to the sandbox.
                parts = source.split(".")

                def render_path(ctx: Mapping[str, Any]) -> Any:
                    current: Any = ctx
                    for part in parts:
                        if type(current) is not dict or part not in current:
                            return expr(**ctx)
                        current = current[part]
                    return current

                return render_path, names

            def render_expr(ctx: Mapping[str, Any]) -> Any:
                return expr(**ctx)

            return render_expr, names
    template = ENV.from_string(text)

    def render(ctx: Mapping[str, Any]) -> Any:
        return template.render(ctx)

    return _concat(text, render) or render, names


def _concat(text: str, render: Renderer) -> Renderer | None:
    """Text and plain dotted names only (``offers/grocery/{{ household }}``): a join of the
    parts looked up in mappings, about twenty times cheaper than a Jinja context (profiled:
    the benchmark's offer topic). Whatever a dict lookup cannot answer goes to ``render``,
    so the output (``str`` of each value, no autoescape) and the errors stay Jinja's."""
    if "{%" in text or "{#" in text or text.endswith("\n"):
        return None
    pieces = _NAME_EXPR.split(text)
    segments: list[tuple[str, tuple[str, ...] | None]] = []
    for i in range(0, len(pieces), 2):
        literal = pieces[i]
        if "{{" in literal or "}}" in literal:
            return None  # an expression with filters, calls or operators
        name = pieces[i + 1] if i + 1 < len(pieces) else None
        if name is None:
            segments.append((literal, None))
            continue
        parts = tuple(name.split("."))
        if any(hasattr(dict, part) for part in parts[1:]):
            return None  # Jinja reads attributes first: ``x.items`` is the method there
        segments.append((literal, parts))

    def render_concat(ctx: Mapping[str, Any]) -> Any:
        out = []
        for literal, parts in segments:
            out.append(literal)
            if parts is None:
                continue
            current: Any = ctx
            for part in parts:
                if type(current) is not dict or part not in current:
                    return render(ctx)
                current = current[part]
            out.append(current if type(current) is str else str(current))
        return "".join(out)

    return render_concat


def compile_data(value: Any) -> tuple[Callable[[Mapping[str, Any]], Any], frozenset[str]]:
    """Compile a nested data structure whose strings are templates (native where whole)."""
    if isinstance(value, str):
        return compile_template(value, native=True)
    if isinstance(value, Mapping):
        parts = [(k, *compile_data(v)) for k, v in value.items()]
        names = frozenset().union(*(p[2] for p in parts)) if parts else frozenset()

        def render_map(ctx: Mapping[str, Any]) -> Any:
            return {k: fn(ctx) for k, fn, _ in parts}

        return render_map, names
    if isinstance(value, list | tuple):
        items = [compile_data(v) for v in value]
        names = frozenset().union(*(i[1] for i in items)) if items else frozenset()

        def render_list(ctx: Mapping[str, Any]) -> Any:
            return [fn(ctx) for fn, _ in items]

        return render_list, names
    return (lambda _ctx: value), frozenset()
