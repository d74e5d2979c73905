"""Backtests: replay recorded history through packs, with no side effects.

The engine runs on a private in-memory database, a :class:`~hub.clock.FakeClock` moved
to each record's time (``for:`` timers and schedules due in between fire at their own
time) and a :class:`~hub.rules.actions.ListSink`. Nothing reaches the hub's database, the
broker or the offers.

Recorded input (``--input recorded.jsonl``), one JSON object per line, in time order;
``ts`` is ISO 8601 (``2026-11-28T08:00:00Z``) or epoch seconds:

* readings: ``{"ts", "household", "readings": [{"device", "metric", "value", "unit"?,
  "channel"?, "ts"?}, ...]}``, or one reading inline: ``{"ts", "household", "device",
  "metric", "value", "unit"?, "channel"?}``;
* a notice change: ``{"ts", "notice": {"action", "id", "thread"?, "event",
  "category": [...], "onset"?, "expires"?, "headline"?, "households": [...]}}``;
* an offer event: ``{"ts", "offer": {"kind", "household", "offer_id", "data"?}}``;
* availability: ``{"ts", "availability": {"household", "device", "online"}}``;
* a raw MQTT message as recorded from the broker: ``{"ts", "topic":
  "home/<household>/<vendor topic>", "payload": "<text>"}`` (or ``"payload_b64"``), read
  through the device adapters (``hub.devices.Normalizer``) exactly as the ingest does.

Blank lines and lines starting with ``#`` are skipped; a malformed line is an error that
names its line number.
"""

from __future__ import annotations

import base64
import importlib
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from hub.clock import FakeClock
from hub.errors import HubError
from hub.events import Reading
from hub.rules.actions import Action, ListSink
from hub.rules.engine import RuleEngine
from hub.rules.events import DeviceAvailability, Notice, NoticeChange, OfferEvent
from hub.rules.packset import ReloadResult
from hub.storage.database import Database

logger = logging.getLogger(__name__)


class BacktestInputError(HubError):
    """A recorded input line could not be used."""


@dataclass(frozen=True, slots=True)
class Record:
    """One recorded input: readings of a household, or an event."""

    ts: datetime
    household: str | None = None
    readings: tuple[Reading, ...] = ()
    event: object | None = None
    raw: tuple[str, bytes] | None = None


Normalize = Callable[[str, bytes], tuple[str | None, Sequence[Reading]]]
"""``(topic, payload) -> (household, readings)`` for raw MQTT lines."""


def devices_normalizer() -> Normalize:
    """The hub's own device adapters (``hub.devices``), as the ingest uses them."""
    # The devices package lands on its own branch: look it up by name, not by import.
    devices: Any = importlib.import_module("hub.devices")
    if not hasattr(devices, "Normalizer") or not hasattr(devices, "split_household"):
        raise BacktestInputError("raw MQTT lines need the device adapters (hub.devices)")
    normalizer = devices.Normalizer(Path("devices") if Path("devices").is_dir() else None)

    def normalize(topic: str, payload: bytes) -> tuple[str | None, Sequence[Reading]]:
        household, rest = devices.split_household(topic)
        return household, normalizer.normalize(rest, payload, household=household).readings

    return normalize


class HistorySource(Protocol):
    """Recorded readings from the telemetry store (``--since``)."""

    def records(self, since: datetime, until: datetime) -> Iterable[Record]: ...


HISTORY_FACTORY: Callable[[], HistorySource] | None = None
"""Set by the service wiring once the telemetry store can serve history."""


@dataclass(slots=True)
class BacktestResult:
    actions: list[Action] = field(default_factory=list)
    records: int = 0
    rejected: int = 0
    reload: ReloadResult | None = None
    traces: list[dict[str, Any]] = field(default_factory=list)


def parse_ts(value: Any, line: int) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    raise BacktestInputError(f"line {line}: ts must be ISO 8601 or epoch seconds, not {value!r}")


def _reading(data: Any, line: int) -> Reading:
    if not isinstance(data, dict):
        raise BacktestInputError(f"line {line}: a reading is an object")
    try:
        return Reading(
            device=str(data["device"]),
            metric=str(data["metric"]),
            value=data["value"],
            unit=data.get("unit"),
            channel=data.get("channel"),
            ts=data.get("ts"),
        )
    except KeyError as exc:
        raise BacktestInputError(f"line {line}: a reading needs {exc.args[0]!r}") from exc


def parse_record(obj: Any, line: int) -> Record:
    """One input line (already JSON-decoded) as a :class:`Record`."""
    if not isinstance(obj, dict) or "ts" not in obj:
        raise BacktestInputError(f"line {line}: expected an object with a ts")
    ts = parse_ts(obj["ts"], line)
    if "notice" in obj:
        n = obj["notice"]
        try:
            notice = Notice(
                id=str(n["id"]),
                event=str(n.get("event", "")),
                category=tuple(n.get("category") or ()),
                onset=parse_ts(n["onset"], line) if n.get("onset") else None,
                expires=parse_ts(n["expires"], line) if n.get("expires") else None,
                headline=str(n.get("headline", "")),
            )
            change = NoticeChange(
                action=n["action"],
                notice=notice,
                households=tuple(n.get("households") or ()),
                thread=str(n.get("thread") or ""),
            )
        except (KeyError, TypeError) as exc:
            raise BacktestInputError(f"line {line}: bad notice: {exc}") from exc
        return Record(ts=ts, event=change)
    if "offer" in obj:
        o = obj["offer"]
        try:
            event = OfferEvent(
                kind=o["kind"],
                household=str(o["household"]),
                offer_id=str(o["offer_id"]),
                data=dict(o.get("data") or {}),
            )
        except (KeyError, TypeError) as exc:
            raise BacktestInputError(f"line {line}: bad offer event: {exc}") from exc
        return Record(ts=ts, event=event)
    if "topic" in obj:
        topic = obj["topic"]
        if not isinstance(topic, str) or not topic:
            raise BacktestInputError(f"line {line}: topic must be a non-empty string")
        if isinstance(obj.get("payload_b64"), str):
            try:
                payload = base64.b64decode(obj["payload_b64"], validate=True)
            except ValueError as exc:
                raise BacktestInputError(f"line {line}: payload_b64 is not base64") from exc
        elif isinstance(obj.get("payload"), str):
            payload = obj["payload"].encode("utf-8")
        else:
            raise BacktestInputError(f"line {line}: a topic line needs payload or payload_b64")
        return Record(ts=ts, raw=(topic, payload))
    if "availability" in obj:
        a = obj["availability"]
        try:
            avail = DeviceAvailability(
                household=str(a["household"]), device=str(a["device"]), online=bool(a["online"])
            )
        except (KeyError, TypeError) as exc:
            raise BacktestInputError(f"line {line}: bad availability: {exc}") from exc
        return Record(ts=ts, event=avail)
    household = obj.get("household")
    if not isinstance(household, str) or not household:
        raise BacktestInputError(f"line {line}: readings need a household")
    if "readings" in obj:
        if not isinstance(obj["readings"], list):
            raise BacktestInputError(f"line {line}: readings must be a list")
        readings = tuple(_reading(r, line) for r in obj["readings"])
    elif "metric" in obj:
        readings = (_reading(obj, line),)
    else:
        raise BacktestInputError(
            f"line {line}: expected readings, metric, notice, offer or availability"
        )
    return Record(ts=ts, household=household, readings=readings)


def read_jsonl(stream: IO[bytes]) -> Iterator[Record]:
    """Records of a recorded JSONL stream."""
    for n, raw in enumerate(stream, start=1):
        text = raw.strip()
        if not text or text.startswith(b"#"):
            continue
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise BacktestInputError(f"line {n}: not JSON: {exc}") from exc
        yield parse_record(obj, n)


def run_backtest(
    packs: Sequence[str | Path],
    records: Iterable[Record],
    *,
    drain: bool = True,
    progress: Callable[[int], None] | None = None,
    normalize: Normalize | None = None,
) -> BacktestResult:
    """Replay ``records`` through ``packs``; return what the rules would have raised.

    Args:
        packs: pack files or folders.
        records: in time order.
        drain: after the last record, fire the ``for:`` timers still pending.
        progress: called with the number of records done, every 1,000 records.
        normalize: reads raw MQTT lines (default: :func:`devices_normalizer`, built on the
            first such line). A message the adapters refuse is counted, not fatal.
    """
    result = BacktestResult()
    sink = ListSink()
    db = Database(":memory:")
    clock = FakeClock()
    engine: RuleEngine | None = None
    try:
        for rec in records:
            if engine is None:
                clock.set(rec.ts)
                engine = RuleEngine(db, clock, sink, persist_traces=False, trace_limit=1000)
                result.reload = engine.reload(packs)
            _advance(engine, clock, rec.ts)
            result.records += 1
            if progress is not None and result.records % 1000 == 0:
                progress(result.records)
            if rec.event is not None:
                engine.on_event(rec.event)
            elif rec.raw is not None:
                if normalize is None:
                    normalize = devices_normalizer()
                try:
                    household, readings = normalize(*rec.raw)
                except HubError as exc:
                    result.rejected += 1
                    logger.debug("backtest: message on %s refused: %s", rec.raw[0], exc)
                    continue
                if household is not None and readings:
                    engine.on_readings(household, readings)
            elif rec.household is not None:
                engine.on_readings(rec.household, rec.readings)
        if engine is not None and drain:
            pending = [p for p in engine.pending()]
            if pending:
                last = max(datetime.fromisoformat(p["due"]) for p in pending)
                _advance(engine, clock, last)
        if engine is not None:
            result.traces = engine.traces()
    finally:
        db.close()
    result.actions = list(sink.actions)
    return result


def _advance(engine: RuleEngine, clock: FakeClock, to: datetime) -> None:
    """Fire, at their own time, every timer and schedule due up to ``to``."""
    if to < clock.now():
        to = clock.now()  # out-of-order input: never move time backwards
    while True:
        due = engine.next_due()
        if due is None or due > to:
            break
        clock.set(max(due, clock.now()))
        engine.tick(clock.now())
    clock.set(to)


class ProgressBar:
    """A one-line progress bar on stderr (by bytes read of the input file)."""

    def __init__(self, total: int, stream: IO[str] | None = None, width: int = 30) -> None:
        self.total = max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width

    def show(self, done: int, records: int) -> None:
        frac = min(done / self.total, 1.0)
        filled = int(frac * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {frac:4.0%} {records} records")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
