"""Declarative device profiles: YAML files that map a JSON device to canonical readings.

A new JSON device needs no code: a profile in ``devices/`` names its topic patterns and where
each metric sits in its payload. Example (``devices/bench_fridge.yaml``)::

    name: bench_fridge
    topics: ["{device}/telemetry"]
    expiry: 120                      # seconds of silence before the device counts offline
    ts: {path: ts, format: epoch}    # epoch | epoch_ms | iso
    readings:
      - {path: "items.*.qty", metric: stock, channel: "*", unit_path: "items.*.unit"}
      - {path: door_open, metric: door_open, type: bool}
      - {path: temp_c, metric: temperature, unit: "°C"}

Paths are dotted keys; one ``*`` iterates a JSON object and makes its keys available as the
reading's ``channel: "*"`` (and in ``unit_path``). ``type`` is ``number`` (default), ``bool``,
``inverted_bool`` (contact sensors: true = closed) or ``string``. ``from_unit`` converts
(``°F``, ``Wh``, ``kW``, ``mV``, ...) to the canonical unit; ``scale`` multiplies.

Profiles are validated with pydantic when loaded (a bad file is a :class:`ConfigError`
naming the file and the field) and compiled into plain closures: reading a message costs a
few dict lookups per metric, no regex and no interpretation of the YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.errors import ConfigError, PayloadRejected
from hub.events import Normalized, Reading

from ._context import Household, bounded_set
from ._convert import MAX_MAGNITUDE, UNIT_CONVERSIONS, iso_from_epoch, iso_from_string, to_bool
from ._payload import MAX_DEPTH, loads
from ._reading import normalized, reading

_METRIC = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SEGMENT = re.compile(r"^(\{device\}|[^+#{}/]+)$")
_orjson_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError
_DEPTH_SCAN_MIN = 2 * MAX_DEPTH
_DOOR_WORDS = frozenset({"open", "opened", "closed", "close"})
MAX_ITEMS = 256
"""Most keys a ``*`` path iterates in one message."""


class ReadingSpec(BaseModel):
    """One metric of a profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1, max_length=200)
    metric: str
    type: Literal["number", "bool", "inverted_bool", "string"] = "number"
    unit: str | None = None
    from_unit: str | None = None
    scale: float | None = None
    channel: str | None = None
    unit_path: str | None = None

    @field_validator("metric")
    @classmethod
    def _metric(cls, v: str) -> str:
        if not _METRIC.match(v):
            raise ValueError("metric must be snake_case (a-z, 0-9, _)")
        return v

    @field_validator("from_unit")
    @classmethod
    def _from_unit(cls, v: str | None) -> str | None:
        if v is not None and v not in UNIT_CONVERSIONS:
            raise ValueError(f"unknown unit {v!r}; known: {', '.join(sorted(UNIT_CONVERSIONS))}")
        return v

    @model_validator(mode="after")
    def _wildcards(self) -> ReadingSpec:
        stars = self.path.split(".").count("*")
        if stars > 1:
            raise ValueError("a path may hold at most one '*'")
        if self.channel == "*" and stars == 0:
            raise ValueError("channel '*' needs a '*' in the path")
        if self.unit_path is not None:
            if self.unit_path.split(".").count("*") != stars:
                raise ValueError("unit_path must have a '*' exactly where path has one")
            if stars and self.unit_path.split("*")[0] != self.path.split("*")[0]:
                raise ValueError("unit_path must iterate the same object as path")
        if any(not part for part in self.path.split(".")):
            raise ValueError("empty segment in path")
        return self


class TimestampSpec(BaseModel):
    """Where the source's own timestamp is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1, max_length=200)
    format: Literal["epoch", "epoch_ms", "iso"] = "epoch"


class ProfileSpec(BaseModel):
    """A whole profile file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9_\-]{1,64}$")
    description: str = ""
    topics: list[str] = Field(min_length=1, max_length=16)
    expiry: float | None = Field(default=None, gt=0, le=7 * 86400)
    ts: TimestampSpec | None = None
    readings: list[ReadingSpec] = Field(min_length=1, max_length=128)

    @field_validator("topics")
    @classmethod
    def _topics(cls, v: list[str]) -> list[str]:
        for pattern in v:
            parts = pattern.split("/")
            if parts.count("{device}") != 1:
                raise ValueError(f"{pattern!r}: needs exactly one {{device}} segment")
            if not all(_SEGMENT.match(p) for p in parts):
                raise ValueError(f"{pattern!r}: segments are literals or {{device}}, no + or #")
            if all(p == "{device}" for p in parts):
                raise ValueError(f"{pattern!r}: needs at least one literal segment")
        return v


# --- compilation -----------------------------------------------------------------------

Emit = Callable[[Any, str, str | None, list[Reading], str], None]


def _getter(path: list[str]) -> Callable[[Any], Any]:
    if len(path) == 1:
        key = path[0]
        return lambda obj: obj.get(key) if type(obj) is dict else None
    if len(path) == 2:
        k1, k2 = path

        def get2(obj: Any) -> Any:
            sub = obj.get(k1) if type(obj) is dict else None
            return sub.get(k2) if type(sub) is dict else None

        return get2

    def get(obj: Any) -> Any:
        for key in path:
            if type(obj) is not dict:
                return None
            obj = obj.get(key)
        return obj

    return get


def _converter(spec: ReadingSpec) -> tuple[Callable[[Any, str], Any], str | None]:
    """(value converter raising PayloadRejected on wrong types, output unit)."""
    path = spec.path
    if spec.type in ("bool", "inverted_bool"):
        invert = spec.type == "inverted_bool"

        def conv_bool(v: Any, topic: str) -> Any:
            flag = to_bool(v)
            if flag is None:
                raise PayloadRejected(f"{path} is not a boolean", topic=topic)
            # "Open"/"Closed" already say whether the door is open: never inverted.
            if invert and not (type(v) is str and v.strip().lower() in _DOOR_WORDS):
                return not flag
            return flag

        return conv_bool, spec.unit
    if spec.type == "string":

        def conv_str(v: Any, topic: str) -> Any:
            if type(v) is not str or len(v) > 256:
                raise PayloadRejected(f"{path} is not a short string", topic=topic)
            return v

        return conv_str, spec.unit
    unit = spec.unit
    fn: Callable[[Any], Any] | None = None
    if spec.from_unit is not None:
        canonical, fn = UNIT_CONVERSIONS[spec.from_unit]
        unit = spec.unit or canonical
    scale = spec.scale

    def conv_num(v: Any, topic: str) -> Any:
        t = type(v)
        if t is not float and t is not int:
            raise PayloadRejected(f"{path} is not a number", topic=topic)
        if not -MAX_MAGNITUDE <= v <= MAX_MAGNITUDE:
            raise PayloadRejected(f"{path} is out of range", topic=topic)
        if scale is not None:
            v = round(v * scale, 9)
        return fn(v) if fn is not None else v

    return conv_num, unit


def _compile_reading(spec: ReadingSpec) -> Emit:
    conv, unit = _converter(spec)
    metric = spec.metric
    parts = spec.path.split(".")
    if "*" not in parts:
        get = _getter(parts)
        channel = spec.channel
        unit_get = _getter(spec.unit_path.split(".")) if spec.unit_path else None

        def emit(obj: Any, device: str, ts: str | None, out: list[Reading], topic: str) -> None:
            v = get(obj)
            if v is None:
                return
            u = unit
            if unit_get is not None:
                raw_unit = unit_get(obj)
                u = raw_unit[:32] if type(raw_unit) is str else unit
            out.append(reading(device, metric, conv(v, topic), u, channel, ts))

        return emit
    star = parts.index("*")
    get_map = _getter(parts[:star]) if star else (lambda obj: obj)
    leaf = _getter(parts[star + 1 :]) if star + 1 < len(parts) else (lambda item: item)
    unit_leaf: Callable[[Any], Any] | None = None
    if spec.unit_path:
        uparts = spec.unit_path.split(".")
        ustar = uparts.index("*")
        unit_leaf = _getter(uparts[ustar + 1 :]) if ustar + 1 < len(uparts) else None
    fixed_channel = spec.channel
    leaf_parts = parts[star + 1 :]
    unit_parts = spec.unit_path.split(".")[spec.unit_path.split(".").index("*") + 1 :] \
        if spec.unit_path else []
    if (len(leaf_parts) == 1 and len(unit_parts) <= 1 and fixed_channel == "*"
            and spec.type == "number" and spec.from_unit is None and spec.scale is None):
        # The shape of the benchmark fridge ({"items": {"milk": {"qty", "unit"}}}), the
        # ingest hot path: one flat loop, no per-item closure calls.
        qty_key = leaf_parts[0]
        unit_key = unit_parts[0] if unit_parts else None
        map_path = spec.path
        unit_path_ = spec.unit_path

        def emit_flat(obj: Any, device: str, ts: str | None, out: list[Reading], topic: str
                      ) -> None:
            mapping = get_map(obj)
            if mapping is None:
                return
            if type(mapping) is not dict:
                raise PayloadRejected(f"{map_path}: expected an object to iterate", topic=topic)
            if len(mapping) > MAX_ITEMS:
                raise PayloadRejected(f"{map_path}: more than {MAX_ITEMS} entries", topic=topic)
            for key, item in mapping.items():
                if type(item) is not dict:
                    continue
                v = item.get(qty_key)
                if v is None:
                    continue
                t = type(v)
                if (t is not float and t is not int) or not -MAX_MAGNITUDE <= v <= MAX_MAGNITUDE:
                    raise PayloadRejected(f"{map_path} is not a number in range", topic=topic)
                if len(key) > 64:
                    raise PayloadRejected(f"{map_path}: key longer than 64 characters",
                                          topic=topic)
                u = unit
                if unit_key is not None:
                    raw_unit = item.get(unit_key)
                    if raw_unit is not None:
                        if type(raw_unit) is not str or len(raw_unit) > 32:
                            raise PayloadRejected(f"{unit_path_} is not a short string",
                                                  topic=topic)
                        u = raw_unit
                out.append(reading(device, metric, v, u, key, ts))

        return emit_flat

    def emit_map(obj: Any, device: str, ts: str | None, out: list[Reading], topic: str) -> None:
        mapping = get_map(obj)
        if mapping is None:
            return
        if type(mapping) is not dict:
            raise PayloadRejected(f"{spec.path}: expected an object to iterate", topic=topic)
        if len(mapping) > MAX_ITEMS:
            raise PayloadRejected(f"{spec.path}: more than {MAX_ITEMS} entries", topic=topic)
        for key, item in mapping.items():
            v = leaf(item)
            if v is None:
                continue
            if len(key) > 64:
                raise PayloadRejected(f"{spec.path}: key longer than 64 characters", topic=topic)
            u = unit
            if unit_leaf is not None:
                raw_unit = unit_leaf(item)
                if raw_unit is not None:
                    if type(raw_unit) is not str or len(raw_unit) > 32:
                        raise PayloadRejected(f"{spec.unit_path} is not a short string",
                                              topic=topic)
                    u = raw_unit
            out.append(reading(device, metric, conv(v, topic), u,
                               key if fixed_channel == "*" else fixed_channel, ts))

    return emit_map


def _compile_ts(spec: TimestampSpec | None) -> Callable[[Any, str], str | None]:
    if spec is None:
        return lambda obj, topic: None
    get = _getter(spec.path.split("."))
    fmt = spec.format
    path = spec.path

    def ts(obj: Any, topic: str) -> str | None:
        v = get(obj)
        if v is None:
            return None
        if fmt == "iso":
            if type(v) is not str:
                raise PayloadRejected(f"{path} is not an ISO 8601 string", topic=topic)
            return iso_from_string(v, topic)
        t = type(v)
        if t is not float and t is not int:
            raise PayloadRejected(f"{path} is not an epoch number", topic=topic)
        return iso_from_epoch(v / 1000.0 if fmt == "epoch_ms" else float(v), topic)

    return ts


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled topic pattern: segment count, literal checks, device position."""

    size: int
    literals: tuple[tuple[int, str], ...]
    device_index: int

    def device(self, parts: list[str]) -> str | None:
        if len(parts) != self.size:
            return None
        for i, lit in self.literals:
            if parts[i] != lit:
                return None
        dev = parts[self.device_index]
        return dev if dev and len(dev) <= 128 else None


class Profile:
    """A loaded, compiled profile."""

    __slots__ = ("_emits", "_ts", "expiry", "name", "path", "patterns")

    def __init__(self, spec: ProfileSpec, path: Path | None = None) -> None:
        self.name = spec.name
        self.path = path
        self.expiry = spec.expiry
        self.patterns = tuple(_pattern(p) for p in spec.topics)
        self._emits = tuple(_compile_reading(r) for r in spec.readings)
        self._ts = _compile_ts(spec.ts)

    def read(self, h: Household, device: str, topic: str, payload: bytes) -> Normalized:
        """Readings of one message on a topic this profile matched."""
        # Inlined fast path of _payload.loads: this is the ingest hot path.
        try:
            obj = _orjson_loads(payload)
        except _JSONDecodeError:
            obj = loads(payload, topic)  # raises with the reason
        if len(payload) > _DEPTH_SCAN_MIN and payload.count(b"{") + payload.count(b"[") > \
                MAX_DEPTH:
            obj = loads(payload, topic)  # full checks: size, depth
        if type(obj) is not dict:
            raise PayloadRejected(f"profile {self.name}: expected a JSON object", topic=topic)
        ts = self._ts(obj, topic)
        out: list[Reading] = []
        for emit in self._emits:
            emit(obj, device, ts, out, topic)
        pe = h.profile_expiry
        if device not in pe:
            bounded_set(pe, device, self.expiry)
        return normalized(tuple(out))


def _pattern(pattern: str) -> Pattern:
    parts = pattern.split("/")
    return Pattern(
        size=len(parts),
        literals=tuple((i, p) for i, p in enumerate(parts) if p != "{device}"),
        device_index=parts.index("{device}"),
    )


def parse_profile(data: Any, source: str) -> Profile:
    """Validate and compile one profile document; ``source`` names it in errors."""
    try:
        spec = ProfileSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{source}: {where}: {first['msg']}") from None
    return Profile(spec, Path(source))


def load_profiles(folder: Path) -> list[Profile]:
    """Every ``*.yaml``/``*.yml`` profile in ``folder``, sorted by file name.

    Raises:
        ConfigError: a file that is not YAML or not a valid profile (file and field named).
    """
    profiles: list[Profile] = []
    if not folder.is_dir():
        raise ConfigError(f"{folder}: device profile folder does not exist")
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read profile: {exc}") from None
        profiles.append(parse_profile(data, str(path)))
    names = [p.name for p in profiles]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ConfigError(f"{folder}: profile names used twice: {', '.join(sorted(dupes))}")
    return profiles
