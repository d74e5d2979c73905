"""The batched pipeline, with a small fake adapter (the real adapters are tested in tests/devices)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson
import pytest

from hub.errors import PayloadRejected
from hub.events import Normalized, Reading
from hub.ingest.dead_letters import DeadLetters
from hub.ingest.pipeline import Pipeline, PipelinePorts
from hub.metrics import Metrics
from hub.state.twin import Twin
from hub.storage import Database, Outbox
from hub.transport.base import InboundMessage
from tests.stores import open_db


class JsonPowerAdapter:
    """Understands {"power": <number>} and nothing else."""

    def normalize(self, topic: str, payload: bytes, *, household: str | None = None) -> Normalized:
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise PayloadRejected("not JSON", topic=topic) from exc
        if not isinstance(data, dict) or not isinstance(data.get("power"), int | float):
            raise PayloadRejected("no numeric power", topic=topic)
        device = topic.split("/")[-1]
        return Normalized(readings=(Reading(device=device, metric="power", value=data["power"], unit="W"),))


class RecordingRules:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Reading], bool]] = []
        self.batches = 0

    def on_readings(self, household: str, readings: Sequence[Reading], *, replay: bool = False) -> None:
        self.calls.append((household, list(readings), replay))

    def batch(self) -> contextlib.AbstractContextManager[None]:
        self.batches += 1
        return contextlib.nullcontext()


class OfferingRules(RecordingRules):
    """Like the real engine: what a batch raised is written when the batch's block ends."""

    def __init__(self, db: Database, outbox: Outbox, households: list[str]) -> None:
        super().__init__()
        self.db, self.outbox, self.pending = db, outbox, households

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:  # type: ignore[override]
        yield
        with self.db.transaction() as conn:  # joins the pipeline's transaction
            for household in self.pending:
                self.outbox.add(conn, f"offers/grocery/{household}", {"household": household})
        self.pending = []


@pytest.fixture
def parts(tmp_path: Path) -> tuple[Database, Outbox, Twin, RecordingRules, list[int]]:
    db = open_db(tmp_path / "hub.sqlite3")
    return db, Outbox(db), Twin(db), RecordingRules(), []


def make_pipeline(parts: tuple[Database, Outbox, Twin, RecordingRules, list[int]], **kw: object) -> Pipeline:
    db, outbox, twin, rules, acked = parts
    kw.setdefault("rules", rules)
    ports = PipelinePorts(normalizer=JsonPowerAdapter(), **kw)  # type: ignore[arg-type]
    return Pipeline(db, outbox, twin, ports, Metrics(), dead_letters=DeadLetters(db),
                    ack=lambda ms: acked.extend(m.mid for m in ms if m.qos))


def msg(topic: str, payload: bytes, *, qos: int = 1, mid: int = 1, retain: bool = False) -> InboundMessage:
    return InboundMessage(topic, payload, qos, retain, mid, 0.0)


def test_readings_reach_twin_and_rules_and_the_batch_is_acked(parts) -> None:  # type: ignore[no-untyped-def]
    db, _, twin, rules, acked = parts
    pipeline = make_pipeline(parts)
    pipeline.handle_batch([
        msg("home/h1/plug/kitchen", b'{"power": 75}', mid=1),
        msg("home/h2/plug/desk", b'{"power": 12.5}', mid=2, retain=True),
    ])
    assert twin.device("h1", "kitchen").value("power") == 75  # type: ignore[union-attr]
    assert twin.device("h2", "desk").value("power") == 12.5  # type: ignore[union-attr]
    assert [(h, r[0].value, replay) for h, r, replay in rules.calls] == [("h1", 75, False), ("h2", 12.5, True)]
    assert acked == [1, 2]
    twin.flush()
    assert db.query_one("SELECT value FROM device_state WHERE household='h1'")[0] == "75"


def test_bad_messages_go_to_dead_letters_with_reasons_and_others_flow(parts) -> None:  # type: ignore[no-untyped-def]
    db, _, twin, _rules, acked = parts
    pipeline = make_pipeline(parts)
    pipeline.handle_batch([
        msg("home/h1/plug/a", b"{not json", mid=1),
        msg("home/H!/plug/a", b'{"power": 1}', mid=2),
        msg("elsewhere/x", b"1", mid=3),
        msg("home/h1/plug/big", b"x" * (300 * 1024), mid=4),
        msg("home/h1/plug/ok", b'{"power": 5}', mid=5),
    ])
    reasons = [r["reason"] for r in reversed(pipeline.dead_letters.recent())]
    assert reasons == [
        "not JSON",
        "topic must be home/<household>/<device topic>",
        "no handler for this topic",
        "payload of 307200 bytes is over 256 KiB",
    ]
    assert twin.device("h1", "ok").value("power") == 5  # type: ignore[union-attr]
    assert acked == [1, 2, 3, 4, 5], "rejected messages are acked too: they are kept as dead letters"
    assert db.query_one("SELECT COUNT(*) FROM dead_letters")[0] == 4


def test_offers_commit_with_the_batch_before_the_ack(parts) -> None:  # type: ignore[no-untyped-def]
    db, outbox, _, _, acked = parts
    pipeline = make_pipeline(parts, rules=OfferingRules(db, outbox, ["h1", "h2"]))
    pipeline.handle_batch([msg("home/h1/plug/a", b'{"power": 1}', mid=9)])
    assert [m.topic for m in outbox.pending()] == ["offers/grocery/h1", "offers/grocery/h2"]
    assert acked == [9]


def test_a_failing_commit_leaves_the_batch_unacked(parts) -> None:  # type: ignore[no-untyped-def]
    db, outbox, _, _, acked = parts

    class BrokenRules(OfferingRules):
        @contextlib.contextmanager
        def batch(self) -> Iterator[None]:  # type: ignore[override]
            yield
            raise RuntimeError("disk full")

    pipeline = make_pipeline(parts, rules=BrokenRules(db, outbox, ["h1"]))
    with pytest.raises(RuntimeError):
        pipeline.handle_batch([msg("home/h1/plug/a", b'{"power": 1}', mid=7)])
    assert acked == [], "nothing may be acked when its effects did not commit"
    assert outbox.unsent_count() == 0


def test_command_handlers_run_in_the_batch_transaction(parts) -> None:  # type: ignore[no-untyped-def]
    _db, outbox, _, _, acked = parts
    claims: list[tuple[str, bytes]] = []

    def claim(rest: str, message: InboundMessage, conn: object) -> None:
        provider = rest.split("/")[0]
        if message.payload == b"bad":
            raise PayloadRejected("claim without a request id")
        claims.append((provider, message.payload))
        outbox.add(conn, f"providers/{provider}/feed/r1", {"claimed": True})  # type: ignore[arg-type]

    pipeline = make_pipeline(parts, commands={"providers/": claim})
    pipeline.handle_batch([
        msg("providers/fresh-grocer/claims", b'{"request": "r1"}', mid=1),
        msg("providers/other/claims", b"bad", mid=2),
    ])
    assert claims == [("fresh-grocer", b'{"request": "r1"}')]
    assert [m.topic for m in outbox.pending()] == ["providers/fresh-grocer/feed/r1"]
    assert [r["reason"] for r in pipeline.dead_letters.recent()] == ["claim without a request id"]
    assert acked == [1, 2]


def test_a_flooding_device_is_rate_limited_and_others_are_not(parts) -> None:  # type: ignore[no-untyped-def]
    _, _, twin, rules, _ = parts
    pipeline = make_pipeline(parts)
    flood = [msg("home/h1/plug/noisy", b'{"power": %d}' % i, mid=i) for i in range(1, 201)]
    quiet = [msg("home/h2/plug/quiet", b'{"power": 3}', mid=500)]
    pipeline.handle_batch(flood + quiet)
    noisy_calls = [c for c in rules.calls if c[0] == "h1"]
    assert len(noisy_calls) == 50, "the default limit is 50 messages a second per device"
    assert twin.device("h2", "quiet").value("power") == 3  # type: ignore[union-attr]
    text = pipeline._metrics.render().decode()
    assert 'hub_ingest_dropped_total{reason="rate_limited"} 150.0' in text
    assert 'hub_ingest_dropped_total{reason="superseded"} 0.0' in text, "every reason is listed from the start"
