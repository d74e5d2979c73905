"""Reading rule packs from YAML, with errors that point at a file and a line.

The text is parsed twice: ``yaml.compose`` keeps the node tree with its marks (line
numbers), ``yaml.safe_load`` gives the plain data the pydantic models validate. A pydantic
error's location (``rules.0.triggers.1.below``) is walked down the node tree to the
deepest node that exists, whose line is reported. The rule id is taken from the rule the
location falls in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hub.errors import RuleError
from hub.rules.model import Pack

MAX_PACK_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class LoadedPack:
    """A validated pack and where it came from.

    Attributes:
        name: the pack's name (its ``pack:`` key, else the file name without suffix).
        path: the file.
        model: the validated pack.
        text: the source, kept to tell changed files from unchanged ones.
        rule_lines: line of each rule id in the file.
    """

    name: str
    path: str
    model: Pack
    text: str
    rule_lines: dict[str, int]


class PackInvalid(RuleError):
    """A pack failed validation; ``errors`` holds every problem found."""

    def __init__(self, errors: list[RuleError]) -> None:
        first = errors[0]
        super().__init__(first.message, file=first.file, line=first.line, rule_id=first.rule_id)
        self.errors = errors


def pack_files(path: str | Path) -> list[Path]:
    """The pack files at ``path``: the file itself, or ``*.yaml``/``*.yml`` in a folder
    (not recursive, so that ``rules/bench/`` is never loaded with ``rules/``)."""
    p = Path(path)
    if p.is_dir():
        return sorted(f for f in p.iterdir() if f.suffix in {".yaml", ".yml"} and f.is_file())
    return [p]


def load_pack(path: str | Path) -> LoadedPack:
    """Read and validate one pack file.

    Raises:
        PackInvalid: with every error found, each with file, line and rule id.
    """
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PackInvalid([RuleError(f"cannot read: {exc.strerror}", file=file)]) from exc
    if len(raw) > MAX_PACK_BYTES:
        raise PackInvalid([RuleError(f"larger than {MAX_PACK_BYTES} bytes", file=file)])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PackInvalid([RuleError("not UTF-8 text", file=file)]) from exc
    return load_pack_text(text, file=file, default_name=Path(path).stem)


def load_pack_text(text: str, *, file: str, default_name: str) -> LoadedPack:
    """Validate a pack given as text (see :func:`load_pack`)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        problem = f"{exc.context + ', ' if exc.context else ''}{exc.problem or 'bad YAML'}"
        raise PackInvalid([RuleError(f"YAML: {problem}", file=file, line=line)]) from exc
    except yaml.YAMLError as exc:
        raise PackInvalid([RuleError(f"YAML: {exc}", file=file)]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PackInvalid([RuleError("a pack is a mapping with a rules: list", file=file, line=1)])
    errors = list(_duplicate_keys(node, file, data))
    try:
        model = Pack.model_validate(data)
    except ValidationError as exc:
        errors.extend(_translate(exc, node, data, file))
        model = None
    if errors or model is None:
        errors.sort(key=lambda e: e.line)
        raise PackInvalid(errors)
    return LoadedPack(
        name=model.pack or default_name,
        path=file,
        model=model,
        text=text,
        rule_lines=_rule_lines(node),
    )


def check_paths(paths: Iterable[str | Path]) -> list[RuleError]:
    """Every error in every pack under ``paths`` (files or folders); empty when all valid."""
    errors: list[RuleError] = []
    names: dict[str, str] = {}
    for root in paths:
        files = pack_files(root)
        if not Path(root).exists():
            errors.append(RuleError("no such file or folder", file=str(root)))
            continue
        for f in files:
            try:
                loaded = load_pack(f)
            except PackInvalid as exc:
                errors.extend(exc.errors)
                continue
            if loaded.name in names:
                errors.append(
                    RuleError(
                        f"pack name {loaded.name!r} already used by {names[loaded.name]}",
                        file=str(f),
                        line=1,
                    )
                )
            names[loaded.name] = str(f)
    return errors


# -- locating errors --------------------------------------------------------------------


def _translate(
    exc: ValidationError, root: yaml.Node | None, data: Any, file: str
) -> Iterator[RuleError]:
    for err in exc.errors(include_url=False):
        loc = _strip_tags(tuple(err["loc"]))
        node = _walk(root, loc)
        line = node.start_mark.line + 1 if node is not None else 1
        rule_id = _rule_id(data, loc)
        path = _data_path(data, loc)
        if "Keys should be strings" in str(err["msg"]):
            path = path[:-1]  # the offending key is a boolean or number, not a name
        if rule_id and len(path) >= 2:
            path = path[2:]  # the rule id is printed already
        where = ".".join(str(p) for p in path)
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}"
        elif "Keys should be strings" in msg:
            msg += " (YAML reads on, off, yes, no as booleans; quote the key)"
        elif err["type"] == "missing":
            msg = f"missing key {loc[-1]!r}"
        yield RuleError(f"{where}: {msg}" if where else msg, file=file, line=line, rule_id=rule_id)


_UNION_LISTS = {"triggers", "conditions", "any"}


def _strip_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union tags (``triggers.0.metric.below`` -> ``triggers.0.below``)."""
    out: list[Any] = []
    for i, part in enumerate(loc):
        if (
            i >= 2
            and isinstance(loc[i - 1], int)
            and loc[i - 2] in _UNION_LISTS
            and isinstance(part, str)
        ):
            continue
        out.append(part)
    return tuple(out)


def _walk(node: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """The deepest node on ``loc``; path parts that are not in the data (pydantic's union
    tags) are skipped. For an unknown key, the key's own node."""
    current = node
    for part in loc:
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    current = value_node if value_node.value not in ("", None) else key_node
                    break
            else:
                continue
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(current.value):
                current = current.value[part]
            else:
                break
        else:
            continue
    return current


def _data_path(data: Any, loc: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    current = data
    for part in loc:
        in_map = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_map or in_list:
            current = current[part]
            out.append(part)
        elif isinstance(current, dict) and len(out) == len(loc) - 1 and part == loc[-1]:
            out.append(part)
    return out


def _rule_id(data: Any, loc: tuple[Any, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules") if isinstance(data, dict) else None
        if isinstance(rules, list) and 0 <= loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            return str(rules[loc[1]].get("id", f"#{loc[1] + 1}"))
        return f"#{loc[1] + 1}"
    return ""


def _rule_lines(root: yaml.Node | None) -> dict[str, int]:
    out: dict[str, int] = {}
    rules = _walk(root, ("rules",))
    if isinstance(rules, yaml.SequenceNode):
        for item in rules.value:
            id_node = _walk(item, ("id",))
            if isinstance(id_node, yaml.ScalarNode) and id_node is not item:
                out[id_node.value] = id_node.start_mark.line + 1
    return out


def _duplicate_keys(node: yaml.Node | None, file: str, data: Any) -> Iterator[RuleError]:
    """YAML silently keeps the last of two equal keys; a pack author never means that."""
    stack: list[tuple[yaml.Node | None, tuple[Any, ...]]] = [(node, ())]
    while stack:
        current, loc = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in current.value:
                key = getattr(key_node, "value", None)
                if isinstance(key, str):
                    if key in seen:
                        yield RuleError(
                            f"duplicate key {key!r}",
                            file=file,
                            line=key_node.start_mark.line + 1,
                            rule_id=_rule_id(data, loc),
                        )
                    seen.add(key)
                    stack.append((value_node, (*loc, key)))
        elif isinstance(current, yaml.SequenceNode):
            for i, item in enumerate(current.value):
                stack.append((item, (*loc, i)))
